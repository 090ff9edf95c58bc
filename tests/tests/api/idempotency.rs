//! Idempotent creates under concurrency: every create that takes a client-made key (communities,
//! suggestions, comments, pricing polls, idea rewards, sales reports), sent many times at once
//! with one key, gives one row and, to every caller, the replay — or CONFLICT when the payloads
//! differ — never INTERNAL, and nothing written twice. On SQLite writers queue; on Postgres the
//! creates really race.

use canyu_tests::{TestApp, TestUser, error_code};
use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::support::{
    auth, create_community, id_of, member, new_id, ok, read_suggestion, staff, submit,
};

/// How many copies of one create are sent at once.
const RACERS: usize = 8;

/// Sends `mutation` once per input, all at once, as `user`.
async fn race(app: &TestApp, user: &TestUser, mutation: &str, inputs: Vec<Value>) -> Vec<Value> {
    join_all(
        inputs
            .into_iter()
            .map(|input| app.graphql(mutation, json!({ "input": input }), auth(user))),
    )
    .await
}

/// Every answer succeeded with the same object; returns it.
#[track_caller]
fn all_replays<'a>(answers: &'a [Value], field: &str) -> &'a Value {
    let first = ok(&answers[0], field);
    for answer in answers {
        assert_eq!(ok(answer, field), first, "a racer got another answer");
    }
    first
}

/// Each answer either succeeded with one of the inputs or is CONFLICT, and all successes
/// agree; returns how many succeeded.
#[track_caller]
fn one_winner(answers: &[Value], field: &str) -> usize {
    let mut winner: Option<&Value> = None;
    let mut successes = 0;
    for answer in answers {
        if answer["errors"].is_null() {
            let object = &answer["data"][field];
            if let Some(earlier) = winner {
                assert_eq!(object, earlier, "two payloads were both accepted");
            }
            winner = Some(object);
            successes += 1;
        } else {
            assert_eq!(error_code(answer), Some("CONFLICT"), "{answer}");
        }
    }
    assert!(successes >= 1, "no racer succeeded: {answers:?}");
    successes
}

/// Each of `inputs` with `key` replaced by the same value, alternating between two variants.
fn alternating(a: Value, b: Value) -> Vec<Value> {
    (0..RACERS)
        .map(|i| if i % 2 == 0 { a.clone() } else { b.clone() })
        .collect()
}

#[tokio::test]
async fn racing_creates_of_one_community_give_one_community_and_one_owner() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let id = new_id();
    let input = json!({ "id": id, "slug": "racers", "name": "Racers", "visibility": "PUBLIC" });
    let mutation = "mutation($input: CreateCommunityInput!) { createCommunity(input: $input) { id slug memberCount } }";
    let answers = race(&app, &owner, mutation, vec![input.clone(); RACERS]).await;
    let community = all_replays(&answers, "createCommunity");
    assert_eq!(id_of(community), id);
    assert_eq!(community["memberCount"], 1);
    assert_eq!(app.count("community").await, 1);
    assert_eq!(app.count("membership").await, 1);

    let other = new_id();
    let a = json!({ "id": other, "slug": "racers-a", "name": "A", "visibility": "PUBLIC" });
    let b = json!({ "id": other, "slug": "racers-b", "name": "B", "visibility": "PUBLIC" });
    let answers = race(&app, &owner, mutation, alternating(a, b)).await;
    one_winner(&answers, "createCommunity");
    assert_eq!(app.count("community").await, 2);
    assert_eq!(app.count("membership").await, 2);
}

#[tokio::test]
async fn racing_submissions_of_one_suggestion_give_one_suggestion_and_one_timeline_entry() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "phones", "PUBLIC").await;
    let fan = member(&app, "fan", &community).await;
    let id = new_id();
    let input = |title: &str| json!({ "id": id, "communityId": community, "kind": "IDEA", "title": title, "body": "" });
    let mutation =
        "mutation($input: SubmitSuggestionInput!) { submitSuggestion(input: $input) { id title } }";
    let answers = race(
        &app,
        &fan,
        mutation,
        vec![input("A longer battery"); RACERS],
    )
    .await;
    assert_eq!(id_of(all_replays(&answers, "submitSuggestion")), id);
    assert_eq!(app.count("suggestion").await, 1);
    assert_eq!(app.count("suggestion_event").await, 1);
    assert_eq!(app.count("tally_change").await, 1);

    let id = new_id();
    let input = |title: &str| json!({ "id": id, "communityId": community, "kind": "IDEA", "title": title, "body": "" });
    let answers = race(
        &app,
        &fan,
        mutation,
        alternating(input("A brighter screen"), input("A louder speaker")),
    )
    .await;
    one_winner(&answers, "submitSuggestion");
    assert_eq!(app.count("suggestion").await, 2);
    assert_eq!(app.count("suggestion_event").await, 2);
}

