//! `pricing_tally`: per-poll aggregates — how many current ballots gave each answer at each
//! price — kept in the ballot's transaction, so results never rescan ballots.

use sea_orm_migration::{prelude::*, schema::*};

use super::m20261124_000014_create_pricing_poll::PricingPoll;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PricingTally::Table)
                    .if_not_exists()
                    .col(uuid(PricingTally::PollId))
                    .col(string_len(PricingTally::Answer, 16))
                    .col(big_integer(PricingTally::Price))
                    .col(big_integer(PricingTally::Ballots))
                    .primary_key(
                        Index::create()
                            .col(PricingTally::PollId)
                            .col(PricingTally::Answer)
                            .col(PricingTally::Price),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PricingTally::Table, PricingTally::PollId)
                            .to(PricingPoll::Table, PricingPoll::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PricingTally::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum PricingTally {
    Table,
    PollId,
    Answer,
    Price,
    Ballots,
}
