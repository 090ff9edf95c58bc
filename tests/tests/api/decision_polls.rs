//! Feature decision votes on the pricing polls' machinery: choices up to `winners`, replaced
//! until the close by server time (a stopped clock), the top options winning with ties to the
//! earlier suggestion, winners planned, hidden results and quorum of binding votes, and what is
//! refused.

use canyu_tests::{TestApp, TestUser, assert_code};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::support::{
    auth, create_community, id_of, join, member, new_id, ok, read_suggestion, set_status, staff,
    submit,
};

const CREATE: &str = "mutation($input: CreateDecisionPollInput!) { createDecisionPoll(input: $input) { id status winners binding options { id position label votes suggestion { id } } } }";

const CAST: &str = "mutation($p: ID!, $o: [ID!]!) { castDecisionBallot(pollId: $p, optionIds: $o) { id ballotCount viewerOptionIds } }";

const READ: &str = "query($id: ID!) { decisionPoll(id: $id) { id status outcome ballotCount eligibleCount viewerOptionIds options { id label votes suggestion { id } } winningOptions { id suggestion { id } } } }";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn poll_input(
    community: &str,
    options: Value,
    winners: i64,
    binding: bool,
    quorum: Option<i64>,
) -> Value {
    json!({ "input": {
        "communityId": community, "title": "What we build in March",
        "opensAt": "2026-03-01T00:00:00Z", "closesAt": "2026-03-08T00:00:00Z",
        "binding": binding, "quorum": quorum, "options": options, "winners": winners,
    } })
}

fn suggestions(ids: &[&String]) -> Value {
    Value::Array(ids.iter().map(|id| json!({ "suggestionId": id })).collect())
}

async fn read(app: &TestApp, viewer: &TestUser, poll: &str) -> Value {
    let body = app.graphql(READ, json!({ "id": poll }), auth(viewer)).await;
    ok(&body, "decisionPoll").clone()
}

