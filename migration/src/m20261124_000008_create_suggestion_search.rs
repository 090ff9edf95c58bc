//! Full-text search over suggestion titles and bodies. The one place the backends differ:
//! Postgres gets a generated `tsvector` column with a GIN index; SQLite an FTS5 table that the
//! suggestions service keeps in step (no triggers). Both use plain word tokens ('simple'
//! configuration / unicode61), so a search finds the same rows on either.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared(
                    "ALTER TABLE suggestion ADD COLUMN search_vector tsvector \
                     GENERATED ALWAYS AS (to_tsvector('simple', title || ' ' || body)) STORED",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE INDEX suggestion_search_idx ON suggestion USING GIN (search_vector)",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "CREATE VIRTUAL TABLE suggestion_fts USING fts5(\
                     suggestion_id UNINDEXED, title, body, tokenize = 'unicode61')",
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared("ALTER TABLE suggestion DROP COLUMN search_vector")
                    .await?;
            }
            _ => {
                db.execute_unprepared("DROP TABLE suggestion_fts").await?;
            }
        }
        Ok(())
    }
}
