//! Comments on suggestions: adding (idempotent on a client id), editing by the author, soft
//! deletion, and listing oldest first. `comment_count` changes with the rows, under the
//! suggestion's row lock.

use chrono::Utc;
use entity::comment;
use entity::growth_event::Kind as GrowthKind;
use futures_util::TryFutureExt;
use std::collections::HashMap;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction,
    EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};
use uuid::Uuid;

use super::idempotency::{Created, create_once};
use super::{growth, input, memberships, reports, suggestions};
use crate::auth::Viewer;
use crate::changes::SyncWriter;
use crate::db::placeholders;
use crate::error::{AppError, AppResult};
use crate::pagination::{Page, PageRequest, TimeOrder, after_time_key, time_key};
use crate::state::AppState;

/// The longest comment, in characters.
const MAX_BODY: usize = 10_000;

/// Adds a comment (ACTIVE members). Replaying the same id with the same body returns the stored
/// comment; another payload under that id is CONFLICT.
pub async fn add(
    state: &AppState,
    viewer: &Viewer,
    id: Option<Uuid>,
    suggestion_id: Uuid,
    body: &str,
) -> AppResult<comment::Model> {
    let txn = crate::db::begin_write(&state.db).await?;
    let mut sync = SyncWriter::new();
    let created = add_in(&txn, viewer, id, suggestion_id, body, &mut sync).await?;
    let changed = !sync.is_empty();
    sync.commit(txn, state).await?;
    if changed {
        state
            .events
            .suggestion_updated(&state.db, suggestion_id)
            .await;
    }
    Ok(created)
}

/// [`add`] inside the caller's transaction.
pub async fn add_in(
    txn: &DatabaseTransaction,
    viewer: &Viewer,
    id: Option<Uuid>,
    suggestion_id: Uuid,
    body: &str,
    sync: &mut SyncWriter,
) -> AppResult<comment::Model> {
    viewer.require_user()?;
    let body = input::text("body", body, 1, MAX_BODY)?;
    let id = id.unwrap_or_else(Uuid::now_v7);
    let (locked, author) = suggestions::lock_for_member(txn, viewer, suggestion_id).await?;
    let row = comment::ActiveModel {
        id: Set(id),
        suggestion_id: Set(suggestion_id),
        author_id: Set(author.id),
        body: Set(body.clone()),
        official: Set(false),
        created_at: Set(Utc::now()),
        edited_at: Set(None),
        deleted_at: Set(None),
        hidden_at: Set(None),
    };
    let created = match create_once::<comment::Entity, _, _>(
        txn,
        row,
        [comment::Column::Id],
        || {
            comment::Entity::find_by_id(id)
                .one(txn)
                .map_err(AppError::from)
        },
        |found| {
            found.suggestion_id == suggestion_id
                && found.author_id == author.id
                && found.body == body
                && found.deleted_at.is_none()
        },
        "a different comment already has this id",
        None,
    )
    .await?
    {
        Created::New(created) => created,
        Created::Replayed(stored) => return Ok(stored),
    };
    let updated = suggestions::apply_tally(txn, locked, 0, 0, 1).await?;
    growth::award(
        txn,
        author.id,
        updated.community_id,
        GrowthKind::CommentAdded,
        created.id,
        sync,
    )
    .await?;
    sync.comment(&created, updated.community_id);
    sync.suggestion(&updated);
    Ok(created)
}

/// Edits a comment's body (its author).
pub async fn edit(
    state: &AppState,
    viewer: &Viewer,
    comment_id: Uuid,
    body: &str,
) -> AppResult<comment::Model> {
    let user = viewer.require_user()?;
    let body = input::text("body", body, 1, MAX_BODY)?;
    let txn = crate::db::begin_write(&state.db).await?;
    let found = require_visible(&txn, viewer, comment_id).await?;
    if found.author_id != user.id {
        return Err(AppError::Forbidden(
            "only the author can edit a comment".into(),
        ));
    }
    let suggestion_id = found.suggestion_id;
    let mut active: comment::ActiveModel = found.into();
    active.body = Set(body);
    active.edited_at = Set(Some(Utc::now()));
    let updated = active.update(&txn).await?;
    let mut sync = SyncWriter::new();
    if let Some(parent) = suggestions::find_many(&txn, &[suggestion_id]).await?.pop() {
        sync.comment(&updated, parent.community_id);
    }
    sync.commit(txn, state).await?;
    state
        .events
        .suggestion_updated(&state.db, suggestion_id)
        .await;
    Ok(updated)
}

/// Soft-deletes a comment (its author, a community moderator, or STAFF/ADMIN).
pub async fn delete(state: &AppState, viewer: &Viewer, comment_id: Uuid) -> AppResult<bool> {
    let user = viewer.require_user()?;
    let txn = crate::db::begin_write(&state.db).await?;
    let found = require_visible(&txn, viewer, comment_id).await?;
    let locked = suggestions::lock_visible(&txn, viewer, found.suggestion_id).await?;
    if found.author_id != user.id
        && !memberships::is_moderator(&txn, viewer, locked.community_id).await?
    {
        return Err(AppError::Forbidden(
            "only the author or a moderator can delete a comment".into(),
        ));
    }
    let suggestion_id = found.suggestion_id;
    let mut active: comment::ActiveModel = found.into();
    active.deleted_at = Set(Some(Utc::now()));
    let deleted = active.update(&txn).await?;
    let updated = suggestions::apply_tally(&txn, locked, 0, 0, -1).await?;
    let mut sync = SyncWriter::new();
    sync.comment(&deleted, updated.community_id);
    sync.suggestion(&updated);
    sync.commit(txn, state).await?;
    state
        .events
        .suggestion_updated(&state.db, suggestion_id)
        .await;
    Ok(true)
}

