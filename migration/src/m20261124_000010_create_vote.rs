//! Creates `vote`: one vote per (suggestion, user), UP, DOWN or NONE.

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
                    .table(Vote::Table)
                    .if_not_exists()
                    .col(pk_uuid(Vote::Id))
                    .col(uuid(Vote::SuggestionId))
                    .col(uuid(Vote::UserId))
                    .col(string_len(Vote::Value, 8))
                    .col(timestamp_with_time_zone(Vote::CreatedAt))
                    .col(timestamp_with_time_zone(Vote::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Vote::Table, Vote::SuggestionId)
                            .to(Suggestion::Table, Suggestion::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Vote::Table, Vote::UserId)
                            .to(User::Table, User::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("vote_suggestion_user_key")
                    .table(Vote::Table)
                    .col(Vote::SuggestionId)
                    .col(Vote::UserId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("vote_user_idx")
                    .table(Vote::Table)
                    .col(Vote::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Vote::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Vote {
    Table,
    Id,
    SuggestionId,
    UserId,
    Value,
    CreatedAt,
    UpdatedAt,
}
