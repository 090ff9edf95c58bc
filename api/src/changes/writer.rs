//! `SyncWriter`: the one way a domain write reaches the change index. Every service collects
//! what it changed here during its transaction; [`SyncWriter::commit`] then takes the
//! transaction's `seq` (see [`super::order`]) as the last thing before COMMIT, moves each changed
//! row's `sync_entity` entry to that seq, records field versions for merges, commits, and pokes
//! the affected scopes, with the write's other live events, in one `NOTIFY`.

use std::collections::{BTreeSet, HashMap};

use chrono::Utc;
use entity::{
    appeal, comment, community, growth_event, membership, pricing_ballot, pricing_poll, release,
    revenue_share_record, sanction, suggestion, sync_entity, sync_field_version, vote,
};
use sea_orm::sea_query::{Expr, ExprTrait, InsertStatement, OnConflict, Query};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction, EntityTrait, Set,
};
use uuid::Uuid;

use super::scope::Scope;
use crate::error::{AppError, AppResult};
use crate::events::{Event, Events};

/// Where a committed write's events go: the database they travel through (`NOTIFY` on
/// Postgres) and this process's hub. The server's state is one.
pub trait Publish {
    fn database(&self) -> &DatabaseConnection;
    fn events(&self) -> &Events;
}

/// The kinds of synced rows, as `sync_entity.entity` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntityKind {
    Community,
    Membership,
    Suggestion,
    Comment,
    Vote,
    Poll,
    Ballot,
    RevenueShare,
    GrowthEvent,
    Release,
    Sanction,
    Appeal,
}

impl EntityKind {
    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            EntityKind::Community => "Community",
            EntityKind::Membership => "Membership",
            EntityKind::Suggestion => "Suggestion",
            EntityKind::Comment => "Comment",
            EntityKind::Vote => "Vote",
            EntityKind::Poll => "Poll",
            EntityKind::Ballot => "Ballot",
            EntityKind::RevenueShare => "RevenueShare",
            EntityKind::GrowthEvent => "GrowthEvent",
            EntityKind::Release => "Release",
            EntityKind::Sanction => "Sanction",
            EntityKind::Appeal => "Appeal",
        }
    }

    /// The kind a stored name stands for.
    pub fn parse(name: &str) -> Option<Self> {
        [
            EntityKind::Community,
            EntityKind::Membership,
            EntityKind::Suggestion,
            EntityKind::Comment,
            EntityKind::Vote,
            EntityKind::Poll,
            EntityKind::Ballot,
            EntityKind::RevenueShare,
            EntityKind::GrowthEvent,
            EntityKind::Release,
            EntityKind::Sanction,
            EntityKind::Appeal,
        ]
        .into_iter()
        .find(|kind| kind.name() == name)
    }
}

/// What happened to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Upsert,
    Delete,
}

impl Op {
    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            Op::Upsert => "UPSERT",
            Op::Delete => "DELETE",
        }
    }
}

#[derive(Debug, Clone)]
struct Change {
    scope: Scope,
    kind: EntityKind,
    id: Uuid,
    op: Op,
}

/// The changes of one transaction, waiting for its seq.
#[derive(Debug, Default)]
pub struct SyncWriter {
    changes: Vec<Change>,
    positions: HashMap<(Scope, EntityKind, Uuid), usize>,
    fields: Vec<(EntityKind, Uuid, &'static str)>,
    client_group: Option<Uuid>,
    announced: Vec<Event>,
}

/// Rows per multi-row insert (SQLite allows 32 766 bound values).
const CHUNK: usize = 500;

impl SyncWriter {
    pub fn new() -> Self {
        Self::default()
    }

    /// A writer for a pushed mutation of `client_group` (field versions remember the group, so
    /// the group's own later edits never conflict with it).
    pub fn for_group(client_group: Uuid) -> Self {
        SyncWriter {
            client_group: Some(client_group),
            ..Self::default()
        }
    }

    /// Records a change; a later change of the same row in this transaction replaces its op.
    pub fn record(&mut self, scope: Scope, kind: EntityKind, id: Uuid, op: Op) {
        match self.positions.get(&(scope, kind, id)) {
            Some(&index) => self.changes[index].op = op,
            None => {
                self.positions.insert((scope, kind, id), self.changes.len());
                self.changes.push(Change {
                    scope,
                    kind,
                    id,
                    op,
                });
            }
        }
    }

    /// A live event to publish with the pokes once the transaction committed (e.g. "this
    /// suggestion changed"); one event announced twice goes once.
    pub fn announce(&mut self, event: Event) {
        if !self.announced.contains(&event) {
            self.announced.push(event);
        }
    }

    /// Records that an editable field changed (for field-level merge).
    pub fn field_changed(&mut self, kind: EntityKind, id: Uuid, field: &'static str) {
        if !self.fields.contains(&(kind, id, field)) {
            self.fields.push((kind, id, field));
        }
    }

