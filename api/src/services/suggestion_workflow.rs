//! The closed loop of a suggestion: status moves along the workflow with their timeline,
//! official responses, duplicates (votes move to the original once per voter), and the
//! notifications each step sends.

use chrono::Utc;
use entity::comment;
use entity::growth_event::Kind as GrowthKind;
use entity::notification::Kind as NotificationKind;
use entity::suggestion::{self, Status};
use entity::suggestion_event;
use entity::vote;
use sea_orm::ActiveEnum;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use uuid::Uuid;

use super::suggestions::{apply_tally, lock_visible};
use super::{growth, input, metrics, notifications};
use crate::auth::Viewer;
use crate::changes::SyncWriter;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Moves a suggestion to `status` (STAFF/ADMIN), as the workflow allows.
pub async fn set_status(
    state: &AppState,
    viewer: &Viewer,
    suggestion_id: Uuid,
    status: Status,
    note: Option<String>,
) -> AppResult<suggestion::Model> {
    let staff = viewer.require_role(entity::user::Role::Staff)?.clone();
    let note = note
        .map(|n| input::text("note", &n, 0, 2000))
        .transpose()?
        .filter(|n| !n.is_empty());
    let txn = crate::db::begin_write(&state.db).await?;
    let found = lock_visible(&txn, viewer, suggestion_id).await?;
    let mut sync = SyncWriter::new();
    let updated = change_status(&txn, found, status, staff.id, note, &mut sync).await?;
    sync.suggestion(&updated);
    sync.commit(txn, state).await?;
    notifications::wake_fan_out(state);
    state.events.suggestion_updated(&state.db, updated.id).await;
    Ok(updated)
}

/// Posts the official response (STAFF/ADMIN): an official comment, `officialResponse`, the
/// first-response time once, and optionally a status change.
pub async fn respond(
    state: &AppState,
    viewer: &Viewer,
    suggestion_id: Uuid,
    body: &str,
    status: Option<Status>,
) -> AppResult<suggestion::Model> {
    let staff = viewer.require_role(entity::user::Role::Staff)?.clone();
    let body = input::text("body", body, 1, 10_000)?;
    let txn = crate::db::begin_write(&state.db).await?;
    let found = lock_visible(&txn, viewer, suggestion_id).await?;
    let now = crate::clock::now();
    let response = comment::ActiveModel {
        id: Set(Uuid::now_v7()),
        suggestion_id: Set(found.id),
        author_id: Set(staff.id),
        body: Set(body),
        official: Set(true),
        created_at: Set(now),
        edited_at: Set(None),
        deleted_at: Set(None),
        hidden_at: Set(None),
    }
    .insert(&txn)
    .await?;
    let found = apply_tally(&txn, found, 0, 0, 1).await?;
    let author_id = found.author_id;
    let mut sync = SyncWriter::new();
    growth::award(
        &txn,
        author_id,
        found.community_id,
        GrowthKind::OfficialResponse,
        found.id,
        &mut sync,
    )
    .await?;
    let before = found.clone();
    let mut active: suggestion::ActiveModel = found.into();
    active.official_response_id = Set(Some(response.id));
    if before.first_response_at.is_none() {
        active.first_response_at = Set(Some(now));
        active.first_response_ms = Set(Some(metrics::millis(before.created_at, now)));
    }
    active.updated_at = Set(now);
    let mut updated = active.update(&txn).await?;
    metrics::count_change(&txn, Some(&before), &updated).await?;
    notifications::notify(
        &txn,
        &[author_id],
        NotificationKind::OfficialResponse,
        updated.id,
    )
    .await?;
    if let Some(status) = status.filter(|s| *s != updated.status) {
        updated = change_status(&txn, updated, status, staff.id, None, &mut sync).await?;
    }
    sync.suggestion(&updated);
    sync.comment(&response, updated.community_id);
    sync.commit(txn, state).await?;
    notifications::wake_fan_out(state);
    state.events.suggestion_updated(&state.db, updated.id).await;
    Ok(updated)
}

