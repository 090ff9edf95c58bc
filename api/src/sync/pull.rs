//! `pull`: what changed for a device since its cursor. Everything — scopes, changes, acks —
//! is read in one read-only snapshot (REPEATABLE READ on Postgres, one read transaction on
//! SQLite), so acks and changes always agree. Pages are bounded by rows and by bytes.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use entity::{
    appeal, comment, community, growth_event, membership, pricing_ballot, pricing_poll,
    revenue_share_record, sanction, suggestion, sync_client, sync_counter, sync_entity, vote,
};
use sea_orm::{
    AccessMode, ColumnTrait, Condition, DatabaseBackend, DatabaseConnection, DatabaseTransaction,
    EntityTrait, IsolationLevel, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use uuid::Uuid;

use super::cursor::{Backfill, Cursor};
use super::scopes::{self, ScopeSet};
use super::{MIN_PULL_SCHEMA_VERSION, check_versions, ensure_group};
use crate::auth::Viewer;
use crate::changes::order::{self, Head};
use crate::changes::{EntityKind, Op, Scope};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Rows per page when the client does not say.
pub const DEFAULT_LIMIT: u64 = 500;
/// Most rows per page.
pub const MAX_LIMIT: u64 = 1000;
/// The most rows a pull asking for `limit` may return, as the cost of a document counts it (an
/// out-of-range limit is refused when the pull runs).
pub fn page_limit(limit: Option<i64>) -> u64 {
    limit.map_or(DEFAULT_LIMIT, |n| n.clamp(1, MAX_LIMIT as i64) as u64)
}

/// About how many bytes of rows one page carries at most.
pub const MAX_PAGE_BYTES: usize = 1024 * 1024;

/// What a pull asks for.
#[derive(Debug, Clone)]
pub struct PullRequest {
    pub client_group_id: Uuid,
    pub protocol_version: i32,
    pub schema_version: i32,
    pub cursor: Option<String>,
    pub limit: Option<i32>,
}

/// A scope the device gained or lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeEvent {
    Added(Scope),
    Removed(Scope),
}

/// A synced row as it is now (in the snapshot).
#[derive(Debug, Clone)]
pub enum Payload {
    Suggestion(suggestion::Model),
    Vote(vote::Model),
    Ballot(pricing_ballot::Model),
    Poll(pricing_poll::Model),
    Comment(comment::Model),
    Membership(membership::Model),
    Community(community::Model),
    RevenueShare(revenue_share_record::Model),
    GrowthEvent(growth_event::Model),
    Release(crate::services::releases::Release),
    Sanction(sanction::Model),
    Appeal(appeal::Model),
}

/// One change of the page.
#[derive(Debug, Clone)]
pub struct Change {
    pub seq: i64,
    pub op: Op,
    pub scope: String,
    pub kind: EntityKind,
    pub entity_id: Uuid,
    pub version: i32,
    /// None on DELETE.
    pub payload: Option<Payload>,
}

/// A page of changes.
#[derive(Debug, Clone)]
pub struct PullResult {
    pub reset: bool,
    pub scope_events: Vec<ScopeEvent>,
    pub changes: Vec<Change>,
    /// `(client id, last mutation id)`.
    pub acks: Vec<(Uuid, i64)>,
    pub cursor: String,
    pub has_more: bool,
    pub user_id: Uuid,
}

