//! Black-box test support: [`TestApp`] starts the real server on port 0 over a fresh database —
//! a temporary SQLite file, or, when `TEST_DATABASE_URL` is set, a fresh Postgres database that
//! is dropped afterwards — and talks to it over HTTP like any client.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use canyu::config::Config;
use canyu::http::Application;
use canyu::state::AppState;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

/// A password every test user gets.
pub const PASSWORD: &str = "correct horse battery";

/// A running server and a client for it.
pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub client: reqwest::Client,
    pub state: AppState,
    handle: actix_web::dev::ServerHandle,
    database: TestDatabase,
    /// On Postgres, a connection of the tests' own for [`sql_strings`](Self::sql_strings),
    /// opened on first use.
    inspector: tokio::sync::OnceCell<sea_orm::DatabaseConnection>,
}

enum TestDatabase {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres {
        admin_url: String,
        name: String,
    },
    /// Another app's database (a replica): that app cleans it up.
    Shared,
}

/// A signed-in user as the tests see it.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub handle: String,
    pub access_token: String,
    pub refresh_token: String,
}

/// Rate limits and a hashing queue far above what one test does (every test user signs up from
/// 127.0.0.1); the tests of the limits set their own.
fn roomy_limits() -> Vec<(String, String)> {
    [
        "RATE_LIMIT_LOGIN_FAILURES",
        "RATE_LIMIT_SIGNUPS",
        "RATE_LIMIT_REFRESHES",
        "RATE_LIMIT_MUTATIONS",
        "RATE_LIMIT_TOKEN_REQUESTS",
    ]
    .into_iter()
    .map(|name| (name.to_string(), "100000".to_string()))
    // Tests sign a hundred users up at once: they queue for the hashing threads.
    .chain([("PASSWORD_HASH_QUEUE".to_string(), "1000".to_string())])
    // Hundreds of writes sent at once by one test queue for its few connections on a debug
    // build: their correctness is under test, not their latency (the time limit has its own
    // test, which sets it).
    .chain([("REQUEST_TIMEOUT_MS".to_string(), "60000".to_string())])
    .collect()
}

/// Whether this run targets Postgres (for tests that pick backend-specific SQL; tests that
/// need Postgres are marked `#[cfg_attr(not(canyu_postgres), ignore = …)]`, see `build.rs`).
pub fn on_postgres() -> bool {
    std::env::var("TEST_DATABASE_URL").is_ok_and(|v| !v.is_empty())
}

