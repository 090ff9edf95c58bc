//! Growth points: append-only events, earned in a community (submitting, commenting, an
//! official response, an adoption, a shipment) or reported by partners with `growth:write`
//! (purchases, device use, reviews), and the popcorn leaderboard that ranks a community's
//! contributors by them.
//!
//! Each event and the user's `growth_points` change in one transaction. Capped kinds count at
//! most [`daily_cap`] points per user and UTC day by server time: the claim is an upsert on the
//! user's `growth_day` row, whose lock orders concurrent claims, so the cap holds under any
//! concurrency. A subject earns its kind of points once (a reopened suggestion shipped again
//! earns nothing more).

use chrono::{DateTime, SubsecRound, Utc};
use entity::growth_event::{self, Kind};
use entity::user;
use futures_util::TryFutureExt;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect, Statement,
};
use uuid::Uuid;

use super::audit::Actor;
use super::idempotency::{Created, create_once};
use super::{communities, input, users};
use crate::auth::Viewer;
use crate::changes::SyncWriter;
use crate::db::placeholders;
use crate::error::{AppError, AppResult};
use crate::pagination::{Page, PageRequest, TimeOrder, after_time_key, time_key};
use crate::state::AppState;

/// Levels by growth points: a user is at the highest level whose threshold they reached.
pub const LEVELS: &[(i32, i64)] = &[
    (1, 0),
    (2, 20),
    (3, 100),
    (4, 300),
    (5, 1_000),
    (6, 3_000),
    (7, 10_000),
];

/// Most points one reported event may carry.
pub const MAX_REPORTED_POINTS: i32 = 1_000;

/// Longest leaderboard.
pub const MAX_LEADERBOARD: u64 = 100;

/// The level of a user with `points`.
pub fn level_of(points: i64) -> i32 {
    LEVELS
        .iter()
        .rev()
        .find(|(_, threshold)| points >= *threshold)
        .map_or(1, |(level, _)| *level)
}

/// What an action earns (partner kinds carry their own points).
pub fn worth(kind: Kind) -> Option<i32> {
    match kind {
        Kind::SuggestionSubmitted => Some(2),
        Kind::CommentAdded => Some(1),
        Kind::OfficialResponse => Some(3),
        Kind::IdeaAdopted => Some(50),
        Kind::SuggestionShipped => Some(100),
        Kind::Purchase
        | Kind::DeviceActivity
        | Kind::Review
        | Kind::Sanction
        | Kind::SanctionLifted => None,
    }
}

/// The most points of `kind` counted per user and UTC day, if capped: 5 suggestions, 20
/// comments, and per reported kind.
pub fn daily_cap(kind: Kind) -> Option<i64> {
    match kind {
        Kind::SuggestionSubmitted => Some(10),
        Kind::CommentAdded => Some(20),
        Kind::Purchase => Some(500),
        Kind::DeviceActivity => Some(50),
        Kind::Review => Some(100),
        Kind::OfficialResponse
        | Kind::IdeaAdopted
        | Kind::SuggestionShipped
        | Kind::Sanction
        | Kind::SanctionLifted => None,
    }
}

/// Whether partners may report `kind`.
pub fn is_reported(kind: Kind) -> bool {
    matches!(kind, Kind::Purchase | Kind::DeviceActivity | Kind::Review)
}

/// Awards `user_id` the points of `kind` for `subject_id` in `community_id`, inside the
/// caller's transaction (the service whose write earned them). Nothing happens when the subject
/// already earned this kind.
pub async fn award(
    txn: &DatabaseTransaction,
    user_id: Uuid,
    community_id: Uuid,
    kind: Kind,
    subject_id: Uuid,
    sync: &mut SyncWriter,
) -> AppResult<()> {
    let Some(points) = worth(kind) else {
        return Err(AppError::internal("only earned kinds are awarded"));
    };
    adjust(
        txn,
        user_id,
        Some(community_id),
        kind,
        subject_id,
        points,
        sync,
    )
    .await
}

