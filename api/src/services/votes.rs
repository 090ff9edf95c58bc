//! Votes: one per (user, suggestion) — UP, DOWN or NONE — with set semantics. The vote row and
//! the suggestion's counters change in one transaction under the suggestion's row lock, so the
//! counters always equal the rows, whatever the concurrency. On Postgres the vote, the counters
//! and the sort keys' history are written by one statement once the lock is held.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use entity::suggestion::{self, Status};
use entity::vote::{self, Value};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, EntityTrait,
    FromQueryResult, IdenStatic, Iterable, QueryFilter, Set, Statement,
};
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
    let (row, updated) = if txn.get_database_backend() == DatabaseBackend::Postgres {
        match put_and_tally(txn, &locked, voter.id, value, Utc::now()).await? {
            Some(changed) => changed,
            None => return Ok((locked, false)),
        }
    } else {
        let previous = find(txn, suggestion_id, voter.id)
            .await?
            .map_or(Value::None, |v| v.value);
        if previous == value {
            return Ok((locked, false));
        }
        let row = put(txn, suggestion_id, voter.id, value, Utc::now()).await?;
        let up = weight(value, Value::Up) - weight(previous, Value::Up);
        let down = weight(value, Value::Down) - weight(previous, Value::Down);
        (
            row,
            suggestions::apply_tally(txn, locked, up, down, 0).await?,
        )
    };
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

/// On Postgres, what [`find`], [`put`] and [`suggestions::apply_tally`] do, in one statement:
/// reads the previous vote, writes the new one unless it is the same, records the suggestion's
/// sort keys as they were in `tally_change`, and moves its counters and HOT key. Returns the vote
/// and the suggestion as written, or `None` when the vote was already `value`. The caller holds
/// the suggestion's row lock (`locked`), so no other vote on it is in flight, the statement's
/// snapshot holds every earlier one, and the score can only be `locked`'s: the HOT key is
/// computed here for each previous value the statement may find.
async fn put_and_tally(
    txn: &DatabaseTransaction,
    locked: &suggestion::Model,
    user_id: Uuid,
    value: Value,
    now: DateTime<Utc>,
) -> AppResult<Option<(vote::Model, suggestion::Model)>> {
    let hot_after = |previous: Value| {
        let score = locked.score + signed(value) - signed(previous);
        suggestions::hot_rank(score, locked.created_at)
    };
    let found = txn
        .query_one_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            PUT_AND_TALLY.as_str(),
            [
                locked.id.into(),
                user_id.into(),
                Uuid::now_v7().into(),
                value.to_value().into(),
                now.into(),
                hot_after(Value::Up).into(),
                hot_after(Value::Down).into(),
                hot_after(Value::None).into(),
            ],
        ))
        .await?;
    let Some(found) = found else {
        return Ok(None);
    };
    Ok(Some((
        vote::Model::from_query_result(&found, "vote_")?,
        suggestion::Model::from_query_result(&found, "")?,
    )))
}

/// The statement of [`put_and_tally`]: $1 suggestion, $2 voter, $3 a new vote's id, $4 the
/// value, $5 now, $6 / $7 / $8 the HOT key after a previous UP / DOWN / NONE.
static PUT_AND_TALLY: LazyLock<String> = LazyLock::new(|| {
    let suggestion_columns = suggestion::Column::iter()
        .map(|column| format!("s.{}", column.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let vote_columns = vote::Column::iter()
        .map(|column| format!("put.{0} AS vote_{0}", column.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "WITH previous AS ( \
             SELECT COALESCE((SELECT value FROM vote WHERE suggestion_id = $1 AND user_id = $2), \
                 'NONE') AS value), \
         put AS ( \
             INSERT INTO vote (id, suggestion_id, user_id, value, created_at, updated_at) \
             SELECT $3, $1, $2, $4, $5, $5 FROM previous WHERE previous.value <> $4 \
             ON CONFLICT (suggestion_id, user_id) \
             DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at \
             RETURNING *), \
         keys_before AS ( \
             INSERT INTO tally_change (suggestion_id, score_before, comments_before, \
                 hot_before, created, txid, created_at) \
             SELECT id, score, comment_count, hot_rank, FALSE, \
                 pg_current_xact_id()::text::bigint, $5 \
             FROM suggestion WHERE id = $1 AND EXISTS (SELECT 1 FROM put)), \
         tallied AS ( \
             UPDATE suggestion AS s SET \
                 upvotes = s.upvotes + ($4 = 'UP')::int - (previous.value = 'UP')::int, \
                 downvotes = s.downvotes + ($4 = 'DOWN')::int - (previous.value = 'DOWN')::int, \
                 score = s.score + ($4 = 'UP')::int - ($4 = 'DOWN')::int \
                     - (previous.value = 'UP')::int + (previous.value = 'DOWN')::int, \
                 hot_rank = CASE previous.value WHEN 'UP' THEN $6 WHEN 'DOWN' THEN $7 \
                     ELSE $8 END \
             FROM previous WHERE s.id = $1 AND EXISTS (SELECT 1 FROM put) \
             RETURNING {suggestion_columns}) \
         SELECT tallied.*, {vote_columns} FROM tallied, put"
    )
});

/// A value's part in the score: UP +1, DOWN −1, NONE 0.
fn signed(value: Value) -> i32 {
    weight(value, Value::Up) - weight(value, Value::Down)
}

fn weight(value: Value, counted: Value) -> i32 {
    i32::from(value == counted)
}
