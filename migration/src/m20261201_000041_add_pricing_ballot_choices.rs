//! Adds `pricing_ballot.choices`: a DECISION ballot's chosen option positions, comma-separated.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(PricingBallot::Table)
                    .add_column(string_len_null(PricingBallot::Choices, 400))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(PricingBallot::Table)
                    .drop_column(PricingBallot::Choices)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum PricingBallot {
    Table,
    Choices,
}
