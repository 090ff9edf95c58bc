//! Growth points and the popcorn leaderboard: what each step of the loop earns, the daily caps
//! at a UTC day boundary (on a stopped server clock) and under concurrency, partner reports,
//! totals that equal their events, and who sees which board.

use canyu_tests::{TestApp, TestUser, assert_code};
use chrono::{DateTime, Duration, Utc};
use futures_util::future::join_all;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::support::{
    auth, comment, create_community, id_of, member, new_id, ok, partner_token, respond, set_status,
    staff, submit,
};

const ME: &str = "query { viewer { id growthPoints level growthEvents(first: 40) { nodes { id kind points cappedPoints subjectId externalId recordedAt community { id } } } } }";

const REPORT: &str = "mutation($input: ReportGrowthInput!) { reportGrowth(input: $input) { id kind points cappedPoints externalId occurredAt userId } }";

const BOARD: &str = "query($c: ID!, $first: Int, $from: DateTime, $to: DateTime) { leaderboard(communityId: $c, first: $first, from: $from, to: $to) { rank points adoptedCount shippedCount user { id handle } } }";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

async fn me(app: &TestApp, user: &TestUser) -> Value {
    let body = app.graphql(ME, json!({}), auth(user)).await;
    ok(&body, "viewer").clone()
}

