//! Database connection and transactions, for SQLite and Postgres alike.
//!
//! The backend is chosen by the URL scheme alone. SQLite runs in WAL mode with foreign keys on,
//! `synchronous=FULL` (an acknowledged commit survives a power cut) and a busy timeout, and
//! every write transaction takes the write lock at `BEGIN IMMEDIATE`, so concurrent writers
//! queue instead of failing with "database is locked". On Postgres a probe asks the database
//! every 250 ms ([`Health`]): while it does not answer, requests are UNAVAILABLE at once, and
//! those under way are stopped and answered so, instead of waiting for the pool.

use std::time::Duration;

use migration::MigratorTrait;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

/// How long a SQLite writer waits for the write lock before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a request may wait for a pooled connection under load (a hot row's writers queue).
/// A database that is down is told by [`Health`] long before this runs out.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the health probe asks Postgres, and how long it waits for an answer.
const PROBE_EVERY: Duration = Duration::from_millis(250);
const PROBE_WAIT: Duration = Duration::from_millis(400);

/// Opens a pool for `url` with `max_connections`. On Postgres every statement is stopped after
/// `statement_timeout` when one is given (the request time limit's backstop in the database).
pub async fn connect(
    url: &str,
    max_connections: u32,
    statement_timeout: Option<Duration>,
) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_string());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                // A commit is on disk before it is acknowledged: a power cut after a vote was
                // answered must not lose it (nor a sync seq a device has seen).
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
        });
    if let Some(timeout) = statement_timeout {
        let value = format!("{}ms", timeout.as_millis());
        options.map_sqlx_postgres_opts(move |opts| opts.options([("statement_timeout", &value)]));
    }
    Database::connect(options).await
}

/// The Postgres advisory lock migrations run under (any fixed number of our own).
const MIGRATION_LOCK: i64 = 0x6361_6e79_7500;

/// Brings the schema up to date (idempotent). On Postgres it holds an advisory lock while it
/// does, so replicas starting at once migrate one after the other — the first does the work,
/// the others find nothing left. Call it on a pool of one connection, which the lock is held on.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        return migration::Migrator::up(db, None).await;
    }
    db.execute_unprepared(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
        .await?;
    let migrated = migration::Migrator::up(db, None).await;
    let unlocked = db
        .execute_unprepared(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
        .await;
    migrated.and(unlocked.map(|_| ()))
}

/// Starts a write transaction: `BEGIN IMMEDIATE` on SQLite, READ COMMITTED on Postgres.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// Writes a consistent copy of the SQLite database to the new file `path` while the server
/// keeps writing (`VACUUM INTO`: one read transaction's snapshot, compacted). A Postgres
/// deployment is backed up with Postgres' own tools (the README says how).
pub async fn backup(db: &DatabaseConnection, path: &str) -> Result<(), DbErr> {
    if db.get_database_backend() != DatabaseBackend::Sqlite {
        return Err(DbErr::Custom(
            "backup copies the embedded SQLite database; back up Postgres with pg_dump or base \
             backups"
                .into(),
        ));
    }
    if std::path::Path::new(path).exists() {
        return Err(DbErr::Custom(format!("{path} exists; give a new file")));
    }
    db.execute_unprepared(&format!("VACUUM INTO '{}'", path.replace('\'', "''")))
        .await
        .map(|_| ())
}

/// Whether the database answers, as a probe last found: requests refuse at once while it does
/// not (instead of queueing for a pool that cannot connect), and stop when it goes away.
#[derive(Clone)]
pub struct Health {
    up: tokio::sync::watch::Sender<bool>,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            up: tokio::sync::watch::Sender::new(true),
        }
    }
}

impl Health {
    /// Whether the database answered the last probe.
    pub fn is_up(&self) -> bool {
        *self.up.borrow()
    }

    /// Resolves when the database stops answering (at once if it is down now).
    pub async fn down(&self) {
        let mut watch = self.up.subscribe();
        let _ = watch.wait_for(|up| !*up).await;
    }

    /// Probes Postgres at `url` every 250 ms on a connection of its own (SQLite, a file beside
    /// the process, is never down), recording each change and logging it.
    pub fn watch(&self, url: &str) {
        if url.starts_with("sqlite:") {
            return;
        }
        let health = self.clone();
        let url = url.to_string();
        tokio::spawn(async move {
            let mut probe: Option<DatabaseConnection> = None;
            loop {
                if probe.is_none() {
                    probe = tokio::time::timeout(PROBE_WAIT, connect_probe(&url))
                        .await
                        .ok()
                        .and_then(Result::ok);
                }
                let answered = match &probe {
                    Some(db) => {
                        matches!(tokio::time::timeout(PROBE_WAIT, ping(db)).await, Ok(Ok(())))
                    }
                    None => false,
                };
                if !answered {
                    probe = None;
                }
                let was = health.up.send_replace(answered);
                if was != answered {
                    if answered {
                        tracing::info!("the database answers again");
                    } else {
                        tracing::warn!("the database does not answer; requests are UNAVAILABLE");
                    }
                }
                tokio::time::sleep(PROBE_EVERY).await;
            }
        });
    }
}

async fn connect_probe(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_string());
    options
        .max_connections(1)
        .min_connections(0)
        .connect_timeout(PROBE_WAIT)
        .acquire_timeout(PROBE_WAIT)
        .sqlx_logging(false);
    Database::connect(options).await
}

/// Checks that the database answers a trivial query.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}

/// Connections in use and idle, for `/metrics`.
pub fn pool_usage(db: &DatabaseConnection) -> (u32, usize) {
    match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        DatabaseBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => (0, 0),
    }
}

/// Rewrites `$n` placeholders to SQLite's `?n`; Postgres keeps them.
pub fn placeholders(backend: DatabaseBackend, sql: &str) -> String {
    if backend == DatabaseBackend::Postgres {
        return sql.to_string();
    }
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}
