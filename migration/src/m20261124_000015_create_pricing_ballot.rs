//! Creates `pricing_ballot`: one ballot per (poll, user), holding the part of its poll's method.

use sea_orm_migration::{prelude::*, schema::*};

use super::m20261123_000001_create_user::User;
use super::m20261124_000014_create_pricing_poll::PricingPoll;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PricingBallot::Table)
                    .if_not_exists()
                    .col(pk_uuid(PricingBallot::Id))
                    .col(uuid(PricingBallot::PollId))
                    .col(uuid(PricingBallot::UserId))
                    .col(big_integer_null(PricingBallot::Choice))
                    .col(big_integer_null(PricingBallot::TooCheap))
                    .col(big_integer_null(PricingBallot::Cheap))
                    .col(big_integer_null(PricingBallot::Expensive))
                    .col(big_integer_null(PricingBallot::TooExpensive))
                    .col(text_null(PricingBallot::WouldBuy))
                    .col(timestamp_with_time_zone(PricingBallot::CreatedAt))
                    .col(timestamp_with_time_zone(PricingBallot::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PricingBallot::Table, PricingBallot::PollId)
                            .to(PricingPoll::Table, PricingPoll::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PricingBallot::Table, PricingBallot::UserId)
                            .to(User::Table, User::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("pricing_ballot_poll_user_key")
                    .table(PricingBallot::Table)
                    .col(PricingBallot::PollId)
                    .col(PricingBallot::UserId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PricingBallot::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum PricingBallot {
    Table,
    Id,
    PollId,
    UserId,
    Choice,
    TooCheap,
    Cheap,
    Expensive,
    TooExpensive,
    WouldBuy,
    CreatedAt,
    UpdatedAt,
}
