//! Adds what the Postgres sync order needs to `sync_counter`: `xid_offset`, added to a write's
//! transaction id to make its `seq` (set once at start-up, so every new seq is above every stored
//! one), and `xid_origin`, the cluster's system identifier and the database's oid it was set on
//! (a copy of the database elsewhere gets a new offset and epoch at start-up). Both stay NULL on
//! SQLite, whose writers take the counter row's `seq`.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        for column in [
            big_integer_null(SyncCounter::XidOffset),
            string_null(SyncCounter::XidOrigin),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(SyncCounter::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [SyncCounter::XidOrigin, SyncCounter::XidOffset] {
            manager
                .alter_table(
                    Table::alter()
                        .table(SyncCounter::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum SyncCounter {
    Table,
    XidOffset,
    XidOrigin,
}
