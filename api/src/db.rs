//! Database connection and transactions, for SQLite and Postgres alike.
//!
//! The backend is chosen by the URL scheme alone. SQLite runs in WAL mode with foreign keys on,
//! `synchronous=FULL` (an acknowledged commit survives a power cut) and a busy timeout, and
//! every write transaction takes the write lock at `BEGIN IMMEDIATE`, so concurrent writers
//! queue instead of failing with "database is locked" — first on this process's turn to write,
//! then on the lock itself against other processes — and the writers that queue meanwhile
//! share one commit ([`WriteTransaction`]). On Postgres a probe asks the database
//! every 250 ms ([`Health`]): while it refuses, requests are UNAVAILABLE at once, and those
//! under way are stopped and answered so, instead of waiting for the pool.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use migration::MigratorTrait;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, DbErr, ExecResult, QueryResult, SqliteTransactionMode, Statement,
    TransactionOptions, TransactionTrait,
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
/// `statement_timeout` when one is given (the request time limit's backstop in the database),
/// and a transaction left idle as long is ended (`idle_in_transaction_session_timeout`): an
/// open write holds every pull's head back (`changes::order`), so an abandoned one must not
/// last.
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
        options.map_sqlx_postgres_opts(move |opts| {
            opts.options([
                ("statement_timeout", &value),
                ("idle_in_transaction_session_timeout", &value),
            ])
        });
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

/// Starts a write transaction: READ COMMITTED on Postgres; on SQLite a savepoint of the
/// database file's open batch, once this process's earlier writers of that file are done (see
/// [`WriteTransaction`]).
pub async fn begin_write(db: &DatabaseConnection) -> Result<WriteTransaction, DbErr> {
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    };
    if db.get_database_backend() != DatabaseBackend::Sqlite {
        let txn = db.begin_with_options(options).await?;
        return Ok(WriteTransaction { txn, turn: None });
    }
    let gate = write_gate(db);
    let mut batch = gate.take_turn().await?;
    let txn = match batch.open.as_ref() {
        Some(open) => open.begin().await,
        None => {
            let open = db.begin_with_options(options).await?;
            let txn = open.begin().await;
            batch.open = Some(open);
            batch.opened = Instant::now();
            txn
        }
    };
    let turn = Turn {
        gate,
        batch: Some(batch),
    };
    Ok(WriteTransaction {
        txn: txn?,
        turn: Some(turn),
    })
}

/// A write transaction from [`begin_write`]; it derefs to the transaction.
///
/// **On SQLite, writes are committed in groups.** SQLite lets one writer in at a time, and
/// with `synchronous=FULL` each commit waits for the disk. So the writers of one database file
/// queue for their turn in this process, first come first served; `BEGIN IMMEDIATE` and its
/// busy timeout still guard against other processes (`canyu backup`, the command line). The
/// first writer opens a transaction (the *batch*), and each writer does its work in a savepoint
/// of it. A writer that commits while others wait for the turn releases its savepoint, hands
/// the turn on and waits: the last of the batch, or the one that finds it full
/// ([`BATCH_WRITES`], [`BATCH_AGE`]), commits it once for all. Each writer is answered only once
/// the batch is on disk, and every writer of a batch that fails to commit gets the error. A
/// writer that fails or rolls back undoes its own savepoint only. A writer that answers with
/// rows it only read ends with [`answer`](Self::answer), not by dropping the transaction.
pub struct WriteTransaction {
    // Declared first, so dropped first: an abandoned savepoint is rolled back before the turn
    // it was written under is handed on.
    txn: DatabaseTransaction,
    turn: Option<Turn>,
}

/// The most writes one SQLite commit carries, and the longest the first of them waits for it:
/// each write of a batch is answered only when the batch commits.
const BATCH_WRITES: usize = 64;
const BATCH_AGE: Duration = Duration::from_millis(10);

