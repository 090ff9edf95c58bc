//! The `suggestionUpdated` subscription over `/graphql/ws` (graphql-transport-ws): live votes,
//! statuses, comments and responses, visibility, and fan-out across replicas.

use std::time::Duration;

use canyu_tests::{TestApp, TestUser};
use serde_json::{Value, json};

use crate::support::{
    self, Socket, comment, connect, create_community, member, receive, respond, send, set_status,
    submit, vote,
};

const UPDATED: &str = "subscription($id: ID!) { suggestionUpdated(suggestionId: $id) { id status upvotes downvotes score commentCount officialResponse { body } } }";

/// Subscribes to `suggestionUpdated` of `suggestion_id` as operation `operation_id`.
async fn subscribe(socket: &mut Socket, operation_id: &str, suggestion_id: &str) {
    support::subscribe(socket, operation_id, UPDATED, suggestion_id).await;
}

/// The next `suggestionUpdated` payload of `operation_id`.
async fn next_update(socket: &mut Socket, operation_id: &str) -> Value {
    support::next_data(socket, operation_id, "suggestionUpdated").await
}

/// A server, a public community of `owner` with a member `voter`, and `owner`'s suggestion
/// `id` titled `title`.
struct Watched {
    app: TestApp,
    owner: TestUser,
    community_id: String,
    voter: TestUser,
    id: String,
}

async fn watched(title: &str) -> Watched {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community_id = create_community(&app, &owner, "fans", "PUBLIC").await;
    let voter = member(&app, "voter", &community_id).await;
    let id = submit(&app, &owner, &community_id, title).await;
    Watched {
        app,
        owner,
        community_id,
        voter,
        id,
    }
}

#[tokio::test]
async fn subscribers_see_votes_status_changes_comments_and_responses() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community_id = create_community(&app, &owner, "fans", "PUBLIC").await;
    let author = member(&app, "author", &community_id).await;
    let voter = member(&app, "voter", &community_id).await;
    let watcher = member(&app, "watcher", &community_id).await;
    let staffer = crate::support::staff(&app, "staffer").await;
    let id = submit(&app, &author, &community_id, "Live updates please").await;

    let mut socket = connect(&app, &watcher).await;
    subscribe(&mut socket, "1", &id).await;

    vote(&app, &voter, &id, "UP").await;
    let update = next_update(&mut socket, "1").await;
    assert_eq!(update["id"], id.as_str());
    assert_eq!(update["upvotes"], 1);
    assert_eq!(update["score"], 1);
    assert_eq!(update["status"], "OPEN");

    vote(&app, &author, &id, "DOWN").await;
    let update = next_update(&mut socket, "1").await;
    assert_eq!(
        (
            update["upvotes"].clone(),
            update["downvotes"].clone(),
            update["score"].clone()
        ),
        (json!(1), json!(1), json!(0))
    );

    set_status(&app, &staffer, &id, "PLANNED").await;
    let update = next_update(&mut socket, "1").await;
    assert_eq!(update["status"], "PLANNED");

    comment(&app, &voter, &id, "Great news").await;
    let update = next_update(&mut socket, "1").await;
    assert_eq!(update["commentCount"], 1);

    respond(&app, &staffer, &id, "Coming in 4.0").await;
    let update = next_update(&mut socket, "1").await;
    assert_eq!(update["commentCount"], 2);
    assert_eq!(update["officialResponse"]["body"], "Coming in 4.0");
}

#[tokio::test]
async fn a_private_suggestion_is_not_found_for_a_non_member_subscriber() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let secret = create_community(&app, &owner, "secret", "PRIVATE").await;
    let id = submit(&app, &owner, &secret, "Members only").await;
    let outsider = app.sign_up("outsider").await;

    let mut socket = connect(&app, &outsider).await;
    send(
        &mut socket,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": UPDATED, "variables": { "id": id } } }),
    )
    .await;
    let message = receive(&mut socket).await;
    assert_eq!(message["id"], "1", "{message}");
    // graphql-transport-ws allows either an `error` message or a `next` carrying errors.
    let code = match message["type"].as_str() {
        Some("error") => message["payload"][0]["extensions"]["code"].clone(),
        Some("next") => {
            assert!(
                message["payload"]["data"].is_null()
                    || message["payload"]["data"]["suggestionUpdated"].is_null(),
                "{message}"
            );
            message["payload"]["errors"][0]["extensions"]["code"].clone()
        }
        _ => panic!("expected an error, got {message}"),
    };
    assert_eq!(code, "NOT_FOUND", "{message}");

    // Nothing about it leaks afterwards either.
    vote(&app, &owner, &id, "UP").await;
    let later = tokio::time::timeout(Duration::from_secs(1), async {
        loop {
            let message = receive(&mut socket).await;
            if message["type"] == "next" {
                return message;
            }
        }
    })
    .await;
    assert!(later.is_err(), "an update leaked: {later:?}");
}

