//! Creates `suggestion`: ideas, complaints and bugs with their status, stored vote and comment
//! counters, HOT key, official response, duplicate link and soft-delete time, indexed for each
//! listing sort.

use sea_orm_migration::{prelude::*, schema::*};

use super::m20261123_000001_create_user::User;
use super::m20261124_000005_create_community::Community;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Suggestion::Table)
                    .if_not_exists()
                    .col(pk_uuid(Suggestion::Id))
                    .col(uuid(Suggestion::CommunityId))
                    .col(uuid(Suggestion::AuthorId))
                    .col(string_len(Suggestion::Kind, 16))
                    .col(string_len(Suggestion::Title, 200))
                    .col(text(Suggestion::Body))
                    .col(string_len_null(Suggestion::ProductLine, 100))
                    .col(string_len(Suggestion::Status, 16))
                    .col(integer(Suggestion::Upvotes).default(0))
                    .col(integer(Suggestion::Downvotes).default(0))
                    .col(integer(Suggestion::Score).default(0))
                    .col(integer(Suggestion::CommentCount).default(0))
                    .col(big_integer(Suggestion::HotRank).default(0))
                    .col(uuid_null(Suggestion::OfficialResponseId))
                    .col(timestamp_with_time_zone_null(Suggestion::FirstResponseAt))
                    .col(timestamp_with_time_zone_null(Suggestion::ResolvedAt))
                    .col(uuid_null(Suggestion::DuplicateOfId))
                    .col(timestamp_with_time_zone_null(Suggestion::DeletedAt))
                    .col(timestamp_with_time_zone(Suggestion::CreatedAt))
                    .col(timestamp_with_time_zone(Suggestion::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Suggestion::Table, Suggestion::CommunityId)
                            .to(Community::Table, Community::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Suggestion::Table, Suggestion::AuthorId)
                            .to(User::Table, User::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Suggestion::Table, Suggestion::DuplicateOfId)
                            .to(Suggestion::Table, Suggestion::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            (
                "suggestion_community_created_idx",
                [Suggestion::CommunityId, Suggestion::CreatedAt],
            ),
            (
                "suggestion_community_score_idx",
                [Suggestion::CommunityId, Suggestion::Score],
            ),
            (
                "suggestion_community_hot_idx",
                [Suggestion::CommunityId, Suggestion::HotRank],
            ),
            (
                "suggestion_author_created_idx",
                [Suggestion::AuthorId, Suggestion::CreatedAt],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(Suggestion::Table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Suggestion::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
pub enum Suggestion {
    Table,
    Id,
    CommunityId,
    AuthorId,
    Kind,
    Title,
    Body,
    ProductLine,
    Status,
    Upvotes,
    Downvotes,
    Score,
    CommentCount,
    HotRank,
    OfficialResponseId,
    FirstResponseAt,
    ResolvedAt,
    DuplicateOfId,
    DeletedAt,
    CreatedAt,
    UpdatedAt,
}