    /// How many row changes were recorded.
    pub fn len(&self) -> usize {
        self.changes.len()
    }

    /// Splits into writers of at most `size` changes each (for bulk reindexing).
    pub fn split(self, size: usize) -> Vec<SyncWriter> {
        self.changes
            .chunks(size.max(1))
            .map(|chunk| {
                let mut writer = SyncWriter::new();
                for change in chunk {
                    writer.record(change.scope, change.kind, change.id, change.op);
                }
                writer
            })
            .collect()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.fields.is_empty()
    }

    /// The scopes this transaction touched.
    pub fn scopes(&self) -> BTreeSet<Scope> {
        self.changes.iter().map(|c| c.scope).collect()
    }

    /// A suggestion: live in its community, or a tombstone once deleted or hidden.
    pub fn suggestion(&mut self, row: &suggestion::Model) {
        let op = if row.deleted_at.is_some() || row.hidden_at.is_some() {
            Op::Delete
        } else {
            Op::Upsert
        };
        self.record(
            Scope::Community(row.community_id),
            EntityKind::Suggestion,
            row.id,
            op,
        );
    }

    /// A comment of a suggestion in `community_id`.
    pub fn comment(&mut self, row: &comment::Model, community_id: Uuid) {
        let op = if row.deleted_at.is_some() || row.hidden_at.is_some() {
            Op::Delete
        } else {
            Op::Upsert
        };
        self.record(
            Scope::Community(community_id),
            EntityKind::Comment,
            row.id,
            op,
        );
    }

    /// A user's vote (private to them).
    pub fn vote(&mut self, row: &vote::Model) {
        self.record(
            Scope::User(row.user_id),
            EntityKind::Vote,
            row.id,
            Op::Upsert,
        );
    }

    /// A community's own row.
    pub fn community(&mut self, row: &community::Model) {
        self.record(
            Scope::Community(row.id),
            EntityKind::Community,
            row.id,
            Op::Upsert,
        );
    }

    /// A membership, private to its user; `removed` when the row is gone.
    pub fn membership(&mut self, row: &membership::Model, removed: bool) {
        let op = if removed { Op::Delete } else { Op::Upsert };
        self.record(Scope::User(row.user_id), EntityKind::Membership, row.id, op);
    }

    /// A pricing poll, in its community.
    pub fn poll(&mut self, row: &pricing_poll::Model) {
        self.record(
            Scope::Community(row.community_id),
            EntityKind::Poll,
            row.id,
            Op::Upsert,
        );
    }

    /// A ballot, private to its user.
    pub fn ballot(&mut self, row: &pricing_ballot::Model) {
        self.record(
            Scope::User(row.user_id),
            EntityKind::Ballot,
            row.id,
            Op::Upsert,
        );
    }

    /// A revenue-share record: for its beneficiary, and for the admins of the community of
    /// the adopted suggestion.
    pub fn revenue_share(&mut self, row: &revenue_share_record::Model, community_id: Uuid) {
        self.record(
            Scope::User(row.beneficiary_id),
            EntityKind::RevenueShare,
            row.id,
            Op::Upsert,
        );
        self.record(
            Scope::Admin(community_id),
            EntityKind::RevenueShare,
            row.id,
            Op::Upsert,
        );
    }

    /// A growth event, private to its user.
    pub fn growth_event(&mut self, row: &growth_event::Model) {
        self.record(
            Scope::User(row.user_id),
            EntityKind::GrowthEvent,
            row.id,
            Op::Upsert,
        );
    }

    /// A published release, in its community.
    pub fn release(&mut self, row: &release::Model) {
        self.record(
            Scope::Community(row.community_id),
            EntityKind::Release,
            row.id,
            Op::Upsert,
        );
    }

    /// A sanction, private to its user.
    pub fn sanction(&mut self, row: &sanction::Model) {
        self.record(
            Scope::User(row.user_id),
            EntityKind::Sanction,
            row.id,
            Op::Upsert,
        );
    }

    /// An appeal, private to its user.
    pub fn appeal(&mut self, row: &appeal::Model) {
        self.record(
            Scope::User(row.user_id),
            EntityKind::Appeal,
            row.id,
            Op::Upsert,
        );
    }

    /// Takes the transaction's seq and writes the change index, inside `txn`; the caller
    /// commits right after (on SQLite the counter row stays locked until then). Returns the seq, or `None` when nothing was recorded (no seq is taken then).
    pub async fn flush(&mut self, txn: &DatabaseTransaction) -> AppResult<Option<i64>> {
        if self.is_empty() {
            return Ok(None);
        }
        self.flush_always(txn).await.map(Some)
    }

