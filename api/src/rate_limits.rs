//! Rate limits: requests counted per limit and key (a handle, a client address, an account, a
//! partner client) in fixed windows (a minute unless `RATE_LIMIT_WINDOW_SECS` says otherwise). A request that takes its window past the limit
//! is RATE_LIMITED, with the seconds left in the window as `retryAfterSeconds`.
//!
//! On Postgres the windows are rows of `rate_limit_window`, counted with one atomic upsert, so
//! every replica sees the same counts. The table is UNLOGGED: a count waits for no write-ahead
//! log flush, and after a crash of the database (not a clean restart) the windows start empty.
//! A SQLite server is one process by design and counts in memory. (Redis would take the counting off the database, at the price of one more service
//! to run; the database is the default because a Canyu deployment already has it.)

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};

use crate::config::Config;
use crate::db::placeholders;
use crate::error::{AppError, AppResult};

/// What is being counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// Log-in attempts per handle (successes are given back).
    LogInsByHandle,
    /// Log-in attempts per client address (successes are given back).
    LogInsByAddress,
    /// Sign-ups per client address.
    SignUpsByAddress,
    /// Session refreshes per client address.
    RefreshesByAddress,
    /// Mutation fields per signed-in user or partner.
    MutationsByActor,
    /// `/oauth/token` requests per client id.
    TokenRequestsByClient,
}

impl Limit {
    fn name(self) -> &'static str {
        match self {
            Limit::LogInsByHandle => "login_handle",
            Limit::LogInsByAddress => "login_address",
            Limit::SignUpsByAddress => "signup_address",
            Limit::RefreshesByAddress => "refresh_address",
            Limit::MutationsByActor => "mutation_actor",
            Limit::TokenRequestsByClient => "token_client",
        }
    }

    fn refusal(self) -> &'static str {
        match self {
            Limit::LogInsByHandle => "too many failed log-ins for this handle",
            Limit::LogInsByAddress => "too many failed log-ins from this address",
            Limit::SignUpsByAddress => "too many sign-ups from this address",
            Limit::RefreshesByAddress => "too many session refreshes from this address",
            Limit::MutationsByActor => "too many mutations",
            Limit::TokenRequestsByClient => "too many token requests for this client",
        }
    }
}

/// The address a request came from: the socket's peer, or what a trusted proxy says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddress(pub String);

/// Counts requests against the configured limits.
pub struct RateLimiter {
    limits: HashMap<Limit, u32>,
    window_secs: i64,
    store: Store,
}

enum Store {
    Memory(Mutex<Windows>),
    Database(DatabaseConnection),
}

impl RateLimiter {
    /// The limits of `config`, counted where `db` says: in Postgres, or in memory for SQLite.
    pub fn new(config: &Config, db: &DatabaseConnection) -> Self {
        let limits = HashMap::from([
            (Limit::LogInsByHandle, config.rate_login_failures),
            (Limit::LogInsByAddress, config.rate_login_failures),
            (Limit::SignUpsByAddress, config.rate_signups),
            (Limit::RefreshesByAddress, config.rate_refreshes),
            (Limit::MutationsByActor, config.rate_mutations),
            (Limit::TokenRequestsByClient, config.rate_token_requests),
        ]);
        let store = match db.get_database_backend() {
            DatabaseBackend::Postgres => Store::Database(db.clone()),
            _ => Store::Memory(Mutex::new(HashMap::new())),
        };
        RateLimiter {
            limits,
            window_secs: i64::try_from(config.rate_limit_window.as_secs())
                .unwrap_or(60)
                .max(1),
            store,
        }
    }

    /// Counts `n` requests of `key` against `limit`: RATE_LIMITED when the window is then past
    /// the limit. The requests count even when refused, so hammering does not reopen the window.
    pub async fn charge(&self, limit: Limit, key: &str, n: u32) -> AppResult<()> {
        let max = self.limits.get(&limit).copied().unwrap_or(u32::MAX);
        let (now, window) = self.now();
        let count = self.add(limit, key, window, i64::from(n)).await?;
        if count > i64::from(max) {
            return Err(AppError::rate_limited(
                format!("{}; try again later", limit.refusal()),
                u64::try_from(window + self.window_secs - now).unwrap_or(1),
            ));
        }
        Ok(())
    }

