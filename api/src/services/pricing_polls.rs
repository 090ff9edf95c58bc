//! Pricing polls — the fan council: creating polls (STAFF/ADMIN), casting and replacing ballots,
//! closing, eligibility snapshots of binding polls, the outcome, and results read from the
//! per-poll aggregates (`pricing_tally`) that every ballot updates in its own transaction.
//!
//! Server time decides: a poll is SCHEDULED before `opens_at`, CLOSED from `closes_at` (or an
//! early close), OPEN in between — on every read and write, whether or not anything ran at the
//! deadline. Tallies cannot change once closed, so the outcome computed from them is the same
//! whenever it is first fixed.

use std::collections::BTreeMap;

use chrono::{DateTime, SubsecRound, Utc};
use entity::membership::MembershipStatus;
use entity::pricing_poll::{self, Method, Outcome};
use entity::user::Role;
use entity::{community, membership, pricing_ballot, pricing_eligibility};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend,
    DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};
use uuid::Uuid;

use super::communities;
pub use super::money::from_minor;
use super::money::{self, minor_digits, to_minor};
use super::pricing_math::{self, VwTally};
use crate::auth::Viewer;
use crate::db::placeholders;
use crate::error::{AppError, AppResult};
use crate::pagination::{Page, PageRequest, TimeOrder, after_time_key, time_key};
use crate::state::AppState;
use crate::sync::SyncWriter;

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