fn kinds(viewer: &Value) -> Vec<(String, i64)> {
    viewer["growthEvents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_string(),
                e["points"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// The sum of `user`'s events, read page by page.
async fn sum_of_events(app: &TestApp, user: &TestUser) -> i64 {
    let query = "query($after: String) { viewer { growthEvents(first: 40, after: $after) { nodes { points } pageInfo { hasNextPage endCursor } } } }";
    let (mut sum, mut after) = (0, Value::Null);
    loop {
        let body = app
            .graphql(query, json!({ "after": after }), auth(user))
            .await;
        let page = &ok(&body, "viewer")["growthEvents"];
        sum += page["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["points"].as_i64().unwrap())
            .sum::<i64>();
        if page["pageInfo"]["hasNextPage"] != true {
            return sum;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

async fn board(app: &TestApp, viewer: Option<&TestUser>, community: &str, vars: Value) -> Value {
    let mut variables = json!({ "c": community });
    for (key, value) in vars.as_object().unwrap() {
        variables[key] = value.clone();
    }
    app.graphql(BOARD, variables, viewer.and_then(auth)).await
}

async fn adopt(app: &TestApp, admin: &TestUser, suggestion: &str) {
    let body = app
        .graphql(
            "mutation($input: AdoptSuggestionInput!) { adoptSuggestion(input: $input) { id } }",
            json!({ "input": { "suggestionId": suggestion, "productLine": "tv", "currency": "USD", "startsAt": "2026-01-01T00:00:00Z" } }),
            auth(admin),
        )
        .await;
    ok(&body, "adoptSuggestion");
}

#[tokio::test]
async fn every_step_of_the_loop_earns_its_points_once() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "fans", "PUBLIC").await;
    let fan = member(&app, "fan", &community).await;
    let brand = staff(&app, "brand").await;
    let admin = app.admin("boss").await;

    let idea = submit(&app, &fan, &community, "A quieter fan").await;
    comment(&app, &fan, &idea, "And a night mode").await;
    respond(&app, &brand, &idea, "We are looking at it").await;
    respond(&app, &brand, &idea, "Still looking").await;
    adopt(&app, &admin, &idea).await;
    set_status(&app, &brand, &idea, "SHIPPED").await;
    // Reopened and shipped again: the subject has earned its shipment already.
    set_status(&app, &brand, &idea, "UNDER_REVIEW").await;
    set_status(&app, &brand, &idea, "SHIPPED").await;

    let viewer = me(&app, &fan).await;
    assert_eq!(
        kinds(&viewer),
        vec![
            ("SUGGESTION_SHIPPED".to_string(), 100),
            ("IDEA_ADOPTED".to_string(), 50),
            ("OFFICIAL_RESPONSE".to_string(), 3),
            ("COMMENT_ADDED".to_string(), 1),
            ("SUGGESTION_SUBMITTED".to_string(), 2),
        ]
    );
    assert_eq!(viewer["growthPoints"], 156);
    assert_eq!(viewer["level"], 3);
    let events = viewer["growthEvents"]["nodes"].as_array().unwrap();
    assert!(
        events
            .iter()
            .all(|e| e["community"]["id"] == community.as_str())
    );
    assert_eq!(events[0]["subjectId"], idea.as_str());
    // The brand's people earn nothing for answering.
    assert_eq!(me(&app, &brand).await["growthPoints"], 0);
}

#[tokio::test]
async fn daily_caps_count_five_suggestions_and_twenty_comments_per_utc_day() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "fans", "PUBLIC").await;
    let fan = member(&app, "fan", &community).await;
    app.state.clock.set(at("2026-03-01T23:59:58Z"));

    let mut ideas = Vec::new();
    for n in 0..6 {
        ideas.push(submit(&app, &fan, &community, &format!("Idea number {n}")).await);
    }
    for n in 0..21 {
        comment(&app, &fan, &ideas[0], &format!("comment {n}")).await;
    }
    let viewer = me(&app, &fan).await;
    assert_eq!(viewer["growthPoints"], 10 + 20);
    let events = viewer["growthEvents"]["nodes"].as_array().unwrap();
    assert_eq!(events.len(), 27, "every action is an event, counted or not");
    let capped: Vec<_> = events.iter().filter(|e| e["points"] == 0).collect();
    assert_eq!(capped.len(), 2);
    assert!(
        capped
            .iter()
            .any(|e| e["kind"] == "SUGGESTION_SUBMITTED" && e["cappedPoints"] == 2)
    );
    assert!(
        capped
            .iter()
            .any(|e| e["kind"] == "COMMENT_ADDED" && e["cappedPoints"] == 1)
    );

    // Past midnight UTC the caps start again.
    app.state.clock.advance(Duration::seconds(3));
    submit(&app, &fan, &community, "A new day's idea").await;
    comment(&app, &fan, &ideas[1], "a new day's comment").await;
    let viewer = me(&app, &fan).await;
    assert_eq!(viewer["growthPoints"], 30 + 2 + 1);
    assert!(
        viewer["growthEvents"]["nodes"][0]["recordedAt"]
            .as_str()
            .unwrap()
            .starts_with("2026-03-02T00:00:01")
    );
}

#[tokio::test]
async fn the_daily_cap_holds_under_concurrent_submissions() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "fans", "PUBLIC").await;
    let fan = member(&app, "fan", &community).await;
    app.state.clock.set(at("2026-05-05T12:00:00Z"));
    let submits = (0..12).map(|n| {
        let (app, fan, community) = (&app, &fan, &community);
        async move { submit(app, fan, community, &format!("Concurrent idea {n}")).await }
    });
    join_all(submits).await;
    let viewer = me(&app, &fan).await;
    assert_eq!(viewer["growthPoints"], 10);
    let counted: i64 = viewer["growthEvents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["points"].as_i64().unwrap())
        .sum();
    assert_eq!(counted, 10);
}

#[tokio::test]
async fn totals_and_levels_equal_the_events_after_a_random_sequence() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "fans", "PUBLIC").await;
    let brand = staff(&app, "brand").await;
    let admin = app.admin("boss").await;
    let partner = partner_token(&app, &["growth:write"]).await;
    let mut fans = Vec::new();
    for n in 0..4 {
        fans.push(member(&app, &format!("fan{n}"), &community).await);
    }
    let mut rng = StdRng::seed_from_u64(14);
    let mut ideas: Vec<(String, usize)> = Vec::new();
    app.state.clock.set(at("2026-06-01T22:00:00Z"));
    for step in 0..80 {
        let who = rng.gen_range(0..fans.len());
        match rng.gen_range(0..6) {
            0 | 1 => {
                let id = submit(&app, &fans[who], &community, &format!("Idea {step}")).await;
                ideas.push((id, who));
            }
            2 if !ideas.is_empty() => {
                let (idea, _) = &ideas[rng.gen_range(0..ideas.len())];
                comment(&app, &fans[who], idea, "me too").await;
            }
            3 if !ideas.is_empty() => {
                let (idea, _) = &ideas[rng.gen_range(0..ideas.len())];
                respond(&app, &brand, idea, "noted").await;
            }
            4 if !ideas.is_empty() => {
                let (idea, _) = ideas[rng.gen_range(0..ideas.len())].clone();
                if rng.gen_bool(0.5) {
                    let body = app
                        .graphql(
                            "mutation($input: AdoptSuggestionInput!) { adoptSuggestion(input: $input) { id } }",
                            json!({ "input": { "suggestionId": idea, "productLine": "tv", "currency": "USD", "startsAt": "2026-01-01T00:00:00Z" } }),
                            auth(&admin),
                        )
                        .await;
                    // Adopting twice overlaps the first reward; either way nothing is lost.
                    assert!(
                        body["errors"].is_null()
                            || body["errors"][0]["extensions"]["code"] == "CONFLICT",
                        "{body}"
                    );
                } else {
                    let body = app
                        .graphql(
                            "mutation($input: SetStatusInput!) { setSuggestionStatus(input: $input) { id } }",
                            json!({ "input": { "suggestionId": idea, "status": "SHIPPED" } }),
                            auth(&brand),
                        )
                        .await;
                    // Shipping twice is refused by the workflow; either way nothing is lost.
                    assert!(
                        body["errors"].is_null()
                            || body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT",
                        "{body}"
                    );
                }
            }
            _ => {
                let kind = ["PURCHASE", "DEVICE_ACTIVITY", "REVIEW"][step % 3];
                let body = app
                    .graphql(
                        REPORT,
                        json!({ "input": {
                            "externalId": new_id(), "userId": fans[who].id,
                            "kind": kind,
                            "points": rng.gen_range(1..=300),
                            "occurredAt": "2026-06-01T10:00:00Z",
                        } }),
                        Some(&partner),
                    )
                    .await;
                ok(&body, "reportGrowth");
            }
        }
        if step % 20 == 19 {
            app.state.clock.advance(Duration::hours(1));
        }
    }
    for fan in &fans {
        let viewer = me(&app, fan).await;
        let events = sum_of_events(&app, fan).await;
        let level = [
            (7, 10_000),
            (6, 3_000),
            (5, 1_000),
            (4, 300),
            (3, 100),
            (2, 20),
            (1, 0),
        ]
        .into_iter()
        .find(|(_, threshold)| events >= *threshold)
        .unwrap()
        .0;
        assert_eq!(viewer["level"], level, "{}", fan.handle);
    }
}

