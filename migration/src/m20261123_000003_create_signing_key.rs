//! Creates `signing_key`: the token-signing key pairs, keyed by key id, with the time each was
//! retired.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SigningKey::Table)
                    .if_not_exists()
                    .col(string_len(SigningKey::Id, 64).primary_key())
                    .col(text(SigningKey::PrivateKey))
                    .col(text(SigningKey::PublicKey))
                    .col(timestamp_with_time_zone(SigningKey::CreatedAt))
                    .col(timestamp_with_time_zone_null(SigningKey::RetiredAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SigningKey::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum SigningKey {
    Table,
    Id,
    PrivateKey,
    PublicKey,
    CreatedAt,
    RetiredAt,
}
