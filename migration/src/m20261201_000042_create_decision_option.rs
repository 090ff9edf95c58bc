//! Creates `decision_option`: the candidates of a DECISION poll, in order — each a suggestion
//! (with when it was submitted, which breaks ties) or a free-text label.

use sea_orm_migration::{prelude::*, schema::*};

use super::m20261124_000007_create_suggestion::Suggestion;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DecisionOption::Table)
                    .if_not_exists()
                    .col(pk_uuid(DecisionOption::Id))
                    .col(uuid(DecisionOption::PollId))
                    .col(integer(DecisionOption::Position))
                    .col(uuid_null(DecisionOption::SuggestionId))
                    .col(string_len(DecisionOption::Label, 200))
                    .col(timestamp_with_time_zone_null(DecisionOption::SubmittedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(DecisionOption::Table, DecisionOption::PollId)
                            .to(PricingPoll::Table, PricingPoll::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(DecisionOption::Table, DecisionOption::SuggestionId)
                            .to(Suggestion::Table, Suggestion::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("decision_option_poll_position_key")
                    .table(DecisionOption::Table)
                    .col(DecisionOption::PollId)
                    .col(DecisionOption::Position)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DecisionOption::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum PricingPoll {
    Table,
    Id,
}

#[derive(DeriveIden)]
pub enum DecisionOption {
    Table,
    Id,
    PollId,
    Position,
    SuggestionId,
    Label,
    SubmittedAt,
}
