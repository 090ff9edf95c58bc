//! Creates `sync_counter`: the one row holding the sync sequence head, epoch, cursor key and
//! tombstone horizon.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SyncCounter::Table)
                    .if_not_exists()
                    .col(integer(SyncCounter::Id).primary_key())
                    .col(big_integer(SyncCounter::Seq).default(0))
                    .col(string_len(SyncCounter::Epoch, 64))
                    .col(string_len(SyncCounter::CursorKey, 128))
                    .col(big_integer(SyncCounter::HorizonSeq).default(0))
                    .to_owned(),
            )
            .await?;
        // Its one row (a fresh epoch and cursor key) is made by the server at start-up.
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SyncCounter::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum SyncCounter {
    Table,
    Id,
    Seq,
    Epoch,
    CursorKey,
    HorizonSeq,
}
