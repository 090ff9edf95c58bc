//! `rate_limit_window` becomes UNLOGGED on Postgres: a count goes to no write-ahead log, so the
//! upsert that counts a request (one for every mutation) no longer waits for a WAL flush to
//! disk. What it gives up is harmless for a count of the last minute: after a crash of the
//! database (not a clean restart) the table starts empty, and a standby does not have it. SQLite
//! counts in memory and has no such table setting.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_persistence(manager, "UNLOGGED").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_persistence(manager, "LOGGED").await
    }
}

/// `ALTER TABLE rate_limit_window SET <persistence>` on Postgres; nothing on SQLite.
async fn set_persistence(manager: &SchemaManager<'_>, persistence: &str) -> Result<(), DbErr> {
    if manager.get_database_backend() == DatabaseBackend::Postgres {
        manager
            .get_connection()
            .execute_unprepared(&format!("ALTER TABLE rate_limit_window SET {persistence}"))
            .await?;
    }
    Ok(())
}
