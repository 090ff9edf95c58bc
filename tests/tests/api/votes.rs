//! Votes: set semantics, replacing and retracting, counters, who may vote, and counters that
//! equal the vote rows under concurrency.

use canyu_tests::{TestApp, TestUser, assert_code};
use futures_util::StreamExt;
use futures_util::future::join_all;
use serde_json::json;

use crate::support::{
    CAST_VOTE, assert_counters_equal_vote_rows, auth, create_community, db_queries, fewest_queries,
    join, member, metric, new_id, ok, read_suggestion, scalar, submit, try_vote, vote,
};

/// A PUBLIC community with an author's suggestion in it: (community id, suggestion id).
async fn suggestion(app: &TestApp) -> (String, String) {
    let owner = app.sign_up("owner").await;
    let community_id = create_community(app, &owner, "fans", "PUBLIC").await;
    let id = submit(app, &owner, &community_id, "Bigger battery").await;
    (community_id, id)
}

/// Signs up `count` users at once (handles `{prefix}{n}`) and has them join at once.
async fn members_at_once(
    app: &TestApp,
    prefix: &str,
    count: usize,
    community_id: &str,
) -> Vec<TestUser> {
    let users =
        join_all((0..count).map(|n| async move { app.sign_up(&format!("{prefix}{n:03}")).await }))
            .await;
    let memberships = join_all(users.iter().map(|user| join(app, user, community_id))).await;
    for membership in &memberships {
        assert_eq!(membership["status"], "ACTIVE", "{membership}");
    }
    users
}

#[tokio::test]
async fn voting_up_twice_leaves_one_up_vote() {
    let app = TestApp::spawn().await;
    let (community_id, id) = suggestion(&app).await;
    let fan = member(&app, "fan", &community_id).await;
    for _ in 0..2 {
        let counters = vote(&app, &fan, &id, "UP").await;
        assert_eq!(
            counters,
            json!({ "id": id, "upvotes": 1, "downvotes": 0, "score": 1, "viewerVote": "UP" })
        );
    }
    assert_eq!(app.count("vote").await, 1);
    assert_counters_equal_vote_rows(&app).await;
}

#[tokio::test]
async fn a_down_vote_replaces_an_up_vote() {
    let app = TestApp::spawn().await;
    let (community_id, id) = suggestion(&app).await;
    let fan = member(&app, "fan", &community_id).await;
    vote(&app, &fan, &id, "UP").await;
    let counters = vote(&app, &fan, &id, "DOWN").await;
    assert_eq!(
        counters,
        json!({ "id": id, "upvotes": 0, "downvotes": 1, "score": -1, "viewerVote": "DOWN" })
    );
    assert_eq!(app.count("vote").await, 1);
    assert_counters_equal_vote_rows(&app).await;
}

#[tokio::test]
async fn none_retracts_a_vote() {
    let app = TestApp::spawn().await;
    let (community_id, id) = suggestion(&app).await;
    let fan = member(&app, "fan", &community_id).await;
    vote(&app, &fan, &id, "UP").await;
    let counters = vote(&app, &fan, &id, "NONE").await;
    assert_eq!(
        counters,
        json!({ "id": id, "upvotes": 0, "downvotes": 0, "score": 0, "viewerVote": "NONE" })
    );
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM vote WHERE value <> 'NONE'").await,
        0
    );
    // Retracting when there is nothing to retract is fine too.
    let again = vote(&app, &fan, &id, "NONE").await;
    assert_eq!(again["upvotes"], 0);
    assert_counters_equal_vote_rows(&app).await;
}

