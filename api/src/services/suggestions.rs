//! Suggestions: submitting, editing and deleting them, the status workflow with its timeline,
//! official responses, duplicates, and the listing with its sorts, search and stable cursors.
//!
//! Counters (`upvotes`, `downvotes`, `score`, `comment_count`) and the HOT key change only
//! through [`apply_tally`], under the suggestion's row lock, which also records the keys as they
//! were before the change. A listing's later pages read the order as it stood when its first
//! page was read (the snapshot in the cursor), so votes cast meanwhile never make a suggestion
//! appear twice or not at all.

use chrono::{DateTime, Utc};
use entity::comment;
use entity::notification::Kind as NotificationKind;
use entity::suggestion::{self, Kind, Status};
use entity::suggestion_event;
use entity::vote;
use sea_orm::Iterable;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction,
    EntityTrait, FromQueryResult, IdenStatic, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
    Value,
};
use uuid::Uuid;

use super::{communities, notifications};
use crate::auth::{UserViewer, Viewer};
use crate::db::placeholders;
use crate::error::{AppError, AppResult};
use crate::pagination::{Page, PageRequest, encode_cursor};
use crate::state::AppState;
use crate::sync::{EntityKind, Op, Scope, SyncWriter};

/// How long a listing cursor stays valid: the snapshot it pages against must still be
/// reconstructible from `tally_change`, which keeps this much history.
pub const CURSOR_HORIZON_SECS: i64 = 24 * 3600;

/// What `submitSuggestion` asks for.
#[derive(Debug, Clone)]
pub struct NewSuggestion {
    pub id: Option<Uuid>,
    pub community_id: Uuid,
    pub kind: Kind,
    pub title: String,
    pub body: String,
    pub product_line: Option<String>,
}

/// What `editSuggestion` may change.
#[derive(Debug, Clone, Default)]
pub struct SuggestionChanges {
    pub title: Option<String>,
    pub body: Option<String>,
    pub product_line: Option<String>,
}

/// The orders a listing can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Score with time decay: see [`hot_rank`].
    Hot,
    /// Highest score first.
    Top,
    /// Newest first.
    New,
    /// Most comments first.
    MostDiscussed,
}

/// Which suggestions a listing shows.
#[derive(Debug, Clone)]
pub struct ListFilter {
    pub community_id: Option<Uuid>,
    pub author_id: Option<Uuid>,
    pub statuses: Vec<Status>,
    pub kind: Option<Kind>,
    pub sort: Sort,
    pub search: Option<String>,
}

/// Submits a suggestion (ACTIVE members). Replaying the same id with the same payload returns
/// the stored suggestion; another payload under that id is CONFLICT.
pub async fn submit(
    state: &AppState,
    viewer: &Viewer,
    input: NewSuggestion,
) -> AppResult<suggestion::Model> {
    let txn = crate::db::begin_write(&state.db).await?;
    let mut sync = SyncWriter::new();
    let created = submit_in(&txn, viewer, input, &mut sync).await?;
    sync.commit(txn, state).await?;
    Ok(created)
}

