//! The HTTP surface: content types, body limits, batching, GET, GraphiQL, limits, production
//! mode, health, metrics, CORS and the WebSocket endpoint.

use canyu_tests::{PASSWORD, TestApp, assert_code};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::{self, Socket, create_community, join, new_id};

const SIGN_UP_DOC: &str = "mutation { signUp(input: { handle: \"sneaky\", password: \"correct horse battery\", displayName: \"S\" }) { accessToken } }";

/// The introspection query GraphiQL sends (graphql-js `getIntrospectionQuery`).
const INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}
"#;

async fn raw_post(app: &TestApp, content_type: &str, body: Vec<u8>) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn non_json_bodies_are_415_and_not_executed() {
    let app = TestApp::spawn().await;
    let body = serde_json::to_vec(&json!({ "query": SIGN_UP_DOC })).unwrap();
    for content_type in [
        "text/plain",
        "application/graphql",
        "application/x-www-form-urlencoded",
    ] {
        let (status, answer) = raw_post(&app, content_type, body.clone()).await;
        assert_eq!(status, 415, "{content_type}");
        assert_code(&answer, "BAD_USER_INPUT");
    }
    let (status, _) = raw_post(&app, "application/json; charset=utf-8", body).await;
    assert_eq!(status, 200, "charset parameters are fine");
    assert_eq!(app.count("user").await, 1, "only the JSON request ran");
}

#[tokio::test]
async fn oversized_bodies_are_413_before_parsing() {
    let app = TestApp::spawn().await;
    let padding = " ".repeat(70 * 1024);
    let body = format!("{{\"query\": \"{SIGN_UP_DOC_ESCAPED}\"{padding}}}");
    let (status, answer) = raw_post(&app, "application/json", body.into_bytes()).await;
    assert_eq!(status, 413);
    assert_code(&answer, "QUERY_TOO_LARGE");

    // Also when the length is not announced (a chunked upload).
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..80).map(|_| Ok(vec![b' '; 1024])).collect();
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
    assert_eq!(app.count("user").await, 0);
}

const SIGN_UP_DOC_ESCAPED: &str = "mutation { signUp(input: { handle: \\\"sneaky\\\", password: \\\"correct horse battery\\\", displayName: \\\"S\\\" }) { accessToken } }";

#[tokio::test]
async fn batches_and_malformed_json_are_400() {
    let app = TestApp::spawn().await;
    let batch =
        serde_json::to_vec(&json!([{ "query": SIGN_UP_DOC }, { "query": "{ viewer { id } }" }]))
            .unwrap();
    let (status, answer) = raw_post(&app, "application/json", batch).await;
    assert_eq!(status, 400);
    assert_code(&answer, "BAD_USER_INPUT");
    let (status, _) = raw_post(&app, "application/json", b"{\"query\": ".to_vec()).await;
    assert_eq!(status, 400);
    let (status, _) = raw_post(&app, "application/json", b"{\"nope\": 1}".to_vec()).await;
    assert_eq!(status, 400);
    assert_eq!(app.count("user").await, 0);
}

#[tokio::test]
async fn a_mutation_over_get_is_405_and_never_runs() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("query", SIGN_UP_DOC)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(
        response
            .headers()
            .get("allow")
            .and_then(|v| v.to_str().ok()),
        Some("POST")
    );
    let named = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[
            (
                "query",
                format!(
                    "query Q {{ viewer {{ id }} }} {}",
                    SIGN_UP_DOC.replacen("mutation", "mutation M", 1)
                ),
            ),
            ("operationName", "M".to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(named.status().as_u16(), 405);
    assert_eq!(app.count("user").await, 0);
}

#[tokio::test]
async fn queries_run_over_get() {
    let app = TestApp::spawn().await;
    let user = app.sign_up("getter").await;
    let response = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("query", "{ viewer { handle } }")])
        .bearer_auth(&user.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["viewer"]["handle"], "getter");
}

#[tokio::test]
async fn graphiql_is_served_in_development_and_its_introspection_passes_the_limits() {
    let app = TestApp::spawn().await;
    let (status, page) = app.get("/graphql").await;
    assert_eq!(status, 200);
    assert!(page.to_lowercase().contains("graphiql"));
    let body = app.graphql(INTROSPECTION, json!({}), None).await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "QueryRoot");
}