/// Serves one page of changes to a device of the signed-in user.
pub async fn pull(
    state: &AppState,
    viewer: &Viewer,
    request: PullRequest,
) -> AppResult<PullResult> {
    let user = viewer.require_user()?.clone();
    check_versions(request.protocol_version, request.schema_version)?;
    if request.schema_version < MIN_PULL_SCHEMA_VERSION {
        return Err(AppError::ClientUpgradeRequired(format!(
            "schemaVersion {} can still push but no longer pull; update the app",
            request.schema_version
        )));
    }
    let limit = match request.limit {
        None => DEFAULT_LIMIT,
        Some(n) if n < 1 || n as u64 > MAX_LIMIT => {
            return Err(AppError::bad_input("limit", "limit must be 1–1000"));
        }
        Some(n) => n as u64,
    };
    ensure_group(state, user.id, request.client_group_id).await?;

    let Snapshot {
        txn,
        counter,
        head,
        scopes: now_scopes,
        held_back_to,
    } = Snapshot::open(state, user.id, request.client_group_id).await?;

    let decoded = match request.cursor.as_deref() {
        None => None,
        Some(text) if Cursor::claimed_epoch(text)? != counter.epoch => Some(None),
        Some(text) => Some(Cursor::decode(text, &counter.cursor_key)?),
    };
    let (cursor, reset) = match decoded {
        Some(Some(cursor))
            if cursor.position.0 <= head.upper && cursor.position.0 >= counter.horizon_seq =>
        {
            (cursor, false)
        }
        // Another database's cursor, one of an earlier format, one ahead of the head, or one
        // older than the horizon.
        Some(_) => (Cursor::first(&counter.epoch, head.through), true),
        None => (Cursor::first(&counter.epoch, head.through), false),
    };
    // The sets the cursor names; one the purge has forgotten resets it too.
    let (mut cursor, reset, mut sets) = match Sets::read(&txn, &cursor).await? {
        Some(sets) => (cursor, reset, sets),
        None => (
            Cursor::first(&counter.epoch, head.through),
            true,
            Sets::default(),
        ),
    };
    // A cursor was handed out at or below the head of its own snapshot, which nothing can
    // appear below later; this snapshot may be held back further by a transaction that has
    // ended since it was taken (see `changes::order`), and then serves nothing new.
    let head = head.through.max(cursor.position.0);

    let first_sync = cursor.scope_set.is_none() && cursor.position.0 == 0;
    let held: BTreeSet<Scope> = match &cursor.scope_set {
        Some(digest) => sets.named[digest].scopes.iter().copied().collect(),
        None => BTreeSet::new(),
    };
    let mut scope_events = Vec::new();
    for lost in held.difference(&now_scopes) {
        scope_events.push(ScopeEvent::Removed(*lost));
    }
    let gained: Vec<Scope> = now_scopes.difference(&held).copied().collect();
    for gained in &gained {
        scope_events.push(ScopeEvent::Added(*gained));
    }
    if !first_sync && !gained.is_empty() {
        let set = ScopeSet::new(gained);
        cursor.backfills.push(Backfill {
            set: set.digest.clone(),
            next: 0,
            upto: cursor.position,
            after: (0, -1),
        });
        sets.add(set);
    }
    let now_set = ScopeSet::new(now_scopes.iter().copied());
    cursor.scope_set = Some(now_set.digest.clone());
    sets.add(now_set);

    let mut page = Page::new(limit);
    fill_from_backfills(&txn, &mut cursor, &sets, &now_scopes, &mut page).await?;
    let mut stream = None;
    if cursor.backfills.is_empty() {
        let scopes: Vec<String> = now_scopes.iter().map(Scope::to_string).collect();
        stream = Some(fill_from_stream(&txn, &mut cursor, &scopes, head, &mut page).await?);
    }
    // Changes still held back by an open writer: the device pulls again (it may have been
    // poked for them, and no other poke need come).
    let has_more = !cursor.backfills.is_empty()
        || stream.is_some_and(|(more, _)| more)
        || held_back_to.is_some_and(|newest| newest > head);

    // Acks: mutations whose whole transaction lies inside what has now been delivered. While a
    // backfill runs the stream does not move, and neither do acks.
    let delivered_through = match stream {
        _ if !cursor.backfills.is_empty() => cursor.acked,
        Some((true, Some(next))) if next == cursor.position.0 => cursor.position.0 - 1,
        Some((true, _)) => cursor.position.0,
        _ => {
            cursor.position = cursor.position.max((head, i32::MAX));
            head
        }
    };
    let mut acks = Vec::new();
    if delivered_through > cursor.acked {
        acks = sync_client::Entity::find()
            .filter(sync_client::Column::ClientGroupId.eq(request.client_group_id))
            .filter(sync_client::Column::LastMutationSeq.gt(cursor.acked))
            .filter(sync_client::Column::LastMutationSeq.lte(delivered_through))
            .all(&txn)
            .await?
            .into_iter()
            .map(|c| (c.id, c.last_mutation_id))
            .collect();
        cursor.acked = delivered_through;
    }
    let changes = load_payloads(&txn, page.rows).await?;
    txn.commit().await?;
    sets.keep_named_by(&state.db, &cursor).await?;
    Ok(PullResult {
        reset,
        scope_events,
        changes,
        acks,
        cursor: cursor.encode(&counter.cursor_key)?,
        has_more,
        user_id: user.id,
    })
}

/// How many times a pull takes a new snapshot while a transaction still open holds back
/// changes committed before it began, and how long it waits between them.
const HELD_BACK_TRIES: u32 = 25;
const HELD_BACK_WAIT: std::time::Duration = std::time::Duration::from_millis(2);

