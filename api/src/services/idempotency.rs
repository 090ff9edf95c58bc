//! Idempotent creates. A create may carry a key its caller chose — an offline device's
//! client-made id, a retried request's, a partner's `externalId` — and then the same input
//! again returns what the first call stored and writes nothing, while another input under a
//! used key is CONFLICT. Two calls racing with one key end the same way: the first to commit
//! creates the row, the other gets the replay or CONFLICT, never a unique violation.

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, IntoActiveModel,
    SqlErr, TransactionTrait, TryInsertResult,
};

use crate::error::{AppError, AppResult};

/// What [`create_once`] did.
#[derive(Debug)]
pub enum Created<M, T> {
    /// The row is new: the caller goes on with the rest of the create.
    New(M),
    /// The key was used before with the same input: what was stored then.
    Replayed(T),
}

/// Inserts `row` unless its `key` columns are taken. When they are, `stored` reads what holds
/// the key and `same` decides: the stored value as a replay, or CONFLICT with `conflict`.
/// `stored` may itself refuse a stored value (e.g. a deleted row whose id is never reused).
///
/// On Postgres a racing insert of the same key waits for the other transaction and inserts
/// nothing (`ON CONFLICT DO NOTHING`), and the read after it, at READ COMMITTED, sees the row
/// the other committed. A violation of another unique constraint is CONFLICT with `taken`
/// when the table has one the caller can name, else an internal error. With such a constraint
/// the insert runs in a savepoint: a racer with the same key and the same value in that other
/// column can trip over it before it sees the key taken (Postgres checks the other index
/// against the uncommitted row, then raises its violation once that row commits), and the
/// savepoint lets the create read the committed row and answer the replay after all.
pub async fn create_once<E, T, Fut>(
    txn: &DatabaseTransaction,
    row: E::ActiveModel,
    key: impl IntoIterator<Item = E::Column>,
    stored: impl Fn() -> Fut,
    same: impl Fn(&T) -> bool,
    conflict: &str,
    taken: Option<&str>,
) -> AppResult<Created<E::Model, T>>
where
    E: EntityTrait,
    E::ActiveModel: ActiveModelTrait<Entity = E>,
    E::Model: IntoActiveModel<E::ActiveModel>,
    Fut: Future<Output = AppResult<Option<T>>>,
{
    // Reading first keeps a replay from tripping over the table's other unique constraints.
    if let Some(found) = replay(stored().await?, &same, conflict)? {
        return Ok(Created::Replayed(found));
    }
    let inserted = match taken {
        None => insert::<E>(txn, row, key).await,
        Some(_) => {
            let attempt = txn.begin().await?;
            let inserted = insert::<E>(&attempt, row, key).await;
            match inserted {
                Ok(_) => attempt.commit().await?,
                Err(_) => attempt.rollback().await?,
            }
            inserted
        }
    };
    match inserted {
        Ok(TryInsertResult::Inserted(model)) => Ok(Created::New(model)),
        // `DO NOTHING` returns no row; sea-orm reports that as a record it cannot find.
        Ok(TryInsertResult::Conflicted | TryInsertResult::Empty)
        | Err(DbErr::RecordNotFound(_)) => match replay(stored().await?, &same, conflict)? {
            Some(found) => Ok(Created::Replayed(found)),
            None => Err(AppError::internal(
                "an idempotent create conflicted with a row it cannot read",
            )),
        },
        Err(err) => match (err.sql_err(), taken) {
            (Some(SqlErr::UniqueConstraintViolation(_)), Some(message)) => {
                match replay(stored().await?, &same, conflict)? {
                    Some(found) => Ok(Created::Replayed(found)),
                    None => Err(AppError::Conflict(message.to_string())),
                }
            }
            _ => Err(err.into()),
        },
    }
}

/// `INSERT … ON CONFLICT (key) DO NOTHING RETURNING *`.
async fn insert<E>(
    db: &impl ConnectionTrait,
    row: E::ActiveModel,
    key: impl IntoIterator<Item = E::Column>,
) -> Result<TryInsertResult<E::Model>, DbErr>
where
    E: EntityTrait,
    E::ActiveModel: ActiveModelTrait<Entity = E>,
    E::Model: IntoActiveModel<E::ActiveModel>,
{
    E::insert(row)
        .on_conflict(OnConflict::columns(key).do_nothing().to_owned())
        .try_insert()
        .exec_with_returning(db)
        .await
}

/// The decision of an idempotent create on what holds its key: nothing (`None`: go on and
/// create), the same input (the stored value, a replay), or another input (CONFLICT with
/// `conflict`). [`create_once`] asks it; a create that must answer a replay before checks a
/// replay would fail (a reward overlapping itself) asks it first.
pub fn replay<T>(
    stored: Option<T>,
    same: impl Fn(&T) -> bool,
    conflict: &str,
) -> AppResult<Option<T>> {
    match stored {
        Some(found) if same(&found) => Ok(Some(found)),
        Some(_) => Err(AppError::Conflict(conflict.to_string())),
        None => Ok(None),
    }
}
