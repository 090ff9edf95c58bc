//! Creates `suggestion_event`: a suggestion's status changes (from, to, actor, note), its
//! timeline.

use sea_orm_migration::{prelude::*, schema::*};

use super::m20261123_000001_create_user::User;
use super::m20261124_000007_create_suggestion::Suggestion;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SuggestionEvent::Table)
                    .if_not_exists()
                    .col(pk_uuid(SuggestionEvent::Id))
                    .col(uuid(SuggestionEvent::SuggestionId))
                    .col(uuid_null(SuggestionEvent::ActorId))
                    .col(string_len_null(SuggestionEvent::FromStatus, 16))
                    .col(string_len(SuggestionEvent::ToStatus, 16))
                    .col(text_null(SuggestionEvent::Note))
                    .col(timestamp_with_time_zone(SuggestionEvent::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SuggestionEvent::Table, SuggestionEvent::SuggestionId)
                            .to(Suggestion::Table, Suggestion::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SuggestionEvent::Table, SuggestionEvent::ActorId)
                            .to(User::Table, User::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("suggestion_event_suggestion_idx")
                    .table(SuggestionEvent::Table)
                    .col(SuggestionEvent::SuggestionId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SuggestionEvent::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum SuggestionEvent {
    Table,
    Id,
    SuggestionId,
    ActorId,
    FromStatus,
    ToStatus,
    Note,
    CreatedAt,
}