/// A pull's read-only snapshot, with what it reads first: the counter row, the head, and the
/// scopes the user holds now.
struct Snapshot {
    txn: DatabaseTransaction,
    counter: sync_counter::Model,
    head: Head,
    scopes: BTreeSet<Scope>,
    /// The newest change or ack still held back when the pull stopped waiting for it.
    held_back_to: Option<i64>,
}

impl Snapshot {
    /// One snapshot for changes and acks: REPEATABLE READ on Postgres; a SQLite transaction
    /// reads one snapshot anyway (and takes no isolation options).
    ///
    /// On Postgres a writer that began before others and commits after them holds the head
    /// below their changes (see `changes::order`). So that a device pulling right after a push
    /// gets its ack, and another device the change, a pull whose snapshot sees changes of its
    /// scopes or acks of its group above the head takes a new snapshot, a few milliseconds
    /// later, until the head passes them (at most [`HELD_BACK_TRIES`] times; writers that began
    /// later do not count). A change it still holds back comes with a next pull, which its
    /// `hasMore` asks for.
    async fn open(state: &AppState, user_id: Uuid, group: Uuid) -> AppResult<Snapshot> {
        let mut waiting_for = None;
        let mut tries = 0;
        loop {
            let mut snapshot = Snapshot::begin(state, user_id).await?;
            if !snapshot.head.held_back() {
                return Ok(snapshot);
            }
            let target = match waiting_for {
                Some(target) => target,
                None => match snapshot.newest_above_head(group).await? {
                    Some(target) => target,
                    None => return Ok(snapshot),
                },
            };
            if snapshot.head.through >= target {
                return Ok(snapshot);
            }
            if tries == HELD_BACK_TRIES {
                snapshot.held_back_to = Some(target);
                return Ok(snapshot);
            }
            waiting_for = Some(target);
            tries += 1;
            snapshot.txn.rollback().await?;
            tokio::time::sleep(HELD_BACK_WAIT).await;
        }
    }

    async fn begin(state: &AppState, user_id: Uuid) -> AppResult<Snapshot> {
        let txn = if state.db.get_database_backend() == DatabaseBackend::Postgres {
            state
                .db
                .begin_with_config(
                    Some(IsolationLevel::RepeatableRead),
                    Some(AccessMode::ReadOnly),
                )
                .await?
        } else {
            state.db.begin().await?
        };
        let counter = sync_counter::Entity::find_by_id(1)
            .one(&txn)
            .await?
            .ok_or_else(|| AppError::internal("sync_counter row missing"))?;
        let head = order::head(&txn, counter.seq).await?;
        let scopes = scopes::held_by(&txn, user_id).await?;
        Ok(Snapshot {
            txn,
            counter,
            head,
            scopes,
            held_back_to: None,
        })
    }

    /// The newest seq above the head that this snapshot sees in the user's scopes or among
    /// the acks of `group`.
    async fn newest_above_head(&self, group: Uuid) -> AppResult<Option<i64>> {
        let through = self.head.through;
        let ack: Option<i64> = sync_client::Entity::find()
            .select_only()
            .column_as(sync_client::Column::LastMutationSeq.max(), "newest")
            .filter(sync_client::Column::ClientGroupId.eq(group))
            .filter(sync_client::Column::LastMutationSeq.gt(through))
            .into_tuple::<Option<i64>>()
            .one(&self.txn)
            .await?
            .flatten();
        let change: Option<i64> = sync_entity::Entity::find()
            .select_only()
            .column_as(sync_entity::Column::Seq.max(), "newest")
            .filter(sync_entity::Column::Scope.is_in(self.scopes.iter().map(Scope::to_string)))
            .filter(sync_entity::Column::Seq.gt(through))
            .into_tuple::<Option<i64>>()
            .one(&self.txn)
            .await?
            .flatten();
        Ok(ack.max(change))
    }
}

/// The scope sets a pull reads and names: those its cursor came with (and when each was last
/// named) and those its new cursor names.
#[derive(Default)]
struct Sets {
    named: HashMap<String, ScopeSet>,
    used_at: HashMap<String, DateTime<Utc>>,
}

impl Sets {
    /// The sets `cursor` names, read in the pull's snapshot; none when one of them is not
    /// known (any more).
    async fn read(txn: &DatabaseTransaction, cursor: &Cursor) -> AppResult<Option<Sets>> {
        let mut sets = Sets::default();
        for digest in cursor.named_sets() {
            let Some((set, used_at)) = ScopeSet::find(txn, digest).await? else {
                return Ok(None);
            };
            sets.used_at.insert(digest.clone(), used_at);
            sets.add(set);
        }
        Ok(Some(sets))
    }

