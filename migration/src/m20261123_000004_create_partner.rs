//! Creates `partner`: registered partner systems with their client id, hashed secret, granted
//! scopes, creator and revocation time.

use sea_orm_migration::{prelude::*, schema::*};

use super::m20261123_000001_create_user::User;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Partner::Table)
                    .if_not_exists()
                    .col(pk_uuid(Partner::Id))
                    .col(string_len(Partner::Name, 100))
                    .col(string_len_uniq(Partner::ClientId, 64))
                    .col(string_len(Partner::SecretHash, 64))
                    .col(text(Partner::Scopes))
                    .col(uuid_null(Partner::CreatedBy))
                    .col(timestamp_with_time_zone(Partner::CreatedAt))
                    .col(timestamp_with_time_zone_null(Partner::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Partner::Table, Partner::CreatedBy)
                            .to(User::Table, User::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Partner::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Partner {
    Table,
    Id,
    Name,
    ClientId,
    SecretHash,
    Scopes,
    CreatedBy,
    CreatedAt,
    RevokedAt,
}