#[tokio::test]
async fn partners_report_growth_once_per_external_id_within_the_daily_cap() {
    let app = TestApp::spawn().await;
    let fan = app.sign_up("fan").await;
    let partner = partner_token(&app, &["growth:write"]).await;
    let report = |key: &str, kind: &str, points: i64| {
        json!({ "input": {
            "externalId": key, "userId": fan.id, "kind": kind,
            "points": points, "occurredAt": "2026-01-10T09:30:00Z",
        } })
    };
    let first = app
        .graphql(REPORT, report("order-1", "PURCHASE", 300), Some(&partner))
        .await;
    let first = ok(&first, "reportGrowth").clone();
    assert_eq!(first["points"], 300);
    assert_eq!(first["externalId"], "order-1");
    assert_eq!(first["userId"], fan.id.as_str());
    let again = app
        .graphql(REPORT, report("order-1", "PURCHASE", 300), Some(&partner))
        .await;
    assert_eq!(ok(&again, "reportGrowth")["id"], first["id"]);
    let changed = app
        .graphql(REPORT, report("order-1", "PURCHASE", 301), Some(&partner))
        .await;
    assert_code(&changed, "CONFLICT");
    let second = app
        .graphql(REPORT, report("order-2", "PURCHASE", 300), Some(&partner))
        .await;
    let second = ok(&second, "reportGrowth");
    assert_eq!(
        (second["points"].as_i64(), second["cappedPoints"].as_i64()),
        (Some(200), Some(100))
    );
    // Another kind has its own cap.
    let review = app
        .graphql(REPORT, report("review-1", "REVIEW", 40), Some(&partner))
        .await;
    assert_eq!(ok(&review, "reportGrowth")["points"], 40);
    assert_eq!(me(&app, &fan).await["growthPoints"], 540);
    assert_eq!(app.count("growth_event").await, 3);

    for (input, code) in [
        (report("x1", "SUGGESTION_SUBMITTED", 5), "BAD_USER_INPUT"),
        (report("x2", "PURCHASE", 0), "BAD_USER_INPUT"),
        (report("x3", "PURCHASE", 1001), "BAD_USER_INPUT"),
        (report("", "PURCHASE", 5), "BAD_USER_INPUT"),
        (
            json!({ "input": { "externalId": "x4", "userId": fan.id, "kind": "REVIEW", "points": 5,
                               "occurredAt": (Utc::now() + Duration::hours(1)).to_rfc3339() } }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "input": { "externalId": "x5", "userId": new_id(), "kind": "REVIEW", "points": 5,
                               "occurredAt": "2026-01-10T09:30:00Z" } }),
            "NOT_FOUND",
        ),
    ] {
        let body = app.graphql(REPORT, input.clone(), Some(&partner)).await;
        assert_code(&body, code);
    }
    let sales_only = partner_token(&app, &["sales:write"]).await;
    let body = app
        .graphql(REPORT, report("y1", "REVIEW", 5), Some(&sales_only))
        .await;
    assert_code(&body, "FORBIDDEN");
    let body = app
        .graphql(REPORT, report("y2", "REVIEW", 5), auth(&fan))
        .await;
    assert_code(&body, "FORBIDDEN");
    let body = app.graphql(REPORT, report("y3", "REVIEW", 5), None).await;
    assert_code(&body, "UNAUTHENTICATED");
    // An ADMIN may report too.
    let admin = app.admin("boss").await;
    let body = app
        .graphql(REPORT, report("y4", "DEVICE_ACTIVITY", 80), auth(&admin))
        .await;
    assert_eq!(ok(&body, "reportGrowth")["points"], 50);

    assert_eq!(
        app.count("growth_event").await,
        4,
        "no refused report was written"
    );
    assert_eq!(me(&app, &fan).await["growthPoints"], 590);
}

