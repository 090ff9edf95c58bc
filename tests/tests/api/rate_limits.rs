//! Rate limits: failed log-ins per handle and per address, sign-ups and refreshes per address,
//! mutations per user (aliases counted one by one), partner token requests per client — each
//! answered RATE_LIMITED with `retryAfterSeconds` (429 and `Retry-After` outside GraphQL), and
//! nothing the refused request asked for written. On Postgres the counts are shared by every
//! replica. The tests count in hour-long windows, so that no window ends in the middle of one.

use canyu_tests::{PASSWORD, TestApp, TestUser, assert_code, error_code};
use serde_json::{Value, json};

use crate::support::{auth, create_community, member, ok, submit};

const LOG_IN: &str = "mutation($h: String!, $p: String!) { logIn(input: { handle: $h, password: $p }) { accessToken } }";

async fn log_in(app: &TestApp, handle: &str, password: &str) -> Value {
    app.graphql(LOG_IN, json!({ "h": handle, "p": password }), None)
        .await
}

/// Sends `query` with `X-Forwarded-For: forwarded`.
async fn from_address(app: &TestApp, forwarded: &str, query: &str, variables: Value) -> Value {
    app.client
        .post(format!("{}/graphql", app.address))
        .header("X-Forwarded-For", forwarded)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[track_caller]
fn assert_retry_after(body: &Value) {
    assert_code(body, "RATE_LIMITED");
    let secs = body["errors"][0]["extensions"]["retryAfterSeconds"]
        .as_u64()
        .unwrap_or_else(|| panic!("no retryAfterSeconds: {body}"));
    assert!((1..=3600).contains(&secs), "{body}");
}

#[tokio::test]
async fn the_eleventh_failed_log_in_of_a_minute_is_refused_even_with_the_right_password() {
    let app = TestApp::spawn_with(&[
        ("RATE_LIMIT_WINDOW_SECS", "3600"),
        ("RATE_LIMIT_LOGIN_FAILURES", "10"),
        ("TRUSTED_PROXY_HEADER", "X-Forwarded-For"),
    ])
    .await;
    app.sign_up("victim").await;
    let sessions = app.count("refresh_token").await;
    // Every guess from another address: only the handle's own count can stop them.
    let guess = |i: usize, password: String| {
        let app = &app;
        async move {
            from_address(
                app,
                &format!("198.51.100.{i}"),
                LOG_IN,
                json!({ "h": "victim", "p": password }),
            )
            .await
        }
    };
    for i in 0..10 {
        assert_code(
            &guess(i, format!("wrong guess {i}")).await,
            "UNAUTHENTICATED",
        );
    }
    assert_retry_after(&guess(10, "wrong guess 10".into()).await);
    assert_retry_after(&guess(11, PASSWORD.into()).await);
    assert_eq!(
        app.count("refresh_token").await,
        sessions,
        "no session was started"
    );
}

#[tokio::test]
async fn a_successful_log_in_does_not_use_up_the_limit() {
    let app = TestApp::spawn_with(&[
        ("RATE_LIMIT_WINDOW_SECS", "3600"),
        ("RATE_LIMIT_LOGIN_FAILURES", "3"),
    ])
    .await;
    app.sign_up("regular").await;
    for _ in 0..5 {
        let body = log_in(&app, "regular", PASSWORD).await;
        assert!(body["errors"].is_null(), "{body}");
    }
    for i in 0..3 {
        assert_code(
            &log_in(&app, "regular", &format!("typo {i}")).await,
            "UNAUTHENTICATED",
        );
    }
    assert_retry_after(&log_in(&app, "regular", PASSWORD).await);
}

#[tokio::test]
async fn failed_log_ins_are_counted_per_address_across_handles() {
    let app = TestApp::spawn_with(&[
        ("RATE_LIMIT_WINDOW_SECS", "3600"),
        ("RATE_LIMIT_LOGIN_FAILURES", "4"),
        ("TRUSTED_PROXY_HEADER", "X-Forwarded-For"),
    ])
    .await;
    // One address tries a different handle each time: the per-handle count never fills, the
    // per-address one does.
    for i in 0..4 {
        let body = from_address(
            &app,
            "203.0.113.7",
            LOG_IN,
            json!({ "h": format!("handle{i}"), "p": PASSWORD }),
        )
        .await;
        assert_code(&body, "UNAUTHENTICATED");
    }
    let body = from_address(
        &app,
        "203.0.113.7",
        LOG_IN,
        json!({ "h": "handle9", "p": PASSWORD }),
    )
    .await;
    assert_retry_after(&body);
    // Another address behind the same proxy has its own budget; the proxy's last entry counts,
    // so a client cannot pick its address by prepending one.
    let body = from_address(
        &app,
        "203.0.113.7, 198.51.100.2",
        LOG_IN,
        json!({ "h": "handle9", "p": PASSWORD }),
    )
    .await;
    assert_code(&body, "UNAUTHENTICATED");
}

#[tokio::test]
async fn a_forwarded_address_is_ignored_unless_a_proxy_is_trusted() {
    let app = TestApp::spawn_with(&[
        ("RATE_LIMIT_WINDOW_SECS", "3600"),
        ("RATE_LIMIT_LOGIN_FAILURES", "2"),
    ])
    .await;
    for i in 0..2 {
        let body = from_address(
            &app,
            &format!("192.0.2.{i}"),
            LOG_IN,
            json!({ "h": format!("someone{i}"), "p": PASSWORD }),
        )
        .await;
        assert_code(&body, "UNAUTHENTICATED");
    }
    // A new X-Forwarded-For each time does not buy a new budget: the socket's address counts.
    let body = from_address(
        &app,
        "192.0.2.99",
        LOG_IN,
        json!({ "h": "someone9", "p": PASSWORD }),
    )
    .await;
    assert_retry_after(&body);
}

#[tokio::test]
async fn sign_ups_and_refreshes_are_limited_per_address_and_write_nothing_when_refused() {
    let app = TestApp::spawn_with(&[
        ("RATE_LIMIT_WINDOW_SECS", "3600"),
        ("RATE_LIMIT_SIGNUPS", "2"),
        ("RATE_LIMIT_REFRESHES", "2"),
    ])
    .await;
    let first = app.sign_up("first").await;
    app.sign_up("second").await;
    let body = app
        .graphql(
            "mutation($input: SignUpInput!) { signUp(input: $input) { accessToken } }",
            json!({ "input": { "handle": "third", "password": PASSWORD, "displayName": "Third" } }),
            None,
        )
        .await;
    assert_retry_after(&body);
    assert_eq!(
        app.count("user").await,
        2,
        "the refused account was not created"
    );

    let refresh = "mutation($t: String!) { refreshSession(refreshToken: $t) { refreshToken } }";
    let mut token = first.refresh_token.clone();
    for _ in 0..2 {
        let body = app.graphql(refresh, json!({ "t": token }), None).await;
        token = ok(&body, "refreshSession")["refreshToken"]
            .as_str()
            .unwrap()
            .to_string();
    }
    let sessions = app.count("refresh_token").await;
    assert_retry_after(&app.graphql(refresh, json!({ "t": token }), None).await);
    assert_eq!(app.count("refresh_token").await, sessions);
    // The refused token was not used up: it works once the window allows.
}

async fn cast(app: &TestApp, voter: &TestUser, suggestions: &[String]) -> Value {
    let fields: String = suggestions
        .iter()
        .enumerate()
        .map(|(i, id)| {
            format!("v{i}: castVote(input: {{ suggestionId: \"{id}\", value: UP }}) {{ upvotes }} ")
        })
        .collect();
    app.graphql(&format!("mutation {{ {fields} }}"), json!({}), auth(voter))
        .await
}

#[tokio::test]
async fn mutations_are_counted_per_user_field_by_field() {
    let app = TestApp::spawn_with(&[
        ("RATE_LIMIT_WINDOW_SECS", "3600"),
        ("RATE_LIMIT_MUTATIONS", "5"),
    ])
    .await;
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "phones", "PUBLIC").await;
    let mut ids = Vec::new();
    // Each suggestion has its own author, so that only the voters' budgets are at stake.
    for (i, title) in [
        "One idea",
        "Two ideas",
        "Three ideas",
        "Four ideas",
        "Five ideas",
    ]
    .into_iter()
    .enumerate()
    {
        let author = member(&app, &format!("author{i}"), &community).await;
        ids.push(submit(&app, &author, &community, title).await);
    }
    // Joining and four votes are the fan's five mutations of the minute; the next is refused.
    let fan = member(&app, "fan", &community).await;
    let body = cast(&app, &fan, &ids[..4]).await;
    assert!(body["errors"].is_null(), "{body}");
    assert_retry_after(&cast(&app, &fan, &ids[4..]).await);
    assert_eq!(app.count("vote").await, 4);
    // Five aliased votes in one document are five mutations: over the budget, none runs.
    let other = member(&app, "other", &community).await;
    assert_retry_after(&cast(&app, &other, &ids).await);
    assert_eq!(app.count("vote").await, 4);
}