// Replicas fan out through Postgres LISTEN/NOTIFY; SQLite runs a single server.
#[tokio::test]
#[cfg_attr(not(canyu_postgres), ignore = "needs Postgres (set TEST_DATABASE_URL)")]
async fn a_subscriber_on_another_replica_sees_the_update() {
    let Watched {
        app,
        owner,
        voter,
        id,
        ..
    } = watched("Across replicas").await;
    let replica = app.replica(&[]).await;

    let mut socket = connect(&replica, &owner).await;
    subscribe(&mut socket, "1", &id).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;

    vote(&app, &voter, &id, "UP").await;
    let update = next_update(&mut socket, "1").await;
    assert_eq!(update["id"], id.as_str());
    assert_eq!(update["upvotes"], 1);
    assert_eq!(update["score"], 1);
}

// The events listener has its own Postgres connection; when Postgres drops it (a restart, a
// failover, an administrator), the server listens again on a new one, and subscribers hear the
// changes made after that, on the same socket.
#[tokio::test]
#[cfg_attr(not(canyu_postgres), ignore = "needs Postgres (set TEST_DATABASE_URL)")]
async fn subscribers_hear_changes_again_after_the_event_listener_loses_its_connection() {
    let Watched {
        app,
        owner,
        voter,
        id,
        ..
    } = watched("Still live after a drop").await;
    let mut socket = connect(&app, &owner).await;
    subscribe(&mut socket, "1", &id).await;

    let terminated = support::scalar(
        &app,
        "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN%') AS t",
    )
    .await;
    assert_eq!(terminated, 1, "one listener connection per server");

    // Changes made before the listener is back are not heard; vote, unvote, … until one is.
    let mut heard = false;
    for value in ["UP", "NONE"].iter().cycle().take(40) {
        vote(&app, &voter, &id, value).await;
        let next = tokio::time::timeout(Duration::from_millis(250), receive(&mut socket)).await;
        if let Ok(message) = next {
            assert_eq!(message["type"], "next", "{message}");
            heard = true;
            break;
        }
    }
    assert!(
        heard,
        "no update within 10 s of the listener's connection being dropped"
    );
    while let Ok(message) =
        tokio::time::timeout(Duration::from_millis(300), receive(&mut socket)).await
    {
        assert_eq!(message["type"], "next", "{message}");
    }

    vote(&app, &voter, &id, "DOWN").await;
    let update = next_update(&mut socket, "1").await;
    assert_eq!(
        (update["upvotes"].clone(), update["downvotes"].clone()),
        (json!(0), json!(1))
    );
    let listening = support::scalar(
        &app,
        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    .await;
    assert_eq!(listening, 1, "the server listens again, on one connection");
}

// A vote a device pushes (SET_VOTE) is announced like one cast over GraphQL, after its commit.
#[tokio::test]
async fn a_pushed_vote_reaches_the_subscribers() {
    let Watched {
        app,
        owner,
        voter,
        id,
        ..
    } = watched("Voted offline").await;
    let mut socket = connect(&app, &owner).await;
    subscribe(&mut socket, "1", &id).await;

    let mut device = crate::sync_client::SyncClient::new(&voter);
    device.queue("SET_VOTE", json!({ "suggestionId": id, "value": "UP" }));
    assert_eq!(
        crate::sync_client::summary(&device.push(&app).await),
        ["1 APPLIED"]
    );
    let update = next_update(&mut socket, "1").await;
    assert_eq!(
        (update["id"].clone(), update["upvotes"].clone()),
        (json!(id), json!(1))
    );
}

// The events of one write travel in one NOTIFY: a vote pokes the community's and the voter's
// sync scopes and announces the suggestion — one payload of three lines, not three round trips.
#[tokio::test]
#[cfg_attr(not(canyu_postgres), ignore = "needs Postgres (set TEST_DATABASE_URL)")]
async fn the_events_of_one_vote_travel_in_one_notify() {
    use sea_orm::sqlx::postgres::PgListener;

    let Watched {
        app,
        community_id,
        voter,
        id,
        ..
    } = watched("One notify").await;
    let mut listener = PgListener::connect(&app.state.config.database_url)
        .await
        .unwrap();
    listener.listen("canyu_events").await.unwrap();

    vote(&app, &voter, &id, "UP").await;
    let mut payloads = Vec::new();
    while let Ok(received) = tokio::time::timeout(Duration::from_millis(500), listener.recv()).await
    {
        payloads.push(received.unwrap().payload().to_string());
    }
    assert_eq!(payloads.len(), 1, "{payloads:?}");
    let mut lines: Vec<&str> = payloads[0].lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            format!("suggestion:{id}"),
            format!("sync:community:{community_id}"),
            format!("sync:user:{}", voter.id),
        ]
    );
}