    fn add(&mut self, set: ScopeSet) {
        self.named.insert(set.digest.clone(), set);
    }

    /// Stores the sets `cursor` names that are new, and marks those last marked longer than
    /// [`ScopeSet::MARK_AFTER`] ago (so the purge keeps the sets of cursors in use), before the
    /// cursor is handed out.
    async fn keep_named_by(&self, db: &DatabaseConnection, cursor: &Cursor) -> AppResult<()> {
        let now = Utc::now();
        for digest in cursor.named_sets() {
            let fresh = self
                .used_at
                .get(digest)
                .is_some_and(|used| now - *used < ScopeSet::MARK_AFTER);
            if !fresh {
                self.named[digest].keep(db, now).await?;
            }
        }
        Ok(())
    }
}

/// The rows of a page being filled, with its budgets.
struct Page {
    rows: Vec<sync_entity::Model>,
    limit: u64,
    bytes: usize,
}

impl Page {
    fn new(limit: u64) -> Self {
        Page {
            rows: Vec::new(),
            limit,
            bytes: 0,
        }
    }

    fn room(&self) -> u64 {
        self.limit.saturating_sub(self.rows.len() as u64)
    }

    fn full(&self) -> bool {
        self.room() == 0 || self.bytes >= MAX_PAGE_BYTES
    }
}

/// Serves the oldest backfill first: live rows of a gained scope up to where the stream was,
/// one scope of its set after another; a scope lost again since it was gained is skipped.
async fn fill_from_backfills(
    txn: &DatabaseTransaction,
    cursor: &mut Cursor,
    sets: &Sets,
    held: &BTreeSet<Scope>,
    page: &mut Page,
) -> AppResult<()> {
    while !page.full() {
        let Some(backfill) = cursor.backfills.first_mut() else {
            return Ok(());
        };
        let Some(scope) = sets.named[&backfill.set].scopes.get(backfill.next) else {
            cursor.backfills.remove(0);
            continue;
        };
        if !held.contains(scope) {
            backfill.next += 1;
            backfill.after = (0, -1);
            continue;
        }
        let room = page.room();
        let rows = sync_entity::Entity::find()
            .filter(sync_entity::Column::Scope.eq(scope.to_string()))
            .filter(sync_entity::Column::Op.eq(Op::Upsert.name()))
            .filter(after(backfill.after))
            .filter(at_or_before(backfill.upto))
            .order_by_asc(sync_entity::Column::Seq)
            .order_by_asc(sync_entity::Column::OpIndex)
            .limit(room + 1)
            .all(txn)
            .await?;
        let more = rows.len() as u64 > room;
        let mut stopped_early = false;
        for row in rows.into_iter().take(room as usize) {
            backfill.after = (row.seq, row.op_index);
            page.bytes += estimate(&row);
            page.rows.push(row);
            if page.bytes >= MAX_PAGE_BYTES {
                stopped_early = true;
                break;
            }
        }
        if more || stopped_early {
            return Ok(());
        }
        backfill.next += 1;
        backfill.after = (0, -1);
    }
    Ok(())
}

/// Serves the change stream after the cursor in `(seq, op_index)` order. Returns whether more
/// rows follow and the seq of the first row not served.
async fn fill_from_stream(
    txn: &DatabaseTransaction,
    cursor: &mut Cursor,
    scopes: &[String],
    head: i64,
    page: &mut Page,
) -> AppResult<(bool, Option<i64>)> {
    loop {
        let room = page.room();
        if room == 0 || page.bytes >= MAX_PAGE_BYTES {
            let next = next_stream_seq(txn, scopes, cursor.position, head).await?;
            return Ok((next.is_some(), next));
        }
        let rows = sync_entity::Entity::find()
            .filter(sync_entity::Column::Scope.is_in(scopes.iter().map(String::as_str)))
            .filter(after(cursor.position))
            .filter(sync_entity::Column::Seq.lte(head))
            .order_by_asc(sync_entity::Column::Seq)
            .order_by_asc(sync_entity::Column::OpIndex)
            .limit(room + 1)
            .all(txn)
            .await?;
        let fetched = rows.len() as u64;
        let mut next = None;
        for (served, row) in rows.into_iter().enumerate() {
            if served as u64 == room || page.bytes >= MAX_PAGE_BYTES {
                next = Some(row.seq);
                break;
            }
            cursor.position = (row.seq, row.op_index);
            // A first sync never had the rows deleted before it began.
            if row.op == Op::Delete.name() && row.seq <= cursor.initial_until {
                continue;
            }
            page.bytes += estimate(&row);
            page.rows.push(row);
        }
        if fetched <= room && next.is_none() {
            return Ok((false, None));
        }
        if let Some(next) = next {
            return Ok((true, Some(next)));
        }
        // Only skipped tombstones were fetched: keep filling the page.
    }
}