fn option_of(poll: &Value, suggestion: &str) -> String {
    poll["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["suggestion"]["id"] == suggestion)
        .map(id_of)
        .unwrap()
}

#[tokio::test]
async fn the_top_options_win_at_the_close_and_their_suggestions_become_planned() {
    let app = TestApp::spawn().await;
    app.state.clock.set(at("2026-02-20T10:00:00Z"));
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "fans", "PUBLIC").await;
    let brand = staff(&app, "brand").await;
    let mut fans = Vec::new();
    for n in 0..4 {
        fans.push(member(&app, &format!("fan{n}"), &community).await);
    }
    let mut ids = Vec::new();
    for name in ["A", "B", "C", "D"] {
        app.state.clock.advance(Duration::minutes(1));
        ids.push(submit(&app, &fans[0], &community, &format!("Feature {name}")).await);
    }
    let (a, b, c, d) = (&ids[0], &ids[1], &ids[2], &ids[3]);
    // Listed in the reverse of their submission: a tie goes by submission, not by place.
    let body = app
        .graphql(
            CREATE,
            poll_input(&community, suggestions(&[d, c, b, a]), 2, false, None),
            auth(&brand),
        )
        .await;
    let poll = ok(&body, "createDecisionPoll").clone();
    let poll_id = id_of(&poll);
    assert_eq!(poll["status"], "SCHEDULED");
    let first = poll["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["position"] == 0)
        .unwrap();
    assert_eq!(first["label"], "Feature D");
    let option = |s: &str| option_of(&poll, s);
    assert_code(
        &app.graphql(
            CAST,
            json!({ "p": poll_id, "o": [option(a)] }),
            auth(&fans[0]),
        )
        .await,
        "POLL_CLOSED",
    );

    app.state.clock.set(at("2026-03-02T00:00:00Z"));
    for (fan, chosen) in [
        (0, vec![a, b]),
        (1, vec![a, c]),
        (2, vec![a, b]),
        (3, vec![d]),
    ] {
        let choice: Vec<String> = chosen.iter().map(|s| option(s)).collect();
        let body = app
            .graphql(CAST, json!({ "p": poll_id, "o": choice }), auth(&fans[fan]))
            .await;
        ok(&body, "castDecisionBallot");
    }
    // Replaced until the close.
    let body = app
        .graphql(
            CAST,
            json!({ "p": poll_id, "o": [option(c)] }),
            auth(&fans[3]),
        )
        .await;
    assert_eq!(ok(&body, "castDecisionBallot")["ballotCount"], 4);
    assert_eq!(
        ok(&body, "castDecisionBallot")["viewerOptionIds"],
        json!([option(c)])
    );

    for (input, who, code) in [
        (
            json!({ "p": poll_id, "o": [option(a), option(b), option(c)] }),
            &fans[0],
            "BAD_USER_INPUT",
        ),
        (json!({ "p": poll_id, "o": [] }), &fans[0], "BAD_USER_INPUT"),
        (
            json!({ "p": poll_id, "o": [option(a), option(a)] }),
            &fans[0],
            "BAD_USER_INPUT",
        ),
        (
            json!({ "p": poll_id, "o": [new_id()] }),
            &fans[0],
            "BAD_USER_INPUT",
        ),
        (
            json!({ "p": new_id(), "o": [option(a)] }),
            &fans[0],
            "NOT_FOUND",
        ),
    ] {
        assert_code(&app.graphql(CAST, input, auth(who)).await, code);
    }
    let outsider = app.sign_up("outsider").await;
    assert_code(
        &app.graphql(
            CAST,
            json!({ "p": poll_id, "o": [option(a)] }),
            auth(&outsider),
        )
        .await,
        "FORBIDDEN",
    );
    assert_code(
        &app.graphql(CAST, json!({ "p": poll_id, "o": [option(a)] }), None)
            .await,
        "UNAUTHENTICATED",
    );

    // Not binding: the standing is public while it runs; B and C tie at 2, B came first.
    let running = read(&app, &fans[0], &poll_id).await;
    let standing: Vec<(Value, Value)> = running["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["suggestion"]["id"].clone(), o["votes"].clone()))
        .collect();
    assert_eq!(
        standing,
        vec![
            (json!(a), json!(3)),
            (json!(b), json!(2)),
            (json!(c), json!(2)),
            (json!(d), json!(0))
        ]
    );
    assert_eq!(running["viewerOptionIds"].as_array().unwrap().len(), 2);
    assert!(running["winningOptions"].as_array().unwrap().is_empty());
    // A pricing listing does not show decision votes.
    let body = app
        .graphql(
            "query($c: ID!) { pricingPolls(communityId: $c) { nodes { id } } }",
            json!({ "c": community }),
            auth(&brand),
        )
        .await;
    assert!(
        ok(&body, "pricingPolls")["nodes"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    app.state.clock.set(at("2026-03-08T00:00:00Z"));
    assert_code(
        &app.graphql(
            CAST,
            json!({ "p": poll_id, "o": [option(a)] }),
            auth(&fans[0]),
        )
        .await,
        "POLL_CLOSED",
    );
    let closed = read(&app, &fans[0], &poll_id).await;
    assert_eq!(closed["status"], "CLOSED");
    assert_eq!(closed["outcome"], "RATIFIED");
    let winners: Vec<Value> = closed["winningOptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["suggestion"]["id"].clone())
        .collect();
    assert_eq!(winners, vec![json!(a), json!(b)]);
    for (id, status) in [(a, "PLANNED"), (b, "PLANNED"), (c, "OPEN"), (d, "OPEN")] {
        let found = read_suggestion(
            &app,
            Some(&fans[0]),
            id,
            "status timeline { toStatus note }",
        )
        .await;
        assert_eq!(found["status"], status, "{id}");
        if status == "PLANNED" {
            assert!(
                found["timeline"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e["note"] == "chosen in the decision vote \"What we build in March\""),
                "{found}"
            );
        }
    }
    // Reading again plans nothing twice.
    assert_eq!(read(&app, &fans[0], &poll_id).await["outcome"], "RATIFIED");
}

#[tokio::test]
async fn a_binding_vote_hides_its_results_and_needs_its_quorum() {
    let app = TestApp::spawn().await;
    app.state.clock.set(at("2026-02-20T10:00:00Z"));
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "fans", "PUBLIC").await;
    let brand = staff(&app, "brand").await;
    let early = member(&app, "early", &community).await;
    let other = member(&app, "other", &community).await;
    let x = submit(&app, &early, &community, "Feature X").await;
    let y = submit(&app, &early, &community, "Feature Y").await;
    let body = app
        .graphql(
            CREATE,
            poll_input(&community, suggestions(&[&x, &y]), 1, true, Some(3)),
            auth(&brand),
        )
        .await;
    let poll = ok(&body, "createDecisionPoll").clone();
    let poll_id = id_of(&poll);
    app.state.clock.set(at("2026-03-02T00:00:00Z"));
    let late = app.sign_up("late").await;
    join(&app, &late, &community).await;
    let option = |s: &str| option_of(&poll, s);
    for fan in [&early, &other] {
        ok(
            &app.graphql(CAST, json!({ "p": poll_id, "o": [option(&x)] }), auth(fan))
                .await,
            "castDecisionBallot",
        );
    }
    assert_code(
        &app.graphql(
            CAST,
            json!({ "p": poll_id, "o": [option(&x)] }),
            auth(&late),
        )
        .await,
        "FORBIDDEN",
    );
    let running = read(&app, &early, &poll_id).await;
    assert_eq!(running["eligibleCount"], 2);
    assert!(
        running["options"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["votes"].is_null()),
        "{running}"
    );

    app.state.clock.set(at("2026-03-09T00:00:00Z"));
    let closed = read(&app, &early, &poll_id).await;
    assert_eq!(closed["outcome"], "NO_QUORUM");
    assert_eq!(closed["options"][0]["votes"], 2);
    assert!(closed["winningOptions"].as_array().unwrap().is_empty());
    assert_eq!(
        read_suggestion(&app, Some(&early), &x, "status").await["status"],
        "OPEN"
    );
}

#[tokio::test]
async fn free_text_options_win_too_and_staff_may_close_early() {
    let app = TestApp::spawn().await;
    app.state.clock.set(at("2026-03-03T00:00:00Z"));
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "fans", "PUBLIC").await;
    let brand = staff(&app, "brand").await;
    let fan = member(&app, "fan", &community).await;
    let labels =
        json!([{ "label": "Night mode" }, { "label": "Bigger battery" }, { "label": "USB-C" }]);
    let body = app
        .graphql(
            CREATE,
            poll_input(&community, labels, 1, false, None),
            auth(&brand),
        )
        .await;
    let poll = ok(&body, "createDecisionPoll").clone();
    let poll_id = id_of(&poll);
    let usb = id_of(&poll["options"][2]);
    ok(
        &app.graphql(CAST, json!({ "p": poll_id, "o": [usb] }), auth(&fan))
            .await,
        "castDecisionBallot",
    );
    let close = "mutation($p: ID!) { closeDecisionPoll(pollId: $p) { status outcome winningOptions { label } } }";
    assert_code(
        &app.graphql(close, json!({ "p": poll_id }), auth(&fan))
            .await,
        "FORBIDDEN",
    );
    let body = app
        .graphql(close, json!({ "p": poll_id }), auth(&brand))
        .await;
    let closed = ok(&body, "closeDecisionPoll");
    assert_eq!(closed["status"], "CLOSED");
    assert_eq!(closed["outcome"], "RATIFIED");
    assert_eq!(closed["winningOptions"], json!([{ "label": "USB-C" }]));
}

#[tokio::test]
async fn invalid_decision_polls_are_refused_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "fans", "PUBLIC").await;
    let elsewhere = create_community(&app, &owner, "others", "PUBLIC").await;
    let brand = staff(&app, "brand").await;
    let fan = member(&app, "fan", &community).await;
    let open = submit(&app, &fan, &community, "An open idea").await;
    let other = submit(&app, &fan, &community, "Another idea").await;
    let declined = submit(&app, &fan, &community, "A declined idea").await;
    set_status(&app, &brand, &declined, "DECLINED").await;
    let foreign = submit(&app, &owner, &elsewhere, "A foreign idea").await;
    let pair = suggestions(&[&open, &other]);
    let many = Value::Array(
        (0..21)
            .map(|n| json!({ "label": format!("option {n}") }))
            .collect(),
    );
    let mut reversed = poll_input(&community, pair.clone(), 1, false, None);
    reversed["input"]["closesAt"] = json!("2026-02-01T00:00:00Z");
    for (input, who, code) in [
        (
            poll_input(&community, pair.clone(), 1, false, None),
            auth(&fan),
            "FORBIDDEN",
        ),
        (
            poll_input(&community, pair.clone(), 1, false, None),
            None,
            "UNAUTHENTICATED",
        ),
        (
            poll_input(&community, suggestions(&[&open]), 1, false, None),
            auth(&brand),
            "BAD_USER_INPUT",
        ),
        (
            poll_input(&community, many, 1, false, None),
            auth(&brand),
            "BAD_USER_INPUT",
        ),
        (
            poll_input(&community, pair.clone(), 0, false, None),
            auth(&brand),
            "BAD_USER_INPUT",
        ),
        (
            poll_input(&community, pair.clone(), 2, false, None),
            auth(&brand),
            "BAD_USER_INPUT",
        ),
        (
            poll_input(
                &community,
                json!([{ "suggestionId": open }, { "label": "x" }]),
                1,
                false,
                None,
            ),
            auth(&brand),
            "BAD_USER_INPUT",
        ),
        (
            poll_input(
                &community,
                json!([{ "suggestionId": open, "label": "x" }, { "label": "y" }]),
                1,
                false,
                None,
            ),
            auth(&brand),
            "BAD_USER_INPUT",
        ),
        (
            poll_input(&community, suggestions(&[&open, &foreign]), 1, false, None),
            auth(&brand),
            "BAD_USER_INPUT",
        ),
        (
            poll_input(&community, suggestions(&[&open, &declined]), 1, false, None),
            auth(&brand),
            "BAD_USER_INPUT",
        ),
        (
            poll_input(&community, suggestions(&[&open, &open]), 1, false, None),
            auth(&brand),
            "BAD_USER_INPUT",
        ),
        (
            poll_input(&community, pair.clone(), 1, false, Some(2)),
            auth(&brand),
            "BAD_USER_INPUT",
        ),
        (
            poll_input(&community, pair.clone(), 1, true, Some(0)),
            auth(&brand),
            "BAD_USER_INPUT",
        ),
        (reversed, auth(&brand), "BAD_USER_INPUT"),
        (
            poll_input(&new_id(), pair.clone(), 1, false, None),
            auth(&brand),
            "NOT_FOUND",
        ),
    ] {
        assert_code(&app.graphql(CREATE, input, who).await, code);
    }
    assert_eq!(app.count("pricing_poll").await, 0);
    assert_eq!(app.count("decision_option").await, 0);
    // A pricing poll cannot be a decision vote, nor the reverse.
    let body = app
        .graphql(
            "mutation($input: CreatePricingPollInput!) { createPricingPoll(input: $input) { id } }",
            json!({ "input": { "communityId": community, "productName": "x", "currency": "USD", "method": "DECISION",
                               "opensAt": "2026-03-01T00:00:00Z", "closesAt": "2026-03-08T00:00:00Z" } }),
            auth(&brand),
        )
        .await;
    assert_code(&body, "BAD_USER_INPUT");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("createDecisionPoll"),
        "{body}"
    );
}

