//! Adds `user.growth_points`: the sum of the user's growth events, kept with them in one
//! transaction.

use sea_orm_migration::{prelude::*, schema::*};

use super::m20261123_000001_create_user::User;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(User::Table)
                    .add_column(big_integer(GrowthPoints::GrowthPoints).default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(User::Table)
                    .drop_column(GrowthPoints::GrowthPoints)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum GrowthPoints {
    GrowthPoints,
}
