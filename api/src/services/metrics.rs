//! Loop metrics of a community (`communityMetrics`) for STAFF/ADMIN and the community's
//! OWNER/MODERATOR: how many suggestions of each kind and status arrived in a window, how many
//! got an official answer and how fast, how many were resolved and adopted, how concentrated the
//! contributions are, and how much of what was released came from users.
//!
//! The figures are kept on write: [`count_change`] runs in the transaction of every write that
//! creates, answers, moves or deletes a suggestion, and adds or takes away that suggestion's
//! share of `metric_day` (per community, UTC day of creation, kind and status: live
//! suggestions, answered, resolved, and the sums of their times in whole milliseconds, which are
//! stored on the suggestion) and of `metric_author` (live suggestions per author). Reading them
//! is four statements in one read-only snapshot: the kind-and-status groups (whole days from
//! `metric_day`, part-days at the window's ends from the suggestions), the median's middle rows
//! (a walk of an index in order of the response time), the top authors' count, and the
//! releases; ratios and times are divided here as exact decimals.

use chrono::{DateTime, Utc};
use entity::suggestion::{self, Kind, Status};
use rust_decimal::{Decimal, RoundingStrategy};
use sea_orm::{
    AccessMode, ActiveEnum, ConnectionTrait, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, FromQueryResult, Statement, TransactionTrait,
};
use uuid::Uuid;

use super::{communities, memberships};
use crate::auth::Viewer;
use crate::db::placeholders;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Decimal places of a ratio.
pub const RATIO_PLACES: u32 = 6;
/// Decimal places of a duration in seconds (milliseconds).
pub const SECONDS_PLACES: u32 = 3;
/// How many of the most active authors `topContributorShare` counts.
pub const TOP_CONTRIBUTORS: i64 = 100;

/// `numerator / denominator` rounded half-even to [`RATIO_PLACES`]; None when nothing was
/// counted.
pub fn ratio(numerator: i64, denominator: i64) -> Option<Decimal> {
    divide(numerator, denominator, RATIO_PLACES)
}

fn divide(numerator: i64, denominator: i64, places: u32) -> Option<Decimal> {
    if denominator == 0 {
        return None;
    }
    (Decimal::from(numerator) / Decimal::from(denominator))
        .round_dp_with_strategy(places, RoundingStrategy::MidpointNearestEven)
        .normalize()
        .into()
}

/// Milliseconds as seconds, exact to the millisecond.
fn seconds(total_ms: i64, count: i64) -> Option<Decimal> {
    divide(total_ms, count.checked_mul(1000)?, SECONDS_PLACES)
}

/// The figures of one community and window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metrics {
    pub community_id: Uuid,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub suggestion_count: i64,
    pub by_kind: Vec<(Kind, i64)>,
    pub by_status: Vec<(Status, i64)>,
    pub responded_count: i64,
    pub reply_rate: Option<Decimal>,
    pub complaint_count: i64,
    pub complaint_reply_rate: Option<Decimal>,
    pub median_first_response_seconds: Option<Decimal>,
    pub mean_first_response_seconds: Option<Decimal>,
    pub resolved_count: i64,
    pub mean_resolution_seconds: Option<Decimal>,
    pub decided_count: i64,
    pub adoption_rate: Option<Decimal>,
    pub top_contributor_share: Option<Decimal>,
    pub released_item_count: i64,
    pub user_sourced_release_share: Option<Decimal>,
}

#[derive(Debug, FromQueryResult)]
struct Group {
    kind: String,
    status: String,
    n: i64,
    responded: i64,
    /// Milliseconds to the first response, summed over those answered.
    response_ms: Option<i64>,
    resolved: i64,
    /// Milliseconds to resolution, summed over those resolved.
    resolution_ms: Option<i64>,
}

#[derive(Debug, FromQueryResult)]
struct Sums {
    n: Option<i64>,
    total: Option<i64>,
}

/// Whole milliseconds from `start` to `end`, rounded half away from zero (the unit of every time
/// the metrics sum; stored on the suggestion when the time is set).
pub fn millis(start: DateTime<Utc>, end: DateTime<Utc>) -> i64 {
    let micros = (end - start).num_microseconds().unwrap_or(i64::MAX);
    let rounded = (micros.unsigned_abs() + 500) / 1000;
    i64::try_from(rounded).unwrap_or(i64::MAX) * micros.signum()
}