/// [`submit`] inside the caller's transaction (sync pushes run it with their ledger).
pub async fn submit_in(
    txn: &DatabaseTransaction,
    viewer: &Viewer,
    input: NewSuggestion,
    sync: &mut SyncWriter,
) -> AppResult<suggestion::Model> {
    let title = communities::line("title", &input.title, 3, 200)?;
    let body = communities::text("body", &input.body, 0, 20_000)?;
    let product_line = product_line(input.product_line)?;
    let id = input.id.unwrap_or_else(Uuid::now_v7);
    let community = communities::require_visible(txn, viewer, input.community_id).await?;
    let author = communities::require_member(txn, viewer, &community).await?;
    if let Some(existing) = suggestion::Entity::find_by_id(id).one(txn).await? {
        if existing.deleted_at.is_some() {
            return Err(AppError::Conflict(
                "this id belonged to a deleted suggestion; ids are never reused".into(),
            ));
        }
        let same = existing.community_id == input.community_id
            && existing.author_id == author.id
            && existing.kind == input.kind
            && existing.title == title
            && existing.body == body
            && existing.product_line == product_line;
        return if same {
            Ok(existing)
        } else {
            Err(AppError::Conflict(
                "a different suggestion already has this id".into(),
            ))
        };
    }
    let now = Utc::now();
    let created = suggestion::ActiveModel {
        id: Set(id),
        community_id: Set(community.id),
        author_id: Set(author.id),
        kind: Set(input.kind),
        title: Set(title),
        body: Set(body),
        product_line: Set(product_line),
        status: Set(Status::Open),
        upvotes: Set(0),
        downvotes: Set(0),
        score: Set(0),
        comment_count: Set(0),
        hot_rank: Set(hot_rank(0, now)),
        official_response_id: Set(None),
        first_response_at: Set(None),
        resolved_at: Set(None),
        duplicate_of_id: Set(None),
        deleted_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await?;
    record_event(txn, id, Some(author.id), None, Status::Open, None).await?;
    record_tally(txn, &created, true).await?;
    index_for_search(txn, &created).await?;
    sync.suggestion(&created);
    Ok(created)
}

/// Edits title, body or product line (the author, while the suggestion is OPEN).
pub async fn edit(
    state: &AppState,
    viewer: &Viewer,
    suggestion_id: Uuid,
    changes: SuggestionChanges,
) -> AppResult<suggestion::Model> {
    let txn = crate::db::begin_write(&state.db).await?;
    let mut sync = SyncWriter::new();
    let updated = edit_in(&txn, viewer, suggestion_id, changes, &mut sync).await?;
    sync.commit(txn, state).await?;
    state.events.suggestion_updated(&state.db, updated.id).await;
    Ok(updated)
}

/// [`edit`] inside the caller's transaction; each field given is recorded as changed.
pub async fn edit_in(
    txn: &DatabaseTransaction,
    viewer: &Viewer,
    suggestion_id: Uuid,
    changes: SuggestionChanges,
    sync: &mut SyncWriter,
) -> AppResult<suggestion::Model> {
    let user = viewer.require_user()?;
    let found = lock_visible(txn, viewer, suggestion_id).await?;
    if found.author_id != user.id {
        return Err(AppError::Forbidden(
            "only the author can edit a suggestion".into(),
        ));
    }
    if found.status != Status::Open {
        return Err(AppError::bad_input(
            "suggestionId",
            "a suggestion can be edited only while it is OPEN",
        ));
    }
    let id = found.id;
    let mut active: suggestion::ActiveModel = found.into();
    if let Some(title) = changes.title {
        active.title = Set(communities::line("title", &title, 3, 200)?);
        sync.field_changed(EntityKind::Suggestion, id, "title");
    }
    if let Some(body) = changes.body {
        active.body = Set(communities::text("body", &body, 0, 20_000)?);
        sync.field_changed(EntityKind::Suggestion, id, "body");
    }
    if changes.product_line.is_some() {
        active.product_line = Set(product_line(changes.product_line)?);
        sync.field_changed(EntityKind::Suggestion, id, "productLine");
    }
    active.updated_at = Set(Utc::now());
    let updated = active.update(txn).await?;
    index_for_search(txn, &updated).await?;
    sync.suggestion(&updated);
    Ok(updated)
}

/// Soft-deletes a suggestion (its author, a community moderator, or STAFF/ADMIN).
pub async fn delete(state: &AppState, viewer: &Viewer, suggestion_id: Uuid) -> AppResult<bool> {
    let txn = crate::db::begin_write(&state.db).await?;
    let mut sync = SyncWriter::new();
    delete_in(&txn, viewer, suggestion_id, &mut sync).await?;
    sync.commit(txn, state).await?;
    Ok(true)
}

/// [`delete`] inside the caller's transaction. The suggestion's comments and votes leave every
/// synced device with it.
pub async fn delete_in(
    txn: &DatabaseTransaction,
    viewer: &Viewer,
    suggestion_id: Uuid,
    sync: &mut SyncWriter,
) -> AppResult<()> {
    let user = viewer.require_user()?;
    let found = lock_visible(txn, viewer, suggestion_id).await?;
    if found.author_id != user.id
        && !communities::is_moderator(txn, viewer, found.community_id).await?
    {
        return Err(AppError::Forbidden(
            "only the author or a moderator can delete a suggestion".into(),
        ));
    }
    let mut active: suggestion::ActiveModel = found.into();
    let now = Utc::now();
    active.deleted_at = Set(Some(now));
    active.updated_at = Set(now);
    let deleted = active.update(txn).await?;
    sync.suggestion(&deleted);
    for row in comment::Entity::find()
        .filter(comment::Column::SuggestionId.eq(deleted.id))
        .all(txn)
        .await?
    {
        sync.record(
            Scope::Community(deleted.community_id),
            EntityKind::Comment,
            row.id,
            Op::Delete,
        );
    }
    for row in vote::Entity::find()
        .filter(vote::Column::SuggestionId.eq(deleted.id))
        .all(txn)
        .await?
    {
        sync.record(
            Scope::User(row.user_id),
            EntityKind::Vote,
            row.id,
            Op::Delete,
        );
    }
    Ok(())
}

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
        .map(|n| communities::text("note", &n, 0, 2000))
        .transpose()?
        .filter(|n| !n.is_empty());
    let txn = crate::db::begin_write(&state.db).await?;
    let found = lock_visible(&txn, viewer, suggestion_id).await?;
    let updated = change_status(&txn, found, status, staff.id, note).await?;
    let mut sync = SyncWriter::new();
    sync.suggestion(&updated);
    sync.commit(txn, state).await?;
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
    let body = communities::text("body", body, 1, 10_000)?;
    let txn = crate::db::begin_write(&state.db).await?;
    let found = lock_visible(&txn, viewer, suggestion_id).await?;
    let now = Utc::now();
    let response = comment::ActiveModel {
        id: Set(Uuid::now_v7()),
        suggestion_id: Set(found.id),
        author_id: Set(staff.id),
        body: Set(body),
        official: Set(true),
        created_at: Set(now),
        edited_at: Set(None),
        deleted_at: Set(None),
    }
    .insert(&txn)
    .await?;
    let found = apply_tally(&txn, found, 0, 0, 1).await?;
    let author_id = found.author_id;
    let mut active: suggestion::ActiveModel = found.into();
    active.official_response_id = Set(Some(response.id));
    if active.first_response_at.as_ref().is_none() {
        active.first_response_at = Set(Some(now));
    }
    active.updated_at = Set(now);
    let mut updated = active.update(&txn).await?;
    notifications::notify(
        &txn,
        &[author_id],
        NotificationKind::OfficialResponse,
        updated.id,
    )
    .await?;
    if let Some(status) = status.filter(|s| *s != updated.status) {
        updated = change_status(&txn, updated, status, staff.id, None).await?;
    }
    let mut sync = SyncWriter::new();
    sync.suggestion(&updated);
    sync.comment(&response, updated.community_id);
    sync.commit(txn, state).await?;
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
    let mut active: suggestion::ActiveModel = duplicate.into();
    active.status = Set(Status::Duplicate);
    active.duplicate_of_id = Set(Some(duplicate_of_id));
    active.updated_at = Set(Utc::now());
    let updated = active.update(&txn).await?;
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

/// The suggestion with `id` as `viewer` may see it (not deleted, community visible).
pub async fn find(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: Uuid,
) -> AppResult<Option<suggestion::Model>> {
    let Some(found) = suggestion::Entity::find_by_id(id)
        .filter(suggestion::Column::DeletedAt.is_null())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(communities::find(db, viewer, found.community_id)
        .await?
        .map(|_| found))
}

/// The suggestion with `id`, or NOT_FOUND when missing, deleted or hidden.
pub async fn require_visible(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: Uuid,
) -> AppResult<suggestion::Model> {
    find(db, viewer, id)
        .await?
        .ok_or_else(|| AppError::not_found("suggestion"))
}

/// Suggestions by id (no visibility check: callers pass ids they already may see).
pub async fn find_many(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> AppResult<Vec<suggestion::Model>> {
    Ok(suggestion::Entity::find()
        .filter(suggestion::Column::Id.is_in(ids.iter().copied()))
        .filter(suggestion::Column::DeletedAt.is_null())
        .all(db)
        .await?)
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

/// The HOT key: `sign(score) · log10(max(|score|, 1)) + (created − 2023-11-14T22:13:20Z) / 45 000 s`,
/// scaled by 10⁶ and rounded. A suggestion needs ten times the score to stay level with one
/// 12.5 hours newer; the key depends only on score and age, so it is stored and indexed.
pub fn hot_rank(score: i32, created_at: DateTime<Utc>) -> i64 {
    let magnitude = f64::from(score.unsigned_abs().max(1)).log10();
    let sign = f64::from(score.signum());
    let age = (created_at.timestamp_millis() as f64 / 1000.0 - 1_700_000_000.0) / 45_000.0;
    ((sign * magnitude + age) * 1_000_000.0).round() as i64
}

/// Locks the suggestion row for this transaction and checks `viewer` may see it.
pub async fn lock_visible(
    txn: &DatabaseTransaction,
    viewer: &Viewer,
    id: Uuid,
) -> AppResult<suggestion::Model> {
    let found = lock(txn, id).await?;
    communities::require_visible(txn, viewer, found.community_id).await?;
    Ok(found)
}

/// Like [`lock_visible`], for acting as a member (voting, commenting): the caller must be an
/// ACTIVE member of the suggestion's community (a hidden one is NOT_FOUND).
pub async fn lock_for_member(
    txn: &DatabaseTransaction,
    viewer: &Viewer,
    id: Uuid,
) -> AppResult<(suggestion::Model, UserViewer)> {
    viewer.require_user()?;
    let found = lock(txn, id).await?;
    let community = communities::find_many(txn, &[found.community_id])
        .await?
        .pop()
        .ok_or_else(|| AppError::not_found("suggestion"))?;
    let member = communities::require_member(txn, viewer, &community)
        .await
        .map_err(|e| match e {
            AppError::NotFound(_) => AppError::not_found("suggestion"),
            other => other,
        })?;
    Ok((found, member))
}

/// The live (not deleted) suggestion row, locked for this transaction: `FOR UPDATE` on
/// Postgres; the SQLite query builder leaves the clause out, as its write transaction already
/// holds the database lock.
async fn lock(txn: &DatabaseTransaction, id: Uuid) -> AppResult<suggestion::Model> {
    suggestion::Entity::find_by_id(id)
        .lock_exclusive()
        .one(txn)
        .await?
        .filter(|s| s.deleted_at.is_none())
        .ok_or_else(|| AppError::not_found("suggestion"))
}

/// Changes the counters of a locked suggestion by the given deltas, keeping `score` and the
/// HOT key in step, and records the keys as they were for paging snapshots.
pub async fn apply_tally(
    txn: &DatabaseTransaction,
    locked: suggestion::Model,
    up: i32,
    down: i32,
    comments: i32,
) -> AppResult<suggestion::Model> {
    if up == 0 && down == 0 && comments == 0 {
        return Ok(locked);
    }
    record_tally(txn, &locked, false).await?;
    let upvotes = locked.upvotes + up;
    let downvotes = locked.downvotes + down;
    let score = upvotes - downvotes;
    let created_at = locked.created_at;
    let mut active: suggestion::ActiveModel = locked.into();
    active.upvotes = Set(upvotes);
    active.downvotes = Set(downvotes);
    active.score = Set(score);
    active.comment_count = Set(active.comment_count.as_ref() + comments);
    active.hot_rank = Set(hot_rank(score, created_at));
    Ok(active.update(txn).await?)
}

/// Removes paging history older than the cursor horizon; returns the rows removed.
pub async fn purge_tally_history(db: &impl ConnectionTrait) -> AppResult<u64> {
    let cutoff = Utc::now() - chrono::Duration::seconds(CURSOR_HORIZON_SECS);
    let statement = Statement::from_sql_and_values(
        db.get_database_backend(),
        placeholders(
            db.get_database_backend(),
            "DELETE FROM tally_change WHERE created_at < $1",
        ),
        [cutoff.into()],
    );
    Ok(db.execute_raw(statement).await?.rows_affected())
}

/// Moves a locked suggestion to `status` as the workflow allows, with its timeline event and
/// notifications (also used by adoption, which plans an idea).
pub async fn change_status(
    txn: &DatabaseTransaction,
    found: suggestion::Model,
    status: Status,
    actor: Uuid,
    note: Option<String>,
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
                status_name(from),
                status_name(status)
            ),
        ));
    }
    let author_id = found.author_id;
    let id = found.id;
    let now = Utc::now();
    let mut active: suggestion::ActiveModel = found.into();
    active.status = Set(status);
    active.resolved_at = Set(matches!(status, Status::Shipped | Status::Declined).then_some(now));
    active.updated_at = Set(now);
    let updated = active.update(txn).await?;
    record_event(txn, id, Some(actor), Some(from), status, note).await?;
    notifications::notify(txn, &[author_id], NotificationKind::StatusChanged, id).await?;
    if status == Status::Shipped {
        let voters: Vec<Uuid> = vote::Entity::find()
            .filter(vote::Column::SuggestionId.eq(id))
            .filter(vote::Column::Value.ne(vote::Value::None))
            .filter(vote::Column::UserId.ne(author_id))
            .all(txn)
            .await?
            .into_iter()
            .map(|v| v.user_id)
            .collect();
        notifications::notify(txn, &voters, NotificationKind::Shipped, id).await?;
    }
    Ok(updated)
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

