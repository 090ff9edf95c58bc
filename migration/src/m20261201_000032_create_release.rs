//! Creates `release`: a community's release notes ("Orange Friday"), a draft until published;
//! one per (community, version).

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
                    .table(Release::Table)
                    .if_not_exists()
                    .col(pk_uuid(Release::Id))
                    .col(uuid(Release::CommunityId))
                    .col(string_len(Release::Version, 40))
                    .col(text(Release::Notes))
                    .col(timestamp_with_time_zone_null(Release::ScheduledAt))
                    .col(timestamp_with_time_zone_null(Release::PublishedAt))
                    .col(uuid(Release::CreatedBy))
                    .col(timestamp_with_time_zone(Release::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Release::Table, Release::CommunityId)
                            .to(Community::Table, Community::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Release::Table, Release::CreatedBy)
                            .to(User::Table, User::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("release_community_version_key")
                    .table(Release::Table)
                    .col(Release::CommunityId)
                    .col(Release::Version)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // `releases(communityId)`, newest first.
        manager
            .create_index(
                Index::create()
                    .name("release_community_created_idx")
                    .table(Release::Table)
                    .col(Release::CommunityId)
                    .col(Release::CreatedAt)
                    .col(Release::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Release::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum Release {
    Table,
    Id,
    CommunityId,
    Version,
    Notes,
    ScheduledAt,
    PublishedAt,
    CreatedBy,
    CreatedAt,
}