async fn token_request(app: &TestApp, client_id: &str, secret: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/oauth/token", app.address))
        .form(&[("grant_type", "client_credentials")])
        .basic_auth(client_id, Some(secret))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn partner_token_requests_are_limited_per_client_with_429_and_retry_after() {
    let app = TestApp::spawn_with(&[
        ("RATE_LIMIT_WINDOW_SECS", "3600"),
        ("RATE_LIMIT_TOKEN_REQUESTS", "3"),
    ])
    .await;
    let admin = app.admin("admin").await;
    let body = app
        .graphql(
            "mutation($input: CreatePartnerInput!) { createPartner(input: $input) { clientId clientSecret } }",
            json!({ "input": { "name": "Brick Retail", "scopes": ["sales:write"] } }),
            auth(&admin),
        )
        .await;
    let created = ok(&body, "createPartner");
    let client_id = created["clientId"].as_str().unwrap();
    let secret = created["clientSecret"].as_str().unwrap();
    assert_eq!(token_request(&app, client_id, secret).await.status(), 200);
    // Guessing the secret counts too.
    for _ in 0..2 {
        assert_eq!(token_request(&app, client_id, "guess").await.status(), 401);
    }
    let refused = token_request(&app, client_id, secret).await;
    assert_eq!(refused.status(), 429);
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry));
    let answer: Value = refused.json().await.unwrap();
    assert_eq!(answer["error"], "rate_limited", "{answer}");
}

