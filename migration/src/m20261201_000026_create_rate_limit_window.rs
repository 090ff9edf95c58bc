//! Creates `rate_limit_window`: requests counted per limit, key and one-minute window, so that
//! every replica on one Postgres counts the same requests (a SQLite server counts in memory and
//! leaves it empty).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RateLimitWindow::Table)
                    .if_not_exists()
                    .col(string_len(RateLimitWindow::Bucket, 32))
                    .col(string_len(RateLimitWindow::Key, 200))
                    .col(big_integer(RateLimitWindow::WindowStart))
                    .col(integer(RateLimitWindow::Count))
                    .primary_key(
                        Index::create()
                            .col(RateLimitWindow::Bucket)
                            .col(RateLimitWindow::Key)
                            .col(RateLimitWindow::WindowStart),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("rate_limit_window_start_idx")
                    .table(RateLimitWindow::Table)
                    .col(RateLimitWindow::WindowStart)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RateLimitWindow::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum RateLimitWindow {
    Table,
    Bucket,
    Key,
    WindowStart,
    Count,
}
