//! Creates `comment`: comments on suggestions, official ones flagged, with edit and
//! soft-delete times.

use sea_orm_migration::{prelude::*, schema::*};

use super::m20261123_000001_create_user::User;
use super::m20261124_000007_create_suggestion::Suggestion;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Comment::Table)
                    .if_not_exists()
                    .col(pk_uuid(Comment::Id))
                    .col(uuid(Comment::SuggestionId))
                    .col(uuid(Comment::AuthorId))
                    .col(text(Comment::Body))
                    .col(boolean(Comment::Official).default(false))
                    .col(timestamp_with_time_zone(Comment::CreatedAt))
                    .col(timestamp_with_time_zone_null(Comment::EditedAt))
                    .col(timestamp_with_time_zone_null(Comment::DeletedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Comment::Table, Comment::SuggestionId)
                            .to(Suggestion::Table, Suggestion::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Comment::Table, Comment::AuthorId)
                            .to(User::Table, User::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("comment_suggestion_idx")
                    .table(Comment::Table)
                    .col(Comment::SuggestionId)
                    .col(Comment::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Comment::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Comment {
    Table,
    Id,
    SuggestionId,
    AuthorId,
    Body,
    Official,
    CreatedAt,
    EditedAt,
    DeletedAt,
}
