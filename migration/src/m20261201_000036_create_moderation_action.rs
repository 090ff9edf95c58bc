//! Creates `moderation_action`: the public moderation log — who did what to which target, why,
//! and until when (never who reported it).

use sea_orm_migration::{prelude::*, schema::*};

use super::m20261123_000001_create_user::User;
use super::m20261124_000005_create_community::Community;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ModerationAction::Table)
                    .if_not_exists()
                    .col(pk_uuid(ModerationAction::Id))
                    .col(uuid_null(ModerationAction::CommunityId))
                    .col(uuid(ModerationAction::ModeratorId))
                    .col(string_len(ModerationAction::Action, 32))
                    .col(string_len(ModerationAction::TargetType, 16))
                    .col(uuid(ModerationAction::TargetId))
                    .col(text_null(ModerationAction::Reason))
                    .col(timestamp_with_time_zone_null(ModerationAction::ExpiresAt))
                    .col(timestamp_with_time_zone(ModerationAction::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ModerationAction::Table, ModerationAction::CommunityId)
                            .to(Community::Table, Community::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ModerationAction::Table, ModerationAction::ModeratorId)
                            .to(User::Table, User::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("moderation_action_community_idx")
                    .table(ModerationAction::Table)
                    .col(ModerationAction::CommunityId)
                    .col(ModerationAction::CreatedAt)
                    .col(ModerationAction::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ModerationAction::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum ModerationAction {
    Table,
    Id,
    CommunityId,
    ModeratorId,
    Action,
    TargetType,
    TargetId,
    Reason,
    ExpiresAt,
    CreatedAt,
}
