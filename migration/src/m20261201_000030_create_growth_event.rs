//! Creates `growth_event`: the append-only points of a user — earned in a community (a
//! suggestion, a comment, a response, an adoption, a shipment) or reported by a partner — once
//! per (user, kind, subject) and once per (reporter, external id).

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
                    .table(GrowthEvent::Table)
                    .if_not_exists()
                    .col(pk_uuid(GrowthEvent::Id))
                    .col(uuid(GrowthEvent::UserId))
                    .col(uuid_null(GrowthEvent::CommunityId))
                    .col(string_len(GrowthEvent::Kind, 32))
                    .col(integer(GrowthEvent::Points))
                    .col(integer(GrowthEvent::RequestedPoints))
                    .col(uuid_null(GrowthEvent::SubjectId))
                    .col(string_len_null(GrowthEvent::ReporterKind, 16))
                    .col(uuid_null(GrowthEvent::ReporterId))
                    .col(string_len_null(GrowthEvent::ExternalId, 200))
                    .col(timestamp_with_time_zone(GrowthEvent::OccurredAt))
                    .col(timestamp_with_time_zone(GrowthEvent::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(GrowthEvent::Table, GrowthEvent::UserId)
                            .to(User::Table, User::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(GrowthEvent::Table, GrowthEvent::CommunityId)
                            .to(Community::Table, Community::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // A subject earns its kind of points once per user (NULL subjects are distinct).
        manager
            .create_index(
                Index::create()
                    .name("growth_event_subject_key")
                    .table(GrowthEvent::Table)
                    .col(GrowthEvent::UserId)
                    .col(GrowthEvent::Kind)
                    .col(GrowthEvent::SubjectId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The idempotency key of reported events.
        manager
            .create_index(
                Index::create()
                    .name("growth_event_reporter_external_key")
                    .table(GrowthEvent::Table)
                    .col(GrowthEvent::ReporterKind)
                    .col(GrowthEvent::ReporterId)
                    .col(GrowthEvent::ExternalId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The leaderboard: a community's events in a window.
        manager
            .create_index(
                Index::create()
                    .name("growth_event_community_idx")
                    .table(GrowthEvent::Table)
                    .col(GrowthEvent::CommunityId)
                    .col(GrowthEvent::CreatedAt)
                    .to_owned(),
            )
            .await?;
        // `User.growthEvents`, newest first.
        manager
            .create_index(
                Index::create()
                    .name("growth_event_user_idx")
                    .table(GrowthEvent::Table)
                    .col(GrowthEvent::UserId)
                    .col(GrowthEvent::CreatedAt)
                    .col(GrowthEvent::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(GrowthEvent::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum GrowthEvent {
    Table,
    Id,
    UserId,
    CommunityId,
    Kind,
    Points,
    RequestedPoints,
    SubjectId,
    ReporterKind,
    ReporterId,
    ExternalId,
    OccurredAt,
    CreatedAt,
}