/// A ballot as cast: exactly the part matching the poll's method.
#[derive(Debug, Clone, Default)]
pub struct BallotInput {
    pub choice: Option<Decimal>,
    pub van_westendorp: Option<[Decimal; 4]>,
    pub gabor_granger: Option<Vec<(Decimal, bool)>>,
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
    let product_name = communities::line("productName", &input.product_name, 1, 200)?;
    let description = communities::text("description", &input.description, 0, 5000)?;
    let (currency, digits) = money::currency("currency", &input.currency)?;
    let points = match (input.method, input.price_points) {
        (Method::VanWestendorp, Some(_)) => {
            return Err(AppError::bad_input(
                "pricePoints",
                "a VAN_WESTENDORP poll asks for prices; it takes no price points",
            ));
        }
        (Method::VanWestendorp, None) => Vec::new(),
        (_, None) => {
            return Err(AppError::bad_input(
                "pricePoints",
                "CHOICE and GABOR_GRANGER polls need 2–20 price points",
            ));
        }
        (_, Some(points)) => validate_points(&points, digits)?,
    };
    // Stored with microsecond precision on both backends: compare and keep what is stored.
    let (opens_at, closes_at) = (
        input.opens_at.trunc_subsecs(6),
        input.closes_at.trunc_subsecs(6),
    );
    if closes_at <= opens_at {
        return Err(AppError::bad_input(
            "closesAt",
            "closesAt must be after opensAt",
        ));
    }
    let quorum = match (input.binding, input.quorum) {
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
    let id = input.id.unwrap_or_else(Uuid::now_v7);
    let points_text = points
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let txn = crate::db::begin_write(&state.db).await?;
    communities::require_visible(&txn, viewer, input.community_id).await?;
    if let Some(existing) = pricing_poll::Entity::find_by_id(id).one(&txn).await? {
        txn.commit().await?;
        let same = existing.community_id == input.community_id
            && existing.product_name == product_name
            && existing.description == description
            && existing.currency == currency
            && existing.method == input.method
            && existing.price_points == points_text
            && existing.opens_at == opens_at
            && existing.closes_at == closes_at
            && existing.binding == input.binding
            && existing.quorum == quorum;
        return if same {
            Ok(existing)
        } else {
            Err(AppError::Conflict(
                "a different pricing poll already has this id".into(),
            ))
        };
    }
    let created = pricing_poll::ActiveModel {
        id: Set(id),
        community_id: Set(input.community_id),
        product_name: Set(product_name),
        description: Set(description),
        currency: Set(currency),
        method: Set(input.method),
        price_points: Set(points_text),
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
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    let created = take_eligibility(&txn, created).await?;
    let mut sync = SyncWriter::new();
    sync.poll(&created);
    sync.commit(txn, state).await?;
    Ok(created)
}

fn validate_points(points: &[Decimal], digits: u32) -> AppResult<Vec<i64>> {
    if !(2..=20).contains(&points.len()) {
        return Err(AppError::bad_input("pricePoints", "give 2–20 price points"));
    }
    let mut minor = Vec::with_capacity(points.len());
    for point in points {
        let value = to_minor(*point, digits).filter(|v| *v > 0).ok_or_else(|| {
            AppError::bad_input(
                "pricePoints",
                format!("price points must be positive with at most {digits} decimals"),
            )
        })?;
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

/// Casts or replaces the caller's ballot (ACTIVE members; for a binding poll, eligible ones).
/// Returns the ballot and its poll.
pub async fn cast_ballot(
    state: &AppState,
    viewer: &Viewer,
    poll_id: Uuid,
    input: BallotInput,
) -> AppResult<(pricing_ballot::Model, pricing_poll::Model)> {
    let txn = crate::db::begin_write(&state.db).await?;
    let mut sync = SyncWriter::new();
    let cast = cast_ballot_in(&txn, viewer, poll_id, input, &mut sync).await?;
    sync.commit(txn, state).await?;
    state.events.pricing_poll_updated(&state.db, poll_id).await;
    Ok(cast)
}

/// [`cast_ballot`] inside the caller's transaction.
pub async fn cast_ballot_in(
    txn: &DatabaseTransaction,
    viewer: &Viewer,
    poll_id: Uuid,
    input: BallotInput,
    sync: &mut SyncWriter,
) -> AppResult<(pricing_ballot::Model, pricing_poll::Model)> {
    viewer.require_user()?;
    let (poll, community) = lock_visible(txn, viewer, poll_id).await?;
    let voter = communities::require_member(txn, viewer, &community).await?;
    let now = Utc::now();
    if status_at(&poll, now) != PollStatus::Open {
        return Err(AppError::PollClosed(
            "this poll is not open for ballots".into(),
        ));
    }
    let poll = take_eligibility(txn, poll).await?;
    if poll.binding
        && pricing_eligibility::Entity::find_by_id((poll.id, voter.id))
            .one(txn)
            .await?
            .is_none()
    {
        return Err(AppError::Forbidden(
            "only members who had joined when the poll opened vote in a binding poll".into(),
        ));
    }
    let ballot = validate_ballot(&poll, input)?;
    let existing = pricing_ballot::Entity::find()
        .filter(pricing_ballot::Column::PollId.eq(poll.id))
        .filter(pricing_ballot::Column::UserId.eq(voter.id))
        .one(txn)
        .await?;
    let (saved, poll) = match existing {
        Some(old) => {
            add_to_tally(txn, poll.id, &contributions(&old), -1).await?;
            let mut active: pricing_ballot::ActiveModel = old.into();
            ballot.fill(&mut active, now);
            (active.update(txn).await?, poll)
        }
        None => {
            let mut active = pricing_ballot::ActiveModel {
                id: Set(Uuid::now_v7()),
                poll_id: Set(poll.id),
                user_id: Set(voter.id),
                created_at: Set(now),
                ..Default::default()
            };
            ballot.fill(&mut active, now);
            let inserted = active.insert(txn).await?;
            let count = poll.ballot_count + 1;
            let mut active: pricing_poll::ActiveModel = poll.into();
            active.ballot_count = Set(count);
            (inserted, active.update(txn).await?)
        }
    };
    add_to_tally(txn, poll.id, &contributions(&saved), 1).await?;
    sync.ballot(&saved);
    sync.poll(&poll);
    Ok((saved, poll))
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
    let now = Utc::now();
    let poll = if status_at(&poll, now) == PollStatus::Closed {
        poll
    } else {
        let poll = take_eligibility(&txn, poll).await?;
        let mut active: pricing_poll::ActiveModel = poll.into();
        active.closed_at = Set(Some(now));
        active.update(&txn).await?
    };
    let poll = settle_locked(&txn, poll).await?;
    let mut sync = SyncWriter::new();
    sync.poll(&poll);
    sync.commit(txn, state).await?;
    state.events.pricing_poll_updated(&state.db, poll_id).await;
    Ok(poll)
}

/// The poll as `viewer` may see it, with its outcome fixed when it has closed.
pub async fn find(
    state: &AppState,
    viewer: &Viewer,
    poll_id: Uuid,
) -> AppResult<Option<pricing_poll::Model>> {
    // The poll and its community in one query.
    let Some((poll, Some(community))) = pricing_poll::Entity::find_by_id(poll_id)
        .find_also_related(community::Entity)
        .one(&state.db)
        .await?
    else {
        return Ok(None);
    };
    if !communities::can_see(&state.db, viewer, &community).await? {
        return Ok(None);
    }
    Ok(Some(settle(state, poll).await?))
}

/// Polls of a community, newest first, optionally only those with `status` now.
pub async fn list(
    state: &AppState,
    viewer: &Viewer,
    community_id: Uuid,
    status: Option<PollStatus>,
    page: PageRequest,
) -> AppResult<Page<pricing_poll::Model>> {
    communities::require_visible(&state.db, viewer, community_id).await?;
    let now = Utc::now();
    let mut query = pricing_poll::Entity::find()
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

/// The caller's ballot in a poll, if any.
pub async fn viewer_ballot(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    poll_id: Uuid,
) -> AppResult<Option<pricing_ballot::Model>> {
    let Some(user_id) = viewer.user_id() else {
        return Ok(None);
    };
    Ok(pricing_ballot::Entity::find()
        .filter(pricing_ballot::Column::PollId.eq(poll_id))
        .filter(pricing_ballot::Column::UserId.eq(user_id))
        .one(db)
        .await?)
}

/// Results from the aggregates; None for a binding poll until it has closed.
pub async fn results(
    db: &impl ConnectionTrait,
    poll: &pricing_poll::Model,
) -> AppResult<Option<Results>> {
    if poll.binding && status_at(poll, Utc::now()) != PollStatus::Closed {
        return Ok(None);
    }
    compute(db, poll).await.map(Some)
}

async fn compute(db: &impl ConnectionTrait, poll: &pricing_poll::Model) -> AppResult<Results> {
    // One row per answer with its "price:ballots" pairs joined: a few rows to decode instead of
    // one per price.
    let backend = db.get_database_backend();
    let joined = match backend {
        DatabaseBackend::Postgres => "string_agg(price || ':' || ballots, ',')",
        _ => "group_concat(price || ':' || ballots, ',')",
    };
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            placeholders(
                backend,
                &format!(
                    "SELECT answer, {joined} AS pairs FROM pricing_tally \
                     WHERE poll_id = $1 AND ballots <> 0 GROUP BY answer"
                ),
            ),
            [poll.id.into()],
        ))
        .await?;
    let mut by_answer: BTreeMap<String, BTreeMap<i64, i64>> = BTreeMap::new();
    for row in rows {
        let answer: String = row.try_get("", "answer")?;
        let pairs: String = row.try_get("", "pairs")?;
        let counts = by_answer.entry(answer).or_default();
        for pair in pairs.split(',') {
            let parsed = pair
                .split_once(':')
                .and_then(|(p, n)| Some((p.parse::<i64>().ok()?, n.parse::<i64>().ok()?)));
            let (price, ballots) =
                parsed.ok_or_else(|| AppError::internal(format!("bad tally pair {pair:?}")))?;
            counts.insert(price, ballots);
        }
    }
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
    }
    Ok(results)
}

/// Brings a binding poll up to date with the clock: its eligibility snapshot once it has
/// opened, its outcome once it has closed (each written once; a no-op otherwise).
async fn settle(state: &AppState, poll: pricing_poll::Model) -> AppResult<pricing_poll::Model> {
    let status = status_at(&poll, Utc::now());
    let needs_snapshot = !poll.eligibility_taken && status != PollStatus::Scheduled;
    let needs_outcome = poll.outcome_at.is_none() && status == PollStatus::Closed;
    if !poll.binding || !(needs_snapshot || needs_outcome) {
        return Ok(poll);
    }
    let txn = crate::db::begin_write(&state.db).await?;
    let poll = lock(&txn, poll.id).await?;
    let poll = take_eligibility(&txn, poll).await?;
    let poll = if status_at(&poll, Utc::now()) == PollStatus::Closed {
        settle_locked(&txn, poll).await?
    } else {
        poll
    };
    let mut sync = SyncWriter::new();
    sync.poll(&poll);
    sync.commit(txn, state).await?;
    Ok(poll)
}

async fn settle_locked(
    txn: &DatabaseTransaction,
    poll: pricing_poll::Model,
) -> AppResult<pricing_poll::Model> {
    if !poll.binding || poll.outcome_at.is_some() {
        return Ok(poll);
    }
    let results = compute(txn, &poll).await?;
    let quorum = poll.quorum.unwrap_or(1);
    let (outcome, price) = if poll.ballot_count >= quorum {
        let price = match poll.method {
            Method::Choice => results.winning_price,
            Method::VanWestendorp => results.van_westendorp.and_then(|v| v.optimal_price),
            Method::GaborGranger => results.revenue_maximizing_price,
        };
        (Outcome::Ratified, price)
    } else {
        (Outcome::NoQuorum, None)
    };
    let mut active: pricing_poll::ActiveModel = poll.into();
    active.outcome = Set(Some(outcome));
    active.ratified_price = Set(price);
    active.outcome_at = Set(Some(Utc::now()));
    Ok(active.update(txn).await?)
}

/// Writes the eligibility snapshot of a binding poll once it has opened: the ACTIVE members
/// who had joined by `opens_at`.
async fn take_eligibility(
    txn: &DatabaseTransaction,
    poll: pricing_poll::Model,
) -> AppResult<pricing_poll::Model> {
    if !poll.binding || poll.eligibility_taken || Utc::now() < poll.opens_at {
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
async fn lock_visible(
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

/// A validated ballot in minor units.
struct Ballot {
    choice: Option<i64>,
    too_cheap: Option<i64>,
    cheap: Option<i64>,
    expensive: Option<i64>,
    too_expensive: Option<i64>,
    would_buy: Option<String>,
}

impl Ballot {
    /// Writes the answers into a ballot row (a new one or the one it replaces).
    fn fill(self, row: &mut pricing_ballot::ActiveModel, now: DateTime<Utc>) {
        row.choice = Set(self.choice);
        row.too_cheap = Set(self.too_cheap);
        row.cheap = Set(self.cheap);
        row.expensive = Set(self.expensive);
        row.too_expensive = Set(self.too_expensive);
        row.would_buy = Set(self.would_buy);
        row.updated_at = Set(now);
    }
}

fn validate_ballot(poll: &pricing_poll::Model, input: BallotInput) -> AppResult<Ballot> {
    let digits = digits_of(poll);
    let points = price_points(poll);
    let price = |field: &str, value: Decimal| {
        to_minor(value, digits).filter(|v| *v > 0).ok_or_else(|| {
            AppError::bad_input(
                field,
                format!("prices must be positive with at most {digits} decimals"),
            )
        })
    };
    let mut ballot = Ballot {
        choice: None,
        too_cheap: None,
        cheap: None,
        expensive: None,
        too_expensive: None,
        would_buy: None,
    };
    let wrong = |field: &str| {
        AppError::bad_input(
            field,
            "answer exactly the part that matches the poll's method",
        )
    };
    match poll.method {
        Method::Choice => {
            if input.van_westendorp.is_some() {
                return Err(wrong("vanWestendorp"));
            }
            if input.gabor_granger.is_some() {
                return Err(wrong("gaborGranger"));
            }
            let choice = price("choice", input.choice.ok_or_else(|| wrong("choice"))?)?;
            if !points.contains(&choice) {
                return Err(AppError::bad_input(
                    "choice",
                    "choose one of the poll's price points",
                ));
            }
            ballot.choice = Some(choice);
        }
        Method::VanWestendorp => {
            if input.choice.is_some() {
                return Err(wrong("choice"));
            }
            if input.gabor_granger.is_some() {
                return Err(wrong("gaborGranger"));
            }
            let [a, b, c, d] = input.van_westendorp.ok_or_else(|| wrong("vanWestendorp"))?;
            let answer = pricing_math::VwAnswer {
                too_cheap: price("vanWestendorp.tooCheap", a)?,
                cheap: price("vanWestendorp.cheap", b)?,
                expensive: price("vanWestendorp.expensive", c)?,
                too_expensive: price("vanWestendorp.tooExpensive", d)?,
            };
            if !answer.is_valid() {
                return Err(AppError::bad_input(
                    "vanWestendorp",
                    "answers must satisfy tooCheap < cheap < expensive < tooExpensive",
                ));
            }
            ballot.too_cheap = Some(answer.too_cheap);
            ballot.cheap = Some(answer.cheap);
            ballot.expensive = Some(answer.expensive);
            ballot.too_expensive = Some(answer.too_expensive);
        }
        Method::GaborGranger => {
            if input.choice.is_some() {
                return Err(wrong("choice"));
            }
            if input.van_westendorp.is_some() {
                return Err(wrong("vanWestendorp"));
            }
            let answers = input.gabor_granger.ok_or_else(|| wrong("gaborGranger"))?;
            let mut ladder: BTreeMap<i64, bool> = BTreeMap::new();
            for (value, would_buy) in answers {
                let p = price("gaborGranger", value)?;
                if ladder.insert(p, would_buy).is_some() {
                    return Err(AppError::bad_input(
                        "gaborGranger",
                        "each price point is answered once",
                    ));
                }
            }
            if ladder.keys().copied().collect::<Vec<_>>() != points {
                return Err(AppError::bad_input(
                    "gaborGranger",
                    "answer every price point of the poll, and only those",
                ));
            }
            ballot.would_buy = Some(
                ladder
                    .iter()
                    .map(|(p, yes)| format!("{p}:{}", u8::from(*yes)))
                    .collect::<Vec<_>>()
                    .join(","),
            );
        }
    }
    Ok(ballot)
}

/// The Gabor-Granger ladder of a stored ballot.
pub fn ladder(ballot: &pricing_ballot::Model) -> Vec<(i64, bool)> {
    ballot
        .would_buy
        .as_deref()
        .unwrap_or("")
        .split(',')
        .filter_map(|pair| {
            let (price, yes) = pair.split_once(':')?;
            Some((price.parse().ok()?, yes == "1"))
        })
        .collect()
}

const CHOICE: &str = "CHOICE";
const TOO_CHEAP: &str = "TOO_CHEAP";
const CHEAP: &str = "CHEAP";
const EXPENSIVE: &str = "EXPENSIVE";
const TOO_EXPENSIVE: &str = "TOO_EXPENSIVE";
const GG_HIGHEST: &str = "GG_HIGHEST";

/// What a stored ballot adds to the tallies: (answer, price) pairs.
fn contributions(ballot: &pricing_ballot::Model) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    if let Some(c) = ballot.choice {
        out.push((CHOICE, c));
    }
    for (answer, value) in [
        (TOO_CHEAP, ballot.too_cheap),
        (CHEAP, ballot.cheap),
        (EXPENSIVE, ballot.expensive),
        (TOO_EXPENSIVE, ballot.too_expensive),
    ] {
        if let Some(v) = value {
            out.push((answer, v));
        }
    }
    if ballot.would_buy.is_some() {
        let highest = ladder(ballot)
            .into_iter()
            .filter(|(_, yes)| *yes)
            .map(|(p, _)| p)
            .max()
            .unwrap_or(-1);
        out.push((GG_HIGHEST, highest));
    }
    out
}

async fn add_to_tally(
    txn: &DatabaseTransaction,
    poll_id: Uuid,
    entries: &[(&'static str, i64)],
    delta: i64,
) -> AppResult<()> {
    let backend = txn.get_database_backend();
    let sql = placeholders(
        backend,
        "INSERT INTO pricing_tally (poll_id, answer, price, ballots) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (poll_id, answer, price) DO UPDATE SET ballots = pricing_tally.ballots + $4",
    );
    for (answer, price) in entries {
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            sql.clone(),
            [
                poll_id.into(),
                (*answer).into(),
                (*price).into(),
                delta.into(),
            ],
        ))
        .await?;
    }
    Ok(())
}
