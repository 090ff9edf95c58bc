//! Loop metrics of a community (`communityMetrics`) for STAFF/ADMIN and the community's
//! OWNER/MODERATOR: how many suggestions of each kind and status arrived in a window, how many
//! got an official answer and how fast, how many were resolved and adopted, how concentrated the
//! contributions are, and how much of what was released came from users.
//!
//! Every figure is aggregated in SQL — four statements: one pass over the window's suggestions
//! grouped by kind and status (counts, answered, resolved, and the sums of their times), the
//! median's middle rows, the top authors' count, and the releases — none returning more than a
//! row per kind and status; ratios and times are divided here as exact decimals. Durations are
//! counted in whole milliseconds on both databases.

use chrono::{DateTime, Utc};
use entity::suggestion::{Kind, Status};
use rust_decimal::{Decimal, RoundingStrategy};
use sea_orm::{ActiveEnum, DatabaseBackend, FromQueryResult, Statement};
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
    let backend = db.get_database_backend();
    let window = Window::new(community.id, from, to);

    let first_response = millis_between(backend, "first_response_at", "created_at");
    let resolution = millis_between(backend, "resolved_at", "created_at");
    let groups = Group::find_by_statement(window.statement(
        backend,
        &format!(
            "SELECT kind, status, COUNT(*) AS n, \
             SUM(CASE WHEN first_response_at IS NOT NULL THEN 1 ELSE 0 END) AS responded, \
             CAST(SUM({first_response}) AS BIGINT) AS response_ms, \
             SUM(CASE WHEN resolved_at IS NOT NULL THEN 1 ELSE 0 END) AS resolved, \
             CAST(SUM({resolution}) AS BIGINT) AS resolution_ms \
             FROM suggestion WHERE {{window}} GROUP BY kind, status"
        ),
        "created_at",
    ))
    .all(db)
    .await?;
    let mut metrics = Metrics {
        community_id: community.id,
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
    for group in groups {
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
    // The median: the middle row, or the two middle rows of an even count.
    let median = Sums::find_by_statement(window.statement(
        backend,
        &format!(
            "SELECT COUNT(*) AS n, CAST(SUM(ms) AS BIGINT) AS total FROM ( \
               SELECT ms, ROW_NUMBER() OVER (ORDER BY ms) AS rn, COUNT(*) OVER () AS c FROM ( \
                 SELECT {first_response} AS ms FROM suggestion \
                 WHERE {{window}} AND first_response_at IS NOT NULL) d) r \
             WHERE rn = (c + 1) / 2 OR rn = (c + 2) / 2"
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
    let top = Sums::find_by_statement(window.statement(
        backend,
        &format!(
            "SELECT COUNT(*) AS n, CAST(SUM(authored) AS BIGINT) AS total FROM ( \
               SELECT COUNT(*) AS authored FROM suggestion WHERE {{window}} \
               GROUP BY author_id ORDER BY COUNT(*) DESC LIMIT {TOP_CONTRIBUTORS}) t"
        ),
        "created_at",
    ))
    .one(db)
    .await?;
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

/// Whole milliseconds from `start` to `end`, in each database's SQL.
fn millis_between(backend: DatabaseBackend, end: &str, start: &str) -> String {
    match backend {
        DatabaseBackend::Postgres => {
            format!("CAST(ROUND(EXTRACT(EPOCH FROM ({end} - {start})) * 1000) AS BIGINT)")
        }
        _ => format!("CAST(ROUND((julianday({end}) - julianday({start})) * 86400000) AS INTEGER)"),
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
