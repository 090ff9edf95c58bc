//! `AppState`: what every request shares — the database pool, configuration, keys, the token
//! issuer, the password hasher and the metrics — built once at start-up.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::auth::keys::KeyStore;
use crate::auth::passwords::PasswordHasherPool;
use crate::auth::tokens::TokenIssuer;
use crate::config::Config;
use crate::error::AppResult;
use crate::events::Events;
use crate::rate_limits::RateLimiter;
use crate::telemetry::Metrics;

/// Shared, cheaply clonable state of one server process.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    pub keys: Arc<KeyStore>,
    pub tokens: Arc<TokenIssuer>,
    pub passwords: PasswordHasherPool,
    pub metrics: Arc<Metrics>,
    pub events: Events,
    /// The database's key for signed cursors (listing and sync; see `pagination.rs`).
    pub cursor_key: Arc<str>,
    pub rate_limits: Arc<RateLimiter>,
    /// Wakes the notification fan-out task (see `services::notifications`).
    pub fan_out: Arc<tokio::sync::Notify>,
    /// Whether the database answers (see `db::Health`).
    pub db_health: crate::db::Health,
    /// Server time for the rules (see `clock`).
    pub clock: crate::clock::Clock,
    /// Pricing-poll results already computed, by poll and tally version.
    pub poll_results: Arc<crate::services::pricing_polls::ResultsCache>,
}

impl AppState {
    /// Builds the state over an already migrated connection whose cursor key is `cursor_key`.
    pub fn from_parts(
        mut db: DatabaseConnection,
        config: Config,
        cursor_key: String,
    ) -> AppResult<Self> {
        let metrics = Arc::new(Metrics::new()?);
        let queries = metrics.db_queries.clone();
        db.set_metric_callback(move |_| queries.inc());
        Ok(AppState {
            keys: Arc::new(KeyStore::new(db.clone(), longest_token_ttl(&config))),
            tokens: Arc::new(TokenIssuer::new(
                config.jwt_issuer.clone(),
                config.access_token_ttl,
                config.partner_token_ttl,
            )),
            passwords: PasswordHasherPool::new(
                config.password_hash_concurrency,
                config.password_hash_queue,
                metrics.password_hashes.clone(),
                metrics.password_hash_memory.clone(),
            )?,
            metrics,
            events: Events::new(),
            cursor_key: cursor_key.into(),
            rate_limits: Arc::new(RateLimiter::new(&config, &db)),
            fan_out: Arc::new(tokio::sync::Notify::new()),
            db_health: crate::db::Health::default(),
            clock: crate::clock::Clock::default(),
            poll_results: Arc::default(),
            db,
            config: Arc::new(config),
        })
    }
}

/// The longest lifetime of any token the server signs (how long a retired key must verify).
pub fn longest_token_ttl(config: &Config) -> std::time::Duration {
    config.access_token_ttl.max(config.partner_token_ttl)
}

impl crate::changes::Publish for AppState {
    fn database(&self) -> &DatabaseConnection {
        &self.db
    }

    fn events(&self) -> &Events {
        &self.events
    }
}
