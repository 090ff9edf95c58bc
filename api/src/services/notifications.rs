//! Notifications — the "thanks" step of the loop: written in the same transaction as what
//! caused them, listed newest first, marked read by their owner.

use chrono::Utc;
use entity::notification::{self, Kind};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::pagination::{Page, PageRequest, TimeOrder, after_time_key, time_key};
use crate::state::AppState;

/// Writes one notification of `kind` about `suggestion_id` to each of `users`.
pub async fn notify(
    db: &impl ConnectionTrait,
    users: &[Uuid],
    kind: Kind,
    suggestion_id: Uuid,
) -> AppResult<()> {
    if users.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    let rows = users.iter().map(|user_id| notification::ActiveModel {
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
    Ok(())
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