impl WriteTransaction {
    /// Commits, and returns once the write is durable (on SQLite with its batch).
    pub async fn commit(self) -> Result<(), DbErr> {
        let WriteTransaction { txn, turn } = self;
        let Some(mut turn) = turn else {
            return txn.commit().await;
        };
        txn.commit().await?;
        let durable = turn.join();
        if turn.should_commit() {
            turn.commit_batch().await;
        }
        drop(turn);
        match durable.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(reason)) => Err(DbErr::Custom(format!(
                "the write's batch failed to commit: {reason}"
            ))),
            Err(_) => Err(DbErr::Custom(
                "the write's batch was abandoned before it committed".into(),
            )),
        }
    }

    /// Ends a write that wrote nothing and returns `read` once what it read is durable (an
    /// idempotent replay's stored row): on SQLite rows read in the open batch may be another
    /// writer's, which nobody outside the batch sees — and which may yet fail to commit — until
    /// the batch commits.
    pub async fn answer<T>(self, read: T) -> Result<T, DbErr> {
        self.commit().await.map(|()| read)
    }

    /// Rolls back (on SQLite the savepoint), then hands the turn on.
    pub async fn rollback(self) -> Result<(), DbErr> {
        let WriteTransaction { txn, turn } = self;
        let rolled_back = txn.rollback().await;
        if let Some(mut turn) = turn
            && turn.should_commit()
        {
            turn.commit_batch().await;
        }
        rolled_back
    }
}

/// Every statement goes to the transaction.
#[async_trait::async_trait]
impl ConnectionTrait for WriteTransaction {
    fn get_database_backend(&self) -> DatabaseBackend {
        self.txn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.txn.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.txn.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.txn.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.txn.query_all_raw(stmt).await
    }
}

impl std::ops::Deref for WriteTransaction {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

/// What `commit` answers each writer of a batch: the batch's commit, or why it failed.
type Durable = tokio::sync::oneshot::Receiver<Result<(), String>>;

/// One SQLite database file's writers in this process: the turn to write (which holds the open
/// batch) and how many wait for it.
struct Gate {
    batch: Arc<tokio::sync::Mutex<Batch>>,
    queued: AtomicUsize,
    commits: AtomicU64,
    writes: AtomicU64,
}

/// The open transaction of a batch and the writers waiting for it to commit.
struct Batch {
    open: Option<DatabaseTransaction>,
    opened: Instant,
    waiting: Vec<tokio::sync::oneshot::Sender<Result<(), String>>>,
}

impl Gate {
    /// Waits for the turn, first come first served, for up to the busy timeout.
    async fn take_turn(self: &Arc<Self>) -> Result<tokio::sync::OwnedMutexGuard<Batch>, DbErr> {
        let queued = Queued::new(self);
        let turn = self.lock_batch().await?;
        queued.served();
        Ok(turn)
    }

    /// The turn, uncounted, within the busy timeout.
    async fn lock_batch(&self) -> Result<tokio::sync::OwnedMutexGuard<Batch>, DbErr> {
        tokio::time::timeout(SQLITE_BUSY_TIMEOUT, self.batch.clone().lock_owned())
            .await
            .map_err(|_| {
                DbErr::Custom(format!(
                    "the database is locked: no turn to write within {} s",
                    SQLITE_BUSY_TIMEOUT.as_secs()
                ))
            })
    }

    /// Commits the open batch, if any, and answers its writers.
    async fn commit(&self, batch: &mut Batch) {
        let Some(open) = batch.open.take() else {
            return;
        };
        let committed = open.commit().await.map_err(|err| err.to_string());
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.writes
            .fetch_add(batch.waiting.len() as u64, Ordering::Relaxed);
        for writer in batch.waiting.drain(..) {
            let _ = writer.send(committed.clone());
        }
    }

