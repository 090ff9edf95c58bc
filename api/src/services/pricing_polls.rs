//! Pricing polls — the fan council: creating polls (STAFF/ADMIN), closing, eligibility
//! snapshots of binding polls, the outcome, and results read from the per-poll aggregates
//! (`pricing_tally`) that every ballot updates in its own transaction (ballots are
//! [`super::pricing_ballots`]).
//!
//! Server time decides: a poll is SCHEDULED before `opens_at`, CLOSED from `closes_at` (or an
//! early close), OPEN in between — on every read and write, whether or not anything ran at the
//! deadline. Tallies cannot change once closed, so the outcome computed from them is the same
//! whenever it is first fixed.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, SubsecRound, Utc};
use entity::membership::MembershipStatus;
use entity::pricing_poll::{self, Method, Outcome};
use entity::user::Role;
use entity::{community, membership, pricing_eligibility};
use futures_util::TryFutureExt;
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend,
    DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};
use uuid::Uuid;

use super::idempotency::{Created, create_once};
use super::money::{self, input_minor, minor_digits};
use super::pricing_ballots::{CHEAP, CHOICE, EXPENSIVE, GG_HIGHEST, TOO_CHEAP, TOO_EXPENSIVE};
use super::pricing_math::{self, VwTally};
use super::{communities, decision_polls, input, notifications};
use crate::auth::Viewer;
use crate::changes::SyncWriter;
use crate::db::placeholders;
use crate::error::{AppError, AppResult};
use crate::pagination::{Page, PageRequest, TimeOrder, after_time_key, time_key};
use crate::state::AppState;

/// Where a poll stands at a given server time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollStatus {
    Scheduled,
    Open,
    Closed,
}

/// What `createPricingPoll` asks for (prices still as decimals).
#[derive(Debug, Clone)]
pub struct NewPoll {
    pub id: Option<Uuid>,
    pub community_id: Uuid,
    pub product_name: String,
    pub description: String,
    pub currency: String,
    pub method: Method,
    pub price_points: Option<Vec<Decimal>>,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub binding: bool,
    pub quorum: Option<i32>,
}

/// A poll's results in minor units (the GraphQL layer turns them into decimals).
#[derive(Debug, Clone)]
pub struct Results {
    pub choice: Vec<pricing_math::ChoiceRow>,
    pub winning_price: Option<i64>,
    pub van_westendorp: Option<pricing_math::VwResult>,
    pub gabor_granger: Vec<pricing_math::GgRow>,
    pub revenue_maximizing_price: Option<i64>,
}

/// The poll's status at `now`.
pub fn status_at(poll: &pricing_poll::Model, now: DateTime<Utc>) -> PollStatus {
    if poll.closed_at.is_some() || now >= poll.closes_at {
        PollStatus::Closed
    } else if now < poll.opens_at {
        PollStatus::Scheduled
    } else {
        PollStatus::Open
    }
}

