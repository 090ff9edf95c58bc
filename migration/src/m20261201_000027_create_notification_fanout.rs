//! Creates `notification_fanout`: notifications still to be written to many users (a shipped
//! suggestion's voters), worked off in chunks after the change that caused them committed, with
//! how far each has got.

use sea_orm_migration::{prelude::*, schema::*};

use super::m20261124_000007_create_suggestion::Suggestion;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(NotificationFanout::Table)
                    .if_not_exists()
                    .col(pk_uuid(NotificationFanout::Id))
                    .col(uuid(NotificationFanout::SuggestionId))
                    .col(string_len(NotificationFanout::Kind, 32))
                    .col(uuid_null(NotificationFanout::AfterUserId))
                    .col(uuid_null(NotificationFanout::SkipUserId))
                    .col(timestamp_with_time_zone(NotificationFanout::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(NotificationFanout::Table, NotificationFanout::SuggestionId)
                            .to(Suggestion::Table, Suggestion::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(NotificationFanout::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum NotificationFanout {
    Table,
    Id,
    SuggestionId,
    Kind,
    AfterUserId,
    SkipUserId,
    CreatedAt,
}