/// What one suggestion adds to its community's kept figures: nothing once deleted.
#[derive(Debug, PartialEq, Eq)]
struct Counted {
    community_id: Uuid,
    author_id: Uuid,
    day: String,
    kind: Kind,
    status: Status,
    response_ms: Option<i64>,
    resolution_ms: Option<i64>,
}

impl Counted {
    fn of(row: Option<&suggestion::Model>) -> Option<Self> {
        let row = row.filter(|row| row.deleted_at.is_none())?;
        Some(Counted {
            community_id: row.community_id,
            author_id: row.author_id,
            day: day_of(row.created_at),
            kind: row.kind,
            status: row.status,
            response_ms: row.first_response_ms,
            resolution_ms: row.resolution_ms,
        })
    }

    /// Adds `sign` (1 or -1) times this suggestion to its day's row, and to its author's when
    /// `author` is set.
    async fn add(&self, txn: &DatabaseTransaction, sign: i64, author: bool) -> AppResult<()> {
        let backend = txn.get_database_backend();
        let signed = |value: Option<i64>| value.map_or(0, |v| v * sign);
        let flag = |value: Option<i64>| if value.is_some() { sign } else { 0 };
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            placeholders(
                backend,
                "INSERT INTO metric_day (community_id, day, kind, status, suggestions, responded, \
                 response_ms, resolved, resolution_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (community_id, day, kind, status) DO UPDATE SET \
                 suggestions = metric_day.suggestions + excluded.suggestions, \
                 responded = metric_day.responded + excluded.responded, \
                 response_ms = metric_day.response_ms + excluded.response_ms, \
                 resolved = metric_day.resolved + excluded.resolved, \
                 resolution_ms = metric_day.resolution_ms + excluded.resolution_ms",
            ),
            [
                self.community_id.into(),
                self.day.clone().into(),
                self.kind.to_value().into(),
                self.status.to_value().into(),
                sign.into(),
                flag(self.response_ms).into(),
                signed(self.response_ms).into(),
                flag(self.resolution_ms).into(),
                signed(self.resolution_ms).into(),
            ],
        ))
        .await?;
        if author {
            txn.execute_raw(Statement::from_sql_and_values(
                backend,
                placeholders(
                    backend,
                    "INSERT INTO metric_author (community_id, author_id, suggestions) \
                     VALUES ($1, $2, $3) ON CONFLICT (community_id, author_id) DO UPDATE SET \
                     suggestions = metric_author.suggestions + excluded.suggestions",
                ),
                [self.community_id.into(), self.author_id.into(), sign.into()],
            ))
            .await?;
        }
        Ok(())
    }
}

/// The start of `at`'s UTC day.
fn midnight(at: DateTime<Utc>) -> DateTime<Utc> {
    at.date_naive().and_time(chrono::NaiveTime::MIN).and_utc()
}

