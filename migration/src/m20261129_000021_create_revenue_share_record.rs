//! Creates `revenue_share_record`: the ledger of amounts owed to contributors per report and
//! reward, their payout status, and reversals (each record reversed at most once).

use sea_orm_migration::{prelude::*, schema::*};

use super::m20261123_000001_create_user::User;
use super::m20261129_000018_create_idea_reward::IdeaReward;
use super::m20261129_000020_create_sales_report::SalesReport;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RevenueShareRecord::Table)
                    .if_not_exists()
                    .col(pk_uuid(RevenueShareRecord::Id))
                    .col(uuid(RevenueShareRecord::RewardId))
                    .col(uuid(RevenueShareRecord::SalesReportId))
                    .col(uuid(RevenueShareRecord::BeneficiaryId))
                    .col(big_integer(RevenueShareRecord::AmountMinor))
                    .col(string_len(RevenueShareRecord::Currency, 3))
                    .col(string_len(RevenueShareRecord::Status, 16))
                    .col(timestamp_with_time_zone(RevenueShareRecord::CreatedAt))
                    .col(timestamp_with_time_zone_null(
                        RevenueShareRecord::ApprovedAt,
                    ))
                    .col(timestamp_with_time_zone_null(RevenueShareRecord::PaidAt))
                    .col(string_len_null(RevenueShareRecord::PayoutReference, 200))
                    .col(timestamp_with_time_zone_null(RevenueShareRecord::VoidedAt))
                    .col(string_len_null(RevenueShareRecord::VoidReason, 500))
                    .col(uuid_null(RevenueShareRecord::ReversalOf))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RevenueShareRecord::Table, RevenueShareRecord::RewardId)
                            .to(IdeaReward::Table, IdeaReward::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(RevenueShareRecord::Table, RevenueShareRecord::SalesReportId)
                            .to(SalesReport::Table, SalesReport::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(RevenueShareRecord::Table, RevenueShareRecord::BeneficiaryId)
                            .to(User::Table, User::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(RevenueShareRecord::Table, RevenueShareRecord::ReversalOf)
                            .to(RevenueShareRecord::Table, RevenueShareRecord::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // A record is reversed at most once.
        manager
            .create_index(
                Index::create()
                    .name("revenue_share_record_reversal_key")
                    .table(RevenueShareRecord::Table)
                    .col(RevenueShareRecord::ReversalOf)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("revenue_share_record_beneficiary_idx")
                    .table(RevenueShareRecord::Table)
                    .col(RevenueShareRecord::BeneficiaryId)
                    .col(RevenueShareRecord::CreatedAt)
                    .col(RevenueShareRecord::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("revenue_share_record_created_idx")
                    .table(RevenueShareRecord::Table)
                    .col(RevenueShareRecord::CreatedAt)
                    .col(RevenueShareRecord::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("revenue_share_record_report_idx")
                    .table(RevenueShareRecord::Table)
                    .col(RevenueShareRecord::SalesReportId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RevenueShareRecord::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum RevenueShareRecord {
    Table,
    Id,
    RewardId,
    SalesReportId,
    BeneficiaryId,
    AmountMinor,
    Currency,
    Status,
    CreatedAt,
    ApprovedAt,
    PaidAt,
    PayoutReference,
    VoidedAt,
    VoidReason,
    ReversalOf,
}