    /// Like [`flush`](Self::flush), but takes a seq even when nothing was recorded: a pushed
    /// mutation always gets one, so its ack is ordered with the changes around it.
    ///
    /// On Postgres, where the seq is the transaction's id, the first insert of the change index
    /// computes it and returns it (one statement for a write of up to [`CHUNK`] rows); on SQLite
    /// the counter row is taken first.
    pub async fn flush_always(&mut self, txn: &DatabaseTransaction) -> AppResult<i64> {
        let backend = txn.get_database_backend();
        let now = Utc::now();
        let mut chunks = self.changes.chunks(CHUNK).enumerate();
        let seq = match chunks.next() {
            Some((_, first)) if backend == DatabaseBackend::Postgres => {
                let mut insert = index_rows(first, 0, super::order::seq_expression(), now);
                insert.returning_col(sync_entity::Column::Seq);
                let row = txn
                    .query_one(&insert)
                    .await?
                    .ok_or_else(|| AppError::internal("the change index returned no seq"))?;
                row.try_get::<Option<i64>>("", "seq")?
                    .ok_or_else(super::order::not_set_up)?
            }
            first => {
                let seq = super::order::next_seq(txn).await?;
                if let Some((_, chunk)) = first {
                    txn.execute(&index_rows(chunk, 0, Expr::val(seq), now))
                        .await?;
                }
                seq
            }
        };
        for (number, chunk) in chunks {
            txn.execute(&index_rows(chunk, number * CHUNK, Expr::val(seq), now))
                .await?;
        }
        let fields: Vec<sync_field_version::ActiveModel> = self
            .fields
            .iter()
            .map(|(kind, id, field)| sync_field_version::ActiveModel {
                entity: Set(kind.name().to_string()),
                entity_id: Set(*id),
                field: Set((*field).to_string()),
                seq: Set(seq),
                client_group_id: Set(self.client_group),
            })
            .collect();
        for chunk in fields.chunks(CHUNK) {
            sync_field_version::Entity::insert_many(chunk.to_vec())
                .on_conflict(
                    OnConflict::columns([
                        sync_field_version::Column::Entity,
                        sync_field_version::Column::EntityId,
                        sync_field_version::Column::Field,
                    ])
                    .update_columns([
                        sync_field_version::Column::Seq,
                        sync_field_version::Column::ClientGroupId,
                    ])
                    .to_owned(),
                )
                .exec_without_returning(txn)
                .await?;
        }
        Ok(seq)
    }

    /// Flushes, commits `txn`, and pokes the scopes it touched. Returns the seq taken.
    pub async fn commit(
        mut self,
        txn: crate::db::WriteTransaction,
        to: &impl Publish,
    ) -> AppResult<Option<i64>> {
        let seq = self.flush(&txn).await?;
        txn.commit().await?;
        self.poke(to).await;
        Ok(seq)
    }

    /// Tells `syncPoke` subscribers of the touched scopes to pull, and publishes the announced
    /// events, all in one `NOTIFY` (after commit).
    pub async fn poke(&self, to: &impl Publish) {
        to.events().publish(to.database(), self.events()).await;
    }

    /// What [`poke`](Self::poke) publishes: a poke of every touched scope, then the announced
    /// events.
    pub fn events(&self) -> impl Iterator<Item = Event> + '_ {
        let pokes = self.scopes().into_iter().map(Event::Sync);
        pokes.chain(self.announced.iter().copied())
    }
}

/// The insert of `changes` into the change index at `seq` (an expression: on Postgres the first
/// chunk computes it), each row's `op_index` counted from `first_index`; a row already indexed
/// moves to the new seq with its version bumped.
fn index_rows(
    changes: &[Change],
    first_index: usize,
    seq: Expr,
    now: chrono::DateTime<Utc>,
) -> InsertStatement {
    let mut insert = Query::insert();
    insert.into_table(sync_entity::Entity).columns([
        sync_entity::Column::Scope,
        sync_entity::Column::Entity,
        sync_entity::Column::EntityId,
        sync_entity::Column::Seq,
        sync_entity::Column::OpIndex,
        sync_entity::Column::Op,
        sync_entity::Column::Version,
        sync_entity::Column::ChangedAt,
    ]);
    for (offset, change) in changes.iter().enumerate() {
        insert.values_panic([
            Expr::val(change.scope.to_string()),
            Expr::val(change.kind.name()),
            Expr::val(change.id),
            seq.clone(),
            Expr::val((first_index + offset) as i32),
            Expr::val(change.op.name()),
            Expr::val(1),
            Expr::val(now),
        ]);
    }
    insert.on_conflict(
        OnConflict::columns([
            sync_entity::Column::Scope,
            sync_entity::Column::Entity,
            sync_entity::Column::EntityId,
        ])
        .update_columns([
            sync_entity::Column::Seq,
            sync_entity::Column::OpIndex,
            sync_entity::Column::Op,
            sync_entity::Column::ChangedAt,
        ])
        .value(
            sync_entity::Column::Version,
            Expr::col((sync_entity::Entity, sync_entity::Column::Version)).add(1),
        )
        .to_owned(),
    );
    insert
}
