//! Shared steps of the closed-loop suites: communities, members, staff, suggestions, votes and
//! comments, each through the public GraphQL API.

use std::time::Duration;

use canyu_tests::{PASSWORD, TestApp, TestUser};
use futures_util::{SinkExt, StreamExt};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A fresh UUIDv7, as a client makes them: for client-made ids, and for ids no row has.
/// Ids made in one process are ordered by creation.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The bearer token of `user`, as [`TestApp::graphql`] takes it.
pub fn auth(user: &TestUser) -> Option<&str> {
    Some(user.access_token.as_str())
}

/// `data.<field>` of an answer that must have succeeded (no errors, not null).
#[track_caller]
pub fn ok<'a>(body: &'a Value, field: &str) -> &'a Value {
    assert!(body["errors"].is_null(), "{field} failed: {body}");
    assert!(!body["data"][field].is_null(), "{field} is null: {body}");
    &body["data"][field]
}

/// The `id` of an object.
#[track_caller]
pub fn id_of(object: &Value) -> String {
    object["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {object}"))
        .to_string()
}

/// The ids of a connection's `nodes`, in order.
#[track_caller]
pub fn node_ids(connection: &Value) -> Vec<String> {
    connection["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("not a connection: {connection}"))
        .iter()
        .map(id_of)
        .collect()
}

/// A community made by `owner`; returns its id.
pub async fn create_community(
    app: &TestApp,
    owner: &TestUser,
    slug: &str,
    visibility: &str,
) -> String {
    let body = app
        .graphql(
            "mutation($input: CreateCommunityInput!) { createCommunity(input: $input) { id } }",
            json!({ "input": { "slug": slug, "name": slug, "visibility": visibility } }),
            auth(owner),
        )
        .await;
    id_of(ok(&body, "createCommunity"))
}

/// `user` joins the community; returns the membership `{ role status joinedAt }`.
pub async fn join(app: &TestApp, user: &TestUser, community_id: &str) -> Value {
    let body = app
        .graphql(
            "mutation($c: ID!) { joinCommunity(communityId: $c) { role status joinedAt } }",
            json!({ "c": community_id }),
            auth(user),
        )
        .await;
    ok(&body, "joinCommunity").clone()
}

/// Signs up `handle` and makes it an ACTIVE member of a PUBLIC community.
pub async fn member(app: &TestApp, handle: &str, community_id: &str) -> TestUser {
    let user = app.sign_up(handle).await;
    let membership = join(app, &user, community_id).await;
    assert_eq!(membership["status"], "ACTIVE", "{membership}");
    user
}

/// Signs up `handle` (at most 27 characters), has a fresh admin give it the global STAFF role,
/// and signs it in again.
pub async fn staff(app: &TestApp, handle: &str) -> TestUser {
    let admin = app.admin(&format!("{handle}_boss")).await;
    let user = app.sign_up(handle).await;
    let body = app
        .graphql(
            "mutation($id: ID!) { setUserRole(userId: $id, role: STAFF) { role } }",
            json!({ "id": user.id }),
            auth(&admin),
        )
        .await;
    assert_eq!(ok(&body, "setUserRole")["role"], "STAFF");
    app.log_in(handle, PASSWORD).await
}

/// An IDEA by `author` with a client-made id (so ids follow creation order); returns its id.
pub async fn submit(app: &TestApp, author: &TestUser, community_id: &str, title: &str) -> String {
    submit_with_body(
        app,
        author,
        community_id,
        title,
        &format!("More about {title}."),
    )
    .await
}

/// Like [`submit`], with a chosen body.
pub async fn submit_with_body(
    app: &TestApp,
    author: &TestUser,
    community_id: &str,
    title: &str,
    body: &str,
) -> String {
    let answer = app
        .graphql(
            "mutation($input: SubmitSuggestionInput!) { submitSuggestion(input: $input) { id } }",
            json!({ "input": {
                "id": new_id(),
                "communityId": community_id,
                "kind": "IDEA",
                "title": title,
                "body": body,
            } }),
            auth(author),
        )
        .await;
    id_of(ok(&answer, "submitSuggestion"))
}

/// The `castVote` mutation, selecting the counters and the viewer's vote.
pub const CAST_VOTE: &str = "mutation($s: ID!, $v: VoteValue!) { castVote(input: { suggestionId: $s, value: $v }) { id upvotes downvotes score viewerVote } }";

/// `voter` votes; returns the whole answer (for error checks).
pub async fn try_vote(app: &TestApp, voter: &TestUser, suggestion_id: &str, value: &str) -> Value {
    app.graphql(
        CAST_VOTE,
        json!({ "s": suggestion_id, "v": value }),
        auth(voter),
    )
    .await
}

/// `voter` votes, which must succeed; returns `{ upvotes downvotes score viewerVote }`.
pub async fn vote(app: &TestApp, voter: &TestUser, suggestion_id: &str, value: &str) -> Value {
    let body = try_vote(app, voter, suggestion_id, value).await;
    ok(&body, "castVote").clone()
}

/// `staff` sets a status, which must succeed; returns `{ status resolvedAt }`.
pub async fn set_status(
    app: &TestApp,
    staff: &TestUser,
    suggestion_id: &str,
    status: &str,
) -> Value {
    let body = app
        .graphql(
            "mutation($input: SetStatusInput!) { setSuggestionStatus(input: $input) { status resolvedAt } }",
            json!({ "input": { "suggestionId": suggestion_id, "status": status } }),
            auth(staff),
        )
        .await;
    ok(&body, "setSuggestionStatus").clone()
}

/// `staff` answers officially, which must succeed.
pub async fn respond(app: &TestApp, staff: &TestUser, suggestion_id: &str, text: &str) -> Value {
    let body = app
        .graphql(
            "mutation($input: RespondInput!) { respondToSuggestion(input: $input) { id commentCount firstResponseAt officialResponse { body } } }",
            json!({ "input": { "suggestionId": suggestion_id, "body": text } }),
            auth(staff),
        )
        .await;
    ok(&body, "respondToSuggestion").clone()
}

/// `staff` marks `duplicate` as a duplicate of `original`, which must succeed.
pub async fn mark_duplicate(
    app: &TestApp,
    staff: &TestUser,
    duplicate: &str,
    original: &str,
) -> Value {
    let body = app
        .graphql(
            "mutation($input: MarkDuplicateInput!) { markDuplicate(input: $input) { id status upvotes downvotes score duplicateOf { id } } }",
            json!({ "input": { "suggestionId": duplicate, "duplicateOfId": original } }),
            auth(staff),
        )
        .await;
    ok(&body, "markDuplicate").clone()
}

/// `author` comments with a client-made id, which must succeed; returns the comment id.
pub async fn comment(app: &TestApp, author: &TestUser, suggestion_id: &str, text: &str) -> String {
    let body = app
        .graphql(
            "mutation($input: AddCommentInput!) { addComment(input: $input) { id } }",
            json!({ "input": { "id": new_id(), "suggestionId": suggestion_id, "body": text } }),
            auth(author),
        )
        .await;
    id_of(ok(&body, "addComment"))
}

/// `suggestion(id)` with `fields`, as `viewer` sees it (null when not visible); the query must
/// not fail.
pub async fn read_suggestion(
    app: &TestApp,
    viewer: Option<&TestUser>,
    suggestion_id: &str,
    fields: &str,
) -> Value {
    let body = app
        .graphql(
            &format!("query($id: ID!) {{ suggestion(id: $id) {{ {fields} }} }}"),
            json!({ "id": suggestion_id }),
            viewer.and_then(auth),
        )
        .await;
    assert!(body["errors"].is_null(), "suggestion failed: {body}");
    body["data"]["suggestion"].clone()
}

/// Runs DDL or DML against the test database.
pub async fn execute(app: &TestApp, sql: &str) {
    app.state
        .db
        .execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The first column of the first row of `sql`, as a number.
pub async fn scalar(app: &TestApp, sql: &str) -> i64 {
    app.sql_strings(sql).await[0].parse().unwrap()
}

/// Asserts every suggestion's stored counters equal its own vote rows (`upvotes` the UP rows,
/// `downvotes` the DOWN rows, `score` their difference); the message names each suggestion
/// that differs.
pub async fn assert_counters_equal_vote_rows(app: &TestApp) {
    let sql = "SELECT s.id, s.upvotes, s.downvotes, s.score, \
               CAST(COALESCE(v.up, 0) AS BIGINT) AS up_rows, \
               CAST(COALESCE(v.down, 0) AS BIGINT) AS down_rows \
               FROM suggestion s LEFT JOIN (\
                 SELECT suggestion_id, \
                   SUM(CASE WHEN value = 'UP' THEN 1 ELSE 0 END) AS up, \
                   SUM(CASE WHEN value = 'DOWN' THEN 1 ELSE 0 END) AS down \
                 FROM vote GROUP BY suggestion_id\
               ) v ON v.suggestion_id = s.id \
               WHERE s.upvotes <> COALESCE(v.up, 0) OR s.downvotes <> COALESCE(v.down, 0) \
                  OR s.score <> COALESCE(v.up, 0) - COALESCE(v.down, 0) \
               ORDER BY s.id";
    let db = &app.state.db;
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("counters against vote rows");
    let differing: Vec<String> = rows
        .iter()
        .map(|row| {
            let number = |column: &str| {
                row.try_get::<i64>("", column)
                    .or_else(|_| row.try_get::<i32>("", column).map(i64::from))
                    .unwrap_or_else(|e| panic!("{column}: {e}"))
            };
            let id: uuid::Uuid = row.try_get("", "id").expect("suggestion id");
            format!(
                "{id}: upvotes {} downvotes {} score {}, rows UP {} DOWN {}",
                number("upvotes"),
                number("downvotes"),
                number("score"),
                number("up_rows"),
                number("down_rows"),
            )
        })
        .collect();
    assert!(
        differing.is_empty(),
        "suggestions whose counters differ from their vote rows:\n{}",
        differing.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// The subscription client (graphql-transport-ws)

/// A graphql-transport-ws client connection.
pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How long a test waits for a message that should come.
pub const WAIT: Duration = Duration::from_secs(10);

/// The upgrade request for `/graphql/ws` on `app`, asking for `graphql-transport-ws`.
pub fn ws_request(app: &TestApp) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let mut request = format!("ws://127.0.0.1:{}/graphql/ws", app.port)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    request
}

/// Opens `/graphql/ws` on `app`; nothing is sent yet.
pub async fn open(app: &TestApp) -> Socket {
    tokio_tungstenite::connect_async(ws_request(app))
        .await
        .unwrap()
        .0
}

/// Opens `/graphql/ws` on `app` and signs in as `user` with `connection_init`.
pub async fn connect(app: &TestApp, user: &TestUser) -> Socket {
    let mut socket = open(app).await;
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {}", user.access_token) } }),
    )
    .await;
    let ack = receive(&mut socket).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    socket
}

pub async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

/// The next protocol message (pings are answered on the way); fails after [`WAIT`].
pub async fn receive(socket: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("no message within the time limit")
            .expect("the socket ended")
            .expect("a WebSocket error");
        match frame {
            Message::Text(text) => {
                let message: Value = serde_json::from_str(text.as_str()).unwrap();
                if message["type"] == "ping" {
                    send(socket, json!({ "type": "pong" })).await;
                    continue;
                }
                return message;
            }
            Message::Close(frame) => panic!("the socket closed: {frame:?}"),
            _ => continue,
        }
    }
}

/// Starts the subscription `query` (with `{ "id": id }` as variables) as operation
/// `operation_id`, then waits a moment so it is in place before the test changes anything.
pub async fn subscribe(socket: &mut Socket, operation_id: &str, query: &str, id: &str) {
    send(
        socket,
        json!({
            "id": operation_id,
            "type": "subscribe",
            "payload": { "query": query, "variables": { "id": id } },
        }),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
}

/// The `data.<field>` of the next `next` message of `operation_id` (which must carry no errors).
pub async fn next_data(socket: &mut Socket, operation_id: &str, field: &str) -> Value {
    let message = receive(socket).await;
    assert_eq!(message["type"], "next", "{message}");
    assert_eq!(message["id"], operation_id, "{message}");
    assert!(message["payload"]["errors"].is_null(), "{message}");
    message["payload"]["data"][field].clone()
}

/// The value of the one `series` on /metrics (a name with its labels, as printed), or `None`
/// while it has never been counted.
pub async fn metric(app: &TestApp, series: &str) -> Option<i64> {
    let (status, text) = app.get("/metrics").await;
    assert_eq!(status, 200, "{text}");
    let prefix = format!("{series} ");
    text.lines()
        .find_map(|line| line.strip_prefix(prefix.as_str()))
        .map(|value| value.trim().parse().unwrap())
}

/// `canyu_db_queries_total` on /metrics.
pub async fn db_queries(app: &TestApp) -> f64 {
    let queries = metric(app, "canyu_db_queries_total")
        .await
        .expect("canyu_db_queries_total on /metrics");
    queries as f64
}

/// Runs `query` as `viewer` `runs` times and returns the fewest database queries one run cost
/// (a loader batch split by a busy machine costs more, never less), with the last answer.
pub async fn fewest_queries(
    app: &TestApp,
    runs: usize,
    query: &str,
    variables: Value,
    viewer: &TestUser,
) -> (f64, Value) {
    let mut fewest = f64::MAX;
    let mut body = Value::Null;
    for _ in 0..runs {
        let before = db_queries(app).await;
        body = app.graphql(query, variables.clone(), auth(viewer)).await;
        let after = db_queries(app).await;
        fewest = fewest.min(after - before);
    }
    (fewest, body)
}

/// A bearer token of a new partner with `scopes`, created by a fresh admin.
pub async fn partner_token(app: &TestApp, scopes: &[&str]) -> String {
    let admin = app.admin(&format!("p{}", &new_id()[24..])).await;
    let body = app
        .graphql(
            "mutation($input: CreatePartnerInput!) { createPartner(input: $input) { clientId clientSecret } }",
            json!({ "input": { "name": "Brand app", "scopes": scopes } }),
            auth(&admin),
        )
        .await;
    let created = ok(&body, "createPartner");
    let response = app
        .client
        .post(format!("{}/oauth/token", app.address))
        .basic_auth(
            created["clientId"].as_str().unwrap(),
            created["clientSecret"].as_str(),
        )
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let token: Value = response.json().await.unwrap();
    token["access_token"].as_str().unwrap().to_string()
}