/// The poll's price points in minor units, ascending.
pub fn price_points(poll: &pricing_poll::Model) -> Vec<i64> {
    poll.price_points
        .split(',')
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// The minor digits of a stored poll's currency (validated at creation).
pub fn digits_of(poll: &pricing_poll::Model) -> u32 {
    minor_digits(&poll.currency).unwrap_or(2)
}

/// Polls by id, without a visibility check: for loaders reached from a visible row (a
/// device's own ballot).
pub async fn find_many(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> AppResult<Vec<pricing_poll::Model>> {
    Ok(pricing_poll::Entity::find()
        .filter(pricing_poll::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}

/// Creates a poll (STAFF/ADMIN). Replaying the same id with the same payload returns it; another
/// payload under that id is CONFLICT.
pub async fn create(
    state: &AppState,
    viewer: &Viewer,
    input: NewPoll,
) -> AppResult<pricing_poll::Model> {
    let staff = viewer.require_role(Role::Staff)?.clone();
    if input.method == Method::Decision {
        return Err(AppError::bad_input(
            "method",
            "a decision vote is made with createDecisionPoll",
        ));
    }
    let product_name = input::line("productName", &input.product_name, 1, 200)?;
    let description = input::text("description", &input.description, 0, 5000)?;
    let (currency, digits) = money::currency("currency", &input.currency)?;
    let points = match (input.method, input.price_points) {
        (Method::VanWestendorp, Some(_)) => {
            return Err(AppError::bad_input(
                "pricePoints",
                "a VAN_WESTENDORP poll asks for prices; it takes no price points",
            ));
        }
        (Method::VanWestendorp | Method::Decision, None) => Vec::new(),
        (_, None) => {
            return Err(AppError::bad_input(
                "pricePoints",
                "CHOICE and GABOR_GRANGER polls need 2–20 price points",
            ));
        }
        (_, Some(points)) => validate_points(&points, digits)?,
    };
    let (opens_at, closes_at, quorum) =
        validate_window(input.opens_at, input.closes_at, input.binding, input.quorum)?;
    let id = input.id.unwrap_or_else(Uuid::now_v7);
    let points_text = points
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let txn = crate::db::begin_write(&state.db).await?;
    communities::require_visible(&txn, viewer, input.community_id).await?;
    let row = pricing_poll::ActiveModel {
        id: Set(id),
        community_id: Set(input.community_id),
        product_name: Set(product_name.clone()),
        description: Set(description.clone()),
        currency: Set(currency.clone()),
        method: Set(input.method),
        price_points: Set(points_text.clone()),
        opens_at: Set(opens_at),
        closes_at: Set(closes_at),
        closed_at: Set(None),
        binding: Set(input.binding),
        quorum: Set(quorum),
        ballot_count: Set(0),
        eligibility_taken: Set(false),
        eligible_count: Set(None),
        outcome: Set(None),
        ratified_price: Set(None),
        outcome_at: Set(None),
        created_by: Set(staff.id),
        created_at: Set(crate::clock::now()),
        winners: Set(None),
        tally_version: Set(0),
    };
    let created = match create_once::<pricing_poll::Entity, _, _>(
        &txn,
        row,
        [pricing_poll::Column::Id],
        || {
            pricing_poll::Entity::find_by_id(id)
                .one(&txn)
                .map_err(AppError::from)
        },
        |found| {
            found.community_id == input.community_id
                && found.product_name == product_name
                && found.description == description
                && found.currency == currency
                && found.method == input.method
                && found.price_points == points_text
                && found.opens_at == opens_at
                && found.closes_at == closes_at
                && found.binding == input.binding
                && found.quorum == quorum
        },
        "a different pricing poll already has this id",
        None,
    )
    .await?
    {
        Created::New(created) => created,
        Created::Replayed(stored) => return Ok(txn.answer(stored).await?),
    };
    let created = take_eligibility(&txn, created).await?;
    let mut sync = SyncWriter::new();
    sync.poll(&created);
    sync.commit(txn, state).await?;
    Ok(created)
}

/// The time window and quorum of a new poll of any method: `closesAt` after `opensAt` (both kept
/// at microseconds, as both backends store them), and a quorum only for a binding poll, at
/// least 1 (default 1).
pub(super) fn validate_window(
    opens_at: DateTime<Utc>,
    closes_at: DateTime<Utc>,
    binding: bool,
    quorum: Option<i32>,
) -> AppResult<(DateTime<Utc>, DateTime<Utc>, Option<i32>)> {
    let (opens_at, closes_at) = (opens_at.trunc_subsecs(6), closes_at.trunc_subsecs(6));
    if closes_at <= opens_at {
        return Err(AppError::bad_input(
            "closesAt",
            "closesAt must be after opensAt",
        ));
    }
    let quorum = match (binding, quorum) {
        (false, Some(_)) => {
            return Err(AppError::bad_input(
                "quorum",
                "a quorum applies only to a binding poll",
            ));
        }
        (false, None) => None,
        (true, Some(q)) if q < 1 => {
            return Err(AppError::bad_input("quorum", "quorum must be at least 1"));
        }
        (true, q) => Some(q.unwrap_or(1)),
    };
    Ok((opens_at, closes_at, quorum))
}

fn validate_points(points: &[Decimal], digits: u32) -> AppResult<Vec<i64>> {
    if !(2..=20).contains(&points.len()) {
        return Err(AppError::bad_input("pricePoints", "give 2–20 price points"));
    }
    let mut minor = Vec::with_capacity(points.len());
    for point in points {
        let value = input_minor("pricePoints", *point, digits)?;
        if value <= 0 {
            return Err(AppError::bad_input(
                "pricePoints",
                "price points must be positive",
            ));
        }
        minor.push(value);
    }
    minor.sort_unstable();
    if minor.windows(2).any(|w| w[0] == w[1]) {
        return Err(AppError::bad_input(
            "pricePoints",
            "price points must be distinct",
        ));
    }
    Ok(minor)
}

/// Closes a poll at once (STAFF/ADMIN); a closed poll is returned unchanged.
pub async fn close(
    state: &AppState,
    viewer: &Viewer,
    poll_id: Uuid,
) -> AppResult<pricing_poll::Model> {
    viewer.require_role(Role::Staff)?;
    let txn = crate::db::begin_write(&state.db).await?;
    let (poll, _) = lock_visible(&txn, viewer, poll_id).await?;
    let now = crate::clock::now();
    let poll = if status_at(&poll, now) == PollStatus::Closed {
        poll
    } else {
        let poll = take_eligibility(&txn, poll).await?;
        let mut active: pricing_poll::ActiveModel = poll.into();
        active.closed_at = Set(Some(now));
        active.update(&txn).await?
    };
    let mut sync = SyncWriter::new();
    let poll = settle_locked(&txn, poll, &mut sync).await?;
    sync.poll(&poll);
    sync.commit(txn, state).await?;
    notifications::wake_fan_out(state);
    state.events.pricing_poll_updated(&state.db, poll_id).await;
    Ok(poll)
}

/// The poll as `viewer` may see it, with its outcome fixed when it has closed.
pub async fn find(
    state: &AppState,
    viewer: &Viewer,
    poll_id: Uuid,
) -> AppResult<Option<pricing_poll::Model>> {
    let mut query = pricing_poll::Entity::find_by_id(poll_id);
    if let Some(visible) =
        communities::visible_condition(&state.db, viewer, pricing_poll::Column::CommunityId)
    {
        query = query.filter(visible);
    }
    let Some(poll) = query.one(&state.db).await? else {
        return Ok(None);
    };
    Ok(Some(settle(state, poll).await?))
}

/// Pricing polls of a community, newest first, optionally only those with `status` now.
pub async fn list(
    state: &AppState,
    viewer: &Viewer,
    community_id: Uuid,
    status: Option<PollStatus>,
    page: PageRequest,
) -> AppResult<Page<pricing_poll::Model>> {
    list_of(state, viewer, community_id, status, false, page).await
}

/// Polls of a community — decision votes (`decisions`) or pricing polls — newest first,
/// optionally only those with `status` now.
pub(super) async fn list_of(
    state: &AppState,
    viewer: &Viewer,
    community_id: Uuid,
    status: Option<PollStatus>,
    decisions: bool,
    page: PageRequest,
) -> AppResult<Page<pricing_poll::Model>> {
    communities::require_visible(&state.db, viewer, community_id).await?;
    let now = crate::clock::now();
    let method = if decisions {
        pricing_poll::Column::Method.eq(Method::Decision)
    } else {
        pricing_poll::Column::Method.ne(Method::Decision)
    };
    let mut query = pricing_poll::Entity::find()
        .filter(method)
        .filter(pricing_poll::Column::CommunityId.eq(community_id))
        .order_by_desc(pricing_poll::Column::CreatedAt)
        .order_by_desc(pricing_poll::Column::Id);
    let closed = Condition::any()
        .add(pricing_poll::Column::ClosedAt.is_not_null())
        .add(pricing_poll::Column::ClosesAt.lte(now));
    query = match status {
        None => query,
        Some(PollStatus::Closed) => query.filter(closed),
        Some(PollStatus::Scheduled) => query
            .filter(pricing_poll::Column::OpensAt.gt(now))
            .filter(closed.not()),
        Some(PollStatus::Open) => query
            .filter(pricing_poll::Column::OpensAt.lte(now))
            .filter(closed.not()),
    };
    if let Some(after) = &page.after {
        query = query.filter(after_time_key(
            after,
            pricing_poll::Column::CreatedAt,
            pricing_poll::Column::Id,
            TimeOrder::NewestFirst,
        )?);
    }
    let rows = query.limit(page.limit + 1).all(&state.db).await?;
    let mut settled = Vec::with_capacity(rows.len());
    for poll in rows {
        settled.push(settle(state, poll).await?);
    }
    Ok(Page::from_rows(settled, &page, |p| {
        time_key(p.created_at, p.id)
    }))
}

/// Whether a poll's results may be shown at `now`: a binding poll's only once it has closed.
pub fn results_shown(poll: &pricing_poll::Model, now: DateTime<Utc>) -> bool {
    !poll.binding || status_at(poll, now) == PollStatus::Closed
}

/// How many polls' results one server keeps computed.
const CACHED_RESULTS: usize = 1024;

/// Results already computed, each with the `tally_version` it was computed at, shared by the
/// requests of one server: a poll's results are reused until a ballot bumps its version (in the
/// transaction that changes its tallies, under the poll's row lock), on every replica alike —
/// the version a request asks for is the one it read from the database. Never holds the
/// results of a poll whose results may not yet be shown.
#[derive(Default)]
pub struct ResultsCache {
    entries: Mutex<HashMap<Uuid, (i64, Arc<Results>)>>,
}

impl ResultsCache {
    /// The results of `poll_id` at `version`, if computed.
    pub fn get(&self, poll_id: Uuid, version: i64) -> Option<Arc<Results>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&poll_id)
            .filter(|(at, _)| *at == version)
            .map(|(_, results)| results.clone())
    }

    /// Keeps `results` of `poll_id` at `version` unless newer ones are kept.
    fn put(&self, poll_id: Uuid, version: i64, results: Arc<Results>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.get(&poll_id).is_some_and(|(at, _)| *at > version) {
            return;
        }
        if entries.len() >= CACHED_RESULTS && !entries.contains_key(&poll_id) {
            // Full: start over rather than track use (a poll's results cost one query again).
            entries.clear();
        }
        entries.insert(poll_id, (version, results));
    }
}

/// The results of `polls` from one query, kept in `cache` at each poll's version (for the
/// results loader, which asks the cache first); a binding poll still open has none.
pub async fn results_many(
    db: &impl ConnectionTrait,
    cache: &ResultsCache,
    polls: &[pricing_poll::Model],
) -> AppResult<HashMap<Uuid, Arc<Results>>> {
    let now = crate::clock::now();
    let shown: Vec<&pricing_poll::Model> = polls
        .iter()
        .filter(|poll| results_shown(poll, now))
        .collect();
    let ids: Vec<Uuid> = shown.iter().map(|poll| poll.id).collect();
    let mut tallies = tallies(db, &ids).await?;
    let mut found = HashMap::new();
    for poll in shown {
        let tally = tallies.remove(&poll.id).unwrap_or_default();
        // The tallies were read after the poll: they are at its version or newer.
        let results = Arc::new(results_from(poll, tally));
        cache.put(poll.id, poll.tally_version, results.clone());
        found.insert(poll.id, results);
    }
    Ok(found)
}

async fn compute(db: &impl ConnectionTrait, poll: &pricing_poll::Model) -> AppResult<Results> {
    let tally = tallies(db, &[poll.id])
        .await?
        .remove(&poll.id)
        .unwrap_or_default();
    Ok(results_from(poll, tally))
}

/// Ballots per answer and price, per poll.
pub(super) type Tally = BTreeMap<String, BTreeMap<i64, i64>>;

/// The aggregates of `poll_ids`: one row per poll and answer with its "price:ballots" pairs
/// joined, so a few rows are decoded instead of one per price.
pub(super) async fn tallies(
    db: &impl ConnectionTrait,
    poll_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Tally>> {
    if poll_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let backend = db.get_database_backend();
    let joined = match backend {
        DatabaseBackend::Postgres => "string_agg(price || ':' || ballots, ',')",
        _ => "group_concat(price || ':' || ballots, ',')",
    };
    let list: Vec<String> = (1..=poll_ids.len()).map(|i| format!("${i}")).collect();
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            placeholders(
                backend,
                &format!(
                    "SELECT poll_id, answer, {joined} AS pairs FROM pricing_tally \
                     WHERE poll_id IN ({}) AND ballots <> 0 GROUP BY poll_id, answer",
                    list.join(", ")
                ),
            ),
            poll_ids
                .iter()
                .map(|id| (*id).into())
                .collect::<Vec<sea_orm::Value>>(),
        ))
        .await?;
    let mut tallies: HashMap<Uuid, Tally> = HashMap::new();
    for row in rows {
        let poll_id: Uuid = row.try_get("", "poll_id")?;
        let answer: String = row.try_get("", "answer")?;
        let pairs: String = row.try_get("", "pairs")?;
        let counts = tallies
            .entry(poll_id)
            .or_default()
            .entry(answer)
            .or_default();
        for pair in pairs.split(',') {
            let parsed = pair
                .split_once(':')
                .and_then(|(p, n)| Some((p.parse::<i64>().ok()?, n.parse::<i64>().ok()?)));
            let (price, ballots) =
                parsed.ok_or_else(|| AppError::internal(format!("bad tally pair {pair:?}")))?;
            counts.insert(price, ballots);
        }
    }
    Ok(tallies)
}

/// A poll's results from its tally.
fn results_from(poll: &pricing_poll::Model, mut by_answer: Tally) -> Results {
    let mut take = |answer: &str| by_answer.remove(answer).unwrap_or_default();
    let points = price_points(poll);
    let mut results = Results {
        choice: Vec::new(),
        winning_price: None,
        van_westendorp: None,
        gabor_granger: Vec::new(),
        revenue_maximizing_price: None,
    };
    match poll.method {
        Method::Choice => {
            let (rows, winner) = pricing_math::choice(&points, &take(CHOICE));
            results.choice = rows;
            results.winning_price = winner;
        }
        Method::VanWestendorp => {
            let tally = VwTally {
                too_cheap: take(TOO_CHEAP),
                cheap: take(CHEAP),
                expensive: take(EXPENSIVE),
                too_expensive: take(TOO_EXPENSIVE),
            };
            results.van_westendorp = Some(pricing_math::van_westendorp(&tally));
        }
        Method::GaborGranger => {
            let highest: BTreeMap<Option<i64>, i64> = take(GG_HIGHEST)
                .into_iter()
                .map(|(price, n)| ((price >= 0).then_some(price), n))
                .collect();
            let (rows, best) = pricing_math::gabor_granger(&points, &highest);
            results.gabor_granger = rows;
            results.revenue_maximizing_price = best;
        }
        // Its options and their votes are `decision_polls`'.
        Method::Decision => {}
    }
    results
}

/// Whether a poll has an outcome to fix at close: binding polls, and every decision vote.
fn decides(poll: &pricing_poll::Model) -> bool {
    poll.binding || poll.method == Method::Decision
}

/// Brings a poll up to date with the clock: a binding poll's eligibility snapshot once it has
/// opened, and the outcome of a binding poll or decision vote once it has closed (each written
/// once; a no-op otherwise).
pub(super) async fn settle(
    state: &AppState,
    poll: pricing_poll::Model,
) -> AppResult<pricing_poll::Model> {
    let status = status_at(&poll, crate::clock::now());
    let needs_snapshot = poll.binding && !poll.eligibility_taken && status != PollStatus::Scheduled;
    let needs_outcome = poll.outcome_at.is_none() && status == PollStatus::Closed;
    if !decides(&poll) || !(needs_snapshot || needs_outcome) {
        return Ok(poll);
    }
    let txn = crate::db::begin_write(&state.db).await?;
    let poll = lock(&txn, poll.id).await?;
    let poll = take_eligibility(&txn, poll).await?;
    let mut sync = SyncWriter::new();
    let poll = if status_at(&poll, crate::clock::now()) == PollStatus::Closed {
        settle_locked(&txn, poll, &mut sync).await?
    } else {
        poll
    };
    sync.poll(&poll);
    sync.commit(txn, state).await?;
    notifications::wake_fan_out(state);
    Ok(poll)
}

/// Fixes the outcome of a closed poll that decides, under its lock: RATIFIED (with the price,
/// or — for a decision vote — its winners moved to PLANNED) when the quorum was met, else
/// NO_QUORUM.
async fn settle_locked(
    txn: &DatabaseTransaction,
    poll: pricing_poll::Model,
    sync: &mut SyncWriter,
) -> AppResult<pricing_poll::Model> {
    if !decides(&poll) || poll.outcome_at.is_some() {
        return Ok(poll);
    }
    let results = compute(txn, &poll).await?;
    let quorum = poll.quorum.unwrap_or(1);
    let (outcome, price) = if poll.ballot_count >= quorum {
        let price = match poll.method {
            Method::Choice => results.winning_price,
            Method::VanWestendorp => results.van_westendorp.and_then(|v| v.optimal_price),
            Method::GaborGranger => results.revenue_maximizing_price,
            Method::Decision => None,
        };
        (Outcome::Ratified, price)
    } else {
        (Outcome::NoQuorum, None)
    };
    let mut active: pricing_poll::ActiveModel = poll.into();
    active.outcome = Set(Some(outcome));
    active.ratified_price = Set(price);
    active.outcome_at = Set(Some(crate::clock::now()));
    let settled = active.update(txn).await?;
    if settled.method == Method::Decision && outcome == Outcome::Ratified {
        decision_polls::plan_winners(txn, &settled, sync).await?;
    }
    Ok(settled)
}

/// Writes the eligibility snapshot of a binding poll once it has opened: the ACTIVE members
/// who had joined by `opens_at`.
pub(super) async fn take_eligibility(
    txn: &DatabaseTransaction,
    poll: pricing_poll::Model,
) -> AppResult<pricing_poll::Model> {
    if !poll.binding || poll.eligibility_taken || crate::clock::now() < poll.opens_at {
        return Ok(poll);
    }
    let members = membership::Entity::find()
        .filter(membership::Column::CommunityId.eq(poll.community_id))
        .filter(membership::Column::Status.eq(MembershipStatus::Active))
        .filter(membership::Column::JoinedAt.lte(poll.opens_at))
        .all(txn)
        .await?;
    let count = members.len();
    for chunk in members.chunks(500) {
        pricing_eligibility::Entity::insert_many(chunk.iter().map(|m| {
            pricing_eligibility::ActiveModel {
                poll_id: Set(poll.id),
                user_id: Set(m.user_id),
            }
        }))
        .exec_without_returning(txn)
        .await?;
    }
    let mut active: pricing_poll::ActiveModel = poll.into();
    active.eligibility_taken = Set(true);
    active.eligible_count = Set(Some(i32::try_from(count).unwrap_or(i32::MAX)));
    Ok(active.update(txn).await?)
}

/// The poll row, locked, with its community; NOT_FOUND when the viewer may not see it.
pub(super) async fn lock_visible(
    txn: &DatabaseTransaction,
    viewer: &Viewer,
    poll_id: Uuid,
) -> AppResult<(pricing_poll::Model, community::Model)> {
    let poll = lock(txn, poll_id).await?;
    let community = communities::require_visible(txn, viewer, poll.community_id)
        .await
        .map_err(|e| match e {
            AppError::NotFound(_) => AppError::not_found("pricing poll"),
            other => other,
        })?;
    Ok((poll, community))
}

/// The poll row, locked for this transaction (`FOR UPDATE` on Postgres; SQLite's write
/// transaction already holds the database lock).
async fn lock(txn: &DatabaseTransaction, poll_id: Uuid) -> AppResult<pricing_poll::Model> {
    pricing_poll::Entity::find_by_id(poll_id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or_else(|| AppError::not_found("pricing poll"))
}
