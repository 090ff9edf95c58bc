//! Creates `community`: communities with a unique slug, visibility, stored member count and
//! creator.

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
                    .table(Community::Table)
                    .if_not_exists()
                    .col(pk_uuid(Community::Id))
                    .col(string_len_uniq(Community::Slug, 40))
                    .col(string_len(Community::Name, 100))
                    .col(text(Community::Description))
                    .col(string_len(Community::Visibility, 16))
                    .col(integer(Community::MemberCount).default(0))
                    .col(uuid(Community::CreatedBy))
                    .col(timestamp_with_time_zone(Community::CreatedAt))
                    .col(timestamp_with_time_zone(Community::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Community::Table, Community::CreatedBy)
                            .to(User::Table, User::Id),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Community::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum Community {
    Table,
    Id,
    Slug,
    Name,
    Description,
    Visibility,
    MemberCount,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}
