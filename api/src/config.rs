//! Configuration, read once from environment variables by [`Config::from_env`].
//!
//! Every variable is documented here and in the README's table. A bad value stops start-up
//! with a message naming the variable. Secrets are never logged.

use std::time::Duration;

/// Where the server runs: `development` enables GraphiQL and introspection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

/// All runtime settings of the server.
#[derive(Debug, Clone)]
pub struct Config {
    /// `DATABASE_URL` — `sqlite://…` or `postgres://…`; default `sqlite://canyu.db?mode=rwc`.
    pub database_url: String,
    /// `DATABASE_MAX_CONNECTIONS` — pool size; default 10.
    pub database_max_connections: u32,
    /// `BIND_ADDR` — host:port to listen on; default `127.0.0.1:8080`.
    pub bind_addr: String,
    /// `CANYU_ENV` — `development` (default) or `production`.
    pub environment: Environment,
    /// `CORS_ALLOWED_ORIGINS` — comma-separated origins allowed by CORS, or `*`; default none.
    pub cors_allowed_origins: Vec<String>,
    /// `JWT_ISSUER` — the `iss` of our tokens; default `canyu`.
    pub jwt_issuer: String,
    /// `ACCESS_TOKEN_TTL_SECS` — user access-token lifetime; default 900 (15 minutes).
    pub access_token_ttl: Duration,
    /// `REFRESH_TOKEN_TTL_SECS` — refresh-token lifetime; default 2 592 000 (30 days).
    pub refresh_token_ttl: Duration,
    /// `PARTNER_TOKEN_TTL_SECS` — partner access-token lifetime; default 3600.
    pub partner_token_ttl: Duration,
    /// `GRAPHQL_MAX_DEPTH` — query depth limit; default 15.
    pub graphql_max_depth: usize,
    /// `GRAPHQL_MAX_COMPLEXITY` — query complexity limit; default 1000.
    pub graphql_max_complexity: usize,
    /// `GRAPHQL_MAX_DIRECTIVES` — directives per field; default 10.
    pub graphql_max_directives: usize,
    /// `GRAPHQL_MAX_RECURSIVE_DEPTH` — bracket and fragment nesting limit; default 32.
    pub graphql_max_recursive_depth: usize,
    /// `GRAPHQL_MAX_QUERY_BYTES` — the longest document; default 16 384.
    pub graphql_max_query_bytes: usize,
    /// `GRAPHQL_MAX_TOKENS` — tokens per document; default 2000.
    pub graphql_max_tokens: usize,
    /// `GRAPHQL_MAX_ALIASES` — aliased fields per document; default 15.
    pub graphql_max_aliases: usize,
    /// `GRAPHQL_MAX_EXPANDED_FIELDS` — selections once fragments are expanded; default 2000.
    pub graphql_max_expanded_fields: usize,
    /// `GRAPHQL_MAX_COST` — objects one operation may fetch, each list counting its `first` (or
    /// `pull`'s `limit`) times what an item selects; scalars are free; default 20 000.
    pub graphql_max_cost: u64,
    /// `REQUEST_TIMEOUT_MS` — how long one GraphQL operation may run (TIMEOUT after), and
    /// Postgres' `statement_timeout`; default 5000.
    pub request_timeout: Duration,
    /// `WS_MAX_MESSAGE_BYTES` — the largest websocket message, continuations included;
    /// default 65 536.
    pub ws_max_message_bytes: usize,
    /// `WS_MAX_SUBSCRIPTIONS` — subscriptions open at once on one socket; default 50.
    pub ws_max_subscriptions: usize,
    /// `WS_MAX_SOCKETS_PER_USER` — sockets one account (or partner) may hold open, per server;
    /// default 10.
    pub ws_max_sockets_per_user: usize,
    /// `WS_INIT_TIMEOUT_MS` — how long a socket may wait before `connection_init`; default
    /// 10 000.
    pub ws_init_timeout: Duration,
    /// `WS_RECHECK_MS` — how often an open socket checks its token is still good (expiry is
    /// also watched to the second); default 5000.
    pub ws_recheck: Duration,
    /// `RATE_LIMIT_WINDOW_SECS` — the window every rate limit below counts in; default 60.
    pub rate_limit_window: Duration,
    /// `RATE_LIMIT_LOGIN_FAILURES` — failed log-ins per handle, and per client address, a
    /// window; default 10.
    pub rate_login_failures: u32,
    /// `RATE_LIMIT_SIGNUPS` — sign-ups per client address a window; default 5.
    pub rate_signups: u32,
    /// `RATE_LIMIT_REFRESHES` — session refreshes per client address a window; default 30.
    pub rate_refreshes: u32,
    /// `RATE_LIMIT_MUTATIONS` — mutations per user (or partner) a window, each aliased field
    /// counted; default 120.
    pub rate_mutations: u32,
    /// `RATE_LIMIT_TOKEN_REQUESTS` — `/oauth/token` requests per client id a window; default 30.
    pub rate_token_requests: u32,
    /// `TRUSTED_PROXY_HEADER` — a header set by a proxy in front of Canyu that carries the
    /// client address (e.g. `X-Forwarded-For`; its last entry is used). Default none: the
    /// socket's peer address.
    pub trusted_proxy_header: Option<String>,
    /// `PASSWORD_HASH_CONCURRENCY` — Argon2 hashes computed at once (each holds 19 MiB); default:
    /// half the cores, at least one, so a log-in flood leaves the other half to every other
    /// request.
    pub password_hash_concurrency: usize,
    /// `PASSWORD_HASH_QUEUE` — hashes that may wait for a hashing thread; beyond, RATE_LIMITED at
    /// once; default 16.
    pub password_hash_queue: usize,
    /// `SYNC_TOMBSTONE_HORIZON_SECS` — how long sync tombstones are kept; default 7 776 000
    /// (90 days). A device offline longer is told to reset (its outbox survives).
    pub sync_tombstone_horizon: Duration,
    /// `ANSWER_CACHE_BYTES` — how many bytes of anonymous answers a server keeps to send again
    /// while the database is unchanged (see `http/answers.rs`); 0 keeps none; default 4 194 304.
    pub answer_cache_bytes: usize,
    /// `ANSWER_CACHE_MAX_AGE_MS` — the oldest kept answer sent again, for what turns on the time
    /// alone; default 1000.
    pub answer_cache_max_age: Duration,
}