    /// Takes the turn (uncounted, so a writer finishing meanwhile commits by itself) and
    /// commits what is left open unless others wait to go on with it: for a batch whose next
    /// writer gave up.
    async fn settle(self: Arc<Self>) {
        if let Ok(mut batch) = self.lock_batch().await
            && self.queued.load(Ordering::SeqCst) == 0
        {
            self.commit(&mut batch).await;
        }
    }
}

/// A writer waiting for the turn, counted while it waits. One that gives up (timed out, or its
/// request dropped) may leave a batch that counted on it to go on: the batch is then settled.
struct Queued<'a> {
    gate: &'a Arc<Gate>,
    served: bool,
}

impl<'a> Queued<'a> {
    fn new(gate: &'a Arc<Gate>) -> Self {
        gate.queued.fetch_add(1, Ordering::SeqCst);
        Queued {
            gate,
            served: false,
        }
    }

    fn served(mut self) {
        self.served = true;
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.gate.queued.fetch_sub(1, Ordering::SeqCst);
        if !self.served
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(self.gate.clone().settle());
        }
    }
}

/// A writer's turn, holding the batch.
struct Turn {
    gate: Arc<Gate>,
    batch: Option<tokio::sync::OwnedMutexGuard<Batch>>,
}

impl Turn {
    /// Joins the batch: the answer comes when it commits.
    fn join(&mut self) -> Durable {
        let (done, durable) = tokio::sync::oneshot::channel();
        if let Some(batch) = self.batch.as_mut() {
            batch.waiting.push(done);
        }
        durable
    }

    /// Whether this writer commits the batch: nobody waits to go on with it, or it is full.
    fn should_commit(&self) -> bool {
        self.batch.as_ref().is_some_and(|batch| {
            self.gate.queued.load(Ordering::SeqCst) == 0
                || batch.waiting.len() >= BATCH_WRITES
                || batch.opened.elapsed() >= BATCH_AGE
        })
    }

    async fn commit_batch(&mut self) {
        if let Some(batch) = self.batch.as_mut() {
            self.gate.commit(batch).await;
        }
    }
}

impl Drop for Turn {
    /// A turn handed on with its batch open, when nobody waits to go on with it (a failed
    /// write was last): an empty batch is rolled back, one with writers waiting is committed.
    fn drop(&mut self) {
        let Some(mut batch) = self.batch.take() else {
            return;
        };
        if batch.open.is_none() || self.gate.queued.load(Ordering::SeqCst) > 0 {
            return;
        }
        if batch.waiting.is_empty() {
            batch.open = None;
            return;
        }
        let gate = self.gate.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { gate.commit(&mut batch).await });
        }
    }
}

/// How many SQLite commits this process made to `db`'s file, and how many writes they carried.
pub fn commit_counts(db: &DatabaseConnection) -> Option<(u64, u64)> {
    if db.get_database_backend() != DatabaseBackend::Sqlite {
        return None;
    }
    let gate = write_gate(db);
    Some((
        gate.commits.load(Ordering::Relaxed),
        gate.writes.load(Ordering::Relaxed),
    ))
}