/// Marks a suggestion as a duplicate of another in the same community (STAFF/ADMIN) and moves
/// its votes to the original, once per voter.
pub async fn mark_duplicate(
    state: &AppState,
    viewer: &Viewer,
    suggestion_id: Uuid,
    duplicate_of_id: Uuid,
) -> AppResult<suggestion::Model> {
    let staff = viewer.require_role(entity::user::Role::Staff)?.clone();
    if suggestion_id == duplicate_of_id {
        return Err(AppError::bad_input(
            "duplicateOfId",
            "a suggestion cannot duplicate itself",
        ));
    }
    let txn = crate::db::begin_write(&state.db).await?;
    // Lock both rows in id order, as every writer does, so two merges cannot deadlock.
    let (first, second) = if suggestion_id < duplicate_of_id {
        (suggestion_id, duplicate_of_id)
    } else {
        (duplicate_of_id, suggestion_id)
    };
    let a = lock_visible(&txn, viewer, first).await;
    let b = lock_visible(&txn, viewer, second).await;
    let (duplicate, original) = if first == suggestion_id {
        (a?, b.map_err(|_| missing_original())?)
    } else {
        (b?, a.map_err(|_| missing_original())?)
    };
    if duplicate.status == Status::Duplicate {
        return Err(AppError::bad_input(
            "suggestionId",
            "this suggestion is already marked duplicate",
        ));
    }
    if original.status == Status::Duplicate {
        return Err(AppError::bad_input(
            "duplicateOfId",
            "the original is itself a duplicate; point at its original",
        ));
    }
    if original.community_id != duplicate.community_id {
        return Err(AppError::bad_input(
            "duplicateOfId",
            "the original must be in the same community",
        ));
    }
    let duplicate = move_votes(&txn, original, duplicate).await?;
    let author_id = duplicate.author_id;
    let from = duplicate.status;
    let before = duplicate.clone();
    let mut active: suggestion::ActiveModel = duplicate.into();
    active.status = Set(Status::Duplicate);
    active.duplicate_of_id = Set(Some(duplicate_of_id));
    active.updated_at = Set(Utc::now());
    let updated = active.update(&txn).await?;
    metrics::count_change(&txn, Some(&before), &updated).await?;
    record_event(
        &txn,
        updated.id,
        Some(staff.id),
        Some(from),
        Status::Duplicate,
        None,
    )
    .await?;
    notifications::notify(
        &txn,
        &[author_id],
        NotificationKind::MarkedDuplicate,
        updated.id,
    )
    .await?;
    let mut sync = SyncWriter::new();
    sync.suggestion(&updated);
    if let Some(original) = suggestion::Entity::find_by_id(duplicate_of_id)
        .one(&txn)
        .await?
    {
        sync.suggestion(&original);
    }
    for row in vote::Entity::find()
        .filter(vote::Column::SuggestionId.is_in([updated.id, duplicate_of_id]))
        .all(&txn)
        .await?
    {
        sync.vote(&row);
    }
    sync.commit(txn, state).await?;
    state.events.suggestion_updated(&state.db, updated.id).await;
    state
        .events
        .suggestion_updated(&state.db, duplicate_of_id)
        .await;
    Ok(updated)
}

/// Moves a locked suggestion to `status` as the workflow allows, with its timeline event,
/// notifications and, on SHIPPED, the author's growth points (also used by adoption, which
/// plans an idea). The caller records the suggestion in `sync` and wakes the fan-out after
/// committing (`notifications::wake_fan_out`).
pub async fn change_status(
    txn: &DatabaseTransaction,
    found: suggestion::Model,
    status: Status,
    actor: Uuid,
    note: Option<String>,
    sync: &mut SyncWriter,
) -> AppResult<suggestion::Model> {
    if status == Status::Duplicate {
        return Err(AppError::bad_input(
            "status",
            "use markDuplicate to mark a duplicate",
        ));
    }
    let from = found.status;
    if !allowed_moves(from).contains(&status) {
        return Err(AppError::bad_input(
            "status",
            format!(
                "a suggestion cannot move from {} to {}",
                from.to_value(),
                status.to_value()
            ),
        ));
    }
    let author_id = found.author_id;
    let community_id = found.community_id;
    let id = found.id;
    let now = crate::clock::now();
    let before = found.clone();
    let resolved_at = matches!(status, Status::Shipped | Status::Declined).then_some(now);
    let mut active: suggestion::ActiveModel = found.into();
    active.status = Set(status);
    active.resolved_at = Set(resolved_at);
    active.resolution_ms = Set(resolved_at.map(|at| metrics::millis(before.created_at, at)));
    active.updated_at = Set(now);
    let updated = active.update(txn).await?;
    metrics::count_change(txn, Some(&before), &updated).await?;
    record_event(txn, id, Some(actor), Some(from), status, note).await?;
    notifications::notify(txn, &[author_id], NotificationKind::StatusChanged, id).await?;
    if status == Status::Shipped {
        // Every voter is told, after the commit and in chunks: see `notifications`.
        notifications::fan_out_to_voters(txn, id, NotificationKind::Shipped, author_id).await?;
        growth::award(
            txn,
            author_id,
            community_id,
            GrowthKind::SuggestionShipped,
            id,
            sync,
        )
        .await?;
    }
    Ok(updated)
}

