//! `tally_change`: a suggestion's sort keys as they were before each write that changed them
//! (or a mark that the write created it), with the writing transaction, so a listing can page
//! against the order as it stood when its first page was read.

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
                    .table(TallyChange::Table)
                    .if_not_exists()
                    .col(pk_auto(TallyChange::Id).big_integer())
                    .col(uuid(TallyChange::SuggestionId))
                    .col(integer(TallyChange::ScoreBefore))
                    .col(integer(TallyChange::CommentsBefore))
                    .col(big_integer(TallyChange::HotBefore))
                    .col(boolean(TallyChange::Created))
                    .col(big_integer_null(TallyChange::Txid))
                    .col(timestamp_with_time_zone(TallyChange::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(TallyChange::Table, TallyChange::SuggestionId)
                            .to(Suggestion::Table, Suggestion::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("tally_change_txid_idx", TallyChange::Txid),
            ("tally_change_created_idx", TallyChange::CreatedAt),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(TallyChange::Table)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TallyChange::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum TallyChange {
    Table,
    Id,
    SuggestionId,
    ScoreBefore,
    CommentsBefore,
    HotBefore,
    Created,
    Txid,
    CreatedAt,
}