async fn record_event(
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
        created_at: Set(Utc::now()),
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// Writes the sort keys of `before` (or, with `created`, that this transaction created it)
/// with the writing transaction's id, for later pages of listings read before this commit.
async fn record_tally(
    txn: &DatabaseTransaction,
    before: &suggestion::Model,
    created: bool,
) -> AppResult<()> {
    let backend = txn.get_database_backend();
    let txid = match backend {
        DatabaseBackend::Postgres => "(pg_current_xact_id()::text)::bigint",
        _ => "NULL",
    };
    let sql = format!(
        "INSERT INTO tally_change \
         (suggestion_id, score_before, comments_before, hot_before, created, txid, created_at) \
         VALUES ($1, $2, $3, $4, $5, {txid}, $6)"
    );
    txn.execute_raw(Statement::from_sql_and_values(
        backend,
        placeholders(backend, &sql),
        [
            before.id.into(),
            before.score.into(),
            before.comment_count.into(),
            before.hot_rank.into(),
            created.into(),
            Utc::now().into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Keeps SQLite's FTS5 table in step with a suggestion's text (Postgres derives its
/// `search_vector` column by itself).
async fn index_for_search(txn: &DatabaseTransaction, row: &suggestion::Model) -> AppResult<()> {
    let backend = txn.get_database_backend();
    if backend == DatabaseBackend::Postgres {
        return Ok(());
    }
    txn.execute_raw(Statement::from_sql_and_values(
        backend,
        "DELETE FROM suggestion_fts WHERE suggestion_id = ?1",
        [row.id.into()],
    ))
    .await?;
    txn.execute_raw(Statement::from_sql_and_values(
        backend,
        "INSERT INTO suggestion_fts (suggestion_id, title, body) VALUES (?1, ?2, ?3)",
        [
            row.id.into(),
            row.title.clone().into(),
            row.body.clone().into(),
        ],
    ))
    .await?;
    Ok(())
}

fn product_line(value: Option<String>) -> AppResult<Option<String>> {
    value
        .map(|p| communities::line("productLine", &p, 0, 100))
        .transpose()
        .map(|p| p.filter(|p| !p.is_empty()))
}

/// The wire name of a status.
pub fn status_name(status: Status) -> &'static str {
    match status {
        Status::Open => "OPEN",
        Status::UnderReview => "UNDER_REVIEW",
        Status::Planned => "PLANNED",
        Status::InProgress => "IN_PROGRESS",
        Status::Shipped => "SHIPPED",
        Status::Declined => "DECLINED",
        Status::Duplicate => "DUPLICATE",
    }
}

// ---------------------------------------------------------------------------------------------
// Listing

/// Where a listing's later page continues: the snapshot of its first page, and the last key.
struct Position {
    sort: Sort,
    snapshot: String,
    taken_at: i64,
    key: String,
    id: Uuid,
}

impl Position {
    fn encode(&self) -> String {
        encode_cursor(&format!(
            "s|{}|{}|{}|{}|{}",
            sort_tag(self.sort),
            self.taken_at,
            self.snapshot,
            self.key,
            self.id
        ))
    }

    fn decode(raw: &str, sort: Sort) -> AppResult<Self> {
        let invalid = || AppError::bad_input("after", "invalid cursor");
        let mut parts = raw.split('|');
        if parts.next() != Some("s") {
            return Err(invalid());
        }
        let tag = parts.next().ok_or_else(invalid)?;
        if tag != sort_tag(sort) {
            return Err(AppError::bad_input(
                "after",
                "this cursor belongs to a listing with another sort",
            ));
        }
        let taken_at: i64 = parts
            .next()
            .and_then(|t| t.parse().ok())
            .ok_or_else(invalid)?;
        let snapshot = parts.next().ok_or_else(invalid)?.to_string();
        let key = parts.next().ok_or_else(invalid)?.to_string();
        let id = parts
            .next()
            .and_then(|i| Uuid::parse_str(i).ok())
            .ok_or_else(invalid)?;
        if parts.next().is_some() || snapshot.is_empty() {
            return Err(invalid());
        }
        if Utc::now().timestamp() - taken_at > CURSOR_HORIZON_SECS {
            return Err(AppError::bad_input(
                "after",
                "this cursor has expired; start again from the first page",
            ));
        }
        Ok(Position {
            sort,
            snapshot,
            taken_at,
            key,
            id,
        })
    }
}

fn sort_tag(sort: Sort) -> &'static str {
    match sort {
        Sort::Hot => "hot",
        Sort::Top => "top",
        Sort::New => "new",
        Sort::MostDiscussed => "disc",
    }
}

struct Keyed {
    sort_key: String,
    snap: String,
}

/// Lists suggestions `viewer` may see, in `filter.sort` order, paged with stable cursors.
pub async fn list(
    state: &AppState,
    viewer: &Viewer,
    filter: ListFilter,
    page: PageRequest,
) -> AppResult<Page<suggestion::Model>> {
    let db = &state.db;
    let backend = db.get_database_backend();
    let after = page
        .after
        .as_deref()
        .map(|raw| Position::decode(raw, filter.sort))
        .transpose()?;
    let mut values: Vec<Value> = Vec::new();
    let mut bind = |value: Value| {
        values.push(value);
        format!("${}", values.len())
    };

    let mut conditions = vec!["s.deleted_at IS NULL".to_string()];
    // Visibility is part of the query; only an empty answer needs telling apart "nothing
    // matches" from "no such community" (NOT_FOUND), which costs a query then.
    if let Some(community_id) = filter.community_id {
        conditions.push(format!("s.community_id = {}", bind(community_id.into())));
    }
    if !viewer.is_staff() {
        let mut visible =
            vec!["s.community_id IN (SELECT id FROM community WHERE visibility = 'PUBLIC')".into()];
        if let Some(user_id) = viewer.user_id() {
            visible.push(format!(
                "s.community_id IN (SELECT community_id FROM membership \
                 WHERE user_id = {} AND status = 'ACTIVE')",
                bind(user_id.into())
            ));
        }
        conditions.push(format!("({})", visible.join(" OR ")));
    }
    if let Some(author_id) = filter.author_id {
        conditions.push(format!("s.author_id = {}", bind(author_id.into())));
    }
    if !filter.statuses.is_empty() {
        let list: Vec<String> = filter
            .statuses
            .iter()
            .map(|s| bind(status_name(*s).into()))
            .collect();
        conditions.push(format!("s.status IN ({})", list.join(", ")));
    }
    if let Some(kind) = filter.kind {
        let name = match kind {
            Kind::Idea => "IDEA",
            Kind::Complaint => "COMPLAINT",
            Kind::Bug => "BUG",
        };
        conditions.push(format!("s.kind = {}", bind(name.into())));
    }
    if let Some(search) = filter.search.as_deref() {
        let words = search_words(search);
        if words.is_empty() {
            if let Some(community_id) = filter.community_id {
                communities::require_visible(db, viewer, community_id).await?;
            }
            return Ok(Page::from_rows(Vec::new(), &page, |_| String::new()));
        }
        match backend {
            DatabaseBackend::Postgres => conditions.push(format!(
                "s.search_vector @@ plainto_tsquery('simple', {})",
                bind(words.join(" ").into())
            )),
            _ => {
                let query: Vec<String> = words
                    .iter()
                    .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
                    .collect();
                conditions.push(format!(
                    "s.id IN (SELECT suggestion_id FROM suggestion_fts \
                     WHERE suggestion_fts MATCH {})",
                    bind(query.join(" ").into())
                ));
            }
        }
    }

    // The keys as of the snapshot: the value before the first change the snapshot does not
    // see, or the current one; suggestions created after the snapshot are left out.
    let (late_join, score, comments, hot) = match &after {
        None => (
            String::new(),
            "s.score".to_string(),
            "s.comment_count".to_string(),
            "s.hot_rank".to_string(),
        ),
        Some(position) => {
            let unseen = match backend {
                DatabaseBackend::Postgres => {
                    let snap = bind(position.snapshot.clone().into());
                    format!(
                        "txid >= (pg_snapshot_xmin({snap}::pg_snapshot)::text)::bigint \
                         AND NOT pg_visible_in_snapshot((txid::text)::xid8, {snap}::pg_snapshot)"
                    )
                }
                _ => {
                    let seen: i64 = position
                        .snapshot
                        .parse()
                        .map_err(|_| AppError::bad_input("after", "invalid cursor"))?;
                    format!("id > {}", bind(seen.into()))
                }
            };
            conditions.push("COALESCE(l.created, FALSE) = FALSE".into());
            (
                format!(
                    "LEFT JOIN (SELECT suggestion_id, score_before, comments_before, hot_before, \
                     created FROM tally_change WHERE id IN (SELECT MIN(id) FROM tally_change \
                     WHERE {unseen} GROUP BY suggestion_id)) l ON l.suggestion_id = s.id"
                ),
                "COALESCE(l.score_before, s.score)".to_string(),
                "COALESCE(l.comments_before, s.comment_count)".to_string(),
                "COALESCE(l.hot_before, s.hot_rank)".to_string(),
            )
        }
    };
    let key = match filter.sort {
        Sort::Hot => hot,
        Sort::Top => score,
        Sort::MostDiscussed => comments,
        Sort::New => "s.created_at".to_string(),
    };
    let snap = match (&after, backend) {
        (Some(position), _) => bind(position.snapshot.clone().into()),
        (None, DatabaseBackend::Postgres) => "pg_current_snapshot()::text".to_string(),
        (None, _) => "CAST((SELECT COALESCE(MAX(id), 0) FROM tally_change) AS TEXT)".to_string(),
    };
    let columns: Vec<String> = suggestion::Column::iter()
        .map(|c| format!("s.{}", c.as_str()))
        .collect();
    let mut outer = String::new();
    if let Some(position) = &after {
        let key_value: Value = match filter.sort {
            Sort::New => DateTime::parse_from_rfc3339(&position.key)
                .map_err(|_| AppError::bad_input("after", "invalid cursor"))?
                .with_timezone(&Utc)
                .into(),
            _ => position
                .key
                .parse::<i64>()
                .map_err(|_| AppError::bad_input("after", "invalid cursor"))?
                .into(),
        };
        let k1 = bind(key_value.clone());
        let k2 = bind(key_value);
        let id = bind(position.id.into());
        outer = format!("WHERE t.k < {k1} OR (t.k = {k2} AND t.id < {id})");
    }
    let limit = bind(((page.limit + 1) as i64).into());
    let sql = format!(
        "SELECT t.* FROM (SELECT {columns}, {key} AS k, {snap} AS snap FROM suggestion s {late_join} \
         WHERE {conditions}) t {outer} ORDER BY t.k DESC, t.id DESC LIMIT {limit}",
        columns = columns.join(", "),
        conditions = conditions.join(" AND "),
    );
    let statement = Statement::from_sql_and_values(backend, placeholders(backend, &sql), values);
    let rows = db.query_all_raw(statement).await?;
    if let (true, Some(community_id)) = (rows.is_empty(), filter.community_id) {
        communities::require_visible(db, viewer, community_id).await?;
    }
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let model = suggestion::Model::from_query_result(row, "")?;
        let key = match filter.sort {
            Sort::New => model.created_at.to_rfc3339(),
            _ => row
                .try_get::<i64>("", "k")
                .or_else(|_| row.try_get::<i32>("", "k").map(i64::from))?
                .to_string(),
        };
        let snap: String = row.try_get("", "snap")?;
        items.push((
            model,
            Keyed {
                sort_key: key,
                snap,
            },
        ));
    }
    let taken_at = after
        .as_ref()
        .map(|p| p.taken_at)
        .unwrap_or_else(|| Utc::now().timestamp());
    let sort = filter.sort;
    let has_next_page = items.len() as u64 > page.limit;
    items.truncate(page.limit as usize);
    let items = items
        .into_iter()
        .map(|(model, keyed)| {
            let position = Position {
                sort,
                snapshot: keyed.snap,
                taken_at,
                key: keyed.sort_key,
                id: model.id,
            };
            (position.encode(), model)
        })
        .collect();
    Ok(Page {
        items,
        has_next_page,
        has_previous_page: after.is_some(),
    })
}

/// The words of a search, for a literal match: anything but letters and digits separates.
fn search_words(search: &str) -> Vec<String> {
    search
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(str::to_lowercase)
        .collect()
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

    #[test]
    fn hot_trades_ten_times_the_score_for_twelve_and_a_half_hours() {
        let t = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let later = t + chrono::Duration::seconds(45_000);
        assert_eq!(hot_rank(100, t), hot_rank(10, later));
        assert!(hot_rank(5, t) > hot_rank(-5, t));
        assert_eq!(hot_rank(1, t), hot_rank(0, t));
    }

    #[test]
    fn search_input_becomes_plain_words() {
        assert_eq!(
            search_words("\"a\" OR b*:c'); DROP"),
            ["a", "or", "b", "c", "drop"]
        );
        assert!(search_words("*:()").is_empty());
    }
}
