//! What the server writes to its log: never a password or a token, whatever a request carries
//! and wherever it carries it (the query string of a refused GET included).
//!
//! A test binary of its own: it installs a process-wide log subscriber that keeps every line,
//! spans with their fields included, and reads it back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use canyu_tests::{PASSWORD, TestApp};
use serde_json::json;

/// Every log line written so far, by every server of this binary.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn log() -> &'static Captured {
    static LOG: OnceLock<Captured> = OnceLock::new();
    LOG.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        tracing_subscriber::fmt()
            .with_env_filter("debug")
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .init();
        captured
    })
}

fn text() -> String {
    String::from_utf8_lossy(&log().0.lock().unwrap()).into_owned()
}

#[tokio::test]
async fn no_password_or_token_reaches_the_log() {
    log();
    let app = TestApp::spawn().await;
    let user = app.sign_up("careful").await;
    // A log-in sent the wrong way: refused with 405, its query string never logged.
    let secret = "never-log-this-secret";
    let document = format!(
        "mutation{{logIn(input:{{handle:\"careful\",password:\"{secret}\"}}){{accessToken}}}}"
    );
    let response = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("query", document.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    // The same and a right one through POST, a refresh, and a request carrying the token.
    for password in [secret, PASSWORD] {
        app.graphql(
            "mutation($p: String!) { logIn(input: { handle: \"careful\", password: $p }) { accessToken } }",
            json!({ "p": password }),
            None,
        )
        .await;
    }
    app.graphql(
        "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }",
        json!({ "t": user.refresh_token }),
        None,
    )
    .await;
    app.graphql("{ viewer { handle } }", json!({}), Some(&user.access_token))
        .await;
    // A request with a forged token is logged as refused, the token not with it.
    app.graphql(
        "{ viewer { handle } }",
        json!({}),
        Some("forged.token.value"),
    )
    .await;

    let text = text();
    assert!(
        text.contains("HTTP request"),
        "the requests were logged: {text}"
    );
    for leaked in [
        secret,
        PASSWORD,
        user.access_token.as_str(),
        user.refresh_token.as_str(),
        "forged.token.value",
    ] {
        assert!(
            !text.contains(leaked),
            "{leaked:?} reached the log:\n{text}"
        );
    }
}
