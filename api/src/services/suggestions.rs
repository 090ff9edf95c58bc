//! Suggestions: submitting, editing and deleting them, finding and locking them, and their
//! counters.
//!
//! Counters (`upvotes`, `downvotes`, `score`, `comment_count`) and the HOT key change only
//! through [`apply_tally`], under the suggestion's row lock, which also records the keys as they
//! were before the change, so a listing's later pages can read the order as it stood at its
//! first page (see [`super::suggestion_listing`]). The status workflow is
//! [`super::suggestion_workflow`].

use chrono::{DateTime, Utc};
use entity::growth_event::Kind as GrowthKind;
use entity::suggestion::{self, Kind, Status};
use entity::vote;
use entity::{comment, community, membership};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, LockType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction,
    EntityTrait, FromQueryResult, IdenStatic, Iterable, JoinType, QueryFilter, QuerySelect,
    QueryTrait, Set, Statement,
};
use uuid::Uuid;

use super::idempotency::{Created, create_once};
use super::suggestion_workflow::record_event;
use super::{communities, growth, input, memberships, metrics, reports, sanctions};
use crate::auth::{UserViewer, Viewer};
use crate::changes::{EntityKind, Op, Scope, SyncWriter};
use crate::db::placeholders;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

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
    let title = input::line("title", &input.title, 3, 200)?;
    let body = input::text("body", &input.body, 0, 20_000)?;
    let product_line = product_line(input.product_line)?;
    let id = input.id.unwrap_or_else(Uuid::now_v7);
    let community = communities::require_visible(txn, viewer, input.community_id).await?;
    let author = memberships::require_member(txn, viewer, &community).await?;
    let now = crate::clock::now();
    let row = suggestion::ActiveModel {
        id: Set(id),
        community_id: Set(community.id),
        author_id: Set(author.id),
        kind: Set(input.kind),
        title: Set(title.clone()),
        body: Set(body.clone()),
        product_line: Set(product_line.clone()),
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
        hidden_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        first_response_ms: Set(None),
        resolution_ms: Set(None),
    };
    let stored = || async move {
        match suggestion::Entity::find_by_id(id).one(txn).await? {
            Some(found) if found.deleted_at.is_some() => Err(AppError::Conflict(
                "this id belonged to a deleted suggestion; ids are never reused".into(),
            )),
            found => Ok(found),
        }
    };
    let same = |found: &suggestion::Model| {
        found.community_id == community.id
            && found.author_id == author.id
            && found.kind == input.kind
            && found.title == title
            && found.body == body
            && found.product_line == product_line
    };
    let created = match create_once::<suggestion::Entity, _, _>(
        txn,
        row,
        [suggestion::Column::Id],
        stored,
        same,
        "a different suggestion already has this id",
        None,
    )
    .await?
    {
        Created::New(created) => created,
        Created::Replayed(stored) => return Ok(stored),
    };
    metrics::count_change(txn, None, &created).await?;
    record_event(txn, id, Some(author.id), None, Status::Open, None).await?;
    growth::award(
        txn,
        author.id,
        community.id,
        GrowthKind::SuggestionSubmitted,
        id,
        sync,
    )
    .await?;
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
        active.title = Set(input::line("title", &title, 3, 200)?);
        sync.field_changed(EntityKind::Suggestion, id, "title");
    }
    if let Some(body) = changes.body {
        active.body = Set(input::text("body", &body, 0, 20_000)?);
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
        && !memberships::is_moderator(txn, viewer, found.community_id).await?
    {
        return Err(AppError::Forbidden(
            "only the author or a moderator can delete a suggestion".into(),
        ));
    }
    let before = found.clone();
    let mut active: suggestion::ActiveModel = found.into();
    let now = Utc::now();
    active.deleted_at = Set(Some(now));
    active.updated_at = Set(now);
    let deleted = active.update(txn).await?;
    metrics::count_change(txn, Some(&before), &deleted).await?;
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

/// The suggestion with `id` as `viewer` may see it (not deleted, community visible).
pub async fn find(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: Uuid,
) -> AppResult<Option<suggestion::Model>> {
    let mut query =
        suggestion::Entity::find_by_id(id).filter(suggestion::Column::DeletedAt.is_null());
    if let Some(visible) =
        communities::visible_condition(db, viewer, suggestion::Column::CommunityId)
    {
        query = query.filter(visible);
    }
    if let Some(shown) = shown_condition(db, viewer) {
        query = query.filter(shown);
    }
    Ok(query.one(db).await?)
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

/// The suggestions of `ids` that `viewer` may see (not deleted, community visible), for loaders.
pub async fn find_visible(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    ids: &[Uuid],
) -> AppResult<Vec<suggestion::Model>> {
    let mut query = suggestion::Entity::find()
        .filter(suggestion::Column::Id.is_in(ids.iter().copied()))
        .filter(suggestion::Column::DeletedAt.is_null());
    if let Some(visible) =
        communities::visible_condition(db, viewer, suggestion::Column::CommunityId)
    {
        query = query.filter(visible);
    }
    if let Some(shown) = shown_condition(db, viewer) {
        query = query.filter(shown);
    }
    Ok(query.all(db).await?)
}

/// Hidden suggestions are for their author and the community's moderators (see `reports`).
fn shown_condition(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
) -> Option<sea_orm::sea_query::SimpleExpr> {
    reports::visible_unless_hidden_condition(
        db,
        viewer,
        "\"suggestion\"",
        "\"suggestion\".\"community_id\"",
    )
}

/// Locks the suggestion row for this transaction and checks `viewer` may see it.
pub async fn lock_visible(
    txn: &DatabaseTransaction,
    viewer: &Viewer,
    id: Uuid,
) -> AppResult<suggestion::Model> {
    let found = lock(txn, id).await?;
    communities::require_visible(txn, viewer, found.community_id).await?;
    require_shown(txn, viewer, &found).await?;
    Ok(found)
}

/// A hidden suggestion is NOT_FOUND for all but its author and the community's moderators.
async fn require_shown(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    found: &suggestion::Model,
) -> AppResult<()> {
    if found.hidden_at.is_none()
        || viewer.user_id() == Some(found.author_id)
        || memberships::is_moderator(db, viewer, found.community_id).await?
    {
        return Ok(());
    }
    Err(AppError::not_found("suggestion"))
}

/// Like [`lock_visible`], for acting as a member (voting, commenting): the caller must be an
/// ACTIVE member of the suggestion's community (a hidden one is NOT_FOUND).
pub async fn lock_for_member(
    txn: &DatabaseTransaction,
    viewer: &Viewer,
    id: Uuid,
) -> AppResult<(suggestion::Model, UserViewer)> {
    let user_id = viewer.require_user()?.id;
    let Standing {
        found,
        community,
        membership,
        sanctioned,
    } = lock_with_standing(txn, id, user_id).await?;
    let member = memberships::judge_member(txn, viewer, &community, membership, sanctioned)
        .await
        .map_err(|e| match e {
            AppError::NotFound(_) => AppError::not_found("suggestion"),
            other => other,
        })?;
    require_shown(txn, viewer, &found).await?;
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

/// A locked suggestion with its community, and where a member acting on it stands there.
struct Standing {
    found: suggestion::Model,
    community: community::Model,
    membership: Option<membership::Model>,
    sanctioned: bool,
}

/// [`lock`], with the suggestion's community, `user_id`'s membership there and whether a
/// sanction runs against them (`sanctions::running`), read in the same statement. Only the
/// suggestion's row is locked (`FOR UPDATE OF`): the writers of one community must not queue on
/// its row. The membership is as the statement found it, as when it was read just after: no
/// lock orders it with the write either way.
async fn lock_with_standing(
    txn: &DatabaseTransaction,
    id: Uuid,
    user_id: Uuid,
) -> AppResult<Standing> {
    let mut select = suggestion::Entity::find_by_id(id)
        .select_also(community::Entity)
        .join(
            JoinType::InnerJoin,
            suggestion::Entity::belongs_to(community::Entity)
                .from(suggestion::Column::CommunityId)
                .to(community::Column::Id)
                .into(),
        );
    let in_community = || Expr::col((suggestion::Entity, suggestion::Column::CommunityId));
    let query = QueryTrait::query(&mut select);
    query.join(
        JoinType::LeftJoin,
        membership::Entity,
        Condition::all()
            .add(
                Expr::col((membership::Entity, membership::Column::CommunityId)).eq(in_community()),
            )
            .add(Expr::col((membership::Entity, membership::Column::UserId)).eq(user_id)),
    );
    for column in membership::Column::iter() {
        query.expr_as(
            Expr::col((membership::Entity, column)),
            format!("{MEMBERSHIP}{}", column.as_str()),
        );
    }
    query.expr_as(
        Expr::exists(sanctions::running(user_id, in_community())),
        "sanctioned",
    );
    query.lock_with_tables(LockType::Update, [suggestion::Entity]);
    let row = txn
        .query_one_raw(select.build(txn.get_database_backend()))
        .await?
        .ok_or_else(|| AppError::not_found("suggestion"))?;
    let found = suggestion::Model::from_query_result(&row, "A_")?;
    let community = community::Model::from_query_result_optional(&row, "B_")?;
    match community {
        Some(community) if found.deleted_at.is_none() => Ok(Standing {
            found,
            community,
            membership: membership::Model::from_query_result_optional(&row, MEMBERSHIP)?,
            sanctioned: row.try_get("", "sanctioned")?,
        }),
        _ => Err(AppError::not_found("suggestion")),
    }
}

/// The column prefix of the membership in [`lock_with_standing`]'s row (`select_also` names
/// the suggestion's `A_` and the community's `B_`).
const MEMBERSHIP: &str = "C_";

/// The live suggestion, locked, if there is one (for work the server does on its own, such as
/// a decision vote planning its winners).
pub async fn lock_live(
    txn: &DatabaseTransaction,
    id: Uuid,
) -> AppResult<Option<suggestion::Model>> {
    match lock(txn, id).await {
        Ok(found) => Ok(Some(found)),
        Err(AppError::NotFound(_)) => Ok(None),
        Err(err) => Err(err),
    }
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

/// The HOT key: `sign(score) · log10(max(|score|, 1)) + (created − 2023-11-14T22:13:20Z) / 45 000 s`,
/// scaled by 10⁶ and rounded. A suggestion needs ten times the score to stay level with one
/// 12.5 hours newer; the key depends only on score and age, so it is stored and indexed.
pub fn hot_rank(score: i32, created_at: DateTime<Utc>) -> i64 {
    let magnitude = f64::from(std::cmp::max(score.unsigned_abs(), 1)).log10();
    let sign = f64::from(score.signum());
    let age = (created_at.timestamp_millis() as f64 / 1000.0 - 1_700_000_000.0) / 45_000.0;
    ((sign * magnitude + age) * 1_000_000.0).round() as i64
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
        .map(|p| input::line("productLine", &p, 0, 100))
        .transpose()
        .map(|p| p.filter(|p| !p.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