#[tokio::test]
async fn racing_comments_with_one_id_give_one_comment_counted_once() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "phones", "PUBLIC").await;
    let fan = member(&app, "fan", &community).await;
    let suggestion = submit(&app, &fan, &community, "A longer battery").await;
    let id = new_id();
    let input = |body: &str| json!({ "id": id, "suggestionId": suggestion, "body": body });
    let mutation = "mutation($input: AddCommentInput!) { addComment(input: $input) { id body } }";
    let answers = race(&app, &fan, mutation, vec![input("+1"); RACERS]).await;
    assert_eq!(id_of(all_replays(&answers, "addComment")), id);

    let id = new_id();
    let input = |body: &str| json!({ "id": id, "suggestionId": suggestion, "body": body });
    let answers = race(&app, &fan, mutation, alternating(input("yes"), input("no"))).await;
    one_winner(&answers, "addComment");
    assert_eq!(app.count("comment").await, 2);
    let counted = read_suggestion(&app, Some(&fan), &suggestion, "commentCount").await;
    assert_eq!(counted["commentCount"], 2, "each comment is counted once");
}

#[tokio::test]
async fn racing_creates_of_one_pricing_poll_give_one_poll() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "phones", "PUBLIC").await;
    let brand = staff(&app, "brand").await;
    let id = new_id();
    let opens = chrono::Utc::now().to_rfc3339();
    let closes = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let input = |product: &str| {
        json!({
            "id": id, "communityId": community, "productName": product, "description": "",
            "currency": "USD", "method": "CHOICE", "pricePoints": ["199", "249"],
            "opensAt": opens, "closesAt": closes,
        })
    };
    let mutation = "mutation($input: CreatePricingPollInput!) { createPricingPoll(input: $input) { id productName } }";
    let answers = race(&app, &brand, mutation, vec![input("Band 9"); RACERS]).await;
    assert_eq!(id_of(all_replays(&answers, "createPricingPoll")), id);

    let id = new_id();
    let input = |product: &str| {
        json!({
            "id": id, "communityId": community, "productName": product, "description": "",
            "currency": "USD", "method": "CHOICE", "pricePoints": ["199", "249"],
            "opensAt": opens, "closesAt": closes,
        })
    };
    let answers = race(
        &app,
        &brand,
        mutation,
        alternating(input("Band 10"), input("Band 11")),
    )
    .await;
    one_winner(&answers, "createPricingPoll");
    assert_eq!(app.count("pricing_poll").await, 2);
}

#[tokio::test]
async fn racing_adoptions_with_one_id_give_one_reward_and_one_audit_entry() {
    let app = TestApp::spawn().await;
    let admin = app.admin("admin").await;
    let community = create_community(&app, &admin, "phones", "PUBLIC").await;
    let fan = member(&app, "fan", &community).await;
    let suggestion = submit(&app, &fan, &community, "A longer battery").await;
    let id = new_id();
    let input = |share: i64| {
        json!({
            "id": id, "suggestionId": suggestion, "productLine": "phones", "currency": "USD",
            "startsAt": "2025-01-01T00:00:00Z", "shareBps": share,
        })
    };
    let mutation = "mutation($input: AdoptSuggestionInput!) { adoptSuggestion(input: $input) { id shareBps } }";
    let answers = race(&app, &admin, mutation, vec![input(100); RACERS]).await;
    assert_eq!(id_of(all_replays(&answers, "adoptSuggestion")), id);
    assert_eq!(app.count("idea_reward").await, 1);
    assert_eq!(app.count("idea_reward_contributor").await, 1);
    assert_eq!(app.count("audit_log").await, 1);

    let other = submit(&app, &fan, &community, "A brighter screen").await;
    let id = new_id();
    let input = |share: i64| {
        json!({
            "id": id, "suggestionId": other, "productLine": "phones", "currency": "USD",
            "startsAt": "2025-01-01T00:00:00Z", "shareBps": share,
        })
    };
    let answers = race(&app, &admin, mutation, alternating(input(100), input(200))).await;
    one_winner(&answers, "adoptSuggestion");
    assert_eq!(app.count("idea_reward").await, 2);
    assert_eq!(app.count("idea_reward_contributor").await, 2);
}

#[tokio::test]
async fn racing_sales_reports_with_one_external_id_accrue_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin("admin").await;
    let community = create_community(&app, &admin, "phones", "PUBLIC").await;
    let fan = member(&app, "fan", &community).await;
    let suggestion = submit(&app, &fan, &community, "A longer battery").await;
    let adopted = app
        .graphql(
            "mutation($input: AdoptSuggestionInput!) { adoptSuggestion(input: $input) { id } }",
            json!({ "input": {
                "suggestionId": suggestion, "productLine": "phones", "currency": "USD",
                "startsAt": "2025-01-01T00:00:00Z",
            } }),
            auth(&admin),
        )
        .await;
    ok(&adopted, "adoptSuggestion");
    let input = |external: &str, net: &str| {
        json!({
            "externalId": external, "productLine": "phones", "periodStart": "2025-03-01T00:00:00Z",
            "periodEnd": "2025-04-01T00:00:00Z", "netSales": net, "currency": "USD",
        })
    };
    let mutation = "mutation($input: ReportSalesInput!) { reportSales(input: $input) { id netSales { amount } } }";
    let answers = race(
        &app,
        &admin,
        mutation,
        vec![input("march", "1000.00"); RACERS],
    )
    .await;
    all_replays(&answers, "reportSales");
    assert_eq!(app.count("sales_report").await, 1);
    assert_eq!(app.count("revenue_share_record").await, 1);

    let answers = race(
        &app,
        &admin,
        mutation,
        alternating(input("april", "1000.00"), input("april", "2000.00")),
    )
    .await;
    one_winner(&answers, "reportSales");
    assert_eq!(app.count("sales_report").await, 2);
    assert_eq!(app.count("revenue_share_record").await, 2);
}
