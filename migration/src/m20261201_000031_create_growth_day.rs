//! Creates `growth_day`: the points each user has claimed per capped kind and UTC day, so a
//! daily cap holds under concurrent writes (the row is the lock).

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
                    .table(GrowthDay::Table)
                    .if_not_exists()
                    .col(uuid(GrowthDay::UserId))
                    .col(string_len(GrowthDay::Kind, 32))
                    .col(string_len(GrowthDay::Day, 10))
                    .col(big_integer(GrowthDay::Claimed))
                    .primary_key(
                        Index::create()
                            .col(GrowthDay::UserId)
                            .col(GrowthDay::Kind)
                            .col(GrowthDay::Day),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(GrowthDay::Table, GrowthDay::UserId)
                            .to(User::Table, User::Id),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(GrowthDay::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum GrowthDay {
    Table,
    UserId,
    Kind,
    Day,
    Claimed,
}