impl TestApp {
    /// The server with default settings.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(&[]).await
    }

    /// The server with some environment variables overridden.
    pub async fn spawn_with(overrides: &[(&str, &str)]) -> TestApp {
        let (url, database) = fresh_database().await;
        let mut env: HashMap<String, String> = HashMap::from([
            ("DATABASE_URL".to_string(), url),
            ("BIND_ADDR".to_string(), "127.0.0.1:0".to_string()),
            ("DATABASE_MAX_CONNECTIONS".to_string(), "5".to_string()),
        ]);
        env.extend(roomy_limits());
        for (key, value) in overrides {
            env.insert(key.to_string(), value.to_string());
        }
        let config = Config::from_lookup(|name| env.get(name).cloned()).expect("test config");
        Self::start(config, database).await
    }

    /// Two replicas starting at the same moment on one fresh, empty database (each migrating
    /// it as it starts).
    pub async fn spawn_two_at_once() -> (TestApp, TestApp) {
        let (url, database) = fresh_database().await;
        let config = || {
            let mut env: HashMap<String, String> = HashMap::from([
                ("DATABASE_URL".to_string(), url.clone()),
                ("BIND_ADDR".to_string(), "127.0.0.1:0".to_string()),
                ("DATABASE_MAX_CONNECTIONS".to_string(), "3".to_string()),
            ]);
            env.extend(roomy_limits());
            Config::from_lookup(|name| env.get(name).cloned()).expect("test config")
        };
        let (first, second) =
            tokio::join!(canyu::cli::start(config()), canyu::cli::start(config()));
        let first = Self::serve(first.expect("the first replica starts"), database);
        let second = Self::serve(
            second.expect("the second replica starts"),
            TestDatabase::Shared,
        );
        (first, second)
    }

    /// A second replica over the same database (and its own settings).
    pub async fn replica(&self, overrides: &[(&str, &str)]) -> TestApp {
        let mut env: HashMap<String, String> = HashMap::from([
            (
                "DATABASE_URL".to_string(),
                self.state.config.database_url.clone(),
            ),
            ("BIND_ADDR".to_string(), "127.0.0.1:0".to_string()),
            ("DATABASE_MAX_CONNECTIONS".to_string(), "3".to_string()),
        ]);
        env.extend(roomy_limits());
        for (key, value) in overrides {
            env.insert(key.to_string(), value.to_string());
        }
        let config = Config::from_lookup(|name| env.get(name).cloned()).expect("test config");
        Self::start(config, TestDatabase::Shared).await
    }

    async fn start(config: Config, database: TestDatabase) -> TestApp {
        let state = canyu::cli::start(config).await.expect("app state");
        Self::serve(state, database)
    }

    /// Serves `state` on port 0.
    fn serve(state: AppState, database: TestDatabase) -> TestApp {
        let app = Application::build(state.clone()).expect("bind");
        let port = app.port();
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            address: format!("http://127.0.0.1:{port}"),
            port,
            // Idle connections are dropped before the server's 5 s keep-alive closes them: a
            // request sent on a connection the server is closing fails with a reset.
            client: reqwest::Client::builder()
                .pool_idle_timeout(std::time::Duration::from_secs(2))
                .build()
                .expect("HTTP client"),
            state,
            handle,
            database,
            inspector: tokio::sync::OnceCell::new(),
        }
    }

    /// POSTs a GraphQL operation, optionally with a bearer token; returns the JSON body.
    pub async fn graphql(&self, query: &str, variables: Value, token: Option<&str>) -> Value {
        let (_, body) = self.graphql_status(query, variables, token).await;
        body
    }

    /// Like [`graphql`](Self::graphql), with the HTTP status.
    pub async fn graphql_status(
        &self,
        query: &str,
        variables: Value,
        token: Option<&str>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.address))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("a body");
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("HTTP {status} without a JSON body ({e}): {text:?}"));
        (status, body)
    }

    /// Signs up `handle` with [`PASSWORD`].
    pub async fn sign_up(&self, handle: &str) -> TestUser {
        let body = self
            .graphql(
                "mutation($input: SignUpInput!) { signUp(input: $input) { accessToken refreshToken user { id handle } } }",
                json!({ "input": { "handle": handle, "password": PASSWORD, "displayName": handle } }),
                None,
            )
            .await;
        session(&body, "signUp")
    }

    /// Creates `handle` as an ADMIN (as `canyu create-admin` does) and signs it in.
    pub async fn admin(&self, handle: &str) -> TestUser {
        canyu::services::users::create_admin(&self.state, handle, Some(PASSWORD.to_string()))
            .await
            .expect("create admin");
        self.log_in(handle, PASSWORD).await
    }

    /// Logs in and returns the session.
    pub async fn log_in(&self, handle: &str, password: &str) -> TestUser {
        let body = self
            .graphql(
                "mutation($input: LogInInput!) { logIn(input: $input) { accessToken refreshToken user { id handle } } }",
                json!({ "input": { "handle": handle, "password": password } }),
                None,
            )
            .await;
        session(&body, "logIn")
    }

    /// Gets a URL path; returns status and body text.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request");
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// Runs a raw SQL statement against the test database and returns the first column of
    /// each row as strings (for tests that check what was stored).
    /// On Postgres the statement runs on a connection of its own, free of the time limits a
    /// test may have set the server's to a millisecond (`statement_timeout`, and
    /// `idle_in_transaction_session_timeout`, which would end a transaction of the server's
    /// pool between its statements).
    pub async fn sql_strings(&self, sql: &str) -> Vec<String> {
        let backend = self.state.db.get_database_backend();
        let statement = sea_orm::Statement::from_string(backend, sql.to_string());
        let rows = if backend == sea_orm::DatabaseBackend::Postgres {
            let inspector = self
                .inspector
                .get_or_try_init(|| {
                    let mut options =
                        sea_orm::ConnectOptions::new(self.state.config.database_url.clone());
                    options.max_connections(1).sqlx_logging(false);
                    Database::connect(options)
                })
                .await
                .expect("connect to the test database");
            inspector.query_all_raw(statement).await
        } else {
            self.state.db.query_all_raw(statement).await
        }
        .expect("query");
        rows.iter()
            .map(|row| {
                row.try_get_by_index::<String>(0)
                    .or_else(|_| row.try_get_by_index::<i64>(0).map(|n| n.to_string()))
                    .or_else(|_| row.try_get_by_index::<i32>(0).map(|n| n.to_string()))
                    .expect("a string or integer column")
            })
            .collect()
    }

    /// Counts rows of `table`.
    pub async fn count(&self, table: &str) -> i64 {
        self.sql_strings(&format!("SELECT COUNT(*) FROM \"{table}\""))
            .await[0]
            .parse()
            .unwrap()
    }

    /// Closes the database pool, as if the database went away.
    pub async fn break_database(&self) {
        self.state.db.close_by_ref().await.expect("close pool");
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        drop(handle.stop(false));
        if let TestDatabase::Postgres { admin_url, name } = &self.database {
            let admin_url = admin_url.clone();
            let name = name.clone();
            // Drop runs outside async context: a short-lived runtime on its own thread. The
            // app's pool is left alone (its connections belong to the test's runtime, which is
            // blocked here); `WITH (FORCE)` ends them.
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async move {
                    if let Ok(admin) = Database::connect(&admin_url).await {
                        let _ = admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            ))
                            .await;
                        let _ = admin.close().await;
                    }
                });
            })
            .join()
            .ok();
        }
    }
}