/// The UTC day of `at`, as the kept figures are keyed.
fn day_of(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

/// Keeps the community's figures equal to its suggestions across one write of a suggestion:
/// `before` is the row as it was (None for a new one), `after` as written. Called in the
/// writing transaction by every service that creates a suggestion or changes its kind,
/// status, times or deletion.
pub async fn count_change(
    txn: &DatabaseTransaction,
    before: Option<&suggestion::Model>,
    after: &suggestion::Model,
) -> AppResult<()> {
    let (before, after) = (Counted::of(before), Counted::of(Some(after)));
    if before == after {
        return Ok(());
    }
    let author_moved = before.as_ref().map(|c| (c.community_id, c.author_id))
        != after.as_ref().map(|c| (c.community_id, c.author_id));
    if let Some(before) = &before {
        before.add(txn, -1, author_moved).await?;
    }
    if let Some(after) = &after {
        after.add(txn, 1, author_moved).await?;
    }
    Ok(())
}

/// Recounts every community's kept figures from its suggestions, for rows loaded around the
/// services (as `seed-demo` loads them) with their times in milliseconds already stored.
pub async fn recount_all(db: &DatabaseConnection) -> AppResult<()> {
    let day = match db.get_database_backend() {
        DatabaseBackend::Postgres => "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
        _ => "strftime('%Y-%m-%d', created_at)",
    };
    let txn = crate::db::begin_write(db).await?;
    txn.execute_unprepared("DELETE FROM metric_day").await?;
    txn.execute_unprepared("DELETE FROM metric_author").await?;
    txn.execute_unprepared(&format!(
        "INSERT INTO metric_day (community_id, day, kind, status, suggestions, responded, \
         response_ms, resolved, resolution_ms) \
         SELECT community_id, {day}, kind, status, COUNT(*), COUNT(first_response_ms), \
         COALESCE(SUM(first_response_ms), 0), COUNT(resolution_ms), \
         COALESCE(SUM(resolution_ms), 0) \
         FROM suggestion WHERE deleted_at IS NULL GROUP BY community_id, {day}, kind, status"
    ))
    .await?;
    txn.execute_unprepared(
        "INSERT INTO metric_author (community_id, author_id, suggestions) \
         SELECT community_id, author_id, COUNT(*) FROM suggestion \
         WHERE deleted_at IS NULL GROUP BY community_id, author_id",
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// The metrics of `community_id` over suggestions created in `[from, to)` (open ends count
/// everything), and releases published in it. STAFF/ADMIN and the community's OWNER and
/// MODERATORs only (FORBIDDEN for its other members, NOT_FOUND where the community is hidden).
pub async fn community_metrics(
    state: &AppState,
    viewer: &Viewer,
    community_id: Uuid,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> AppResult<Metrics> {
    viewer.require_user()?;
    if let (Some(from), Some(to)) = (from, to)
        && to <= from
    {
        return Err(AppError::bad_input("to", "to must be after from"));
    }
    let db = &state.db;
    let community = communities::require_visible(db, viewer, community_id).await?;
    if !memberships::is_moderator(db, viewer, community.id).await? {
        return Err(AppError::Forbidden(
            "metrics are for the community's owner and moderators, and the brand's staff".into(),
        ));
    }
    // Every figure from one snapshot, so the statements agree with each other.
    let txn = db
        .begin_with_config(None, Some(AccessMode::ReadOnly))
        .await?;
    let metrics = figures(&txn, community.id, from, to).await?;
    txn.commit().await?;
    Ok(metrics)
}

/// The figures of [`community_metrics`], read in the snapshot of `db`.
async fn figures(
    db: &DatabaseTransaction,
    community_id: Uuid,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> AppResult<Metrics> {
    let backend = db.get_database_backend();
    let window = Window::new(community_id, from, to);
    let groups = window.groups(db).await?;
    let mut metrics = Metrics {
        community_id,
        from,
        to,
        suggestion_count: 0,
        by_kind: Vec::new(),
        by_status: Vec::new(),
        responded_count: 0,
        reply_rate: None,
        complaint_count: 0,
        complaint_reply_rate: None,
        median_first_response_seconds: None,
        mean_first_response_seconds: None,
        resolved_count: 0,
        mean_resolution_seconds: None,
        decided_count: 0,
        adoption_rate: None,
        top_contributor_share: None,
        released_item_count: 0,
        user_sourced_release_share: None,
    };
    let (mut complaints_responded, mut adopted) = (0, 0);
    let (mut response_ms, mut resolution_ms) = (0i64, 0i64);
    for group in groups.into_iter().filter(|group| group.n != 0) {
        let kind = Kind::try_from_value(&group.kind)
            .map_err(|_| AppError::internal(format!("a stored kind: {}", group.kind)))?;
        let status = Status::try_from_value(&group.status)
            .map_err(|_| AppError::internal(format!("a stored status: {}", group.status)))?;
        add(&mut metrics.by_kind, kind, group.n);
        add(&mut metrics.by_status, status, group.n);
        metrics.suggestion_count += group.n;
        metrics.responded_count += group.responded;
        metrics.resolved_count += group.resolved;
        response_ms += group.response_ms.unwrap_or(0);
        resolution_ms += group.resolution_ms.unwrap_or(0);
        if kind == Kind::Complaint {
            metrics.complaint_count += group.n;
            complaints_responded += group.responded;
        }
        if matches!(
            status,
            Status::Planned | Status::InProgress | Status::Shipped | Status::Declined
        ) {
            metrics.decided_count += group.n;
        }
        if matches!(
            status,
            Status::Planned | Status::InProgress | Status::Shipped
        ) {
            adopted += group.n;
        }
    }
    metrics.by_kind.sort_by_key(|(kind, _)| kind.to_value());
    metrics
        .by_status
        .sort_by_key(|(status, _)| status.to_value());
    metrics.reply_rate = ratio(metrics.responded_count, metrics.suggestion_count);
    metrics.complaint_reply_rate = ratio(complaints_responded, metrics.complaint_count);
    metrics.adoption_rate = ratio(adopted, metrics.decided_count);
    metrics.mean_first_response_seconds = seconds(response_ms, metrics.responded_count);
    metrics.mean_resolution_seconds = seconds(resolution_ms, metrics.resolved_count);
    // The median: the middle row, or the two middle rows of an even count, of the answered
    // suggestions in order of their time (a walk along `suggestion_community_response_ms_idx`).
    if metrics.responded_count > 0 {
        let (offset, limit) = (
            (metrics.responded_count - 1) / 2,
            2 - metrics.responded_count % 2,
        );
        let median = Sums::find_by_statement(window.statement(
            backend,
            &format!(
                "SELECT COUNT(*) AS n, CAST(SUM(ms) AS BIGINT) AS total FROM ( \
                   SELECT first_response_ms AS ms FROM suggestion \
                   WHERE {{window}} AND first_response_ms IS NOT NULL \
                   ORDER BY first_response_ms LIMIT {limit} OFFSET {offset}) m"
            ),
            "created_at",
        ))
        .one(db)
        .await?;
        if let Some(Sums {
            n: Some(n),
            total: Some(total),
        }) = median
        {
            metrics.median_first_response_seconds = seconds(total, n);
        }
    }
    // The top authors: of all time from the kept counts, of a window from its suggestions.
    let top = if window.is_open() {
        Sums::find_by_statement(Statement::from_sql_and_values(
            backend,
            placeholders(
                backend,
                &format!(
                    "SELECT COUNT(*) AS n, CAST(SUM(suggestions) AS BIGINT) AS total FROM ( \
                       SELECT suggestions FROM metric_author WHERE community_id = $1 \
                       AND suggestions > 0 ORDER BY suggestions DESC LIMIT {TOP_CONTRIBUTORS}) t"
                ),
            ),
            [community_id.into()],
        ))
    } else {
        Sums::find_by_statement(window.statement(
            backend,
            &format!(
                "SELECT COUNT(*) AS n, CAST(SUM(authored) AS BIGINT) AS total FROM ( \
                   SELECT COUNT(*) AS authored FROM suggestion WHERE {{window}} \
                   GROUP BY author_id ORDER BY COUNT(*) DESC LIMIT {TOP_CONTRIBUTORS}) t"
            ),
            "created_at",
        ))
    };
    let top = top.one(db).await?;
    if let Some(Sums {
        total: Some(total), ..
    }) = top
    {
        metrics.top_contributor_share = ratio(total, metrics.suggestion_count);
    }
    let released = Sums::find_by_statement(window.statement(
        backend,
        "SELECT COUNT(*) AS n, \
         SUM(CASE WHEN i.suggestion_id IS NOT NULL THEN 1 ELSE 0 END) AS total \
         FROM release_item i JOIN release r ON r.id = i.release_id \
         WHERE {window} AND r.published_at IS NOT NULL",
        "r.published_at",
    ))
    .one(db)
    .await?;
    if let Some(Sums { n: Some(n), total }) = released {
        metrics.released_item_count = n;
        metrics.user_sourced_release_share = ratio(total.unwrap_or(0), n);
    }
    Ok(metrics)
}

fn add<K: PartialEq>(counts: &mut Vec<(K, i64)>, key: K, n: i64) {
    match counts.iter_mut().find(|(k, _)| *k == key) {
        Some((_, count)) => *count += n,
        None => counts.push((key, n)),
    }
}

/// The community-and-time condition every statement shares.
struct Window {
    community_id: Uuid,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
}

impl Window {
    fn new(community_id: Uuid, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Self {
        Window {
            community_id,
            from,
            to,
        }
    }

    /// Whether the window counts everything (no `from`, no `to`).
    fn is_open(&self) -> bool {
        self.from.is_none() && self.to.is_none()
    }

    /// The window's suggestions grouped by kind and status: its whole UTC days from the kept
    /// `metric_day` rows, the part-days at its ends from the suggestions themselves (a range scan
    /// of at most two days), added up by the caller.
    async fn groups(&self, db: &impl ConnectionTrait) -> AppResult<Vec<Group>> {
        let backend = db.get_database_backend();
        let first_day = self.from.map(|from| {
            let midnight = midnight(from);
            if midnight == from {
                midnight
            } else {
                midnight + chrono::Duration::days(1)
            }
        });
        let last_day = self.to.map(midnight);
        let mut edges: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
        let mut groups = Vec::new();
        match (self.from, first_day, last_day, self.to) {
            // No whole day inside: the window is all edge.
            (Some(from), Some(first), Some(last), Some(to)) if first >= last => {
                edges.push((from, to));
            }
            _ => {
                if let (Some(from), Some(first)) = (self.from, first_day)
                    && from < first
                {
                    edges.push((from, first));
                }
                if let (Some(last), Some(to)) = (last_day, self.to)
                    && last < to
                {
                    edges.push((last, to));
                }
                let mut values: Vec<sea_orm::Value> = vec![self.community_id.into()];
                let mut condition = String::from("community_id = $1");
                if let Some(first) = first_day {
                    values.push(day_of(first).into());
                    condition.push_str(&format!(" AND day >= ${}", values.len()));
                }
                if let Some(last) = last_day {
                    values.push(day_of(last).into());
                    condition.push_str(&format!(" AND day < ${}", values.len()));
                }
                let sql = format!(
                    "SELECT kind, status, CAST(SUM(suggestions) AS BIGINT) AS n, \
                     CAST(SUM(responded) AS BIGINT) AS responded, \
                     CAST(SUM(response_ms) AS BIGINT) AS response_ms, \
                     CAST(SUM(resolved) AS BIGINT) AS resolved, \
                     CAST(SUM(resolution_ms) AS BIGINT) AS resolution_ms \
                     FROM metric_day WHERE {condition} GROUP BY kind, status"
                );
                groups = Group::find_by_statement(Statement::from_sql_and_values(
                    backend,
                    placeholders(backend, &sql),
                    values,
                ))
                .all(db)
                .await?;
            }
        }
        if !edges.is_empty() {
            let mut values: Vec<sea_orm::Value> = vec![self.community_id.into()];
            let mut ranges = Vec::new();
            for (start, end) in edges {
                values.push(start.into());
                values.push(end.into());
                ranges.push(format!(
                    "(created_at >= ${} AND created_at < ${})",
                    values.len() - 1,
                    values.len()
                ));
            }
            let sql = format!(
                "SELECT kind, status, COUNT(*) AS n, COUNT(first_response_ms) AS responded, \
                 CAST(SUM(first_response_ms) AS BIGINT) AS response_ms, \
                 COUNT(resolution_ms) AS resolved, \
                 CAST(SUM(resolution_ms) AS BIGINT) AS resolution_ms \
                 FROM suggestion WHERE community_id = $1 AND deleted_at IS NULL AND ({}) \
                 GROUP BY kind, status",
                ranges.join(" OR ")
            );
            groups.extend(
                Group::find_by_statement(Statement::from_sql_and_values(
                    backend,
                    placeholders(backend, &sql),
                    values,
                ))
                .all(db)
                .await?,
            );
        }
        Ok(groups)
    }

    /// `sql` with `{window}` replaced by the condition on `time` (suggestions: live ones of the
    /// community; a joined release: `r.`-prefixed columns).
    fn statement(&self, backend: DatabaseBackend, sql: &str, time: &str) -> Statement {
        let prefix = time.split_once('.').map_or("", |(table, _)| table);
        let column = |name: &str| {
            if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}.{name}")
            }
        };
        let mut values: Vec<sea_orm::Value> = vec![self.community_id.into()];
        let mut condition = format!("{} = $1", column("community_id"));
        if prefix.is_empty() {
            condition.push_str(" AND deleted_at IS NULL");
        }
        if let Some(from) = self.from {
            values.push(from.into());
            condition.push_str(&format!(" AND {time} >= ${}", values.len()));
        }
        if let Some(to) = self.to {
            values.push(to.into());
            condition.push_str(&format!(" AND {time} < ${}", values.len()));
        }
        let sql = sql.replace("{window}", &condition);
        Statement::from_sql_and_values(backend, placeholders(backend, &sql), values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_round_half_even_and_say_nothing_of_nothing() {
        assert_eq!(ratio(1, 3), Some(Decimal::new(333_333, 6)));
        assert_eq!(ratio(2, 4), Some(Decimal::new(5, 1)));
        assert_eq!(ratio(0, 0), None);
        assert_eq!(ratio(1, 8_000_000), Some(Decimal::ZERO));
        assert_eq!(seconds(1_500, 1), Some(Decimal::new(15, 1)));
        assert_eq!(seconds(1, 2), Some(Decimal::ZERO));
    }
}
