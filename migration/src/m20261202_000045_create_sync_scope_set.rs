//! `sync_scope_set`: the sets of sync scopes pull cursors refer to. A cursor names the set its
//! device holds by the set's digest instead of listing every scope, so it stays the same size
//! however many communities its user joins. A set is written once and never changed; `used_at`
//! lets the tombstone purge forget sets no cursor has brought back for longer than the horizon.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SyncScopeSet::Table)
                    .if_not_exists()
                    .col(string_len(SyncScopeSet::Id, 64).primary_key())
                    .col(text(SyncScopeSet::Scopes))
                    .col(timestamp_with_time_zone(SyncScopeSet::UsedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("sync_scope_set_used_at_idx")
                    .table(SyncScopeSet::Table)
                    .col(SyncScopeSet::UsedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SyncScopeSet::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum SyncScopeSet {
    Table,
    Id,
    Scopes,
    UsedAt,
}