#[tokio::test]
async fn score_is_upvotes_minus_downvotes_and_each_viewer_sees_their_own_vote() {
    let app = TestApp::spawn().await;
    let (community_id, id) = suggestion(&app).await;
    let mut fans = Vec::new();
    for handle in ["fan_a", "fan_b", "fan_c", "fan_d", "fan_e"] {
        fans.push(member(&app, handle, &community_id).await);
    }
    let values = ["UP", "UP", "UP", "DOWN", "NONE"];
    for (fan, value) in fans.iter().zip(values) {
        vote(&app, fan, &id, value).await;
    }
    for (fan, value) in fans.iter().zip(values) {
        let read =
            read_suggestion(&app, Some(fan), &id, "upvotes downvotes score viewerVote").await;
        assert_eq!(
            read,
            json!({ "upvotes": 3, "downvotes": 1, "score": 2, "viewerVote": value }),
            "{}",
            fan.handle
        );
    }
    let anonymous = read_suggestion(&app, None, &id, "score viewerVote").await;
    assert_eq!(anonymous, json!({ "score": 2, "viewerVote": "NONE" }));
    assert_counters_equal_vote_rows(&app).await;
}

#[tokio::test]
async fn anonymous_votes_are_unauthenticated() {
    let app = TestApp::spawn().await;
    let (_, id) = suggestion(&app).await;
    let body = app
        .graphql(CAST_VOTE, json!({ "s": id, "v": "UP" }), None)
        .await;
    assert_code(&body, "UNAUTHENTICATED");
    assert_eq!(app.count("vote").await, 0);
}

#[tokio::test]
async fn votes_need_a_visible_suggestion_and_an_active_membership() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let public = create_community(&app, &owner, "fans", "PUBLIC").await;
    let secret = create_community(&app, &owner, "secret", "PRIVATE").await;
    let open_one = submit(&app, &owner, &public, "Open to all").await;
    let hidden_one = submit(&app, &owner, &secret, "Members only").await;
    let deleted_one = submit(&app, &owner, &public, "Gone soon").await;
    let deleted = app
        .graphql(
            "mutation($id: ID!) { deleteSuggestion(suggestionId: $id) }",
            json!({ "id": deleted_one }),
            auth(&owner),
        )
        .await;
    ok(&deleted, "deleteSuggestion");
    let outsider = app.sign_up("outsider").await;
    let fan = member(&app, "fan", &public).await;

    assert_code(&try_vote(&app, &fan, &new_id(), "UP").await, "NOT_FOUND");
    assert_code(&try_vote(&app, &fan, &deleted_one, "UP").await, "NOT_FOUND");
    assert_code(&try_vote(&app, &fan, &hidden_one, "UP").await, "NOT_FOUND");
    assert_code(
        &try_vote(&app, &outsider, &open_one, "UP").await,
        "FORBIDDEN",
    );
    assert_code(
        &try_vote(&app, &outsider, &hidden_one, "UP").await,
        "NOT_FOUND",
    );
    assert_eq!(app.count("vote").await, 0);
    let read = read_suggestion(&app, None, &open_one, "upvotes").await;
    assert_eq!(read["upvotes"], 0);
}

#[tokio::test]
async fn a_hundred_members_voting_up_at_once_count_a_hundred() {
    let app = TestApp::spawn().await;
    let (community_id, id) = suggestion(&app).await;
    let voters = members_at_once(&app, "voter", 100, &community_id).await;

    let answers = join_all(
        voters
            .iter()
            .map(|voter| app.graphql(CAST_VOTE, json!({ "s": id, "v": "UP" }), auth(voter))),
    )
    .await;
    for answer in &answers {
        ok(answer, "castVote");
    }
    let read = read_suggestion(&app, None, &id, "upvotes downvotes score").await;
    assert_eq!(
        read,
        json!({ "upvotes": 100, "downvotes": 0, "score": 100 })
    );
    assert_eq!(app.count("vote").await, 100);
    assert_counters_equal_vote_rows(&app).await;
}