#[tokio::test]
async fn production_refuses_introspection_and_hides_graphiql() {
    let app = TestApp::spawn_with(&[("CANYU_ENV", "production")]).await;
    let body = app
        .graphql("{ __schema { types { name } } }", json!({}), None)
        .await;
    assert!(body["data"]["__schema"].is_null(), "{body}");
    let body = app
        .graphql(
            "{ __type(name: \"User\") { fields { name } } }",
            json!({}),
            None,
        )
        .await;
    assert!(body["data"]["__type"].is_null(), "{body}");
    let (status, _) = app.get("/graphql").await;
    assert_eq!(status, 404);
    // Field suggestions are off too.
    let typo = app.graphql("{ viewr { id } }", json!({}), None).await;
    let message = typo["errors"][0]["message"].as_str().unwrap();
    assert!(!message.contains("Did you mean"), "{message}");
    assert_code(&typo, "BAD_USER_INPUT");
}

#[tokio::test]
async fn too_deep_and_too_complex_queries_get_their_codes() {
    let app =
        TestApp::spawn_with(&[("GRAPHQL_MAX_DEPTH", "3"), ("GRAPHQL_MAX_COMPLEXITY", "50")]).await;
    let admin = app.admin("root").await;
    let deep = app
        .graphql(
            "{ partners(first: 1) { edges { node { createdBy { handle } } } } }",
            json!({}),
            Some(&admin.access_token),
        )
        .await;
    assert_code(&deep, "QUERY_TOO_DEEP");
    let complex = app
        .graphql(
            "{ partners(first: 100) { pageInfo { hasNextPage } } }",
            json!({}),
            Some(&admin.access_token),
        )
        .await;
    assert_code(&complex, "QUERY_TOO_COMPLEX");
    let fine = app
        .graphql(
            "{ partners(first: 5) { pageInfo { hasNextPage } } }",
            json!({}),
            Some(&admin.access_token),
        )
        .await;
    assert!(fine["errors"].is_null(), "{fine}");
}

#[tokio::test]
async fn syntax_errors_are_bad_user_input() {
    let app = TestApp::spawn().await;
    let body = app.graphql("{ viewer { id ", json!({}), None).await;
    assert_code(&body, "BAD_USER_INPUT");
    let body = app.graphql("{ nosuchfield }", json!({}), None).await;
    assert_code(&body, "BAD_USER_INPUT");
}

#[tokio::test]
async fn healthz_reports_the_database() {
    let app = TestApp::spawn().await;
    let (status, body) = app.get("/healthz").await;
    assert_eq!(status, 200);
    assert!(body.contains("\"database\":\"ok\""), "{body}");
    app.break_database().await;
    let (status, body) = app.get("/healthz").await;
    assert_eq!(status, 503);
    assert!(body.contains("unreachable"), "{body}");
}

#[tokio::test]
async fn a_database_outage_is_unavailable_not_internal() {
    let app = TestApp::spawn().await;
    app.break_database().await;
    let body = app
        .graphql("mutation { logIn(input: { handle: \"anyone\", password: \"whatever12\" }) { accessToken } }", json!({}), None)
        .await;
    assert_code(&body, "UNAVAILABLE");
}

