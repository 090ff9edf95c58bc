//! Creates `user`: accounts with a unique handle, display name, Argon2 password hash, global
//! role, token version (bumped to end access tokens) and ban time.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(User::Table)
                    .if_not_exists()
                    .col(pk_uuid(User::Id))
                    .col(string_len_uniq(User::Handle, 32))
                    .col(string_len(User::DisplayName, 64))
                    .col(text(User::PasswordHash))
                    .col(string_len(User::Role, 16))
                    .col(integer(User::TokenVersion).default(0))
                    .col(timestamp_with_time_zone_null(User::BannedAt))
                    .col(timestamp_with_time_zone(User::CreatedAt))
                    .col(timestamp_with_time_zone(User::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(User::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum User {
    Table,
    Id,
    Handle,
    DisplayName,
    PasswordHash,
    Role,
    TokenVersion,
    BannedAt,
    CreatedAt,
    UpdatedAt,
}