async fn fresh_database() -> (String, TestDatabase) {
    // `tests/build.rs` read the same variable; `cargo test` rebuilds when it changes, a test
    // binary run by hand does not.
    assert_eq!(
        on_postgres(),
        cfg!(canyu_postgres),
        "TEST_DATABASE_URL is set for one backend but the tests were built for the other: \
         build them again (`cargo test` does)"
    );
    match std::env::var("TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let name = format!("canyu_test_{}", uuid::Uuid::new_v4().simple());
            let admin = Database::connect(&admin_url)
                .await
                .expect("connect to TEST_DATABASE_URL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create test database");
            admin.close().await.ok();
            let base = admin_url
                .split('?')
                .next()
                .unwrap()
                .rsplit_once('/')
                .map(|(base, _)| base.to_string())
                .unwrap();
            (
                format!("{base}/{name}"),
                TestDatabase::Postgres { admin_url, name },
            )
        }
        _ => {
            // In memory where Linux offers it: a SQLite fsync there costs nothing, and the tests
            // check behaviour, not durability (bench/crash.py does, on a real disk).
            let shm = std::path::Path::new("/dev/shm");
            let dir = if shm.is_dir() {
                tempfile::tempdir_in(shm)
            } else {
                tempfile::tempdir()
            }
            .expect("temp dir");
            let url = format!("sqlite://{}/canyu.db?mode=rwc", dir.path().display());
            (url, TestDatabase::Sqlite(dir))
        }
    }
}

fn session(body: &Value, field: &str) -> TestUser {
    let payload = &body["data"][field];
    assert!(payload.is_object(), "{field} failed: {body}");
    TestUser {
        id: payload["user"]["id"].as_str().unwrap().to_string(),
        handle: payload["user"]["handle"].as_str().unwrap().to_string(),
        access_token: payload["accessToken"].as_str().unwrap().to_string(),
        refresh_token: payload["refreshToken"].as_str().unwrap().to_string(),
    }
}

/// The `extensions.code` of the first error, if any.
pub fn error_code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

/// Asserts the body failed with `code` and returns the body for further checks.
#[track_caller]
pub fn assert_code<'a>(body: &'a Value, code: &str) -> &'a Value {
    assert_eq!(error_code(body), Some(code), "expected {code}, got {body}");
    body
}
