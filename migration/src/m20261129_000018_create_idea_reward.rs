//! Creates `idea_reward`: an adopted suggestion's share (1–10000 bps) of a product line's net
//! sales in one currency over a window.

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
                    .table(IdeaReward::Table)
                    .if_not_exists()
                    .col(pk_uuid(IdeaReward::Id))
                    .col(uuid(IdeaReward::SuggestionId))
                    .col(string_len(IdeaReward::ProductLine, 100))
                    .col(integer(IdeaReward::ShareBps))
                    .col(string_len(IdeaReward::Currency, 3))
                    .col(timestamp_with_time_zone(IdeaReward::StartsAt))
                    .col(timestamp_with_time_zone_null(IdeaReward::EndsAt))
                    .col(uuid(IdeaReward::CreatedBy))
                    .col(timestamp_with_time_zone(IdeaReward::CreatedAt))
                    .check(
                        Expr::col(IdeaReward::ShareBps)
                            .gte(1)
                            .and(Expr::col(IdeaReward::ShareBps).lte(10000)),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(IdeaReward::Table, IdeaReward::SuggestionId)
                            .to(Suggestion::Table, Suggestion::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(IdeaReward::Table, IdeaReward::CreatedBy)
                            .to(User::Table, User::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idea_reward_line_idx")
                    .table(IdeaReward::Table)
                    .col(IdeaReward::ProductLine)
                    .col(IdeaReward::Currency)
                    .col(IdeaReward::StartsAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idea_reward_suggestion_idx")
                    .table(IdeaReward::Table)
                    .col(IdeaReward::SuggestionId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IdeaReward::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum IdeaReward {
    Table,
    Id,
    SuggestionId,
    ProductLine,
    ShareBps,
    Currency,
    StartsAt,
    EndsAt,
    CreatedBy,
    CreatedAt,
}
