//! Votes: one per (user, suggestion) — UP, DOWN or NONE — with set semantics. The vote row and
//! the suggestion's counters change in one transaction under the suggestion's row lock, so the
//! counters always equal the rows, whatever the concurrency.

use chrono::{DateTime, Utc};
use entity::suggestion::{self, Status};
use entity::vote::{self, Value};
use sea_orm::ActiveEnum;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::suggestions;
use crate::auth::Viewer;
use crate::changes::SyncWriter;
use crate::error::{AppError, AppResult};
use crate::events::Event;
use crate::state::AppState;

/// Sets the caller's vote on a suggestion (ACTIVE members). The same vote again changes
/// nothing; NONE retracts. Closed suggestions (DUPLICATE, DECLINED, SHIPPED) take no votes.
pub async fn cast(
    state: &AppState,
    viewer: &Viewer,
    suggestion_id: Uuid,
    value: Value,
) -> AppResult<suggestion::Model> {
    let txn = crate::db::begin_write(&state.db).await?;
    let mut sync = SyncWriter::new();
    let (updated, _) = cast_in(&txn, viewer, suggestion_id, value, &mut sync).await?;
    sync.commit(txn, state).await?;
    Ok(updated)
}

/// [`cast`] inside the caller's transaction; also says whether anything changed. A change is
/// announced to `suggestionUpdated` subscribers once `sync`'s transaction commits (a pushed
/// SET_VOTE too).
pub async fn cast_in(
    txn: &DatabaseTransaction,
    viewer: &Viewer,
    suggestion_id: Uuid,
    value: Value,
    sync: &mut SyncWriter,
) -> AppResult<(suggestion::Model, bool)> {
    viewer.require_user()?;
    let (locked, voter) = suggestions::lock_for_member(txn, viewer, suggestion_id).await?;
    if matches!(
        locked.status,
        Status::Duplicate | Status::Declined | Status::Shipped
    ) {
        return Err(AppError::bad_input(
            "suggestionId",
            format!("a {} suggestion takes no votes", locked.status.to_value()),
        ));
    }
    let previous = find(txn, suggestion_id, voter.id)
        .await?
        .map_or(Value::None, |v| v.value);
    if previous == value {
        return Ok((locked, false));
    }
    let row = put(txn, suggestion_id, voter.id, value, Utc::now()).await?;
    let up = weight(value, Value::Up) - weight(previous, Value::Up);
    let down = weight(value, Value::Down) - weight(previous, Value::Down);
    let updated = suggestions::apply_tally(txn, locked, up, down, 0).await?;
    sync.vote(&row);
    sync.suggestion(&updated);
    sync.announce(Event::Suggestion(updated.id));
    Ok((updated, true))
}

/// The vote of `user_id` on `suggestion_id`, if any row exists.
pub async fn find(
    db: &impl ConnectionTrait,
    suggestion_id: Uuid,
    user_id: Uuid,
) -> AppResult<Option<vote::Model>> {
    Ok(vote::Entity::find()
        .filter(vote::Column::SuggestionId.eq(suggestion_id))
        .filter(vote::Column::UserId.eq(user_id))
        .one(db)
        .await?)
}

/// One user's votes on many suggestions, for loaders.
pub async fn find_for_user(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    suggestion_ids: &[Uuid],
) -> AppResult<Vec<vote::Model>> {
    Ok(vote::Entity::find()
        .filter(vote::Column::UserId.eq(user_id))
        .filter(vote::Column::SuggestionId.is_in(suggestion_ids.iter().copied()))
        .all(db)
        .await?)
}

/// Writes the vote row (insert or overwrite) and returns it as written. The caller holds the
/// suggestion's row lock and adjusts the counters.
pub(super) async fn put(
    db: &impl ConnectionTrait,
    suggestion_id: Uuid,
    user_id: Uuid,
    value: Value,
    now: DateTime<Utc>,
) -> AppResult<vote::Model> {
    Ok(vote::Entity::insert(vote::ActiveModel {
        id: Set(Uuid::now_v7()),
        suggestion_id: Set(suggestion_id),
        user_id: Set(user_id),
        value: Set(value),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([vote::Column::SuggestionId, vote::Column::UserId])
            .update_columns([vote::Column::Value, vote::Column::UpdatedAt])
            .to_owned(),
    )
    .exec_with_returning(db)
    .await?)
}

fn weight(value: Value, counted: Value) -> i32 {
    i32::from(value == counted)
}