#[tokio::test]
async fn metrics_count_requests_by_operation_and_outcome() {
    let app = TestApp::spawn().await;
    app.graphql("{ viewer { id } }", json!({}), None).await;
    app.graphql("{ nosuchfield }", json!({}), None).await;
    app.sign_up("counted").await;
    let (status, text) = app.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(
        text.contains("canyu_graphql_requests_total{operation=\"query\",outcome=\"ok\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("canyu_graphql_requests_total{operation=\"query\",outcome=\"error\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("canyu_graphql_requests_total{operation=\"mutation\",outcome=\"ok\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("canyu_graphql_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(
        text.contains("canyu_db_pool_connections{state=\"idle\"}"),
        "{text}"
    );
}

#[tokio::test]
async fn cors_allows_only_configured_origins() {
    let app = TestApp::spawn_with(&[("CORS_ALLOWED_ORIGINS", "https://app.canyu.example")]).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, format!("{}/graphql", app.address))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
    };
    let allowed = preflight("https://app.canyu.example").await.unwrap();
    assert_eq!(allowed.status().as_u16(), 200);
    assert_eq!(
        allowed
            .headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("https://app.canyu.example")
    );
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

async fn ws_connect(app: &TestApp) -> Socket {
    let (socket, response) = tokio_tungstenite::connect_async(support::ws_request(app))
        .await
        .unwrap();
    assert_eq!(
        response
            .headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok()),
        Some("graphql-transport-ws")
    );
    socket
}

/// Opens `/graphql/ws`, sends `connection_init` with `payload` and expects the ack.
async fn ws_init(app: &TestApp, payload: Value) -> Socket {
    let mut socket = ws_connect(app).await;
    support::send(
        &mut socket,
        json!({ "type": "connection_init", "payload": payload }),
    )
    .await;
    let reply = support::receive(&mut socket).await;
    assert_eq!(reply["type"], "connection_ack", "{reply}");
    socket
}

#[tokio::test]
async fn websocket_accepts_a_valid_token_in_connection_init() {
    // syncPoke needs a signed-in user, so it shows whether the socket's viewer came from the
    // token: refused on an anonymous socket, and poking the signed-in one when its user joins
    // a community (their own scope changes).
    const POKE: &str = "subscription($id: ID!) { syncPoke(clientGroupId: $id) }";
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "sockets", "PUBLIC").await;
    let user = app.sign_up("socket").await;

    let mut anonymous = ws_init(&app, json!({})).await;
    support::subscribe(&mut anonymous, "1", POKE, &new_id()).await;
    let refused = support::receive(&mut anonymous).await;
    assert_eq!(refused["type"], "next", "{refused}");
    assert_code(&refused["payload"], "UNAUTHENTICATED");

    let mut signed_in = ws_init(
        &app,
        json!({ "authorization": format!("Bearer {}", user.access_token) }),
    )
    .await;
    support::subscribe(&mut signed_in, "1", POKE, &new_id()).await;
    join(&app, &user, &community).await;
    assert_eq!(
        support::next_data(&mut signed_in, "1", "syncPoke").await,
        true
    );
}

#[tokio::test]
async fn websocket_closes_on_a_bad_token() {
    let app = TestApp::spawn().await;
    let mut socket = ws_connect(&app).await;
    let init = json!({ "type": "connection_init", "payload": { "authorization": "Bearer forged.token.here" } });
    socket
        .send(Message::Text(init.to_string().into()))
        .await
        .unwrap();
    let reply = tokio::time::timeout(std::time::Duration::from_secs(5), socket.next())
        .await
        .unwrap();
    match reply {
        // graphql-transport-ws: a refused `connection_init` closes with 4403 (Forbidden).
        Some(Ok(Message::Close(Some(frame)))) => {
            assert_eq!(u16::from(frame.code), 4403);
            assert!(frame.reason.contains("access token"), "{}", frame.reason);
        }
        other => panic!("expected the socket to close, got {other:?}"),
    }
}

#[tokio::test]
async fn websocket_without_the_subprotocol_is_refused() {
    let app = TestApp::spawn().await;
    let request = format!("ws://127.0.0.1:{}/graphql/ws", app.port)
        .into_client_request()
        .unwrap();
    assert!(tokio_tungstenite::connect_async(request).await.is_err());
}

#[tokio::test]
async fn every_response_carries_a_distinct_request_id() {
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let response = app
            .client
            .get(format!("{}/healthz", app.address))
            .send()
            .await
            .unwrap();
        let id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(!id.is_empty());
        ids.push(id);
    }
    assert_ne!(ids[0], ids[1]);
}

// ---------------------------------------------------------------------------------------------
// Password checks cost one Argon2 computation each, whether or not the handle exists.

const LOG_IN_QUERY: &str = "mutation($h: String!, $p: String!) { logIn(input: { handle: $h, password: $p }) { accessToken } }";

/// A metric's value as `/metrics` shows it now.
async fn metric(app: &TestApp, name: &str) -> i64 {
    support::metric(app, name)
        .await
        .unwrap_or_else(|| panic!("no {name} on /metrics"))
}

/// `canyu_password_hashes_total` as `/metrics` shows it now.
async fn password_hashes(app: &TestApp) -> u64 {
    u64::try_from(metric(app, "canyu_password_hashes_total").await).unwrap()
}