const LISTED: &str = "query($c: ID!) { decisionPolls(communityId: $c, first: 20) { nodes { id viewerOptionIds options { id votes } winningOptions { id } } } }";

/// The fewest database queries of five runs of `LISTED` (on a busy machine a loader's keys
/// may arrive in two batches), and how many polls it listed.
async fn queries_for_decision_polls(
    app: &TestApp,
    viewer: &TestUser,
    community: &str,
) -> (f64, usize) {
    let variables = json!({ "c": community });
    let (fewest, body) = crate::support::fewest_queries(app, 5, LISTED, variables, viewer).await;
    let nodes = ok(&body, "decisionPolls")["nodes"].as_array().unwrap();
    assert!(
        nodes
            .iter()
            .all(|n| n["viewerOptionIds"].as_array().unwrap().len() == 1),
        "{body}"
    );
    (fewest, nodes.len())
}

#[tokio::test]
async fn listing_decision_polls_with_options_and_ballots_runs_as_many_queries_for_six_as_for_two() {
    let app = TestApp::spawn().await;
    app.state.clock.set(at("2026-03-03T00:00:00Z"));
    let owner = app.sign_up("owner").await;
    let brand = staff(&app, "brand").await;
    let small = create_community(&app, &owner, "small", "PUBLIC").await;
    let large = create_community(&app, &owner, "large", "PUBLIC").await;
    let fan = app.sign_up("fan").await;
    for (community, polls) in [(&small, 2), (&large, 6)] {
        join(&app, &fan, community).await;
        for _ in 0..polls {
            let labels = json!([{ "label": "Night mode" }, { "label": "USB-C" }]);
            let body = app
                .graphql(
                    CREATE,
                    poll_input(community, labels, 1, false, None),
                    auth(&brand),
                )
                .await;
            let poll = ok(&body, "createDecisionPoll").clone();
            let chosen = id_of(&poll["options"][1]);
            ok(
                &app.graphql(
                    CAST,
                    json!({ "p": id_of(&poll), "o": [chosen] }),
                    auth(&fan),
                )
                .await,
                "castDecisionBallot",
            );
        }
    }
    let (for_small, listed_small) = queries_for_decision_polls(&app, &fan, &small).await;
    let (for_large, listed_large) = queries_for_decision_polls(&app, &fan, &large).await;
    assert_eq!((listed_small, listed_large), (2, 6));
    // Standings per poll would add three queries for each of the four extra polls (twelve); a
    // batch split in two adds at most one loader's three.
    assert!(
        for_large <= for_small + 3.0,
        "six polls ran {for_large} queries, two ran {for_small}"
    );
}

