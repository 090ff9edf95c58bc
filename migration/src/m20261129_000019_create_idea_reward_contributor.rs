//! Creates `idea_reward_contributor`: a reward's contributors in order, each with a positive
//! weight, each user at most once per reward.

use sea_orm_migration::{prelude::*, schema::*};

use super::m20261123_000001_create_user::User;
use super::m20261129_000018_create_idea_reward::IdeaReward;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IdeaRewardContributor::Table)
                    .if_not_exists()
                    .col(uuid(IdeaRewardContributor::RewardId))
                    .col(integer(IdeaRewardContributor::Position))
                    .col(uuid(IdeaRewardContributor::UserId))
                    .col(integer(IdeaRewardContributor::WeightBps))
                    .primary_key(
                        Index::create()
                            .col(IdeaRewardContributor::RewardId)
                            .col(IdeaRewardContributor::Position),
                    )
                    .check(Expr::col(IdeaRewardContributor::WeightBps).gt(0))
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                IdeaRewardContributor::Table,
                                IdeaRewardContributor::RewardId,
                            )
                            .to(IdeaReward::Table, IdeaReward::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(IdeaRewardContributor::Table, IdeaRewardContributor::UserId)
                            .to(User::Table, User::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idea_reward_contributor_user_key")
                    .table(IdeaRewardContributor::Table)
                    .col(IdeaRewardContributor::RewardId)
                    .col(IdeaRewardContributor::UserId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IdeaRewardContributor::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum IdeaRewardContributor {
    Table,
    RewardId,
    Position,
    UserId,
    WeightBps,
}