    /// Gives back `n` requests of `key` in the current window (a log-in that succeeded).
    pub async fn refund(&self, limit: Limit, key: &str, n: u32) -> AppResult<()> {
        let now = Utc::now().timestamp();
        let window = now - now.rem_euclid(self.window_secs);
        self.add(limit, key, window, -i64::from(n))
            .await
            .map(|_| ())
    }

    /// Forgets windows that have ended; returns how many.
    pub async fn purge(&self) -> AppResult<u64> {
        let (_, current) = self.now();
        match &self.store {
            Store::Memory(windows) => {
                let mut windows = lock(windows)?;
                let before = windows.len();
                windows.retain(|_, (window, _)| *window >= current);
                Ok((before - windows.len()) as u64)
            }
            Store::Database(db) => {
                let backend = db.get_database_backend();
                let statement = Statement::from_sql_and_values(
                    backend,
                    placeholders(
                        backend,
                        "DELETE FROM rate_limit_window WHERE window_start < $1",
                    ),
                    [current.into()],
                );
                Ok(db.execute_raw(statement).await?.rows_affected())
            }
        }
    }

    /// Now and the start of the window it is in, in Unix seconds.
    fn now(&self) -> (i64, i64) {
        let now = Utc::now().timestamp();
        (now, now - now.rem_euclid(self.window_secs))
    }

    /// Adds `delta` to the window's count; returns the new count.
    async fn add(&self, limit: Limit, key: &str, window: i64, delta: i64) -> AppResult<i64> {
        // Keys come from callers (handles, addresses): stored as their digest, so any text — a
        // long one, one holding NUL — makes a row of the same fixed size.
        let key = crate::auth::secrets::digest(key);
        match &self.store {
            Store::Memory(windows) => {
                let mut windows = lock(windows)?;
                let entry = windows.entry((limit, key)).or_insert((window, 0));
                if entry.0 != window {
                    *entry = (window, 0);
                }
                let count = (i64::from(entry.1) + delta).clamp(0, i64::from(u32::MAX));
                entry.1 = u32::try_from(count).unwrap_or(u32::MAX);
                Ok(count)
            }
            Store::Database(db) => {
                let backend = db.get_database_backend();
                let statement = Statement::from_sql_and_values(
                    backend,
                    placeholders(
                        backend,
                        "INSERT INTO rate_limit_window (bucket, key, window_start, count) \
                         VALUES ($1, $2, $3, GREATEST($4, 0)) \
                         ON CONFLICT (bucket, key, window_start) DO UPDATE \
                         SET count = GREATEST(rate_limit_window.count + $4, 0) RETURNING count",
                    ),
                    [
                        limit.name().into(),
                        key.into(),
                        window.into(),
                        i32::try_from(delta).unwrap_or(i32::MAX).into(),
                    ],
                );
                let row = db
                    .query_one_raw(statement)
                    .await?
                    .ok_or_else(|| AppError::internal("rate-limit upsert returned no row"))?;
                Ok(i64::from(row.try_get::<i32>("", "count")?))
            }
        }
    }
}

type Windows = HashMap<(Limit, String), (i64, u32)>;

fn lock(windows: &Mutex<Windows>) -> AppResult<std::sync::MutexGuard<'_, Windows>> {
    windows
        .lock()
        .map_err(|_| AppError::internal("rate-limit table poisoned"))
}

/// The client address of a request: the last entry of `trusted_header` when one is configured
/// and present, else the socket's peer.
pub fn client_address(
    peer: Option<std::net::SocketAddr>,
    trusted_header: Option<&str>,
) -> ClientAddress {
    if let Some(value) = trusted_header
        && let Some(last) = value.rsplit(',').map(str::trim).find(|v| !v.is_empty())
    {
        return ClientAddress(last.chars().take(64).collect());
    }
    ClientAddress(peer.map_or_else(|| "unknown".to_string(), |p| p.ip().to_string()))
}
