//! Kept anonymous answers: the same anonymous query is sent the answer kept for it only while
//! nothing has been committed to the database since (by any replica) and the answer is younger
//! than its max age; signed-in callers and answers with errors are never kept.
//!
//! On Postgres the database's state token moves with any write in the cluster, the other tests'
//! included, so a test that needs a kept answer asks until it is sent one; on SQLite (a file per
//! test) the first repeat is one.

use std::time::{Duration, Instant};

use canyu_tests::{TestApp, TestUser, assert_code};
use serde_json::{Value, json};

use crate::support::{self, create_community, db_queries, submit, vote};

const LISTING: &str = "query($c: ID!) { suggestions(communityId: $c, sort: TOP, first: 20) \
     { edges { node { id title score viewerVote author { handle } } } } }";

/// The body `app` answers to the raw request `body`, with its content type.
async fn post(app: &TestApp, body: &[u8], token: Option<&str>) -> (String, Vec<u8>) {
    let mut request = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    (content_type, response.bytes().await.unwrap().to_vec())
}

fn listing_body(community: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({ "query": LISTING, "variables": { "c": community } })).unwrap()
}

/// How many anonymous queries were sent a kept answer (`hit`) or computed one (`miss`).
async fn kept(app: &TestApp, outcome: &str) -> i64 {
    let series = format!("canyu_answer_cache_total{{outcome=\"{outcome}\"}}");
    support::metric(app, &series).await.unwrap_or(0)
}

/// Asks `body` anonymously, twice in a row, until the second is sent the answer the first kept
/// (at once on SQLite; on Postgres once no transaction anywhere in the cluster moved the state in
/// between), and returns it with the statements that request ran. Panics after 60 s without.
async fn until_kept(app: &TestApp, body: &[u8]) -> (Vec<u8>, f64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        post(app, body, None).await;
        let hits = kept(app, "hit").await;
        let queries = db_queries(app).await;
        let (_, answer) = post(app, body, None).await;
        let ran = db_queries(app).await - queries;
        if kept(app, "hit").await > hits {
            return (answer, ran);
        }
    }
    panic!("no kept answer was sent in 60 s");
}

struct Listing {
    app: TestApp,
    owner: TestUser,
    community: String,
    suggestion: String,
}

async fn listing() -> Listing {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("keeper").await;
    let community = create_community(&app, &owner, "kept-answers", "PUBLIC").await;
    let suggestion = submit(&app, &owner, &community, "Keep my answer").await;
    Listing {
        app,
        owner,
        community,
        suggestion,
    }
}