/// The writers of `db`'s SQLite file in this process: one gate per file, shared by every pool
/// opened on it (a test's replicas share one file).
fn write_gate(db: &DatabaseConnection) -> Arc<Gate> {
    static GATES: std::sync::LazyLock<std::sync::Mutex<HashMap<std::path::PathBuf, Arc<Gate>>>> =
        std::sync::LazyLock::new(Default::default);
    let file = db
        .get_sqlite_connection_pool()
        .connect_options()
        .get_filename()
        .to_path_buf();
    let mut gates = GATES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    gates
        .entry(file)
        .or_insert_with(|| {
            Arc::new(Gate {
                batch: Arc::new(tokio::sync::Mutex::new(Batch {
                    open: None,
                    opened: Instant::now(),
                    waiting: Vec::new(),
                })),
                queued: AtomicUsize::new(0),
                commits: AtomicU64::new(0),
                writes: AtomicU64::new(0),
            })
        })
        .clone()
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
    up: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            up: Arc::new(tokio::sync::watch::Sender::new(true)),
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

    /// Probes Postgres at `url` every 250 ms on a connection and a thread of its own (SQLite, a
    /// file beside the process, is never down), recording each change and logging it. A probe
    /// that fails (refused, reset, closed, starting up) marks the database down at once; one
    /// that goes unanswered changes nothing, so a server busy enough to delay its probe does
    /// not refuse its own requests. The probe ends (closing its connection) once the last
    /// holder of this `Health` drops it.
    pub fn watch(&self, url: &str) -> std::io::Result<()> {
        if url.starts_with("sqlite:") {
            return Ok(());
        }
        let up = Arc::downgrade(&self.up);
        let url = url.to_string();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("canyu-db-probe".into())
            .spawn(move || runtime.block_on(Self::probe_while_held(up, &url)))?;
        Ok(())
    }

    async fn probe_while_held(up: Weak<tokio::sync::watch::Sender<bool>>, url: &str) {
        use sea_orm::sqlx::Connection;
        let mut probe: Option<sea_orm::sqlx::PgConnection> = None;
        loop {
            // A bare connection, not a pool: a pool's own time-outs would read as a refusal.
            let outcome = match probe.as_mut() {
                Some(connection) => tokio::time::timeout(PROBE_WAIT, connection.ping()).await,
                None => tokio::time::timeout(PROBE_WAIT, sea_orm::sqlx::PgConnection::connect(url))
                    .await
                    .map(|connected| connected.map(|connection| probe = Some(connection))),
            };
            let (answered, reason) = match outcome {
                Ok(Ok(())) => (Some(true), String::new()),
                Ok(Err(err)) => {
                    probe = None;
                    (Some(false), err.to_string())
                }
                // Unanswered is not refused: a saturated machine delays the answer by seconds
                // (seen here: 1.5 s for `SELECT 1` while the CPUs were busy serving), and
                // refusing every request then would turn load into an outage. A database that
                // hangs is met by the request time limit instead.
                Err(_) => {
                    probe = None;
                    (None, String::new())
                }
            };
            // Nobody holds the state any more (the server stopped): the probe stops too.
            let Some(up) = up.upgrade() else {
                return;
            };
            let answered = answered.unwrap_or(*up.borrow());
            let was = up.send_replace(answered);
            if was != answered {
                if answered {
                    tracing::info!("the database answers again");
                } else {
                    tracing::warn!(%reason, "the database does not answer; requests are UNAVAILABLE");
                }
            }
            drop(up);
            tokio::time::sleep(PROBE_EVERY).await;
        }
    }
}

/// What the database holds, as a token: two equal tokens read at two moments mean nothing was
/// committed in between, by this process or any other. Postgres answers its current snapshot
/// (`pg_current_snapshot()`: the same horizon and the same transactions in flight mean the same
/// committed transactions are visible; any transaction that writes moves it, in any database of
/// the cluster). SQLite answers `PRAGMA data_version` on a connection of the token's own, which
/// never writes: SQLite changes it whenever another connection commits. An in-memory SQLite
/// database, private to its one pool, has no token.
pub struct StateToken {
    url: String,
    /// SQLite's watching connection (opened at the first read) and how many times it has been
    /// opened: a reopened connection counts its versions afresh, so they are told apart.
    sqlite: tokio::sync::Mutex<(u64, Option<sea_orm::sqlx::SqliteConnection>)>,
}

impl StateToken {
    /// The token source of the database at `url`.
    pub fn new(url: &str) -> Self {
        StateToken {
            url: url.to_string(),
            sqlite: tokio::sync::Mutex::new((0, None)),
        }
    }

