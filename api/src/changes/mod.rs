//! The change index: what changed, in which scope, in an order no reader can see out of turn.
//! Every service write records its changed rows in a [`SyncWriter`] during its transaction; the
//! writer takes the transaction's `seq` last, moves each row's `sync_entity` entry to it,
//! commits, and publishes the write's events. This module knows the entities, the database and the events hub only:
//! `sync/` (push, pull, cursors, who holds which scope) sits above the services, which sit above
//! this.
//!
//! - [`writer`]: `SyncWriter`, [`EntityKind`], [`Op`]; [`scope`]: [`Scope`].
//! - [`order`]: where a seq comes from (the counter row on SQLite, the transaction id on
//!   Postgres) and how far a pull's snapshot may be served.
//! - [`ensure_counter`], [`index_existing_data`], [`reindex`]: the counter row and the index of
//!   data written outside the services; [`purge_tombstones`]: the horizon.

pub mod order;
pub mod scope;
pub mod writer;

use chrono::{DateTime, Utc};
use entity::{
    comment, community, growth_event, membership, pricing_ballot, pricing_poll, release,
    suggestion, sync_counter, sync_entity, vote,
};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, Set};
use uuid::Uuid;

pub use scope::Scope;
pub use writer::{EntityKind, Op, Publish, SyncWriter};

use crate::error::{AppError, AppResult};

/// Purges the tombstones changed before `cutoff` and raises the horizon to the newest purged
/// seq (a cursor from before it must reset). Returns the rows purged.
pub async fn purge_tombstones(db: &DatabaseConnection, cutoff: DateTime<Utc>) -> AppResult<u64> {
    let txn = crate::db::begin_write(db).await?;
    // The counter first, as every SQLite writer takes it last: no writer can then be waiting
    // on it while holding a tombstone this purge deletes (Postgres writers only read it).
    let counter = sync_counter::Entity::find_by_id(1)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::internal("sync_counter row missing"))?;
    let newest: Option<i64> = sync_entity::Entity::find()
        .select_only()
        .column_as(sync_entity::Column::Seq.max(), "newest")
        .filter(sync_entity::Column::Op.eq(Op::Delete.name()))
        .filter(sync_entity::Column::ChangedAt.lt(cutoff))
        .into_tuple::<Option<i64>>()
        .one(&txn)
        .await?
        .flatten();
    let Some(newest) = newest else {
        txn.commit().await?;
        return Ok(0);
    };
    let purged = sync_entity::Entity::delete_many()
        .filter(sync_entity::Column::Op.eq(Op::Delete.name()))
        .filter(sync_entity::Column::Seq.lte(newest))
        .exec(&txn)
        .await?
        .rows_affected;
    if newest > counter.horizon_seq {
        let mut active: sync_counter::ActiveModel = counter.into();
        active.horizon_seq = Set(newest);
        sea_orm::ActiveModelTrait::update(active, &txn).await?;
    }
    txn.commit().await?;
    Ok(purged)
}

/// Makes the counter row of a new database: seq 0, a fresh epoch (so cursors of any other
/// database are recognised) and a random cursor-signing key. A database that has it keeps it.
/// On Postgres it then sets up the transaction-id order ([`order::prepare`]). Returns the
/// database's cursor key, which signs every signed cursor (see `pagination.rs`).
pub async fn ensure_counter(db: &DatabaseConnection) -> AppResult<String> {
    sync_counter::Entity::insert(sync_counter::ActiveModel {
        id: Set(1),
        seq: Set(0),
        epoch: Set(Uuid::new_v4().to_string()),
        cursor_key: Set(crate::auth::secrets::generate()),
        horizon_seq: Set(0),
        xid_offset: Set(None),
        xid_origin: Set(None),
    })
    .on_conflict(
        OnConflict::column(sync_counter::Column::Id)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    order::prepare(db).await?;
    sync_counter::Entity::find_by_id(1)
        .one(db)
        .await?
        .map(|counter| counter.cursor_key)
        .ok_or_else(|| AppError::internal("the sync counter row is missing"))
}

/// Indexes a database that holds data written before sync existed (the change index is
/// empty, yet there are communities): run at startup, so an upgraded deployment's devices
/// receive everything. A database already in sync, or an empty one, is left alone.
pub async fn index_existing_data(db: &DatabaseConnection) -> AppResult<u64> {
    if sync_entity::Entity::find().one(db).await?.is_some()
        || community::Entity::find().one(db).await?.is_none()
    {
        return Ok(0);
    }
    let written = reindex(db).await?;
    tracing::info!(written, "indexed data written before sync for pull");
    Ok(written)
}

/// Rows per transaction of a reindex.
const REINDEX_CHUNK: usize = 5000;

/// Puts every live row into the change index (for data written in bulk outside the services,
/// such as the demo seed). Rows already indexed move to a new seq, which devices simply pull
/// again. Devices are not poked (it runs at start-up or seeding, before they connect).
/// Returns the index entries written.
pub async fn reindex(db: &DatabaseConnection) -> AppResult<u64> {
    let mut all = SyncWriter::new();
    for row in community::Entity::find().all(db).await? {
        all.community(&row);
    }
    for row in membership::Entity::find().all(db).await? {
        all.membership(&row, false);
    }
    let mut community_of = std::collections::HashMap::new();
    for row in suggestion::Entity::find()
        .filter(suggestion::Column::DeletedAt.is_null())
        .all(db)
        .await?
    {
        community_of.insert(row.id, row.community_id);
        all.suggestion(&row);
    }
    for row in comment::Entity::find()
        .filter(comment::Column::DeletedAt.is_null())
        .all(db)
        .await?
    {
        if let Some(community_id) = community_of.get(&row.suggestion_id) {
            all.comment(&row, *community_id);
        }
    }
    for row in vote::Entity::find().all(db).await? {
        if community_of.contains_key(&row.suggestion_id) {
            all.vote(&row);
        }
    }
    for row in pricing_poll::Entity::find().all(db).await? {
        all.poll(&row);
    }
    for row in pricing_ballot::Entity::find().all(db).await? {
        all.ballot(&row);
    }
    for row in growth_event::Entity::find().all(db).await? {
        all.growth_event(&row);
    }
    for row in release::Entity::find()
        .filter(release::Column::PublishedAt.is_not_null())
        .all(db)
        .await?
    {
        all.release(&row);
    }
    let mut written = 0;
    for chunk in all.split(REINDEX_CHUNK) {
        written += chunk.len() as u64;
        let txn = crate::db::begin_write(db).await?;
        let mut chunk = chunk;
        chunk.flush(&txn).await?;
        txn.commit().await?;
    }
    Ok(written)
}