fn score_of(answer: &[u8]) -> i64 {
    let answer: Value = serde_json::from_slice(answer).unwrap();
    assert!(answer["errors"].is_null(), "{answer}");
    answer["data"]["suggestions"]["edges"][0]["node"]["score"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn an_anonymous_query_asked_again_is_sent_the_same_bytes_for_one_statement() {
    let Listing { app, community, .. } = listing().await;
    let body = listing_body(&community);
    let (content_type, first) = post(&app, &body, None).await;
    let (kept_answer, ran) = until_kept(&app, &body).await;
    assert_eq!(kept_answer, first, "the kept answer is the one computed");
    // Postgres reads the token through the pool (one statement counted); SQLite on a
    // connection of its own.
    assert!(
        ran <= 1.0,
        "a kept answer costs the state token's statement only, not {ran}"
    );
    // The media type is part of what was asked: another one is computed and kept on its own.
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("content-type", "application/json")
        .header("accept", "application/graphql-response+json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    let other_type = response.headers()["content-type"].to_str().unwrap();
    assert_ne!(other_type, content_type);
    assert!(other_type.starts_with("application/graphql-response+json"));
}

#[tokio::test]
async fn a_vote_through_another_replica_shows_in_the_next_anonymous_read() {
    let Listing {
        app,
        community,
        suggestion,
        ..
    } = listing().await;
    let reader = app.replica(&[]).await;
    let body = listing_body(&community);
    let before = score_of(&post(&reader, &body, None).await.1);
    let (kept_answer, _) = until_kept(&reader, &body).await;
    assert_eq!(score_of(&kept_answer), before);
    let voter = app.sign_up("voter").await;
    support::join(&app, &voter, &community).await;
    vote(&app, &voter, &suggestion, "UP").await;
    assert_eq!(
        score_of(&post(&reader, &body, None).await.1),
        before + 1,
        "the replica that kept the answer sends the vote another committed"
    );
    // A change written straight to the database, by no server at all, shows too.
    support::execute(
        &app,
        "UPDATE suggestion SET title = 'Renamed' WHERE title = 'Keep my answer'",
    )
    .await;
    let answer: Value = serde_json::from_slice(&post(&reader, &body, None).await.1).unwrap();
    assert_eq!(
        answer["data"]["suggestions"]["edges"][0]["node"]["title"],
        "Renamed"
    );
}

#[tokio::test]
async fn a_signed_in_caller_is_never_sent_an_anonymous_answer() {
    let Listing {
        app,
        owner,
        community,
        suggestion,
    } = listing().await;
    let body = listing_body(&community);
    let (_, anonymous) = post(&app, &body, None).await;
    let anonymous: Value = serde_json::from_slice(&anonymous).unwrap();
    assert_eq!(
        anonymous["data"]["suggestions"]["edges"][0]["node"]["viewerVote"],
        "NONE"
    );
    vote(&app, &owner, &suggestion, "UP").await;
    post(&app, &body, None).await;
    until_kept(&app, &body).await;
    let hits = kept(&app, "hit").await;
    let misses = kept(&app, "miss").await;
    for _ in 0..3 {
        let (_, own) = post(&app, &body, Some(&owner.access_token)).await;
        let own: Value = serde_json::from_slice(&own).unwrap();
        assert_eq!(
            own["data"]["suggestions"]["edges"][0]["node"]["viewerVote"], "UP",
            "the author's own vote, not the anonymous answer: {own}"
        );
    }
    assert_eq!(kept(&app, "hit").await, hits);
    assert_eq!(
        kept(&app, "miss").await,
        misses,
        "signed-in queries are not counted"
    );
}

#[tokio::test]
async fn an_answer_with_an_error_is_computed_every_time() {
    let Listing { app, .. } = listing().await;
    let query = "query($id: ID!) { suggestion(id: $id) { id title } }";
    let variables = json!({ "id": "not-a-uuid" });
    let hits = kept(&app, "hit").await;
    let misses = kept(&app, "miss").await;
    for _ in 0..3 {
        let answer = app.graphql(query, variables.clone(), None).await;
        assert_code(&answer, "BAD_USER_INPUT");
    }
    assert_eq!(kept(&app, "hit").await, hits);
    assert_eq!(kept(&app, "miss").await, misses + 3);
}

#[tokio::test]
async fn a_kept_answer_older_than_its_max_age_is_computed_again() {
    let Listing { app, community, .. } = listing().await;
    app.state.clock.set(chrono::Utc::now());
    let body = listing_body(&community);
    post(&app, &body, None).await;
    until_kept(&app, &body).await;
    let hits = kept(&app, "hit").await;
    // The default max age is one second; the server's clock moves, the database does not.
    app.state
        .clock
        .advance(chrono::Duration::milliseconds(1001));
    post(&app, &body, None).await;
    assert_eq!(
        kept(&app, "hit").await,
        hits,
        "a second-old answer is not sent"
    );
    // The answer computed then is kept afresh.
    until_kept(&app, &body).await;
}

#[tokio::test]
async fn a_server_with_no_answer_budget_keeps_none() {
    let app = TestApp::spawn_with(&[("ANSWER_CACHE_BYTES", "0")]).await;
    let owner = app.sign_up("keeper").await;
    let community = create_community(&app, &owner, "no-budget", "PUBLIC").await;
    let body = listing_body(&community);
    let mut answers = Vec::new();
    for _ in 0..5 {
        answers.push(post(&app, &body, None).await.1);
    }
    assert!(answers.windows(2).all(|pair| pair[0] == pair[1]));
    assert_eq!(kept(&app, "hit").await, 0);
    assert_eq!(kept(&app, "miss").await, 0);
}