#[tokio::test]
async fn fifty_identical_votes_at_once_make_one() {
    let app = TestApp::spawn().await;
    let (community_id, id) = suggestion(&app).await;
    let fan = member(&app, "fan", &community_id).await;
    let answers = join_all(
        (0..50).map(|_| app.graphql(CAST_VOTE, json!({ "s": id, "v": "UP" }), auth(&fan))),
    )
    .await;
    for answer in &answers {
        assert_eq!(ok(answer, "castVote")["viewerVote"], "UP");
    }
    let read = read_suggestion(&app, Some(&fan), &id, "upvotes downvotes score viewerVote").await;
    assert_eq!(
        read,
        json!({ "upvotes": 1, "downvotes": 0, "score": 1, "viewerVote": "UP" })
    );
    assert_eq!(app.count("vote").await, 1);
}

#[tokio::test]
async fn counters_equal_the_vote_rows_after_concurrent_flips() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community_id = create_community(&app, &owner, "fans", "PUBLIC").await;
    let mut ids = Vec::new();
    for title in ["First target", "Second target", "Third target"] {
        ids.push(submit(&app, &owner, &community_id, title).await);
    }
    let users = members_at_once(&app, "flipper", 20, &community_id).await;

    // Every user flips every suggestion four times, 48 requests in flight at a time (ten times
    // the server's connections: the row locks are contended throughout).
    let values = ["UP", "DOWN", "NONE"];
    let mut requests = Vec::new();
    for (u, user) in users.iter().enumerate() {
        for (s, id) in ids.iter().enumerate() {
            for round in 0..4 {
                let value = values[(u + s + round) % values.len()];
                requests.push(app.graphql(CAST_VOTE, json!({ "s": id, "v": value }), auth(user)));
            }
        }
    }
    let answers: Vec<_> = futures_util::stream::iter(requests)
        .buffer_unordered(48)
        .collect()
        .await;
    for answer in &answers {
        ok(answer, "castVote");
    }

    // Through the API: each suggestion's counters match its voters' own votes.
    for id in &ids {
        let reads = join_all(users.iter().map(|user| {
            read_suggestion(&app, Some(user), id, "upvotes downvotes score viewerVote")
        }))
        .await;
        let ups = reads
            .iter()
            .filter(|read| read["viewerVote"] == "UP")
            .count();
        let downs = reads
            .iter()
            .filter(|read| read["viewerVote"] == "DOWN")
            .count();
        for read in &reads {
            assert_eq!(read["upvotes"], ups, "{read}");
            assert_eq!(read["downvotes"], downs, "{read}");
            assert_eq!(read["score"], ups as i64 - downs as i64, "{read}");
        }
    }
    // And in the tables.
    assert_counters_equal_vote_rows(&app).await;
}

/// Votes sent at once, with refused ones among them, are each answered once the vote is
/// committed: every accepted vote is in the tables and counted, every refused one is FORBIDDEN
/// and wrote nothing. On SQLite the writers that queued meanwhile shared commits (fewer commits
/// than writes on /metrics), and a refused writer in a batch undoes only its own savepoint,
/// also when it is the batch's last (eight rounds, half of each refused: some batch ends with
/// one).
#[tokio::test]
async fn votes_at_once_share_commits_and_a_refused_one_spoils_none() {
    let app = TestApp::spawn().await;
    let (community_id, id) = suggestion(&app).await;
    let voters = members_at_once(&app, "voter", 16, &community_id).await;
    let app = &app;
    let outsiders =
        join_all((0..16).map(|n| async move { app.sign_up(&format!("outsider{n:02}")).await }))
            .await;
    let commits_before = metric(app, "canyu_sqlite_commits_total").await;
    let writes_before = metric(app, "canyu_sqlite_committed_writes_total").await;

    // A member's vote and an outsider's, in turn.
    let requests: Vec<_> = voters
        .iter()
        .zip(&outsiders)
        .flat_map(|(voter, outsider)| [(true, voter), (false, outsider)])
        .collect();
    let id = &id;
    for round in 0..8 {
        let (value, up, down) = if round % 2 == 0 {
            ("UP", 16, 0)
        } else {
            ("DOWN", 0, 16)
        };
        let answers = join_all(requests.iter().map(|(member, user)| async move {
            (
                *member,
                app.graphql(CAST_VOTE, json!({ "s": id, "v": value }), auth(user))
                    .await,
            )
        }))
        .await;
        for (member, answer) in &answers {
            if *member {
                assert_eq!(ok(answer, "castVote")["viewerVote"], value, "{answer}");
            } else {
                assert_code(answer, "FORBIDDEN");
            }
        }
        let read = read_suggestion(app, None, id, "upvotes downvotes").await;
        assert_eq!(read, json!({ "upvotes": up, "downvotes": down }));
        assert_eq!(app.count("vote").await, 16);
        assert_counters_equal_vote_rows(app).await;
    }

    let commits = metric(app, "canyu_sqlite_commits_total").await;
    let writes = metric(app, "canyu_sqlite_committed_writes_total").await;
    if cfg!(canyu_postgres) {
        assert_eq!(
            (commits, writes),
            (Some(0), Some(0)),
            "no SQLite commits on Postgres, where each write commits itself"
        );
        return;
    }
    let commits = commits.unwrap_or_default() - commits_before.unwrap_or_default();
    let writes = writes.unwrap_or_default() - writes_before.unwrap_or_default();
    assert!(writes >= 8 * 16, "{writes} writes committed");
    assert!(
        commits < writes,
        "{commits} commits for {writes} writes: the writers that queued did not share a commit"
    );
}