#[tokio::test]
#[cfg_attr(not(canyu_postgres), ignore = "needs Postgres (set TEST_DATABASE_URL)")]
async fn replicas_share_one_count() {
    let app = TestApp::spawn_with(&[
        ("RATE_LIMIT_WINDOW_SECS", "3600"),
        ("RATE_LIMIT_LOGIN_FAILURES", "4"),
    ])
    .await;
    let replica = app
        .replica(&[
            ("RATE_LIMIT_WINDOW_SECS", "3600"),
            ("RATE_LIMIT_LOGIN_FAILURES", "4"),
        ])
        .await;
    app.sign_up("victim").await;
    for i in 0..2 {
        assert_code(
            &log_in(&app, "victim", &format!("a{i}")).await,
            "UNAUTHENTICATED",
        );
        assert_code(
            &log_in(&replica, "victim", &format!("b{i}")).await,
            "UNAUTHENTICATED",
        );
    }
    let body = log_in(&replica, "victim", PASSWORD).await;
    assert_eq!(error_code(&body), Some("RATE_LIMITED"), "{body}");
    assert_retry_after(&log_in(&app, "victim", PASSWORD).await);
}

#[tokio::test]
#[cfg_attr(not(canyu_postgres), ignore = "needs Postgres (set TEST_DATABASE_URL)")]
async fn counting_a_request_waits_for_no_write_ahead_log_flush() {
    // The windows are an UNLOGGED table: the upsert of every counted mutation commits without
    // a WAL flush (it would otherwise cost each castVote a second fsync).
    let app = TestApp::spawn().await;
    assert_eq!(
        app.sql_strings(
            "SELECT relpersistence::text FROM pg_class WHERE relname = 'rate_limit_window'"
        )
        .await,
        ["u"]
    );
    let user = app.sign_up("counted").await;
    let community = create_community(&app, &user, "fans", "PUBLIC").await;
    let idea = submit(&app, &user, &community, "Counted without a flush").await;
    let counted = "SELECT SUM(count)::text FROM rate_limit_window WHERE bucket = 'mutation_actor'";
    let before: i64 = app.sql_strings(counted).await[0].parse().unwrap();
    let body = cast(&app, &user, std::slice::from_ref(&idea)).await;
    ok(&body, "v0");
    let after: i64 = app.sql_strings(counted).await[0].parse().unwrap();
    assert_eq!(after, before + 1, "the vote was counted");
}
