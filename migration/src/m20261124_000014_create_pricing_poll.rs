//! Creates `pricing_poll`: price polls in a community with their method, price points, window,
//! binding rules, ballot count, eligibility snapshot and outcome.

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
                    .table(PricingPoll::Table)
                    .if_not_exists()
                    .col(pk_uuid(PricingPoll::Id))
                    .col(uuid(PricingPoll::CommunityId))
                    .col(string_len(PricingPoll::ProductName, 200))
                    .col(text(PricingPoll::Description))
                    .col(string_len(PricingPoll::Currency, 3))
                    .col(string_len(PricingPoll::Method, 16))
                    .col(text(PricingPoll::PricePoints))
                    .col(timestamp_with_time_zone(PricingPoll::OpensAt))
                    .col(timestamp_with_time_zone(PricingPoll::ClosesAt))
                    .col(timestamp_with_time_zone_null(PricingPoll::ClosedAt))
                    .col(boolean(PricingPoll::Binding))
                    .col(integer_null(PricingPoll::Quorum))
                    .col(integer(PricingPoll::BallotCount).default(0))
                    .col(boolean(PricingPoll::EligibilityTaken).default(false))
                    .col(integer_null(PricingPoll::EligibleCount))
                    .col(string_len_null(PricingPoll::Outcome, 16))
                    .col(big_integer_null(PricingPoll::RatifiedPrice))
                    .col(timestamp_with_time_zone_null(PricingPoll::OutcomeAt))
                    .col(uuid(PricingPoll::CreatedBy))
                    .col(timestamp_with_time_zone(PricingPoll::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PricingPoll::Table, PricingPoll::CommunityId)
                            .to(Community::Table, Community::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PricingPoll::Table, PricingPoll::CreatedBy)
                            .to(User::Table, User::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("pricing_poll_community_idx")
                    .table(PricingPoll::Table)
                    .col(PricingPoll::CommunityId)
                    .col(PricingPoll::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PricingPoll::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum PricingPoll {
    Table,
    Id,
    CommunityId,
    ProductName,
    Description,
    Currency,
    Method,
    PricePoints,
    OpensAt,
    ClosesAt,
    ClosedAt,
    Binding,
    Quorum,
    BallotCount,
    EligibilityTaken,
    EligibleCount,
    Outcome,
    RatifiedPrice,
    OutcomeAt,
    CreatedBy,
    CreatedAt,
}