#[tokio::test]
async fn the_leaderboard_ranks_points_earned_in_the_community_and_window() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "fans", "PUBLIC").await;
    let other = create_community(&app, &owner, "others", "PUBLIC").await;
    let brand = staff(&app, "brand").await;
    let admin = app.admin("boss").await;
    let (ann, bob, cid) = (
        member(&app, "ann", &community).await,
        member(&app, "bob", &community).await,
        member(&app, "cid", &community).await,
    );
    crate::support::join(&app, &cid, &other).await;
    let partner = partner_token(&app, &["growth:write"]).await;

    app.state.clock.set(at("2026-04-01T10:00:00Z"));
    let ann_idea = submit(&app, &ann, &community, "Ann's idea").await;
    app.state.clock.advance(Duration::minutes(1));
    let bob_idea = submit(&app, &bob, &community, "Bob's idea").await;
    app.state.clock.advance(Duration::minutes(1));
    // Cid earns elsewhere and from a partner: neither counts on this board.
    submit(&app, &cid, &other, "Cid's idea").await;
    let body = app
        .graphql(
            REPORT,
            json!({ "input": { "externalId": "o1", "userId": cid.id, "kind": "PURCHASE",
                               "points": 400, "occurredAt": "2026-04-01T09:00:00Z" } }),
            Some(&partner),
        )
        .await;
    ok(&body, "reportGrowth");

    // Ann and Bob are level at 2: Ann got there first.
    let body = board(&app, None, &community, json!({})).await;
    let entries = ok(&body, "leaderboard").as_array().unwrap().clone();
    let handles: Vec<_> = entries
        .iter()
        .map(|e| e["user"]["handle"].as_str().unwrap())
        .collect();
    assert_eq!(handles, ["ann", "bob"]);
    assert_eq!(entries[0]["rank"], 1);
    assert_eq!(entries[1]["rank"], 2);

    app.state.clock.set(at("2026-04-02T10:00:00Z"));
    adopt(&app, &admin, &bob_idea).await;
    set_status(&app, &brand, &bob_idea, "SHIPPED").await;
    respond(&app, &brand, &ann_idea, "thanks").await;
    let body = board(&app, None, &community, json!({})).await;
    let entries = ok(&body, "leaderboard").as_array().unwrap().clone();
    assert_eq!(entries[0]["user"]["handle"], "bob");
    assert_eq!(entries[0]["points"], 152);
    assert_eq!(
        (
            entries[0]["adoptedCount"].as_i64(),
            entries[0]["shippedCount"].as_i64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(entries[1]["user"]["handle"], "ann");
    assert_eq!(entries[1]["points"], 5);
    assert_eq!(entries[1]["adoptedCount"], 0);

    // The window: only the first day, then only the second.
    let body = board(
        &app,
        None,
        &community,
        json!({ "to": "2026-04-02T00:00:00Z" }),
    )
    .await;
    let first_day: Vec<_> = ok(&body, "leaderboard")
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["points"].as_i64().unwrap())
        .collect();
    assert_eq!(first_day, [2, 2]);
    let body = board(
        &app,
        None,
        &community,
        json!({ "from": "2026-04-02T00:00:00Z", "first": 1 }),
    )
    .await;
    let second_day = ok(&body, "leaderboard").as_array().unwrap().clone();
    assert_eq!(second_day.len(), 1);
    assert_eq!(second_day[0]["points"], 150);
    let body = board(&app, None, &other, json!({})).await;
    assert_eq!(ok(&body, "leaderboard")[0]["user"]["handle"], "cid");
    assert_eq!(ok(&body, "leaderboard")[0]["points"], 2);

    for (vars, code) in [
        (json!({ "first": 0 }), "BAD_USER_INPUT"),
        (json!({ "first": 101 }), "BAD_USER_INPUT"),
        (
            json!({ "from": "2026-04-02T00:00:00Z", "to": "2026-04-02T00:00:00Z" }),
            "BAD_USER_INPUT",
        ),
    ] {
        assert_code(&board(&app, None, &community, vars).await, code);
    }
    assert_code(&board(&app, None, &new_id(), json!({})).await, "NOT_FOUND");
}

