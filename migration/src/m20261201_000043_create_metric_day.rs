//! Loop metrics kept on write: `suggestion.first_response_ms` and `suggestion.resolution_ms`
//! (the times the metrics average, in whole milliseconds), `metric_day` (per community, UTC day
//! of creation, kind and status: how many live suggestions, how many answered and resolved, and
//! the sums of their times) and `metric_author` (live suggestions per community and author), with
//! the index the median walks. Existing suggestions are counted in.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

use super::m20261123_000001_create_user::User;
use super::m20261124_000005_create_community::Community;
use super::m20261124_000007_create_suggestion::Suggestion;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Times::FirstResponseMs, Times::ResolutionMs] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Suggestion::Table)
                        .add_column(big_integer_null(column))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(MetricDay::Table)
                    .if_not_exists()
                    .col(uuid(MetricDay::CommunityId))
                    .col(string_len(MetricDay::Day, 10))
                    .col(string_len(MetricDay::Kind, 16))
                    .col(string_len(MetricDay::Status, 16))
                    .col(big_integer(MetricDay::Suggestions))
                    .col(big_integer(MetricDay::Responded))
                    .col(big_integer(MetricDay::ResponseMs))
                    .col(big_integer(MetricDay::Resolved))
                    .col(big_integer(MetricDay::ResolutionMs))
                    .primary_key(
                        Index::create()
                            .col(MetricDay::CommunityId)
                            .col(MetricDay::Day)
                            .col(MetricDay::Kind)
                            .col(MetricDay::Status),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(MetricDay::Table, MetricDay::CommunityId)
                            .to(Community::Table, Community::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MetricAuthor::Table)
                    .if_not_exists()
                    .col(uuid(MetricAuthor::CommunityId))
                    .col(uuid(MetricAuthor::AuthorId))
                    .col(big_integer(MetricAuthor::Suggestions))
                    .primary_key(
                        Index::create()
                            .col(MetricAuthor::CommunityId)
                            .col(MetricAuthor::AuthorId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(MetricAuthor::Table, MetricAuthor::CommunityId)
                            .to(Community::Table, Community::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(MetricAuthor::Table, MetricAuthor::AuthorId)
                            .to(User::Table, User::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("metric_author_community_suggestions_idx")
                    .table(MetricAuthor::Table)
                    .col(MetricAuthor::CommunityId)
                    .col(MetricAuthor::Suggestions)
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        // The median walks the answered live suggestions of a community in order of their time.
        db.execute_unprepared(
            "CREATE INDEX suggestion_community_response_ms_idx \
             ON suggestion (community_id, first_response_ms, created_at) \
             WHERE deleted_at IS NULL AND first_response_ms IS NOT NULL",
        )
        .await?;
        let (millis, day) = match manager.get_database_backend() {
            DatabaseBackend::Postgres => (
                "CAST(ROUND(EXTRACT(EPOCH FROM ({end} - created_at)) * 1000) AS BIGINT)",
                "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
            ),
            _ => (
                "CAST(ROUND((julianday({end}) - julianday(created_at)) * 86400000) AS INTEGER)",
                "strftime('%Y-%m-%d', created_at)",
            ),
        };
        db.execute_unprepared(&format!(
            "UPDATE suggestion SET first_response_ms = {}, resolution_ms = {}",
            millis.replace("{end}", "first_response_at"),
            millis.replace("{end}", "resolved_at"),
        ))
        .await?;
        db.execute_unprepared(&format!(
            "INSERT INTO metric_day (community_id, day, kind, status, suggestions, responded, \
             response_ms, resolved, resolution_ms) \
             SELECT community_id, {day}, kind, status, COUNT(*), COUNT(first_response_ms), \
             COALESCE(SUM(first_response_ms), 0), COUNT(resolution_ms), \
             COALESCE(SUM(resolution_ms), 0) \
             FROM suggestion WHERE deleted_at IS NULL GROUP BY community_id, {day}, kind, status"
        ))
        .await?;
        db.execute_unprepared(
            "INSERT INTO metric_author (community_id, author_id, suggestions) \
             SELECT community_id, author_id, COUNT(*) FROM suggestion \
             WHERE deleted_at IS NULL GROUP BY community_id, author_id",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX suggestion_community_response_ms_idx")
            .await?;
        manager
            .drop_table(Table::drop().table(MetricAuthor::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(MetricDay::Table).to_owned())
            .await?;
        for column in [Times::ResolutionMs, Times::FirstResponseMs] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Suggestion::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Times {
    FirstResponseMs,
    ResolutionMs,
}

#[derive(DeriveIden)]
enum MetricDay {
    Table,
    CommunityId,
    Day,
    Kind,
    Status,
    Suggestions,
    Responded,
    ResponseMs,
    Resolved,
    ResolutionMs,
}

#[derive(DeriveIden)]
enum MetricAuthor {
    Table,
    CommunityId,
    AuthorId,
    Suggestions,
}