/// The Argon2 computations of one log-in, which must fail with UNAUTHENTICATED.
async fn hashes_of_a_refused_log_in(app: &TestApp, handle: &str, password: &str) -> u64 {
    let before = password_hashes(app).await;
    let body = app
        .graphql(LOG_IN_QUERY, json!({ "h": handle, "p": password }), None)
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

#[tokio::test]
async fn a_full_hashing_queue_answers_rate_limited_at_once() {
    // One hashing thread and no waiting room: of eight log-ins at once, those that find the
    // thread busy are refused instead of queueing.
    let app = TestApp::spawn_with(&[
        ("PASSWORD_HASH_CONCURRENCY", "1"),
        ("PASSWORD_HASH_QUEUE", "0"),
    ])
    .await;
    let attempts = (0..8).map(|i| {
        app.graphql(
            LOG_IN_QUERY,
            json!({ "h": format!("nobody{i}"), "p": PASSWORD }),
            None,
        )
    });
    let answers = futures_util::future::join_all(attempts).await;
    let codes: Vec<_> = answers
        .iter()
        .map(|a| canyu_tests::error_code(a).map(str::to_string))
        .collect();
    assert!(
        codes
            .iter()
            .all(|c| matches!(c.as_deref(), Some("UNAUTHENTICATED" | "RATE_LIMITED"))),
        "{codes:?}"
    );
    let limited = answers
        .iter()
        .find(|a| canyu_tests::error_code(a) == Some("RATE_LIMITED"))
        .unwrap_or_else(|| panic!("no log-in was refused: {codes:?}"));
    assert_eq!(limited["errors"][0]["extensions"]["retryAfterSeconds"], 1);
}

/// Waits (up to 15 s) until the hashing threads hold no Argon2 memory.
async fn until_hashing_memory_is_given_back(app: &TestApp) {
    for _ in 0..150 {
        if metric(app, HASH_MEMORY).await == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "the hashing threads still hold {} bytes",
        metric(app, HASH_MEMORY).await
    );
}

const HASH_MEMORY: &str = "canyu_password_hash_memory_bytes";

#[tokio::test]
async fn the_hashing_memory_of_a_log_in_is_given_back_once_log_ins_stop() {
    // One hashing thread: its 19 MiB Argon2 block (m = 19 456 KiB) is held while log-ins come
    // and given back a moment after the last.
    let app = TestApp::spawn_with(&[("PASSWORD_HASH_CONCURRENCY", "1")]).await;
    let block = 19_456 * 1024;
    until_hashing_memory_is_given_back(&app).await;

    let mut held = Vec::new();
    for attempt in 0..5 {
        let body = app
            .graphql(
                LOG_IN_QUERY,
                json!({ "h": format!("nobody{attempt}"), "p": PASSWORD }),
                None,
            )
            .await;
        assert_code(&body, "UNAUTHENTICATED");
        held.push(metric(&app, HASH_MEMORY).await);
        if held.last() == Some(&block) {
            break;
        }
    }
    assert_eq!(
        held.last(),
        Some(&block),
        "held after each log-in: {held:?}"
    );
    until_hashing_memory_is_given_back(&app).await;

    // The next log-in makes the memory again and is answered as any other.
    let user = app.sign_up("after_a_quiet_spell").await;
    let body = app
        .graphql(
            LOG_IN_QUERY,
            json!({ "h": user.handle, "p": PASSWORD }),
            None,
        )
        .await;
    assert!(body["data"]["logIn"]["accessToken"].is_string(), "{body}");
}

#[tokio::test]
async fn fields_come_back_in_the_order_the_query_asks_for_them() {
    let app = TestApp::spawn().await;
    let query = "{ communities(first: 1) { edges { node { id } } } viewer { id } __typename last: __typename }";
    for _ in 0..20 {
        let text = app
            .client
            .post(format!("{}/graphql", app.address))
            .json(&json!({ "query": query }))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let at = |key: &str| {
            text.find(&format!("\"{key}\""))
                .unwrap_or_else(|| panic!("no {key} in {text}"))
        };
        assert!(
            at("communities") < at("viewer")
                && at("viewer") < at("__typename")
                && at("__typename") < at("last"),
            "{text}"
        );
    }
}

/// POSTs `query` accepting `accept`; returns status, content type and the body as text.
async fn post_accepting(app: &TestApp, accept: &str, query: &str) -> (u16, String, String) {
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("accept", accept)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    (status, content_type, response.text().await.unwrap())
}

#[tokio::test]
async fn graphql_over_http_media_types_and_request_errors_follow_the_spec() {
    let app = TestApp::spawn().await;
    let modern = "application/graphql-response+json, application/json;q=0.9";
    // A request error — the document never ran — is a 4xx without `data` under the GraphQL
    // response media type…
    for broken in [
        "{ viewer {",
        "{ noSuchField }",
        "{ a: __typename b: __typename c: __typename d: __typename e: __typename f: __typename g: __typename h: __typename i: __typename j: __typename k: __typename l: __typename m: __typename n: __typename o: __typename p: __typename }",
    ] {
        let (status, content_type, text) = post_accepting(&app, modern, broken).await;
        assert_eq!(status, 400, "{broken}: {text}");
        assert!(
            content_type.starts_with("application/graphql-response+json"),
            "{content_type}"
        );
        let body: Value = serde_json::from_str(&text).unwrap();
        assert!(
            body.get("data").is_none(),
            "a request error has no data: {text}"
        );
        assert!(
            body["errors"][0]["extensions"]["code"].is_string(),
            "{text}"
        );
    }
    // …and a 200 without `data` under the legacy JSON one.
    let (status, content_type, text) = post_accepting(&app, "application/json", "{ viewer {").await;
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    assert!(
        serde_json::from_str::<Value>(&text)
            .unwrap()
            .get("data")
            .is_none()
    );
    // A query that ran is a 200 under either, with `data`, and field errors stay in a 200.
    let (status, content_type, text) = post_accepting(&app, modern, "{ __typename }").await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("application/graphql-response+json"));
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["data"]["__typename"],
        "QueryRoot"
    );
    let (status, _, text) = post_accepting(
        &app,
        modern,
        &format!(
            "{{ suggestion(id: \"{}\") {{ id }} pricingPoll(id: \"not-an-id\") {{ id }} }}",
            new_id()
        ),
    )
    .await;
    assert_eq!(status, 200, "a field error is not a request error: {text}");
    assert!(
        serde_json::from_str::<Value>(&text)
            .unwrap()
            .get("data")
            .is_some()
    );
}