#[tokio::test]
async fn a_private_communitys_board_is_for_its_members_and_events_for_their_user() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "inner", "PRIVATE").await;
    submit(&app, &owner, &community, "Owner's idea").await;
    let outsider = app.sign_up("outsider").await;
    assert_code(
        &board(&app, Some(&outsider), &community, json!({})).await,
        "NOT_FOUND",
    );
    assert_code(&board(&app, None, &community, json!({})).await, "NOT_FOUND");
    let body = board(&app, Some(&owner), &community, json!({})).await;
    assert_eq!(ok(&body, "leaderboard")[0]["user"]["handle"], "owner");

    // Points are public; how they were earned is the user's own.
    let query =
        "query($id: ID!) { user(id: $id) { growthPoints level growthEvents { nodes { id } } } }";
    let body = app
        .graphql(query, json!({ "id": owner.id }), auth(&outsider))
        .await;
    assert_code(&body, "FORBIDDEN");
    let body = app
        .graphql(
            "query($id: ID!) { user(id: $id) { growthPoints level } }",
            json!({ "id": owner.id }),
            auth(&outsider),
        )
        .await;
    assert_eq!(ok(&body, "user")["growthPoints"], 2);
    let brand = staff(&app, "brand").await;
    let body = app
        .graphql(query, json!({ "id": owner.id }), auth(&brand))
        .await;
    assert_eq!(
        ok(&body, "user")["growthEvents"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn growth_events_sync_to_their_users_scope_only() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "fans", "PUBLIC").await;
    let fan = member(&app, "fan", &community).await;
    let neighbour = member(&app, "neighbour", &community).await;
    let idea = submit(&app, &fan, &community, "Synced idea").await;

    let mut device = crate::sync_client::SyncClient::new(&fan);
    device.pull_all(&app, 100).await;
    let events: Vec<String> = device.ids_of("GrowthEvent").into_iter().collect();
    assert_eq!(events.len(), 1);
    let row = device.row("GrowthEvent", &events[0]).unwrap();
    assert_eq!(row.entity["kind"], "SUGGESTION_SUBMITTED");
    assert_eq!(row.entity["points"], 2);
    assert_eq!(id_of(&row.entity), events[0]);

    let mut other = crate::sync_client::SyncClient::new(&neighbour);
    other.pull_all(&app, 100).await;
    assert!(other.ids_of("GrowthEvent").is_empty());
    assert!(other.ids_of("Suggestion").contains(&idea));
}
