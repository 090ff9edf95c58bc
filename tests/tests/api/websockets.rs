//! `/graphql/ws` under hostile use: an open socket keeps no right its account has lost (a
//! demotion, a ban, a password change, a log-out, an expired token, a revoked partner close it
//! with 4403), runs only subscriptions, and is bounded — message size with continuations,
//! subscriptions per socket, sockets per account, time to `connection_init`.

use std::time::Duration;

use canyu_tests::{PASSWORD, TestApp, TestUser};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

use crate::support::{
    self, Socket, auth, connect, create_community, member, new_id, ok, open, send, submit,
};

const UPDATED: &str =
    "subscription($id: ID!) { suggestionUpdated(suggestionId: $id) { id score } }";

/// Waits for the socket to close; returns its close code and reason. Anything else that
/// arrives first (pokes, updates) is skipped.
async fn closed(socket: &mut Socket) -> (u16, String) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .expect("the socket did not close in time");
        match frame {
            Some(Ok(Message::Close(Some(frame)))) => {
                return (u16::from(frame.code), frame.reason.to_string());
            }
            Some(Ok(Message::Close(None))) | None => return (1005, String::new()),
            Some(Ok(_)) => continue,
            Some(Err(err)) => panic!("a WebSocket error instead of a close: {err}"),
        }
    }
}

/// A suggestion to subscribe to, made by a fresh community owner; returns it and its community.
async fn a_suggestion_in(app: &TestApp) -> (String, String) {
    let owner = app.sign_up("owner").await;
    let community = create_community(app, &owner, "sockets", "PUBLIC").await;
    let suggestion = submit(app, &owner, &community, "Keep the socket honest").await;
    (suggestion, community)
}

async fn a_suggestion(app: &TestApp) -> String {
    a_suggestion_in(app).await.0
}