async fn next_stream_seq(
    txn: &DatabaseTransaction,
    scopes: &[String],
    position: (i64, i32),
    head: i64,
) -> AppResult<Option<i64>> {
    Ok(sync_entity::Entity::find()
        .filter(sync_entity::Column::Scope.is_in(scopes.iter().map(String::as_str)))
        .filter(after(position))
        .filter(sync_entity::Column::Seq.lte(head))
        .order_by_asc(sync_entity::Column::Seq)
        .order_by_asc(sync_entity::Column::OpIndex)
        .one(txn)
        .await?
        .map(|row| row.seq))
}

fn after((seq, op_index): (i64, i32)) -> Condition {
    Condition::any().add(sync_entity::Column::Seq.gt(seq)).add(
        Condition::all()
            .add(sync_entity::Column::Seq.eq(seq))
            .add(sync_entity::Column::OpIndex.gt(op_index)),
    )
}

fn at_or_before((seq, op_index): (i64, i32)) -> Condition {
    Condition::any().add(sync_entity::Column::Seq.lt(seq)).add(
        Condition::all()
            .add(sync_entity::Column::Seq.eq(seq))
            .add(sync_entity::Column::OpIndex.lte(op_index)),
    )
}

/// A rough size of a row on the wire, for the page's byte budget.
fn estimate(row: &sync_entity::Model) -> usize {
    match EntityKind::parse(&row.entity) {
        Some(EntityKind::Suggestion) => 1200,
        Some(EntityKind::Comment) => 800,
        _ => 300,
    }
}

/// Reads the current rows of the page's UPSERTs, in the snapshot, one query per kind.
async fn load_payloads(
    txn: &DatabaseTransaction,
    rows: Vec<sync_entity::Model>,
) -> AppResult<Vec<Change>> {
    let ids_of = |kind: EntityKind| -> Vec<Uuid> {
        rows.iter()
            .filter(|r| r.op == Op::Upsert.name() && r.entity == kind.name())
            .map(|r| r.entity_id)
            .collect()
    };
    let mut payloads: HashMap<(EntityKind, Uuid), Payload> = HashMap::new();
    macro_rules! load {
        ($kind:expr, $entity:ident, $variant:ident) => {
            let ids = ids_of($kind);
            if !ids.is_empty() {
                for model in $entity::Entity::find()
                    .filter($entity::Column::Id.is_in(ids))
                    .all(txn)
                    .await?
                {
                    payloads.insert(($kind, model.id), Payload::$variant(model));
                }
            }
        };
    }
    load!(EntityKind::Suggestion, suggestion, Suggestion);
    load!(EntityKind::Vote, vote, Vote);
    load!(EntityKind::Ballot, pricing_ballot, Ballot);
    load!(EntityKind::Poll, pricing_poll, Poll);
    load!(EntityKind::Comment, comment, Comment);
    load!(EntityKind::Membership, membership, Membership);
    load!(EntityKind::Community, community, Community);
    load!(EntityKind::RevenueShare, revenue_share_record, RevenueShare);
    load!(EntityKind::GrowthEvent, growth_event, GrowthEvent);
    load!(EntityKind::Sanction, sanction, Sanction);
    load!(EntityKind::Appeal, appeal, Appeal);
    let ids = ids_of(EntityKind::Release);
    if !ids.is_empty() {
        for release in crate::services::releases::find_many(txn, &ids).await? {
            payloads.insert(
                (EntityKind::Release, release.model.id),
                Payload::Release(release),
            );
        }
    }
    let mut changes = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(kind) = EntityKind::parse(&row.entity) else {
            continue;
        };
        let op = if row.op == Op::Delete.name() {
            Op::Delete
        } else {
            Op::Upsert
        };
        let payload = match op {
            Op::Upsert => match payloads.get(&(kind, row.entity_id)) {
                Some(payload) => Some(payload.clone()),
                // Gone without a tombstone (a cascade): nothing to send.
                None => continue,
            },
            Op::Delete => None,
        };
        changes.push(Change {
            seq: row.seq,
            op,
            scope: row.scope,
            kind,
            entity_id: row.entity_id,
            version: row.version,
            payload,
        });
    }
    Ok(changes)
}
