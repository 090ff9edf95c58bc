//! Creates `appeal`: the sanctioned user's one appeal of a sanction, decided by a moderator or
//! admin other than the issuer.

use sea_orm_migration::{prelude::*, schema::*};

use super::m20261123_000001_create_user::User;
use super::m20261201_000034_create_sanction::Sanction;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Appeal::Table)
                    .if_not_exists()
                    .col(pk_uuid(Appeal::Id))
                    .col(uuid_uniq(Appeal::SanctionId))
                    .col(uuid(Appeal::UserId))
                    .col(text(Appeal::Statement))
                    .col(string_len(Appeal::Status, 16))
                    .col(uuid_null(Appeal::DecidedBy))
                    .col(text_null(Appeal::Note))
                    .col(timestamp_with_time_zone(Appeal::CreatedAt))
                    .col(timestamp_with_time_zone_null(Appeal::DecidedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Appeal::Table, Appeal::SanctionId)
                            .to(Sanction::Table, Sanction::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Appeal::Table, Appeal::UserId)
                            .to(User::Table, User::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Appeal::Table, Appeal::DecidedBy)
                            .to(User::Table, User::Id),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Appeal::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum Appeal {
    Table,
    Id,
    SanctionId,
    UserId,
    Statement,
    Status,
    DecidedBy,
    Note,
    CreatedAt,
    DecidedAt,
}
