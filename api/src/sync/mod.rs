//! Offline-first sync, as `docs/sync.md` describes: devices `push` queued named mutations
//! (applied at most once, through the same services as the GraphQL mutations) and `pull` what
//! changed in the scopes they may see, in commit order.
//!
//! It sits above the services (a pushed mutation runs the same service as its GraphQL
//! mutation); the change index every service writes to is below them, in `changes/`.
//!
//! - [`scopes`]: who holds which scope, and the scope sets cursors name.
//! - [`push`] and [`pull`]: the two entry points; [`mutations`]: what each pushed name runs;
//!   [`cursor`]: signed pull cursors.
//! - [`compact`]: purges old tombstones and forgotten scope sets.

pub mod cursor;
pub mod mutations;
pub mod pull;
pub mod push;
pub mod scopes;

use chrono::Utc;
use entity::sync_client_group;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, EntityTrait, PrimaryKeyTrait, Set};
use uuid::Uuid;

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
    let group = find_or_insert::<sync_client_group::Entity>(
        state,
        group_id,
        sync_client_group::ActiveModel {
            id: Set(group_id),
            user_id: Set(user_id),
            created_at: Set(Utc::now()),
        },
        sync_client_group::Column::Id,
    )
    .await?;
    if group.user_id != user_id {
        return Err(AppError::Forbidden(
            "this client group belongs to another user".into(),
        ));
    }
    Ok(())
}

/// The row of `E` with primary key `id`, inserting `row` (through the write turn) when there is
/// none. A known row costs one read; copies of a device's first request sent at once may all
/// find none, and then one insert wins and the others' (`ON CONFLICT (key) DO NOTHING`) do
/// nothing.
pub(super) async fn find_or_insert<E>(
    state: &AppState,
    id: Uuid,
    row: E::ActiveModel,
    key: E::Column,
) -> AppResult<E::Model>
where
    E: EntityTrait,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<Uuid>,
{
    if let Some(found) = E::find_by_id(id).one(&state.db).await? {
        return Ok(found);
    }
    let txn = crate::db::begin_write(&state.db).await?;
    E::insert(row)
        .on_conflict(OnConflict::column(key).do_nothing().to_owned())
        .exec_without_returning(&txn)
        .await?;
    txn.commit().await?;
    E::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::internal(format!("{} row vanished", E::default().table_name())))
}

/// Purges tombstones older than `SYNC_TOMBSTONE_HORIZON_SECS` and raises the horizon to the
/// newest purged seq, so a cursor from before it is told to reset; forgets the scope sets no
/// cursor has named for as long (a cursor naming one is reset too). Returns the rows purged.
pub async fn compact(state: &AppState) -> AppResult<u64> {
    let horizon = chrono::Duration::from_std(state.config.sync_tombstone_horizon)
        .map_err(AppError::internal)?;
    let cutoff = Utc::now() - horizon;
    scopes::ScopeSet::forget_unused(&state.db, cutoff).await?;
    crate::changes::purge_tombstones(&state.db, cutoff).await
}
