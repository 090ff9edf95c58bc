//! Creates `content_report`: a member's report of a suggestion, comment or user in a community,
//! OPEN until a moderator dismisses it or acts on it. `open_key` is set while it is OPEN, so a
//! reporter holds one open report per target.

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
                    .table(ContentReport::Table)
                    .if_not_exists()
                    .col(pk_uuid(ContentReport::Id))
                    .col(uuid(ContentReport::CommunityId))
                    .col(uuid(ContentReport::ReporterId))
                    .col(string_len(ContentReport::TargetType, 16))
                    .col(uuid(ContentReport::TargetId))
                    .col(text(ContentReport::Reason))
                    .col(string_len(ContentReport::Status, 16))
                    .col(string_len_null(ContentReport::OpenKey, 120).unique_key())
                    .col(uuid_null(ContentReport::ResolvedBy))
                    .col(timestamp_with_time_zone_null(ContentReport::ResolvedAt))
                    .col(timestamp_with_time_zone(ContentReport::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ContentReport::Table, ContentReport::CommunityId)
                            .to(Community::Table, Community::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ContentReport::Table, ContentReport::ReporterId)
                            .to(User::Table, User::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // The moderation queue: a community's open reports, oldest first.
        manager
            .create_index(
                Index::create()
                    .name("content_report_queue_idx")
                    .table(ContentReport::Table)
                    .col(ContentReport::CommunityId)
                    .col(ContentReport::Status)
                    .col(ContentReport::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ContentReport::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum ContentReport {
    Table,
    Id,
    CommunityId,
    ReporterId,
    TargetType,
    TargetId,
    Reason,
    Status,
    OpenKey,
    ResolvedBy,
    ResolvedAt,
    CreatedAt,
}