/// The statuses a suggestion in `from` may move to with `setSuggestionStatus`.
pub fn allowed_moves(from: Status) -> Vec<Status> {
    use Status::*;
    let chain = [Open, UnderReview, Planned, InProgress, Shipped];
    match from {
        Duplicate => vec![],
        Declined | Shipped => vec![UnderReview],
        _ => {
            let position = chain.iter().position(|s| *s == from).unwrap_or(0);
            let mut moves: Vec<Status> = chain[position + 1..].to_vec();
            moves.push(Declined);
            moves
        }
    }
}

/// Moves every vote of `duplicate` to `original`: a voter who already voted on the original
/// keeps that vote; the others' votes are carried over. Both rows must be locked; returns the
/// duplicate with its counters emptied.
async fn move_votes(
    txn: &DatabaseTransaction,
    original: suggestion::Model,
    duplicate: suggestion::Model,
) -> AppResult<suggestion::Model> {
    let moving = vote::Entity::find()
        .filter(vote::Column::SuggestionId.eq(duplicate.id))
        .filter(vote::Column::Value.ne(vote::Value::None))
        .all(txn)
        .await?;
    let voted_on_original: Vec<Uuid> = vote::Entity::find()
        .filter(vote::Column::SuggestionId.eq(original.id))
        .filter(vote::Column::Value.ne(vote::Value::None))
        .all(txn)
        .await?
        .into_iter()
        .map(|v| v.user_id)
        .collect();
    let (mut up, mut down) = (0, 0);
    let now = Utc::now();
    for moved in &moving {
        if voted_on_original.contains(&moved.user_id) {
            continue;
        }
        super::votes::put(txn, original.id, moved.user_id, moved.value, now).await?;
        match moved.value {
            vote::Value::Up => up += 1,
            vote::Value::Down => down += 1,
            vote::Value::None => {}
        }
    }
    vote::Entity::update_many()
        .col_expr(vote::Column::Value, Expr::value(vote::Value::None))
        .col_expr(vote::Column::UpdatedAt, Expr::value(now))
        .filter(vote::Column::SuggestionId.eq(duplicate.id))
        .exec(txn)
        .await?;
    let (dup_up, dup_down) = (duplicate.upvotes, duplicate.downvotes);
    apply_tally(txn, original, up, down, 0).await?;
    apply_tally(txn, duplicate, -dup_up, -dup_down, 0).await
}

fn missing_original() -> AppError {
    AppError::bad_input("duplicateOfId", "the original suggestion does not exist")
}

pub(super) async fn record_event(
    txn: &DatabaseTransaction,
    suggestion_id: Uuid,
    actor_id: Option<Uuid>,
    from_status: Option<Status>,
    to_status: Status,
    note: Option<String>,
) -> AppResult<()> {
    suggestion_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        suggestion_id: Set(suggestion_id),
        actor_id: Set(actor_id),
        from_status: Set(from_status),
        to_status: Set(to_status),
        note: Set(note),
        created_at: Set(crate::clock::now()),
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// The timelines of many suggestions (every status each has had, oldest first), for loaders.
pub async fn timelines(
    db: &impl ConnectionTrait,
    suggestion_ids: &[Uuid],
) -> AppResult<Vec<suggestion_event::Model>> {
    Ok(suggestion_event::Entity::find()
        .filter(suggestion_event::Column::SuggestionId.is_in(suggestion_ids.iter().copied()))
        .order_by_asc(suggestion_event::Column::CreatedAt)
        .order_by_asc(suggestion_event::Column::Id)
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workflow_moves_forward_declines_and_reopens() {
        assert!(allowed_moves(Status::Open).contains(&Status::Shipped));
        assert!(allowed_moves(Status::InProgress).contains(&Status::Declined));
        assert!(!allowed_moves(Status::Planned).contains(&Status::Open));
        assert_eq!(allowed_moves(Status::Shipped), vec![Status::UnderReview]);
        assert_eq!(allowed_moves(Status::Declined), vec![Status::UnderReview]);
        assert!(allowed_moves(Status::Duplicate).is_empty());
    }
}