#[tokio::test]
async fn a_decision_ballot_queued_offline_is_pushed_under_its_own_name() {
    use crate::sync_client::{SyncClient, summary};

    let app = TestApp::spawn().await;
    app.state.clock.set(at("2026-03-03T00:00:00Z"));
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "fans", "PUBLIC").await;
    let brand = staff(&app, "brand").await;
    let fan = member(&app, "fan", &community).await;
    let labels =
        json!([{ "label": "Night mode" }, { "label": "Bigger battery" }, { "label": "USB-C" }]);
    let body = app
        .graphql(
            CREATE,
            poll_input(&community, labels, 2, false, None),
            auth(&brand),
        )
        .await;
    let poll = ok(&body, "createDecisionPoll").clone();
    let poll_id = id_of(&poll);
    let option = |i: usize| id_of(&poll["options"][i]);

    let mut device = SyncClient::new(&fan);
    device.queue(
        "SET_DECISION_BALLOT",
        json!({ "pollId": poll_id, "optionIds": [option(2), option(0)] }),
    );
    // More choices than the vote has winners, and an option of no vote: refused, nothing kept.
    device.queue(
        "SET_DECISION_BALLOT",
        json!({ "pollId": poll_id, "optionIds": [option(0), option(1), option(2)] }),
    );
    device.queue(
        "SET_DECISION_BALLOT",
        json!({ "pollId": poll_id, "optionIds": [new_id()] }),
    );
    // The pricing polls' name carries no options: a decision vote refuses it.
    device.queue("SET_BALLOT", json!({ "pollId": poll_id, "choice": "1.00" }));
    assert_eq!(
        summary(&device.push(&app).await),
        [
            "1 APPLIED",
            "2 REJECTED BAD_USER_INPUT",
            "3 REJECTED BAD_USER_INPUT",
            "4 REJECTED BAD_USER_INPUT"
        ]
    );
    assert_eq!(app.count("pricing_ballot").await, 1);
    let mine = read(&app, &fan, &poll_id).await;
    let mut chosen: Vec<String> = mine["viewerOptionIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_string())
        .collect();
    chosen.sort();
    let mut expected = vec![option(0), option(2)];
    expected.sort();
    assert_eq!(chosen, expected);
    device.pull_all(&app, 100).await;
    let ballots = device.rows_of("Ballot");
    assert_eq!(ballots.len(), 1, "{ballots:?}");
    assert_eq!(ballots[0]["optionIds"], json!([option(0), option(2)]));

    // A pricing poll is not a decision vote.
    let pricing = app
        .graphql(
            "mutation($input: CreatePricingPollInput!) { createPricingPoll(input: $input) { id } }",
            json!({ "input": {
                "communityId": community, "productName": "Phone", "currency": "USD",
                "method": "CHOICE", "pricePoints": ["199", "249"],
                "opensAt": "2026-03-01T00:00:00Z", "closesAt": "2026-03-08T00:00:00Z",
            } }),
            auth(&brand),
        )
        .await;
    let pricing = id_of(ok(&pricing, "createPricingPoll"));
    device.queue(
        "SET_DECISION_BALLOT",
        json!({ "pollId": pricing, "optionIds": [option(0)] }),
    );
    assert_eq!(summary(&device.push(&app).await), ["5 REJECTED NOT_FOUND"]);

    // Past the close by server time, a queued replacement is POLL_CLOSED; the first stands.
    app.state.clock.set(at("2026-03-09T00:00:00Z"));
    device.queue(
        "SET_DECISION_BALLOT",
        json!({ "pollId": poll_id, "optionIds": [option(1)] }),
    );
    assert_eq!(
        summary(&device.push(&app).await),
        ["6 REJECTED POLL_CLOSED"]
    );
    let closed = read(&app, &fan, &poll_id).await;
    assert_eq!(closed["viewerOptionIds"].as_array().unwrap().len(), 2);
}
