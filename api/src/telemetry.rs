//! Logging set-up (tracing) and the Prometheus metrics served at `/metrics`.

use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};

use crate::error::{AppError, AppResult};

/// Installs the tracing subscriber; the filter comes from `RUST_LOG` (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}

/// The process's metrics.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool: IntGaugeVec,
    /// SQL statements run by this process (also how tests prove loaders batch).
    pub db_queries: IntCounter,
    /// Argon2 computations: hashes and verifications, the dummy one for unknown handles
    /// included (also how tests prove an unknown handle costs a hash).
    pub password_hashes: IntCounter,
    /// Argon2 memory the hashing threads hold now (none once they have been idle a moment).
    pub password_hash_memory: IntGauge,
    task_last_success: IntGaugeVec,
    task_failures: IntCounterVec,
    answers: IntCounterVec,
    sqlite_commits: IntCounter,
    sqlite_writes: IntCounter,
}

impl Metrics {
    pub fn new() -> AppResult<Self> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "canyu_graphql_requests_total",
                "GraphQL requests by operation type and outcome",
            ),
            &["operation", "outcome"],
        )
        .map_err(AppError::internal)?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "canyu_graphql_request_duration_seconds",
                "GraphQL request latency by operation type",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["operation"],
        )
        .map_err(AppError::internal)?;
        let pool = IntGaugeVec::new(
            Opts::new(
                "canyu_db_pool_connections",
                "Database pool connections by state",
            ),
            &["state"],
        )
        .map_err(AppError::internal)?;
        let db_queries = IntCounter::new(
            "canyu_db_queries_total",
            "SQL statements run against the database",
        )
        .map_err(AppError::internal)?;
        let password_hashes = IntCounter::new(
            "canyu_password_hashes_total",
            "Argon2 computations: password hashes and verifications",
        )
        .map_err(AppError::internal)?;
        let password_hash_memory = IntGauge::new(
            "canyu_password_hash_memory_bytes",
            "Argon2 memory held by the password hashing threads",
        )
        .map_err(AppError::internal)?;
        let task_last_success = IntGaugeVec::new(
            Opts::new(
                "canyu_task_last_success_seconds",
                "When each background task last succeeded, in Unix seconds",
            ),
            &["task"],
        )
        .map_err(AppError::internal)?;
        let task_failures = IntCounterVec::new(
            Opts::new(
                "canyu_task_failures_total",
                "Failed runs of each background task",
            ),
            &["task"],
        )
        .map_err(AppError::internal)?;
        let answers = IntCounterVec::new(
            Opts::new(
                "canyu_answer_cache_total",
                "Anonymous queries by whether a kept answer was sent (hit) or one computed (miss)",
            ),
            &["outcome"],
        )
        .map_err(AppError::internal)?;
        let sqlite_commits = IntCounter::new(
            "canyu_sqlite_commits_total",
            "Commits of the embedded SQLite database by this process (each carries a batch of writes)",
        )
        .map_err(AppError::internal)?;
        let sqlite_writes = IntCounter::new(
            "canyu_sqlite_committed_writes_total",
            "Write transactions those commits carried",
        )
        .map_err(AppError::internal)?;
        registry
            .register(Box::new(sqlite_commits.clone()))
            .map_err(AppError::internal)?;
        registry
            .register(Box::new(sqlite_writes.clone()))
            .map_err(AppError::internal)?;
        registry
            .register(Box::new(answers.clone()))
            .map_err(AppError::internal)?;
        registry
            .register(Box::new(task_last_success.clone()))
            .map_err(AppError::internal)?;
        registry
            .register(Box::new(task_failures.clone()))
            .map_err(AppError::internal)?;
        registry
            .register(Box::new(db_queries.clone()))
            .map_err(AppError::internal)?;
        registry
            .register(Box::new(password_hashes.clone()))
            .map_err(AppError::internal)?;
        registry
            .register(Box::new(password_hash_memory.clone()))
            .map_err(AppError::internal)?;
        registry
            .register(Box::new(requests.clone()))
            .map_err(AppError::internal)?;
        registry
            .register(Box::new(latency.clone()))
            .map_err(AppError::internal)?;
        registry
            .register(Box::new(pool.clone()))
            .map_err(AppError::internal)?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            pool,
            db_queries,
            password_hashes,
            password_hash_memory,
            task_last_success,
            task_failures,
            answers,
            sqlite_commits,
            sqlite_writes,
        })
    }

    /// Counts an anonymous query that was sent a kept answer (`hit`) or had one computed.
    pub fn answer_cache(&self, hit: bool) {
        let outcome = if hit { "hit" } else { "miss" };
        self.answers.with_label_values(&[outcome]).inc();
    }

    /// Records that background task `task` just succeeded.
    pub fn task_succeeded(&self, task: &str) {
        self.task_last_success
            .with_label_values(&[task])
            .set(chrono::Utc::now().timestamp());
    }

    /// Records a failed run of background task `task`.
    pub fn task_failed(&self, task: &str) {
        self.task_failures.with_label_values(&[task]).inc();
    }

    /// Records one GraphQL request.
    pub fn observe_request(&self, operation: &str, ok: bool, elapsed: Duration) {
        let outcome = if ok { "ok" } else { "error" };
        self.requests.with_label_values(&[operation, outcome]).inc();
        self.latency
            .with_label_values(&[operation])
            .observe(elapsed.as_secs_f64());
    }

    /// Renders every metric in the Prometheus text format, with pool usage and (on SQLite) the
    /// commit counts (`db::commit_counts`) read now.
    pub fn render(
        &self,
        pool_size: u32,
        pool_idle: usize,
        sqlite_commits: Option<(u64, u64)>,
    ) -> AppResult<String> {
        if let Some((commits, writes)) = sqlite_commits {
            self.sqlite_commits
                .inc_by(commits.saturating_sub(self.sqlite_commits.get()));
            self.sqlite_writes
                .inc_by(writes.saturating_sub(self.sqlite_writes.get()));
        }
        let idle = i64::try_from(pool_idle).unwrap_or(i64::MAX);
        self.pool.with_label_values(&["idle"]).set(idle);
        self.pool
            .with_label_values(&["in_use"])
            .set(i64::from(pool_size) - idle);
        let mut buffer = Vec::new();
        prometheus::TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .map_err(AppError::internal)?;
        String::from_utf8(buffer).map_err(AppError::internal)
    }
}