/// A vote locks its suggestion's row only: a transaction holding the community's row (its
/// settings being changed) holds none of the community's votes back.
#[tokio::test]
#[cfg_attr(not(canyu_postgres), ignore = "needs Postgres (set TEST_DATABASE_URL)")]
async fn a_vote_waits_for_no_lock_on_its_community() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let app = TestApp::spawn().await;
    let (community_id, id) = suggestion(&app).await;
    let fan = member(&app, "fan", &community_id).await;
    let held = app.state.db.begin().await.unwrap();
    held.execute_unprepared(&format!(
        "SELECT 1 FROM community WHERE id = '{community_id}' FOR UPDATE"
    ))
    .await
    .unwrap();
    let voted = tokio::time::timeout(
        std::time::Duration::from_secs(3),
        try_vote(&app, &fan, &id, "UP"),
    )
    .await;
    held.rollback().await.unwrap();
    let voted = voted.expect("the vote waited for the community's row lock");
    assert_eq!(ok(&voted, "castVote")["upvotes"], 1, "{voted}");
}

/// The fewest statements (of three tries) one `castVote` of `voter` ran, setting `value` on
/// suggestion `id` from a vote that is not `value`.
async fn statements_of_a_changing_vote(app: &TestApp, voter: &TestUser, id: &str) -> f64 {
    let mut fewest = f64::MAX;
    for value in ["UP", "DOWN", "UP"] {
        let before = db_queries(app).await;
        vote(app, voter, id, value).await;
        fewest = fewest.min(db_queries(app).await - before);
    }
    fewest
}

#[tokio::test]
#[cfg_attr(not(canyu_postgres), ignore = "needs Postgres (set TEST_DATABASE_URL)")]
async fn on_postgres_a_vote_that_changes_costs_two_statements_more_than_one_that_does_not() {
    let app = TestApp::spawn().await;
    let (community_id, id) = suggestion(&app).await;
    let voter = member(&app, "voter", &community_id).await;
    vote(&app, &voter, &id, "DOWN").await;
    let changing = statements_of_a_changing_vote(&app, &voter, &id).await;
    let (same, body) =
        fewest_queries(&app, 3, CAST_VOTE, json!({ "s": id, "v": "UP" }), &voter).await;
    assert_eq!(ok(&body, "castVote")["upvotes"], 1, "{body}");
    // Both lock the suggestion (reading the voter's standing with it) and run the one statement
    // that writes the vote, its counters and the sort keys' history (nothing when the vote is
    // the same); a change then writes the change index (which takes the seq) and pokes.
    assert_eq!(
        changing - same,
        2.0,
        "a changing vote ran {changing} statements, the same vote again {same}"
    );
    assert_counters_equal_vote_rows(&app).await;
}
