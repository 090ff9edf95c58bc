//! Adds `pricing_poll.winners`: how many options a DECISION poll elects (and how many each
//! ballot may choose); NULL for the pricing methods.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(PricingPoll::Table)
                    .add_column(integer_null(PricingPoll::Winners))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(PricingPoll::Table)
                    .drop_column(PricingPoll::Winners)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum PricingPoll {
    Table,
    Winners,
}