#[tokio::test]
async fn a_demoted_admin_loses_the_socket_and_cannot_promote_itself_through_it() {
    let app = TestApp::spawn_with(&[("WS_RECHECK_MS", "300")]).await;
    let suggestion = a_suggestion(&app).await;
    let boss = app.admin("boss").await;
    let admin = app.admin("fallen").await;
    let mut socket = connect(&app, &admin).await;
    // A mutation over the socket is refused whatever the role: it never runs there.
    send(
        &mut socket,
        json!({ "id": "m", "type": "subscribe", "payload": { "query":
            format!("mutation {{ setUserRole(userId: \"{}\", role: ADMIN) {{ role }} }}", admin.id) } }),
    )
    .await;
    let refused = support::receive(&mut socket).await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(
        refused["payload"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );
    support::subscribe(&mut socket, "1", UPDATED, &suggestion).await;

    let body = app
        .graphql(
            "mutation($id: ID!) { setUserRole(userId: $id, role: MEMBER) { role } }",
            json!({ "id": admin.id }),
            auth(&boss),
        )
        .await;
    assert_eq!(ok(&body, "setUserRole")["role"], "MEMBER");
    let (code, reason) = closed(&mut socket).await;
    assert_eq!(code, 4403, "{reason}");
    let role = app
        .graphql("{ viewer { role } }", json!({}), auth(&admin))
        .await;
    assert_eq!(role["data"]["viewer"]["role"], "MEMBER");
}

#[tokio::test]
async fn queries_run_only_over_http() {
    let app = TestApp::spawn().await;
    let user = app.sign_up("reader").await;
    let mut socket = connect(&app, &user).await;
    send(
        &mut socket,
        json!({ "id": "q", "type": "subscribe", "payload": { "query": "{ viewer { handle } }" } }),
    )
    .await;
    let refused = support::receive(&mut socket).await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(
        refused["payload"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );
}

/// Signs `user` in on a socket with a live subscription, does `change`, and expects 4403.
async fn change_closes_the_socket(app: &TestApp, user: &TestUser, change: impl AsyncFnOnce()) {
    let suggestion = a_suggestion(app).await;
    let mut socket = connect(app, user).await;
    support::subscribe(&mut socket, "1", UPDATED, &suggestion).await;
    change().await;
    let (code, reason) = closed(&mut socket).await;
    assert_eq!(code, 4403, "{reason}");
}

#[tokio::test]
async fn a_ban_closes_the_banned_users_sockets() {
    let app = TestApp::spawn_with(&[("WS_RECHECK_MS", "300")]).await;
    let admin = app.admin("admin").await;
    let user = app.sign_up("troll").await;
    change_closes_the_socket(&app, &user, async || {
        let body = app
            .graphql(
                "mutation($id: ID!) { setUserBanned(userId: $id, banned: true) { id } }",
                json!({ "id": user.id }),
                auth(&admin),
            )
            .await;
        ok(&body, "setUserBanned");
    })
    .await;
}

#[tokio::test]
async fn a_password_change_closes_the_other_sockets() {
    let app = TestApp::spawn_with(&[("WS_RECHECK_MS", "300")]).await;
    let user = app.sign_up("careful").await;
    change_closes_the_socket(&app, &user, async || {
        let body = app
            .graphql(
                "mutation($input: ChangePasswordInput!) { changePassword(input: $input) { accessToken } }",
                json!({ "input": { "currentPassword": PASSWORD, "newPassword": "a brand new password" } }),
                auth(&user),
            )
            .await;
        ok(&body, "changePassword");
    })
    .await;
}

#[tokio::test]
async fn logging_out_closes_the_sessions_sockets() {
    let app = TestApp::spawn_with(&[("WS_RECHECK_MS", "300")]).await;
    let user = app.sign_up("leaving").await;
    change_closes_the_socket(&app, &user, async || {
        let body = app
            .graphql(
                "mutation($t: String!) { logOut(refreshToken: $t) }",
                json!({ "t": user.refresh_token }),
                None,
            )
            .await;
        assert_eq!(body["data"]["logOut"], true, "{body}");
    })
    .await;
}

#[tokio::test]
async fn an_expired_token_closes_its_socket() {
    let app =
        TestApp::spawn_with(&[("ACCESS_TOKEN_TTL_SECS", "1"), ("WS_RECHECK_MS", "500")]).await;
    let user = app.sign_up("short_lived").await;
    // Nothing changes; the token runs out (one second, plus the verifier's few seconds of
    // clock-skew leeway).
    change_closes_the_socket(&app, &user, async || {}).await;
}

#[tokio::test]
async fn a_revoked_partner_loses_its_socket() {
    let app = TestApp::spawn_with(&[("WS_RECHECK_MS", "300")]).await;
    let admin = app.admin("admin").await;
    let body = app
        .graphql(
            "mutation($input: CreatePartnerInput!) { createPartner(input: $input) { clientId clientSecret partner { id } } }",
            json!({ "input": { "name": "Brick Retail", "scopes": ["ideas:read"] } }),
            auth(&admin),
        )
        .await;
    let created = ok(&body, "createPartner");
    let token: Value = app
        .client
        .post(format!("{}/oauth/token", app.address))
        .form(&[("grant_type", "client_credentials")])
        .basic_auth(
            created["clientId"].as_str().unwrap(),
            created["clientSecret"].as_str(),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut socket = open(&app).await;
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": { "accessToken": token["access_token"] } }),
    )
    .await;
    assert_eq!(
        support::receive(&mut socket).await["type"],
        "connection_ack"
    );
    let body = app
        .graphql(
            "mutation($id: ID!) { revokePartner(id: $id) { id } }",
            json!({ "id": created["partner"]["id"] }),
            auth(&admin),
        )
        .await;
    ok(&body, "revokePartner");
    let (code, reason) = closed(&mut socket).await;
    assert_eq!(code, 4403, "{reason}");
}

#[tokio::test]
async fn a_message_over_the_limit_closes_the_socket_continuations_included() {
    let app = TestApp::spawn_with(&[("WS_MAX_MESSAGE_BYTES", "4096")]).await;
    // One frame too large, before connection_init.
    let mut socket = open(&app).await;
    socket
        .send(Message::Text("x".repeat(5000).into()))
        .await
        .unwrap();
    let (code, reason) = closed(&mut socket).await;
    assert_eq!(code, 1009, "{reason}");

    // Small frames continuing one message past the limit: the buffer stops growing.
    let mut socket = open(&app).await;
    let chunk = vec![b'x'; 1500];
    socket
        .send(Message::Frame(Frame::message(
            chunk.clone(),
            OpCode::Data(Data::Text),
            false,
        )))
        .await
        .unwrap();
    for _ in 0..4 {
        if socket
            .send(Message::Frame(Frame::message(
                chunk.clone(),
                OpCode::Data(Data::Continue),
                false,
            )))
            .await
            .is_err()
        {
            break;
        }
    }
    let (code, reason) = closed(&mut socket).await;
    assert_eq!(code, 1009, "{reason}");

    // Within the limit all is well.
    let user = app.sign_up("small_talk").await;
    connect(&app, &user).await;
}

#[tokio::test]
async fn a_socket_holds_at_most_the_configured_subscriptions() {
    let app = TestApp::spawn_with(&[("WS_MAX_SUBSCRIPTIONS", "2")]).await;
    let (suggestion, community) = a_suggestion_in(&app).await;
    let user = app.sign_up("subscriber").await;
    let mut socket = connect(&app, &user).await;
    support::subscribe(&mut socket, "1", UPDATED, &suggestion).await;
    support::subscribe(&mut socket, "2", UPDATED, &suggestion).await;
    support::subscribe(&mut socket, "3", UPDATED, &suggestion).await;
    let refused = support::receive(&mut socket).await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["id"], "3");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "RATE_LIMITED");
    // Completing one frees its place.
    send(&mut socket, json!({ "id": "1", "type": "complete" })).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    support::subscribe(&mut socket, "4", UPDATED, &suggestion).await;
    let voter = member(&app, "voter", &community).await;
    let vote = app
        .graphql(
            "mutation($id: ID!) { castVote(input: { suggestionId: $id, value: UP }) { score } }",
            json!({ "id": suggestion }),
            auth(&voter),
        )
        .await;
    ok(&vote, "castVote");
    // Subscription 2 and 4 are live (in either order); 1 was completed and 3 refused.
    let mut ids = Vec::new();
    for _ in 0..2 {
        let message = support::receive(&mut socket).await;
        assert_eq!(message["type"], "next", "{message}");
        assert_eq!(message["payload"]["data"]["suggestionUpdated"]["score"], 1);
        ids.push(message["id"].as_str().unwrap().to_string());
    }
    ids.sort();
    assert_eq!(ids, ["2", "4"]);
}