#[tokio::test]
async fn a_declared_variable_left_out_takes_the_arguments_default() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "fans", "PUBLIC").await;
    for title in ["First idea", "Second idea"] {
        support::submit(&app, &owner, &community, title).await;
    }
    let token = owner.access_token.as_str();
    let listed = |body: &Value| -> Vec<String> {
        assert!(body["errors"].is_null(), "{body}");
        body["data"]["suggestions"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|edge| edge["node"]["id"].as_str().unwrap().to_string())
            .collect()
    };
    let by_default = app
        .graphql(
            "query($c: ID) { suggestions(communityId: $c) { edges { node { id } } } }",
            json!({ "c": community }),
            None,
        )
        .await;
    // `$sort` declared and not sent: the argument's default (HOT), as if it were not written.
    let left_out = app
        .graphql(
            "query($c: ID, $sort: SuggestionSort) { suggestions(communityId: $c, sort: $sort) { edges { node { id } } } }",
            json!({ "c": community }),
            None,
        )
        .await;
    assert_eq!(listed(&left_out), listed(&by_default));
    assert_eq!(listed(&left_out).len(), 2);
    // A boolean argument with a default, and an input-object field with one.
    let body = app
        .graphql(
            "query($u: Boolean) { notifications(unreadOnly: $u) { edges { node { id } } } }",
            json!({}),
            Some(token),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let body = app
        .graphql(
            "query($g: ID!, $l: Int) { pull(input: { clientGroupId: $g, protocolVersion: 1, schemaVersion: 2, limit: $l }) { hasMore } }",
            json!({ "g": new_id() }),
            Some(token),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    // Sent as null, it is the caller's mistake; a required argument left without one is too, and
    // so is a list item: never INTERNAL.
    assert_code(
        &app.graphql(
            "query($sort: SuggestionSort) { suggestions(sort: $sort) { edges { node { id } } } }",
            json!({ "sort": null }),
            None,
        )
        .await,
        "BAD_USER_INPUT",
    );
    assert_code(
        &app.graphql(
            "query($id: ID) { suggestion(id: $id) { id } }",
            json!({}),
            None,
        )
        .await,
        "BAD_USER_INPUT",
    );
    assert_code(
        &app.graphql(
            "query($s: SuggestionStatus) { suggestions(status: [$s]) { edges { node { id } } } }",
            json!({}),
            None,
        )
        .await,
        "BAD_USER_INPUT",
    );
}
