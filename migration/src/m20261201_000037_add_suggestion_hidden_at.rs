//! Adds `suggestion.hidden_at`: set when a moderator hides the suggestion on a report; hidden
//! ones are shown only to their author and the community's moderators.

use sea_orm_migration::{prelude::*, schema::*};

use super::m20261124_000007_create_suggestion::Suggestion;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Suggestion::Table)
                    .add_column(timestamp_with_time_zone_null(Hidden::HiddenAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Suggestion::Table)
                    .drop_column(Hidden::HiddenAt)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Hidden {
    HiddenAt,
}
