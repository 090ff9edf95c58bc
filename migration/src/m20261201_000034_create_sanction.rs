//! Creates `sanction`: a MUTE or BAN of a user in one community (or site-wide when
//! `community_id` is NULL), ending by itself at `ends_at` (never when NULL) unless lifted first.

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
                    .table(Sanction::Table)
                    .if_not_exists()
                    .col(pk_uuid(Sanction::Id))
                    .col(uuid_null(Sanction::CommunityId))
                    .col(uuid(Sanction::UserId))
                    .col(string_len(Sanction::Kind, 16))
                    .col(string_len(Sanction::Duration, 16))
                    .col(text(Sanction::Reason))
                    .col(timestamp_with_time_zone(Sanction::StartsAt))
                    .col(timestamp_with_time_zone_null(Sanction::EndsAt))
                    .col(timestamp_with_time_zone_null(Sanction::LiftedAt))
                    .col(uuid(Sanction::IssuedBy))
                    .col(integer(Sanction::PointsTaken))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Sanction::Table, Sanction::CommunityId)
                            .to(Community::Table, Community::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Sanction::Table, Sanction::UserId)
                            .to(User::Table, User::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Sanction::Table, Sanction::IssuedBy)
                            .to(User::Table, User::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // Whether a user is sanctioned where they act.
        manager
            .create_index(
                Index::create()
                    .name("sanction_user_idx")
                    .table(Sanction::Table)
                    .col(Sanction::UserId)
                    .col(Sanction::Kind)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Sanction::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum Sanction {
    Table,
    Id,
    CommunityId,
    UserId,
    Kind,
    Duration,
    Reason,
    StartsAt,
    EndsAt,
    LiftedAt,
    IssuedBy,
    PointsTaken,
}