    /// The token now, or `None` when this database has none.
    pub async fn read(&self, db: &DatabaseConnection) -> Result<Option<String>, DbErr> {
        match db.get_database_backend() {
            DatabaseBackend::Postgres => {
                let row = db
                    .query_one_raw(sea_orm::Statement::from_string(
                        DatabaseBackend::Postgres,
                        "SELECT pg_current_snapshot()::text AS token",
                    ))
                    .await?;
                row.map(|row| row.try_get::<String>("", "token"))
                    .transpose()
            }
            DatabaseBackend::Sqlite => self.sqlite_version().await,
            _ => Ok(None),
        }
    }

    async fn sqlite_version(&self) -> Result<Option<String>, DbErr> {
        use sea_orm::sqlx::{ConnectOptions as _, Row as _};
        if self.url.contains(":memory:") || self.url.contains("mode=memory") {
            return Ok(None);
        }
        let mut watching = self.sqlite.lock().await;
        let (opened, connection) = &mut *watching;
        if connection.is_none() {
            let options: sea_orm::sqlx::sqlite::SqliteConnectOptions = self
                .url
                .parse()
                .map_err(|e: sea_orm::sqlx::Error| custom(&e))?;
            *connection = Some(options.connect().await.map_err(|e| custom(&e))?);
            *opened += 1;
        }
        let Some(open) = connection.as_mut() else {
            return Ok(None);
        };
        let version = sea_orm::sqlx::query("PRAGMA data_version")
            .fetch_one(&mut *open)
            .await
            .and_then(|row| row.try_get::<i64, _>(0));
        match version {
            Ok(version) => Ok(Some(format!("{opened}:{version}"))),
            Err(err) => {
                *connection = None;
                Err(custom(&err))
            }
        }
    }
}

fn custom(err: &sea_orm::sqlx::Error) -> DbErr {
    DbErr::Custom(err.to_string())
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Health;

    async fn wait_down(health: &Health, within: Duration) -> bool {
        tokio::time::timeout(within, health.down()).await.is_ok()
    }

    /// A database that accepts connections but does not answer (as one starved of CPU) is not
    /// marked down by the probe: the request time limit deals with one that really hangs.
    #[tokio::test]
    async fn a_silent_database_is_not_marked_down() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let _silent = std::thread::spawn(move || {
            let held: Vec<_> = listener.incoming().collect();
            drop(held);
        });
        let health = Health::default();
        health
            .watch(&format!("postgres://canyu@127.0.0.1:{port}/canyu"))
            .expect("probe");
        assert!(
            !wait_down(&health, Duration::from_millis(1500)).await,
            "unanswered probes (three in this time) must not mark the database down"
        );
    }

    /// A refused connection marks the database down at its first probe.
    #[tokio::test]
    async fn a_refusing_database_is_down_at_once() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.local_addr().expect("address").port()
        };
        let health = Health::default();
        health
            .watch(&format!("postgres://canyu@127.0.0.1:{port}/canyu"))
            .expect("probe");
        assert!(wait_down(&health, Duration::from_millis(900)).await);
    }

    /// Once the server's state is dropped the probe stops knocking: a stopped server (a test's,
    /// whose database was dropped) must not keep opening connections for ever.
    #[tokio::test]
    async fn the_probe_stops_with_the_last_holder() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let knocks = std::sync::Arc::new(AtomicUsize::new(0));
        let counted = knocks.clone();
        std::thread::spawn(move || {
            for connection in listener.incoming() {
                counted.fetch_add(1, Ordering::SeqCst);
                drop(connection);
            }
        });
        let health = Health::default();
        health
            .watch(&format!("postgres://canyu@127.0.0.1:{port}/canyu"))
            .expect("probe");
        assert!(wait_down(&health, Duration::from_millis(900)).await);
        drop(health);
        tokio::time::sleep(Duration::from_millis(600)).await;
        let after_drop = knocks.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(1000)).await;
        assert_eq!(
            knocks.load(Ordering::SeqCst),
            after_drop,
            "the probe went on connecting after its state was dropped"
        );
    }
}
