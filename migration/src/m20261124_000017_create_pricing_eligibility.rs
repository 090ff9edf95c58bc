//! `pricing_eligibility`: the members eligible for a binding poll, snapshotted at `opensAt`.

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
                    .table(PricingEligibility::Table)
                    .if_not_exists()
                    .col(uuid(PricingEligibility::PollId))
                    .col(uuid(PricingEligibility::UserId))
                    .primary_key(
                        Index::create()
                            .col(PricingEligibility::PollId)
                            .col(PricingEligibility::UserId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PricingEligibility::Table, PricingEligibility::PollId)
                            .to(PricingPoll::Table, PricingPoll::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PricingEligibility::Table, PricingEligibility::UserId)
                            .to(User::Table, User::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PricingEligibility::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum PricingEligibility {
    Table,
    PollId,
    UserId,
}