/// Comments on a suggestion `viewer` may see, oldest first.
pub async fn list(
    state: &AppState,
    viewer: &Viewer,
    suggestion_id: Uuid,
    page: PageRequest,
) -> AppResult<Page<comment::Model>> {
    suggestions::require_visible(&state.db, viewer, suggestion_id).await?;
    let mut query = comment::Entity::find()
        .filter(comment::Column::SuggestionId.eq(suggestion_id))
        .filter(comment::Column::DeletedAt.is_null())
        .order_by_asc(comment::Column::CreatedAt)
        .order_by_asc(comment::Column::Id);
    if let Some(shown) = reports::visible_unless_hidden_condition(
        &state.db,
        viewer,
        "\"comment\"",
        "(SELECT community_id FROM suggestion WHERE id = \"comment\".\"suggestion_id\")",
    ) {
        query = query.filter(shown);
    }
    if let Some(after) = &page.after {
        query = query.filter(after_time_key(
            after,
            comment::Column::CreatedAt,
            comment::Column::Id,
            TimeOrder::OldestFirst,
        )?);
    }
    let rows = query.limit(page.limit + 1).all(&state.db).await?;
    Ok(Page::from_rows(rows, &page, |c| {
        time_key(c.created_at, c.id)
    }))
}

/// The first `limit` comments (oldest first) that `viewer` may see (hidden ones only for their
/// author and moderators) of each of many suggestions, from one query (for loaders; callers
/// pass suggestions the viewer sees).
pub async fn first_pages(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    suggestion_ids: &[Uuid],
    limit: u64,
) -> AppResult<HashMap<Uuid, Vec<comment::Model>>> {
    if suggestion_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let backend = db.get_database_backend();
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let statement = match backend {
        // Postgres: each suggestion's page read from the index on its order, stopping after
        // the page; the ids travel as one array, so the statement is the same for any count.
        DatabaseBackend::Postgres => {
            let ids: Vec<String> = suggestion_ids.iter().map(Uuid::to_string).collect();
            let mut values: Vec<sea_orm::Value> =
                vec![format!("{{{}}}", ids.join(",")).into(), limit.into()];
            let shown = shown_sql(viewer, "cm", &mut values);
            Statement::from_sql_and_values(
                backend,
                format!(
                    "SELECT c.* FROM unnest(CAST($1 AS uuid[])) AS k(id) CROSS JOIN LATERAL \
                     (SELECT * FROM comment cm WHERE cm.suggestion_id = k.id \
                     AND cm.deleted_at IS NULL{shown} \
                     ORDER BY cm.created_at, cm.id LIMIT $2) c ORDER BY c.created_at, c.id"
                ),
                values,
            )
        }
        _ => {
            let list: Vec<String> = (1..=suggestion_ids.len())
                .map(|i| format!("${i}"))
                .collect();
            let limit_at = suggestion_ids.len() + 1;
            let mut values: Vec<sea_orm::Value> =
                suggestion_ids.iter().map(|id| (*id).into()).collect();
            values.push(limit.into());
            let shown = shown_sql(viewer, "c", &mut values);
            let sql = format!(
                "SELECT * FROM (SELECT c.*, ROW_NUMBER() OVER (PARTITION BY suggestion_id \
                 ORDER BY created_at, id) AS place FROM comment c \
                 WHERE suggestion_id IN ({}) AND deleted_at IS NULL{shown}) t \
                 WHERE place <= ${limit_at} ORDER BY created_at, id",
                list.join(", ")
            );
            Statement::from_sql_and_values(backend, placeholders(backend, &sql), values)
        }
    };
    let rows = comment::Model::find_by_statement(statement).all(db).await?;
    let mut pages: HashMap<Uuid, Vec<comment::Model>> = HashMap::new();
    for row in rows {
        pages.entry(row.suggestion_id).or_default().push(row);
    }
    Ok(pages)
}

/// ` AND` the hidden-content rule on comment alias `table`, binding into `values`.
fn shown_sql(viewer: &Viewer, table: &str, values: &mut Vec<sea_orm::Value>) -> String {
    let community =
        format!("(SELECT community_id FROM suggestion WHERE id = {table}.suggestion_id)");
    reports::visible_unless_hidden_sql(viewer, table, &community, &mut |value| {
        values.push(value);
        format!("${}", values.len())
    })
    .map(|sql| format!(" AND {sql}"))
    .unwrap_or_default()
}

/// A page of comments from the rows [`first_pages`] fetched with `page.limit + 1`.
pub fn first_page(rows: Vec<comment::Model>, page: &PageRequest) -> Page<comment::Model> {
    Page::from_rows(rows, page, |c| time_key(c.created_at, c.id))
}

/// Comments by id (no visibility check), for loaders.
pub async fn find_many(db: &impl ConnectionTrait, ids: &[Uuid]) -> AppResult<Vec<comment::Model>> {
    Ok(comment::Entity::find()
        .filter(comment::Column::Id.is_in(ids.iter().copied()))
        .filter(comment::Column::DeletedAt.is_null())
        .all(db)
        .await?)
}

async fn require_visible(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    comment_id: Uuid,
) -> AppResult<comment::Model> {
    let found = comment::Entity::find_by_id(comment_id)
        .one(db)
        .await?
        .filter(|c| c.deleted_at.is_none())
        .ok_or_else(|| AppError::not_found("comment"))?;
    suggestions::find(db, viewer, found.suggestion_id)
        .await?
        .ok_or_else(|| AppError::not_found("comment"))?;
    Ok(found)
}