/// A configuration value that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("invalid value for {variable}: {reason}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub reason: String,
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let environment = match get("CANYU_ENV").as_deref().map(str::trim) {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(other) => {
                return Err(ConfigError {
                    variable: "CANYU_ENV",
                    reason: format!("expected `development` or `production`, got `{other}`"),
                });
            }
        };
        let database_url =
            get("DATABASE_URL").unwrap_or_else(|| "sqlite://canyu.db?mode=rwc".to_string());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(ConfigError {
                variable: "DATABASE_URL",
                reason: "expected a sqlite:// or postgres:// URL".to_string(),
            });
        }
        let bind_addr = get("BIND_ADDR").unwrap_or_else(|| "127.0.0.1:8080".to_string());
        if bind_addr.parse::<std::net::SocketAddr>().is_err() {
            return Err(ConfigError {
                variable: "BIND_ADDR",
                reason: format!("expected host:port, got `{bind_addr}`"),
            });
        }
        let cors_allowed_origins = get("CORS_ALLOWED_ORIGINS")
            .map(|v| {
                v.split(',')
                    .map(|o| o.trim().to_string())
                    .filter(|o| !o.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let secs = |name: &'static str, default: u64| -> Result<Duration, ConfigError> {
            Ok(Duration::from_secs(number(&get, name, default, 1)?))
        };
        let millis = |name: &'static str, default: u64| -> Result<Duration, ConfigError> {
            Ok(Duration::from_millis(number(&get, name, default, 1)?))
        };
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Config {
            database_url,
            database_max_connections: number(&get, "DATABASE_MAX_CONNECTIONS", 10, 1)?,
            bind_addr,
            environment,
            cors_allowed_origins,
            jwt_issuer: get("JWT_ISSUER").unwrap_or_else(|| "canyu".to_string()),
            access_token_ttl: secs("ACCESS_TOKEN_TTL_SECS", 900)?,
            refresh_token_ttl: secs("REFRESH_TOKEN_TTL_SECS", 30 * 24 * 3600)?,
            partner_token_ttl: secs("PARTNER_TOKEN_TTL_SECS", 3600)?,
            graphql_max_depth: number(&get, "GRAPHQL_MAX_DEPTH", 15, 1)?,
            graphql_max_complexity: number(&get, "GRAPHQL_MAX_COMPLEXITY", 1000, 1)?,
            graphql_max_directives: number(&get, "GRAPHQL_MAX_DIRECTIVES", 10, 1)?,
            graphql_max_recursive_depth: number(&get, "GRAPHQL_MAX_RECURSIVE_DEPTH", 32, 1)?,
            graphql_max_query_bytes: number(&get, "GRAPHQL_MAX_QUERY_BYTES", 16 * 1024, 1)?,
            graphql_max_tokens: number(&get, "GRAPHQL_MAX_TOKENS", 2000, 1)?,
            graphql_max_aliases: number(&get, "GRAPHQL_MAX_ALIASES", 15, 0)?,
            graphql_max_expanded_fields: number(&get, "GRAPHQL_MAX_EXPANDED_FIELDS", 2000, 1)?,
            graphql_max_cost: number(&get, "GRAPHQL_MAX_COST", 20_000, 1)?,
            request_timeout: millis("REQUEST_TIMEOUT_MS", 5000)?,
            ws_max_message_bytes: number(&get, "WS_MAX_MESSAGE_BYTES", 64 * 1024, 1024)?,
            ws_max_subscriptions: number(&get, "WS_MAX_SUBSCRIPTIONS", 50, 1)?,
            ws_max_sockets_per_user: number(&get, "WS_MAX_SOCKETS_PER_USER", 10, 1)?,
            ws_init_timeout: millis("WS_INIT_TIMEOUT_MS", 10_000)?,
            ws_recheck: millis("WS_RECHECK_MS", 5000)?,
            rate_limit_window: secs("RATE_LIMIT_WINDOW_SECS", 60)?,
            rate_login_failures: number(&get, "RATE_LIMIT_LOGIN_FAILURES", 10, 1)?,
            rate_signups: number(&get, "RATE_LIMIT_SIGNUPS", 5, 1)?,
            rate_refreshes: number(&get, "RATE_LIMIT_REFRESHES", 30, 1)?,
            rate_mutations: number(&get, "RATE_LIMIT_MUTATIONS", 120, 1)?,
            rate_token_requests: number(&get, "RATE_LIMIT_TOKEN_REQUESTS", 30, 1)?,
            trusted_proxy_header: get("TRUSTED_PROXY_HEADER").map(|h| h.trim().to_string()),
            password_hash_concurrency: number(
                &get,
                "PASSWORD_HASH_CONCURRENCY",
                (cores / 2).max(1),
                1,
            )?,
            password_hash_queue: number(&get, "PASSWORD_HASH_QUEUE", 16, 0)?,
            sync_tombstone_horizon: secs("SYNC_TOMBSTONE_HORIZON_SECS", 90 * 24 * 3600)?,
            answer_cache_bytes: number(&get, "ANSWER_CACHE_BYTES", 4 * 1024 * 1024, 0)?,
            answer_cache_max_age: millis("ANSWER_CACHE_MAX_AGE_MS", 1000)?,
        })
    }

    /// Whether GraphiQL, introspection and field suggestions are on.
    pub fn is_development(&self) -> bool {
        self.environment == Environment::Development
    }
}

fn number<T>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
    min: T,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let Some(raw) = get(name) else {
        return Ok(default);
    };
    match raw.trim().parse::<T>() {
        Ok(value) if value >= min => Ok(value),
        _ => Err(ConfigError {
            variable: name,
            reason: format!("expected a whole number ≥ {min}, got `{raw}`"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_start_on_embedded_sqlite() {
        let config = with(&[]).unwrap();
        assert_eq!(config.database_url, "sqlite://canyu.db?mode=rwc");
        assert_eq!(config.bind_addr, "127.0.0.1:8080");
        assert!(config.is_development());
        assert_eq!(config.access_token_ttl, Duration::from_secs(900));
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        for (name, value) in [
            ("CANYU_ENV", "staging"),
            ("BIND_ADDR", "nowhere"),
            ("DATABASE_URL", "mysql://x"),
            ("ACCESS_TOKEN_TTL_SECS", "soon"),
            ("GRAPHQL_MAX_DEPTH", "0"),
        ] {
            let err = with(&[(name, value)]).unwrap_err();
            assert_eq!(err.variable, name);
            assert!(err.to_string().contains(name));
        }
    }
}
