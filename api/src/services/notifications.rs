//! Notifications — the "thanks" step of the loop: written in the same transaction as what
//! caused them, listed newest first, marked read by their owner.
//!
//! A notification to every voter of a suggestion (it shipped) may reach tens of thousands of
//! users, so it is not written in the transaction that caused it: that transaction records a
//! fan-out job ([`fan_out_to_voters`]), and a background task (`tasks.rs`) writes the
//! notifications in chunks of [`FAN_OUT_CHUNK`], each chunk in a transaction of its own with
//! the job's progress, so every voter is told exactly once even across restarts and replicas.

use chrono::Utc;
use entity::notification::{self, Kind};
use entity::{notification_fanout, vote};
use sea_orm::sea_query::{LockBehavior, LockType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::pagination::{Page, PageRequest, TimeOrder, after_time_key, time_key};
use crate::state::AppState;

/// Voters told per transaction of a fan-out (also bounds the statement's parameters).
pub const FAN_OUT_CHUNK: usize = 1000;

/// Writes one notification of `kind` about `suggestion_id` to each of `users` (a few: the
/// author, say; every voter goes through [`fan_out_to_voters`]).
pub async fn notify(
    db: &impl ConnectionTrait,
    users: &[Uuid],
    kind: Kind,
    suggestion_id: Uuid,
) -> AppResult<()> {
    let now = Utc::now();
    for chunk in users.chunks(FAN_OUT_CHUNK) {
        let rows = chunk.iter().map(|user_id| notification::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(*user_id),
            kind: Set(kind),
            suggestion_id: Set(suggestion_id),
            created_at: Set(now),
            read_at: Set(None),
        });
        notification::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Records, in the caller's transaction, that every voter of `suggestion_id` but `skip` is to
/// get a notification of `kind`; the fan-out task writes them after the commit. Wake it with
/// [`wake_fan_out`].
pub async fn fan_out_to_voters(
    db: &impl ConnectionTrait,
    suggestion_id: Uuid,
    kind: Kind,
    skip: Uuid,
) -> AppResult<()> {
    notification_fanout::ActiveModel {
        id: Set(Uuid::now_v7()),
        suggestion_id: Set(suggestion_id),
        kind: Set(kind),
        after_user_id: Set(None),
        skip_user_id: Set(Some(skip)),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Tells this server's fan-out task there is work (after the commit that recorded it).
pub fn wake_fan_out(state: &AppState) {
    state.fan_out.notify_one();
}

/// Writes the next chunk of the oldest fan-out job, in one transaction with its progress;
/// returns whether there may be more to do. Replicas skip a job another one holds.
pub async fn fan_out_chunk(state: &AppState) -> AppResult<bool> {
    let txn = crate::db::begin_write(&state.db).await?;
    let Some(job) = notification_fanout::Entity::find()
        .order_by_asc(notification_fanout::Column::CreatedAt)
        .order_by_asc(notification_fanout::Column::Id)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .one(&txn)
        .await?
    else {
        txn.commit().await?;
        return Ok(false);
    };
    let mut voters = vote::Entity::find()
        .select_only()
        .column(vote::Column::UserId)
        .filter(vote::Column::SuggestionId.eq(job.suggestion_id))
        .filter(vote::Column::Value.ne(vote::Value::None))
        .order_by_asc(vote::Column::UserId)
        .limit(FAN_OUT_CHUNK as u64);
    if let Some(after) = job.after_user_id {
        voters = voters.filter(vote::Column::UserId.gt(after));
    }
    let voters: Vec<Uuid> = voters.into_tuple().all(&txn).await?;
    let told: Vec<Uuid> = voters
        .iter()
        .copied()
        .filter(|user| Some(*user) != job.skip_user_id)
        .collect();
    notify(&txn, &told, job.kind, job.suggestion_id).await?;
    match voters.last() {
        Some(last) if voters.len() == FAN_OUT_CHUNK => {
            let mut active: notification_fanout::ActiveModel = job.into();
            active.after_user_id = Set(Some(*last));
            active.update(&txn).await?;
        }
        _ => {
            notification_fanout::Entity::delete_by_id(job.id)
                .exec(&txn)
                .await?;
        }
    }
    txn.commit().await?;
    Ok(true)
}

/// The caller's notifications, newest first.
pub async fn list(
    state: &AppState,
    viewer: &Viewer,
    unread_only: bool,
    page: PageRequest,
) -> AppResult<Page<notification::Model>> {
    let user = viewer.require_user()?;
    let mut query = notification::Entity::find()
        .filter(notification::Column::UserId.eq(user.id))
        .order_by_desc(notification::Column::CreatedAt)
        .order_by_desc(notification::Column::Id);
    if unread_only {
        query = query.filter(notification::Column::ReadAt.is_null());
    }
    if let Some(after) = &page.after {
        query = query.filter(after_time_key(
            after,
            notification::Column::CreatedAt,
            notification::Column::Id,
            TimeOrder::NewestFirst,
        )?);
    }
    let rows = query.limit(page.limit + 1).all(&state.db).await?;
    Ok(Page::from_rows(rows, &page, |n| {
        time_key(n.created_at, n.id)
    }))
}

/// Marks the caller's notifications read, all or nothing: an id that is not theirs is
/// NOT_FOUND and nothing changes.
pub async fn mark_read(
    state: &AppState,
    viewer: &Viewer,
    ids: Vec<Uuid>,
) -> AppResult<Vec<notification::Model>> {
    let user = viewer.require_user()?;
    if ids.len() > 100 {
        return Err(AppError::bad_input("ids", "at most 100 ids at once"));
    }
    let txn = crate::db::begin_write(&state.db).await?;
    let found = notification::Entity::find()
        .filter(notification::Column::Id.is_in(ids.iter().copied()))
        .filter(notification::Column::UserId.eq(user.id))
        .all(&txn)
        .await?;
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    if found.len() != unique.len() {
        return Err(AppError::not_found("notification"));
    }
    notification::Entity::update_many()
        .col_expr(
            notification::Column::ReadAt,
            sea_orm::sea_query::Expr::value(Some(Utc::now())),
        )
        .filter(notification::Column::Id.is_in(unique.iter().copied()))
        .filter(notification::Column::ReadAt.is_null())
        .exec(&txn)
        .await?;
    let updated = notification::Entity::find()
        .filter(notification::Column::Id.is_in(unique.iter().copied()))
        .order_by_desc(notification::Column::CreatedAt)
        .all(&txn)
        .await?;
    txn.commit().await?;
    Ok(updated)
}
