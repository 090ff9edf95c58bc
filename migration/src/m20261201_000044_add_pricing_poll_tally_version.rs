//! Adds `pricing_poll.tally_version`: bumped by every ballot that changes the poll's tallies, in
//! the transaction (and under the poll's row lock) that changes them, so computed results can be
//! reused until the next ballot.

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
                    .add_column(big_integer(Version::TallyVersion).default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(PricingPoll::Table)
                    .drop_column(Version::TallyVersion)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum PricingPoll {
    Table,
}

#[derive(DeriveIden)]
enum Version {
    TallyVersion,
}