/// Adds `points` (negative for a sanction) of `kind` for `subject_id` to `user_id`, in
/// `community_id` when there is one, inside the caller's transaction; once per subject and kind.
pub async fn adjust(
    txn: &DatabaseTransaction,
    user_id: Uuid,
    community_id: Option<Uuid>,
    kind: Kind,
    subject_id: Uuid,
    points: i32,
    sync: &mut SyncWriter,
) -> AppResult<()> {
    let now = crate::clock::now();
    let event = growth_event::Model {
        id: Uuid::now_v7(),
        user_id,
        community_id,
        kind,
        points,
        requested_points: points,
        subject_id: Some(subject_id),
        reporter_kind: None,
        reporter_id: None,
        external_id: None,
        occurred_at: now,
        created_at: now,
    };
    let inserted = growth_event::Entity::insert(growth_event::ActiveModel::from(event.clone()))
        .on_conflict(
            OnConflict::columns([
                growth_event::Column::UserId,
                growth_event::Column::Kind,
                growth_event::Column::SubjectId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    if inserted == 0 {
        return Ok(());
    }
    count(txn, event, sync).await.map(drop)
}

/// What `reportGrowth` asks for.
#[derive(Debug, Clone)]
pub struct NewReport {
    pub external_id: String,
    pub user_id: Uuid,
    pub kind: Kind,
    pub points: i32,
    pub occurred_at: DateTime<Utc>,
}

/// Records growth a partner (`growth:write`) or an ADMIN reports for a user. Idempotent on
/// (reporter, `externalId`): the same report again returns the stored event and writes
/// nothing; another payload under a used key is CONFLICT.
pub async fn report(
    state: &AppState,
    viewer: &Viewer,
    input: NewReport,
) -> AppResult<growth_event::Model> {
    viewer.require_scope("growth:write", true)?;
    let actor = Actor::of(viewer)?;
    let external_id = input::line("externalId", &input.external_id, 1, 200)?;
    if !is_reported(input.kind) {
        return Err(AppError::bad_input(
            "kind",
            "partners report PURCHASE, DEVICE_ACTIVITY or REVIEW",
        ));
    }
    if !(1..=MAX_REPORTED_POINTS).contains(&input.points) {
        return Err(AppError::bad_input(
            "points",
            format!("points must be between 1 and {MAX_REPORTED_POINTS}"),
        ));
    }
    let now = crate::clock::now();
    let occurred_at = input.occurred_at.trunc_subsecs(6);
    if occurred_at > now + chrono::Duration::minutes(5) {
        return Err(AppError::bad_input(
            "occurredAt",
            "occurredAt is in the future",
        ));
    }
    let txn = crate::db::begin_write(&state.db).await?;
    if users::find(&txn, input.user_id).await?.is_none() {
        return Err(AppError::not_found("user"));
    }
    let candidate = growth_event::Model {
        id: Uuid::now_v7(),
        user_id: input.user_id,
        community_id: None,
        kind: input.kind,
        points: input.points,
        requested_points: input.points,
        subject_id: None,
        reporter_kind: Some(actor.kind),
        reporter_id: Some(actor.id),
        external_id: Some(external_id.clone()),
        occurred_at,
        created_at: now,
    };
    let stored = || {
        growth_event::Entity::find()
            .filter(growth_event::Column::ReporterKind.eq(actor.kind))
            .filter(growth_event::Column::ReporterId.eq(actor.id))
            .filter(growth_event::Column::ExternalId.eq(external_id.as_str()))
            .one(&txn)
            .map_err(AppError::from)
    };
    let same = |found: &growth_event::Model| {
        found.user_id == candidate.user_id
            && found.kind == candidate.kind
            && found.requested_points == candidate.requested_points
            && found.occurred_at == candidate.occurred_at
    };
    let created = match create_once::<growth_event::Entity, _, _>(
        &txn,
        growth_event::ActiveModel::from(candidate.clone()),
        [
            growth_event::Column::ReporterKind,
            growth_event::Column::ReporterId,
            growth_event::Column::ExternalId,
        ],
        stored,
        same,
        "this externalId was already reported with other figures",
        None,
    )
    .await?
    {
        Created::New(created) => created,
        Created::Replayed(stored) => return Ok(txn.answer(stored).await?),
    };
    let mut sync = SyncWriter::new();
    let counted = count(&txn, created, &mut sync).await?;
    sync.commit(txn, state).await?;
    Ok(counted)
}

/// Counts a just-inserted event: claims its points under the daily cap (writing down what was
/// counted when the cap cut it) and adds them to the user's total.
async fn count(
    txn: &DatabaseTransaction,
    mut event: growth_event::Model,
    sync: &mut SyncWriter,
) -> AppResult<growth_event::Model> {
    if let Some(cap) = daily_cap(event.kind) {
        let counted = claim(txn, &event, cap).await?;
        if counted != event.points {
            growth_event::Entity::update_many()
                .col_expr(growth_event::Column::Points, Expr::value(counted))
                .filter(growth_event::Column::Id.eq(event.id))
                .exec(txn)
                .await?;
            event.points = counted;
        }
    }
    if event.points != 0 {
        user::Entity::update_many()
            .col_expr(
                user::Column::GrowthPoints,
                Expr::col(user::Column::GrowthPoints).add(i64::from(event.points)),
            )
            .filter(user::Column::Id.eq(event.user_id))
            .exec(txn)
            .await?;
    }
    sync.growth_event(&event);
    Ok(event)
}

/// Adds the event's points to its user's claims of the day and answers how many of them the
/// cap leaves: all, some, or none.
async fn claim(txn: &DatabaseTransaction, event: &growth_event::Model, cap: i64) -> AppResult<i32> {
    let backend = txn.get_database_backend();
    let day = event.created_at.format("%Y-%m-%d").to_string();
    let requested = i64::from(event.points);
    let row = txn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            placeholders(
                backend,
                "INSERT INTO growth_day (user_id, kind, day, claimed) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (user_id, kind, day) \
                 DO UPDATE SET claimed = growth_day.claimed + excluded.claimed \
                 RETURNING claimed",
            ),
            [
                event.user_id.into(),
                event.kind.to_value().into(),
                day.into(),
                requested.into(),
            ],
        ))
        .await?
        .ok_or_else(|| AppError::internal("the daily claim returned no row"))?;
    let claimed: i64 = row.try_get("", "claimed")?;
    let before = claimed - requested;
    let counted = (cap - before).clamp(0, requested);
    i32::try_from(counted).map_err(|_| AppError::internal("a claim outgrew its event"))
}

/// A user's growth events, newest first: their own, or anyone's for STAFF/ADMIN.
pub async fn list(
    state: &AppState,
    viewer: &Viewer,
    user_id: Uuid,
    page: PageRequest,
) -> AppResult<Page<growth_event::Model>> {
    let me = viewer.require_user()?;
    if me.id != user_id && !viewer.is_staff() {
        return Err(AppError::Forbidden(
            "growth events are visible to their user only".into(),
        ));
    }
    let mut query = growth_event::Entity::find()
        .filter(growth_event::Column::UserId.eq(user_id))
        .order_by_desc(growth_event::Column::CreatedAt)
        .order_by_desc(growth_event::Column::Id);
    if let Some(after) = &page.after {
        query = query.filter(after_time_key(
            after,
            growth_event::Column::CreatedAt,
            growth_event::Column::Id,
            TimeOrder::NewestFirst,
        )?);
    }
    let rows = query.limit(page.limit + 1).all(&state.db).await?;
    Ok(Page::from_rows(rows, &page, |e| {
        time_key(e.created_at, e.id)
    }))
}

/// Events by id, for the sync pull.
pub async fn find_many(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> AppResult<Vec<growth_event::Model>> {
    Ok(growth_event::Entity::find()
        .filter(growth_event::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}

/// One place of a leaderboard.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct Standing {
    pub user_id: Uuid,
    pub points: i64,
    pub adopted_count: i64,
    pub shipped_count: i64,
}

/// The popcorn award: the community's contributors ranked by the points they earned there in
/// `[from, to)` (all time when open), best first; of two with equal points, the one who reached
/// them first ranks higher. Only positive totals place. A private community's board is for its
/// members (NOT_FOUND for others, like the community).
pub async fn leaderboard(
    state: &AppState,
    viewer: &Viewer,
    community_id: Uuid,
    first: Option<i32>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> AppResult<Vec<Standing>> {
    let limit = match first {
        None => MAX_LEADERBOARD,
        Some(n) if (1..=MAX_LEADERBOARD as i32).contains(&n) => n as u64,
        Some(_) => {
            return Err(AppError::bad_input(
                "first",
                format!("first must be between 1 and {MAX_LEADERBOARD}"),
            ));
        }
    };
    if let (Some(from), Some(to)) = (from, to)
        && to <= from
    {
        return Err(AppError::bad_input("to", "to must be after from"));
    }
    let community = communities::require_visible(&state.db, viewer, community_id).await?;
    let backend = state.db.get_database_backend();
    let mut values: Vec<sea_orm::Value> = vec![community.id.into()];
    let mut window = String::new();
    if let Some(from) = from {
        values.push(from.into());
        window.push_str(&format!(" AND created_at >= ${}", values.len()));
    }
    if let Some(to) = to {
        values.push(to.into());
        window.push_str(&format!(" AND created_at < ${}", values.len()));
    }
    let adopted = Kind::IdeaAdopted.to_value();
    let shipped = Kind::SuggestionShipped.to_value();
    let sql = format!(
        "SELECT user_id, SUM(points) AS points, \
         SUM(CASE WHEN kind = '{adopted}' THEN 1 ELSE 0 END) AS adopted_count, \
         SUM(CASE WHEN kind = '{shipped}' THEN 1 ELSE 0 END) AS shipped_count \
         FROM growth_event WHERE community_id = $1{window} \
         GROUP BY user_id HAVING SUM(points) > 0 \
         ORDER BY SUM(points) DESC, MAX(CASE WHEN points <> 0 THEN created_at END), user_id \
         LIMIT {limit}"
    );
    Ok(Standing::find_by_statement(Statement::from_sql_and_values(
        backend,
        placeholders(backend, &sql),
        values,
    ))
    .all(&state.db)
    .await?)
}
