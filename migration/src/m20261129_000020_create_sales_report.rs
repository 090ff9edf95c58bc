//! Creates `sales_report`: reported net sales of a product line for a period, unique per
//! (reporter, external id).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SalesReport::Table)
                    .if_not_exists()
                    .col(pk_uuid(SalesReport::Id))
                    .col(string_len(SalesReport::ReporterKind, 16))
                    .col(uuid(SalesReport::ReporterId))
                    .col(string_len(SalesReport::ExternalId, 200))
                    .col(string_len(SalesReport::ProductLine, 100))
                    .col(timestamp_with_time_zone(SalesReport::PeriodStart))
                    .col(timestamp_with_time_zone(SalesReport::PeriodEnd))
                    .col(big_integer(SalesReport::NetSalesMinor))
                    .col(string_len(SalesReport::Currency, 3))
                    .col(timestamp_with_time_zone(SalesReport::CreatedAt))
                    .to_owned(),
            )
            .await?;
        // The idempotency key: one report per (reporter, externalId).
        manager
            .create_index(
                Index::create()
                    .name("sales_report_reporter_external_key")
                    .table(SalesReport::Table)
                    .col(SalesReport::ReporterKind)
                    .col(SalesReport::ReporterId)
                    .col(SalesReport::ExternalId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SalesReport::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum SalesReport {
    Table,
    Id,
    ReporterKind,
    ReporterId,
    ExternalId,
    ProductLine,
    PeriodStart,
    PeriodEnd,
    NetSalesMinor,
    Currency,
    CreatedAt,
}
