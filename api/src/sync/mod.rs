//! Offline-first sync, as `docs/sync.md` describes: devices `push` queued named mutations
//! (applied at most once, through the same services as the GraphQL mutations) and `pull` what
//! changed in the scopes they may see, in commit order.
//!
//! - [`writer`]: `SyncWriter`, the one path from every service write to the change index;
//!   takes the commit-ordered `seq` last.
//! - [`scopes`]: who sees what.
//! - [`push`] and [`pull`]: the two entry points; [`mutations`]: what each pushed name runs;
//!   [`cursor`]: signed pull cursors.
//! - [`compact`]: purges old tombstones and moves the horizon.

pub mod cursor;
pub mod mutations;
pub mod pull;
pub mod push;
pub mod scopes;
pub mod writer;

use chrono::Utc;
use entity::{
    comment, community, growth_event, membership, pricing_ballot, pricing_poll, release,
    suggestion, sync_client_group, sync_counter, sync_entity, vote,
};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, Set};
use uuid::Uuid;

pub use scopes::Scope;
pub use writer::{EntityKind, Op, SyncWriter};

use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The protocol spoken here.
pub const PROTOCOL_VERSION: i32 = 1;
/// The newest client schema.
pub const SCHEMA_VERSION: i32 = 2;
/// The oldest schema whose outbox is still accepted (mutation arguments never change).
pub const MIN_PUSH_SCHEMA_VERSION: i32 = 1;
/// The oldest schema that may still pull; older ones get CLIENT_UPGRADE_REQUIRED.
pub const MIN_PULL_SCHEMA_VERSION: i32 = 2;

/// Checks the versions every sync request carries.
pub fn check_versions(protocol_version: i32, schema_version: i32) -> AppResult<()> {
    if protocol_version != PROTOCOL_VERSION {
        return Err(AppError::bad_input(
            "protocolVersion",
            format!("this server speaks sync protocol {PROTOCOL_VERSION}"),
        ));
    }
    if !(MIN_PUSH_SCHEMA_VERSION..=SCHEMA_VERSION).contains(&schema_version) {
        return Err(AppError::bad_input(
            "schemaVersion",
            format!("schemaVersion must be {MIN_PUSH_SCHEMA_VERSION}–{SCHEMA_VERSION}"),
        ));
    }
    Ok(())
}

/// Binds an unknown client group to `user_id`; a group of another user is FORBIDDEN.
pub async fn ensure_group(state: &AppState, user_id: Uuid, group_id: Uuid) -> AppResult<()> {
    sync_client_group::Entity::insert(sync_client_group::ActiveModel {
        id: Set(group_id),
        user_id: Set(user_id),
        created_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(sync_client_group::Column::Id)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&state.db)
    .await?;
    let group = sync_client_group::Entity::find_by_id(group_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::internal("client group vanished"))?;
    if group.user_id != user_id {
        return Err(AppError::Forbidden(
            "this client group belongs to another user".into(),
        ));
    }
    Ok(())
}

/// Purges tombstones older than `SYNC_TOMBSTONE_HORIZON_SECS` and raises the horizon to the
/// newest purged seq, so a cursor from before it is told to reset; forgets the scope sets no
/// cursor has named for as long (a cursor naming one is reset too). Returns the rows purged.
pub async fn compact(state: &AppState) -> AppResult<u64> {
    let horizon = chrono::Duration::from_std(state.config.sync_tombstone_horizon)
        .map_err(AppError::internal)?;
    let cutoff = Utc::now() - horizon;
    scopes::ScopeSet::forget_unused(&state.db, cutoff).await?;
    let txn = crate::db::begin_write(&state.db).await?;
    // The counter first, as every writer takes it last: no writer can then be waiting on it
    // while holding a tombstone this purge deletes.
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
/// Returns the database's cursor key, which signs every signed cursor (see `pagination.rs`).
pub async fn ensure_counter(db: &DatabaseConnection) -> AppResult<String> {
    sync_counter::Entity::insert(sync_counter::ActiveModel {
        id: Set(1),
        seq: Set(0),
        epoch: Set(Uuid::new_v4().to_string()),
        cursor_key: Set(crate::auth::secrets::generate()),
        horizon_seq: Set(0),
    })
    .on_conflict(
        OnConflict::column(sync_counter::Column::Id)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    sync_counter::Entity::find_by_id(1)
        .one(db)
        .await?
        .map(|counter| counter.cursor_key)
        .ok_or_else(|| AppError::internal("the sync counter row is missing"))
}

/// Indexes a database that holds data written before sync existed (the sequence has never
/// moved, yet there are communities): run at startup, so an upgraded deployment's devices
/// receive everything. A database already in sync, or an empty one, is left alone.
pub async fn index_existing_data(db: &DatabaseConnection) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    let counter = sync_counter::Entity::find_by_id(1)
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal("sync_counter row missing"))?;
    if counter.seq > 0 || community::Entity::find().count(db).await? == 0 {
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
