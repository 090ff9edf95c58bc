//! Where a write's `seq` comes from, and how far a pull may read.
//!
//! - **SQLite** serialises writers on its database lock: a write takes
//!   `UPDATE sync_counter SET seq = seq + 1 RETURNING seq` as its last statement, and the head a
//!   pull may read through is the counter's `seq` in its snapshot.
//! - **Postgres** takes no shared lock: a write's seq is its transaction id plus the counter's
//!   `xid_offset`. A pull's snapshot S says which transaction ids may still commit: every id below
//!   `pg_snapshot_xmin(S)` has ended, and every id assigned later is at least
//!   `pg_snapshot_xmax(S)`. So a pull reads through the id just below the oldest transaction of
//!   *this* database still open in S (or below `xmax` when there is none): no row can ever appear
//!   below that. Transactions of other databases of the cluster are recognised by their backend
//!   (`pg_stat_get_activity`, read after S) and do not hold it back; one whose backend has ended
//!   by then holds it back, which is only ever late, never wrong.
//!
//! docs/sync.md ("Commit order") gives the argument in full.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction, Statement,
    TransactionTrait, Value,
};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// How far a pull's snapshot may be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Every change at or below this seq is committed and visible in the snapshot, and no
    /// change at or below it can appear later.
    pub through: i64,
    /// No seq handed out so far is above this one (a cursor beyond it comes from another
    /// timeline of the database, e.g. a restored copy). Equal to `through` on SQLite.
    pub upper: i64,
}

impl Head {
    /// Whether a transaction still open holds the head below changes already committed.
    pub fn held_back(&self) -> bool {
        self.through < self.upper
    }
}

/// The seq of the write transaction `txn`: on SQLite the counter's next value (the row stays
/// locked until `txn` ends, so the caller takes it last); on Postgres its transaction id plus the
/// offset, wherever in the transaction it is asked.
pub async fn next_seq(txn: &DatabaseTransaction) -> AppResult<i64> {
    let sql = match txn.get_database_backend() {
        DatabaseBackend::Postgres => format!("SELECT {POSTGRES_SEQ} AS seq"),
        _ => "UPDATE sync_counter SET seq = seq + 1 WHERE id = 1 RETURNING seq".to_string(),
    };
    let row = txn
        .query_one_raw(Statement::from_string(txn.get_database_backend(), sql))
        .await?
        .ok_or_else(|| AppError::internal("sync_counter row missing"))?;
    row.try_get::<Option<i64>>("", "seq")?
        .ok_or_else(not_set_up)
}

/// A Postgres write's seq as an SQL expression: its transaction id plus the offset.
const POSTGRES_SEQ: &str =
    "(SELECT pg_current_xact_id()::text::bigint + xid_offset FROM sync_counter WHERE id = 1)";

/// [`next_seq`] on Postgres as an expression, for a statement that writes the seq as it takes it
/// (the change index's first insert).
pub(super) fn seq_expression() -> Expr {
    Expr::cust(POSTGRES_SEQ)
}

/// The head of a pull's snapshot `txn`, whose counter row read `counter_seq`. On Postgres this
/// must run in the pull's REPEATABLE READ transaction.
pub async fn head(txn: &DatabaseTransaction, counter_seq: i64) -> AppResult<Head> {
    if txn.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(Head {
            through: counter_seq,
            upper: counter_seq,
        });
    }
    // `open`: the snapshot's open transaction ids. Those whose backend is connected to another
    // database are left out; the oldest of the rest (or xmax) bounds the head. xid8 values carry
    // an epoch above the low 32 bits that `backend_xid` holds.
    let sql = "WITH snapshot AS (SELECT pg_current_snapshot() AS s), \
         open AS (SELECT x::text::bigint AS x FROM snapshot, pg_snapshot_xip(snapshot.s) AS x), \
         here AS (SELECT oid FROM pg_database WHERE datname = current_database()) \
         SELECT (SELECT pg_snapshot_xmax(s)::text::bigint FROM snapshot) AS xmax, \
                (SELECT MIN(open.x) FROM open WHERE NOT EXISTS ( \
                    SELECT 1 FROM pg_stat_get_activity(NULL) AS a, here \
                    WHERE a.backend_xid::text::bigint = open.x % 4294967296 \
                      AND a.datid IS NOT NULL AND a.datid <> here.oid)) AS held, \
                c.xid_offset \
         FROM sync_counter AS c WHERE c.id = 1";
    let row = txn
        .query_one_raw(Statement::from_string(DatabaseBackend::Postgres, sql))
        .await?
        .ok_or_else(|| AppError::internal("sync_counter row missing"))?;
    let xmax: i64 = row.try_get("", "xmax")?;
    let held: Option<i64> = row.try_get("", "held")?;
    let offset: i64 = row
        .try_get::<Option<i64>>("", "xid_offset")?
        .ok_or_else(not_set_up)?;
    Ok(Head {
        through: held.unwrap_or(xmax) - 1 + offset,
        upper: xmax - 1 + offset,
    })
}

/// The counter row of a Postgres database whose start-up never ran [`prepare`].
pub(super) fn not_set_up() -> AppError {
    AppError::internal("the sync order is not set up (xid_offset is NULL)")
}

/// Sets up the Postgres order at start-up. The offset is set once, so that every new seq is
/// above every stored one, and remembered with where it was set: the cluster's system
/// identifier and the database's oid. A database found anywhere else is a copy — restored from
/// a dump, made from a template, or moved to an upgraded cluster — whose transaction ids are not
/// those its devices saw, and whose changes may be older than theirs: it gets a new offset and a
/// new epoch, so every device resets (keeping its outbox). Concurrent start-ups of several
/// replicas set it once (the row lock makes the later ones find it set). Nothing on SQLite.
pub async fn prepare(db: &DatabaseConnection) -> AppResult<()> {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    let origin = "(SELECT system_identifier::text FROM pg_control_system()) || '/' || \
         (SELECT oid::text FROM pg_database WHERE datname = current_database())";
    let txn = db.begin().await?;
    txn.execute_raw(Statement::from_sql_and_values(
        DatabaseBackend::Postgres,
        format!(
            "UPDATE sync_counter SET \
                 xid_offset = GREATEST(seq, horizon_seq, \
                     (SELECT COALESCE(MAX(seq), 0) FROM sync_entity), \
                     (SELECT COALESCE(MAX(last_mutation_seq), 0) FROM sync_client), \
                     (SELECT COALESCE(MAX(seq), 0) FROM sync_field_version)) \
                     + 1 - pg_current_xact_id()::text::bigint, \
                 epoch = CASE WHEN xid_origin IS NULL THEN epoch ELSE $1 END, \
                 xid_origin = {origin} \
             WHERE id = 1 AND xid_origin IS DISTINCT FROM {origin}"
        ),
        [Value::from(Uuid::new_v4().to_string())],
    ))
    .await?;
    txn.commit().await?;
    Ok(())
}
