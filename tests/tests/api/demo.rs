//! The demo seed (`canyu seed-demo`): what it loads is listed through the API, and the
//! planner has statistics for it at once.

use canyu::cli::demo::{DemoSize, seed};
use canyu_tests::{TestApp, on_postgres};
use serde_json::json;

use crate::support::ok;

#[tokio::test]
async fn a_seeded_demo_is_listed_and_analyzed() {
    let app = TestApp::spawn().await;
    let size = DemoSize {
        users: 20,
        suggestions: 60,
        votes: 200,
        comments: 30,
    };
    let report = seed(&app.state, size).await.expect("seed");
    assert_eq!(report.suggestions, 60);

    let (community_id, _) = report.communities.first().expect("a community").clone();
    let body = app
        .graphql(
            "query($c: ID!) { suggestions(communityId: $c, sort: TOP, first: 5) { edges { node { score author { handle } } } } }",
            json!({ "c": community_id.to_string() }),
            None,
        )
        .await;
    let edges = ok(&body, "suggestions")["edges"]
        .as_array()
        .unwrap()
        .clone();
    assert!(!edges.is_empty(), "{body}");

    // Statistics exist only once the tables were analyzed.
    let statistics = if on_postgres() {
        "SELECT COUNT(*) FROM pg_stats WHERE tablename = 'suggestion'"
    } else {
        "SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'suggestion'"
    };
    let rows: i64 = app.sql_strings(statistics).await[0].parse().unwrap();
    assert!(rows > 0, "the seeded tables were not analyzed");
}
