//! Password checks cost one Argon2 computation each, whether or not the handle exists.
//!
//! Alone in its own test binary: `canyu_password_hashes_total` counts every Argon2 computation
//! of the process, and the suites in `api` hash passwords in parallel.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use canyu_tests::{PASSWORD, TestApp, assert_code};
use serde_json::json;

const LOG_IN: &str = "mutation($h: String!, $p: String!) { logIn(input: { handle: $h, password: $p }) { accessToken } }";

/// `canyu_password_hashes_total` as `/metrics` shows it now.
async fn password_hashes(app: &TestApp) -> u64 {
    let (status, text) = app.get("/metrics").await;
    assert_eq!(status, 200, "{text}");
    text.lines()
        .find_map(|line| line.strip_prefix("canyu_password_hashes_total "))
        .unwrap_or_else(|| panic!("no canyu_password_hashes_total in {text}"))
        .trim()
        .parse()
        .unwrap()
}

/// The Argon2 computations of one log-in, which must fail with UNAUTHENTICATED.
async fn hashes_of_a_refused_log_in(app: &TestApp, handle: &str, password: &str) -> u64 {
    let before = password_hashes(app).await;
    let body = app
        .graphql(LOG_IN, json!({ "h": handle, "p": password }), None)
        .await;
    assert_code(&body, "UNAUTHENTICATED");
    password_hashes(app).await - before
}

#[tokio::test]
async fn an_unknown_password_check_is_not_a_shortcut() {
    let app = TestApp::spawn().await;
    app.sign_up("known").await;
    assert_eq!(
        hashes_of_a_refused_log_in(&app, "known", "a wrong password").await,
        1,
        "a known handle with a wrong password"
    );
    assert_eq!(
        hashes_of_a_refused_log_in(&app, "unknown_handle", PASSWORD).await,
        1,
        "an unknown handle costs the same"
    );
    assert_eq!(
        hashes_of_a_refused_log_in(&app, "Not a handle!", PASSWORD).await,
        1,
        "so does a handle that could not exist"
    );
}