#[tokio::test]
async fn an_account_holds_at_most_the_configured_sockets() {
    let app = TestApp::spawn_with(&[("WS_MAX_SOCKETS_PER_USER", "2")]).await;
    let user = app.sign_up("many_tabs").await;
    let _first = connect(&app, &user).await;
    let second = connect(&app, &user).await;
    let mut third = open(&app).await;
    send(
        &mut third,
        json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {}", user.access_token) } }),
    )
    .await;
    let (code, reason) = closed(&mut third).await;
    assert_eq!(code, 4429, "{reason}");
    // A closed socket gives its place back.
    drop(second);
    tokio::time::sleep(Duration::from_millis(300)).await;
    connect(&app, &user).await;
}

#[tokio::test]
async fn a_socket_that_never_sends_connection_init_is_closed() {
    let app = TestApp::spawn_with(&[("WS_INIT_TIMEOUT_MS", "300")]).await;
    let mut socket = open(&app).await;
    let (code, reason) = closed(&mut socket).await;
    assert_eq!(code, 4408, "{reason}");
    // Subscribing before connection_init is refused as the protocol says.
    let mut socket = open(&app).await;
    send(
        &mut socket,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": UPDATED, "variables": { "id": new_id() } } }),
    )
    .await;
    let (code, _) = closed(&mut socket).await;
    assert_eq!(code, 4401);
}
