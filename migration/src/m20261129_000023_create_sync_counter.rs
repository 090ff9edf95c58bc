use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

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
        // The one counter row: a fresh epoch and cursor-signing key, made by the database itself
        // when it is created (a restored copy keeps them; a new database gets new ones).
        let random_hex = match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                "md5(random()::text || clock_timestamp()::text) || md5(random()::text)"
            }
            _ => "lower(hex(randomblob(32)))",
        };
        let epoch = match manager.get_database_backend() {
            DatabaseBackend::Postgres => "gen_random_uuid()::text",
            _ => "lower(hex(randomblob(16)))",
        };
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "INSERT INTO sync_counter (id, seq, epoch, cursor_key, horizon_seq) \
                 VALUES (1, 0, {epoch}, {random_hex}, 0)"
            ))
            .await?;
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
