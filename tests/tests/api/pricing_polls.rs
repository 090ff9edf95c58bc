//! Pricing polls (the fan council): creating polls, casting and replacing ballots, the exact
//! results of CHOICE, VAN_WESTENDORP and GABOR_GRANGER, binding outcomes and the eligibility
//! snapshot, listings and visibility, aggregates against a recomputation after random ballots,
//! concurrent voters, and the `pricingPollUpdated` subscription.

use std::collections::BTreeMap;
use std::time::Duration;

use canyu_tests::{TestApp, TestUser, assert_code};
use chrono::Utc;
use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::support::{
    self, Socket, auth, connect, create_community, join, member, new_id, node_ids, ok, receive,
    send, staff,
};

/// The poll's own fields (no results, no viewer ballot).
const POLL: &str = "id community { id } productName description currency method pricePoints opensAt closesAt closedAt status binding quorum eligibleCount ballotCount outcome ratifiedPrice";
const RESULTS: &str = "results { choiceTally { price votes share } winningPrice vanWestendorp { marginalCheapness optimalPrice indifferencePrice marginalExpensiveness validResponses } gaborGranger { price demandShare revenueIndex } revenueMaximizingPrice }";
const BALLOT: &str = "choice vanWestendorp { tooCheap cheap expensive tooExpensive } gaborGranger { price wouldBuy } updatedAt";
const LIST: &str = "query($c: ID!, $s: PricingPollStatus, $first: Int, $after: String) { pricingPolls(communityId: $c, status: $s, first: $first, after: $after) { nodes { id status } pageInfo { hasNextPage endCursor } } }";
const UPDATED: &str = "subscription($id: ID!) { pricingPollUpdated(pollId: $id) { id status ballotCount outcome ratifiedPrice results { choiceTally { price votes share } winningPrice } } }";

// ---------------------------------------------------------------------------------------------
// Times and decimals
// ---------------------------------------------------------------------------------------------

/// RFC 3339 for now + `seconds` (server time decides; the server runs on this machine).
fn at(seconds: i64) -> String {
    (Utc::now() + chrono::TimeDelta::seconds(seconds)).to_rfc3339()
}

/// Parses an RFC 3339 value of an answer.
#[track_caller]
fn instant(value: &Value) -> chrono::DateTime<Utc> {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a DateTime: {value}"));
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("not RFC 3339: {text}: {e}"))
        .with_timezone(&Utc)
}

/// Sleeps until a moment after `deadline` (an RFC 3339 value) has passed.
async fn sleep_past(deadline: &Value) {
    let left = instant(deadline) - Utc::now();
    let millis = u64::try_from(left.num_milliseconds().max(0)).unwrap_or(0) + 500;
    tokio::time::sleep(Duration::from_millis(millis)).await;
}

/// A decimal string without trailing zeros after the point (nor a trailing point), so "20.00",
/// "20.0" and "20" compare equal and "0.500000" equals "0.5".
fn norm(text: &str) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text.to_string()
    }
}

/// A `Decimal` of an answer, normalized with [`norm`].
#[track_caller]
fn dec(value: &Value) -> String {
    norm(
        value
            .as_str()
            .unwrap_or_else(|| panic!("not a Decimal string: {value}")),
    )
}

/// A nullable `Decimal`, normalized.
#[track_caller]
fn opt_dec(value: &Value) -> Option<String> {
    if value.is_null() {
        None
    } else {
        Some(dec(value))
    }
}

/// A list of `Decimal`s, normalized.
#[track_caller]
fn decs(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(dec)
        .collect()
}

/// Expected decimal, normalized.
fn some(text: &str) -> Option<String> {
    Some(norm(text))
}

/// `numerator / denominator` (both ≥ 0, denominator > 0) rounded half-even to an integer.
fn half_even(numerator: i128, denominator: i128) -> i128 {
    let quotient = numerator / denominator;
    let remainder = numerator % denominator;
    match (2 * remainder).cmp(&denominator) {
        std::cmp::Ordering::Less => quotient,
        std::cmp::Ordering::Greater => quotient + 1,
        std::cmp::Ordering::Equal => {
            if quotient % 2 == 0 {
                quotient
            } else {
                quotient + 1
            }
        }
    }
}

/// `units` of 10^-digits as a normalized decimal string (units ≥ 0).
fn fixed(units: i128, digits: u32) -> String {
    if digits == 0 {
        return units.to_string();
    }
    let scale = 10i128.pow(digits);
    norm(&format!(
        "{}.{:0width$}",
        units / scale,
        units % scale,
        width = digits as usize
    ))
}

/// A share `count / total` as the API gives it: half-even to 6 decimals, "0" without ballots.
fn ratio(count: i64, total: i64) -> String {
    if total == 0 {
        return "0".to_string();
    }
    fixed(
        half_even(i128::from(count) * 1_000_000, i128::from(total)),
        6,
    )
}

/// `choiceTally` as (price, votes, share), normalized.
#[track_caller]
fn tally(results: &Value) -> Vec<(String, i64, String)> {
    results["choiceTally"]
        .as_array()
        .unwrap_or_else(|| panic!("no choiceTally in {results}"))
        .iter()
        .map(|row| {
            (
                dec(&row["price"]),
                row["votes"]
                    .as_i64()
                    .unwrap_or_else(|| panic!("votes: {row}")),
                dec(&row["share"]),
            )
        })
        .collect()
}

/// Expected tally rows, normalized.
fn tally_rows(rows: &[(&str, i64, &str)]) -> Vec<(String, i64, String)> {
    rows.iter()
        .map(|(price, votes, share)| (norm(price), *votes, norm(share)))
        .collect()
}

/// `gaborGranger` rows as (price, demandShare, revenueIndex), normalized.
#[track_caller]
fn gg_rows(results: &Value) -> Vec<(String, String, String)> {
    results["gaborGranger"]
        .as_array()
        .unwrap_or_else(|| panic!("no gaborGranger in {results}"))
        .iter()
        .map(|row| {
            (
                dec(&row["price"]),
                dec(&row["demandShare"]),
                dec(&row["revenueIndex"]),
            )
        })
        .collect()
}

/// Expected Gabor-Granger rows, normalized.
fn gg_expected(rows: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    rows.iter()
        .map(|(price, share, revenue)| (norm(price), norm(share), norm(revenue)))
        .collect()
}

/// The Van Westendorp points (MC, OPP, IPP, PME) and validResponses.
type VwPoints = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
);

#[track_caller]
fn vw_points(results: &Value) -> VwPoints {
    let vw = &results["vanWestendorp"];
    assert!(vw.is_object(), "no vanWestendorp in {results}");
    (
        opt_dec(&vw["marginalCheapness"]),
        opt_dec(&vw["optimalPrice"]),
        opt_dec(&vw["indifferencePrice"]),
        opt_dec(&vw["marginalExpensiveness"]),
        vw["validResponses"]
            .as_i64()
            .unwrap_or_else(|| panic!("validResponses: {vw}")),
    )
}

/// A Gabor-Granger ballot's answers as (price, wouldBuy), normalized and sorted by price.
#[track_caller]
fn gg_answers(ballot: &Value) -> Vec<(String, bool)> {
    let mut answers: Vec<(String, bool)> = ballot["gaborGranger"]
        .as_array()
        .unwrap_or_else(|| panic!("no gaborGranger answers in {ballot}"))
        .iter()
        .map(|a| {
            (
                dec(&a["price"]),
                a["wouldBuy"]
                    .as_bool()
                    .unwrap_or_else(|| panic!("wouldBuy: {a}")),
            )
        })
        .collect();
    answers.sort_by(|a, b| {
        a.0.parse::<f64>()
            .unwrap_or(0.0)
            .total_cmp(&b.0.parse::<f64>().unwrap_or(0.0))
    });
    answers
}

/// A tiny deterministic generator (a 64-bit LCG), so the random sequences repeat.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound
    }
}

// ---------------------------------------------------------------------------------------------
// API steps
// ---------------------------------------------------------------------------------------------

/// A create input with a client-made id, open from now for an hour; `points` left out when
/// empty.
fn poll_input(community_id: &str, method: &str, currency: &str, points: &[&str]) -> Value {
    let mut input = json!({
        "id": new_id(),
        "communityId": community_id,
        "productName": "Xiaomi Band 9",
        "description": "What should it cost?",
        "currency": currency,
        "method": method,
        "opensAt": at(0),
        "closesAt": at(3600),
    });
    if !points.is_empty() {
        input["pricePoints"] = json!(points);
    }
    input
}

async fn try_create(app: &TestApp, user: Option<&TestUser>, input: &Value) -> Value {
    app.graphql(
        &format!(
            "mutation($input: CreatePricingPollInput!) {{ createPricingPoll(input: $input) {{ {POLL} }} }}"
        ),
        json!({ "input": input }),
        user.and_then(auth),
    )
    .await
}

/// Creates a poll, which must succeed; returns the poll's own fields.
async fn create(app: &TestApp, user: &TestUser, input: &Value) -> Value {
    let body = try_create(app, Some(user), input).await;
    ok(&body, "createPricingPoll").clone()
}

/// Creates a poll, which must succeed; returns its id.
async fn create_id(app: &TestApp, user: &TestUser, input: &Value) -> String {
    let poll = create(app, user, input).await;
    poll["id"].as_str().unwrap().to_string()
}

async fn try_cast(app: &TestApp, user: Option<&TestUser>, input: Value) -> Value {
    app.graphql(
        &format!(
            "mutation($input: CastBallotInput!) {{ castBallot(input: $input) {{ {BALLOT} }} }}"
        ),
        json!({ "input": input }),
        user.and_then(auth),
    )
    .await
}

/// Casts a ballot, which must succeed; returns the ballot.
async fn cast(app: &TestApp, user: &TestUser, input: Value) -> Value {
    let body = try_cast(app, Some(user), input).await;
    ok(&body, "castBallot").clone()
}

fn choice(poll_id: &str, price: &str) -> Value {
    json!({ "pollId": poll_id, "choice": price })
}

fn vw(poll_id: &str, answers: [&str; 4]) -> Value {
    json!({ "pollId": poll_id, "vanWestendorp": {
        "tooCheap": answers[0],
        "cheap": answers[1],
        "expensive": answers[2],
        "tooExpensive": answers[3],
    } })
}

fn gg(poll_id: &str, answers: &[(&str, bool)]) -> Value {
    let answers: Vec<Value> = answers
        .iter()
        .map(|(price, would_buy)| json!({ "price": price, "wouldBuy": would_buy }))
        .collect();
    json!({ "pollId": poll_id, "gaborGranger": answers })
}

/// `pricingPoll(id)` with its fields, results and viewer ballot, as `viewer` sees it (null when
/// not visible); the query must not fail.
async fn read(app: &TestApp, viewer: Option<&TestUser>, poll_id: &str) -> Value {
    let body = app
        .graphql(
            &format!(
                "query($id: ID!) {{ pricingPoll(id: $id) {{ {POLL} {RESULTS} viewerBallot {{ {BALLOT} }} }} }}"
            ),
            json!({ "id": poll_id }),
            viewer.and_then(auth),
        )
        .await;
    assert!(body["errors"].is_null(), "pricingPoll failed: {body}");
    body["data"]["pricingPoll"].clone()
}

/// [`read`] without the viewer's ballot, to compare with what `closePricingPoll` returns.
async fn read_without_ballot(app: &TestApp, viewer: &TestUser, poll_id: &str) -> Value {
    let mut poll = read(app, Some(viewer), poll_id).await;
    poll.as_object_mut()
        .unwrap_or_else(|| panic!("the poll is missing"))
        .remove("viewerBallot");
    poll
}

async fn try_close(app: &TestApp, user: &TestUser, poll_id: &str) -> Value {
    app.graphql(
        &format!("mutation($id: ID!) {{ closePricingPoll(pollId: $id) {{ {POLL} {RESULTS} }} }}"),
        json!({ "id": poll_id }),
        auth(user),
    )
    .await
}

/// Closes a poll early, which must succeed; returns the poll with its results.
async fn close(app: &TestApp, user: &TestUser, poll_id: &str) -> Value {
    let body = try_close(app, user, poll_id).await;
    ok(&body, "closePricingPoll").clone()
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

/// One `pricingPolls` page as `viewer` sees it (the whole answer).
async fn list_page(
    app: &TestApp,
    viewer: &TestUser,
    community_id: &str,
    status: Option<&str>,
    first: i64,
    after: Option<String>,
) -> Value {
    app.graphql(
        LIST,
        json!({ "c": community_id, "s": status, "first": first, "after": after }),
        auth(viewer),
    )
    .await
}

/// Every poll `pricingPolls` lists, paging `first` at a time: (id, status) in order.
async fn list_all(
    app: &TestApp,
    viewer: &TestUser,
    community_id: &str,
    status: Option<&str>,
    first: i64,
) -> Vec<(String, String)> {
    let mut listed = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..50 {
        let body = list_page(app, viewer, community_id, status, first, after.clone()).await;
        let page = ok(&body, "pricingPolls");
        let nodes = page["nodes"].as_array().unwrap();
        assert!((nodes.len() as i64) <= first, "{page}");
        for node in nodes {
            listed.push((
                node["id"].as_str().unwrap().to_string(),
                node["status"].as_str().unwrap().to_string(),
            ));
        }
        if page["pageInfo"]["hasNextPage"] != json!(true) {
            return listed;
        }
        after = Some(page["pageInfo"]["endCursor"].as_str().unwrap().to_string());
    }
    panic!("pricingPolls never ended: {listed:?}");
}

// ---------------------------------------------------------------------------------------------
// The subscription client (graphql-transport-ws)
// ---------------------------------------------------------------------------------------------

/// Subscribes to `pricingPollUpdated` of `poll_id` as operation `operation_id`.
async fn subscribe(socket: &mut Socket, operation_id: &str, poll_id: &str) {
    support::subscribe(socket, operation_id, UPDATED, poll_id).await;
}

/// The next `pricingPollUpdated` payload of `operation_id`.
async fn next_update(socket: &mut Socket, operation_id: &str) -> Value {
    support::next_data(socket, operation_id, "pricingPollUpdated").await
}

// ---------------------------------------------------------------------------------------------
// createPricingPoll
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn staff_create_polls_of_every_method_and_members_may_not() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community_id = create_community(&app, &owner, "fans", "PUBLIC").await;
    let fan = member(&app, "fan", &community_id).await;
    let staffer = staff(&app, "staffer").await;

    // CHOICE: price points come back ascending.
    let input = poll_input(&community_id, "CHOICE", "USD", &["29.99", "9.99", "19.99"]);
    let poll = create(&app, &staffer, &input).await;
    assert_eq!(poll["id"], input["id"]);
    assert_eq!(poll["community"]["id"], community_id.as_str());
    assert_eq!(poll["productName"], "Xiaomi Band 9");
    assert_eq!(poll["description"], "What should it cost?");
    assert_eq!(poll["currency"], "USD");
    assert_eq!(poll["method"], "CHOICE");
    assert_eq!(decs(&poll["pricePoints"]), ["9.99", "19.99", "29.99"]);
    assert_eq!(poll["status"], "OPEN");
    assert_eq!(poll["binding"], false);
    assert_eq!(poll["ballotCount"], 0);
    for field in [
        "quorum",
        "eligibleCount",
        "outcome",
        "ratifiedPrice",
        "closedAt",
    ] {
        assert!(poll[field].is_null(), "{field}: {poll}");
    }
    for field in ["opensAt", "closesAt"] {
        let sent = instant(&input[field]);
        let stored = instant(&poll[field]);
        assert!(
            (stored - sent).num_milliseconds().abs() < 1000,
            "{field}: sent {sent}, got {stored}"
        );
    }
    // A fresh non-binding CHOICE poll already has (empty) results.
    let read_back = read(&app, Some(&fan), &id_str(&poll)).await;
    let results = &read_back["results"];
    assert_eq!(
        tally(results),
        tally_rows(&[("9.99", 0, "0"), ("19.99", 0, "0"), ("29.99", 0, "0")])
    );
    assert!(results["winningPrice"].is_null(), "{results}");
    assert!(results["vanWestendorp"].is_null(), "{results}");
    assert_eq!(results["gaborGranger"], json!([]));
    assert!(results["revenueMaximizingPrice"].is_null(), "{results}");
    assert!(read_back["viewerBallot"].is_null(), "{read_back}");

    // VAN_WESTENDORP: no price points; empty Van Westendorp results.
    let input = poll_input(&community_id, "VAN_WESTENDORP", "JPY", &[]);
    let poll = create(&app, &staffer, &input).await;
    assert_eq!(poll["method"], "VAN_WESTENDORP");
    assert_eq!(poll["currency"], "JPY");
    assert_eq!(poll["pricePoints"], json!([]));
    let results = read(&app, Some(&fan), &id_str(&poll)).await["results"].clone();
    assert_eq!(vw_points(&results), (None, None, None, None, 0));
    assert_eq!(results["choiceTally"], json!([]));
    assert_eq!(results["gaborGranger"], json!([]));
    assert!(results["winningPrice"].is_null(), "{results}");
    assert!(results["revenueMaximizingPrice"].is_null(), "{results}");

    // GABOR_GRANGER: the ladder, ascending, with no demand yet.
    let input = poll_input(&community_id, "GABOR_GRANGER", "EUR", &["15", "5", "10"]);
    let poll = create(&app, &staffer, &input).await;
    assert_eq!(poll["method"], "GABOR_GRANGER");
    assert_eq!(decs(&poll["pricePoints"]), ["5", "10", "15"]);
    let results = read(&app, Some(&fan), &id_str(&poll)).await["results"].clone();
    assert_eq!(
        gg_rows(&results)
            .into_iter()
            .map(|(price, share, _)| (price, share))
            .collect::<Vec<_>>(),
        [
            ("5".to_string(), "0".to_string()),
            ("10".to_string(), "0".to_string()),
            ("15".to_string(), "0".to_string())
        ]
    );
    assert!(results["revenueMaximizingPrice"].is_null(), "{results}");
    assert_eq!(results["choiceTally"], json!([]));
    assert!(results["vanWestendorp"].is_null(), "{results}");

    // Binding: the quorum defaults to 1; eligibleCount counts the ACTIVE members (owner, fan).
    let mut input = poll_input(&community_id, "CHOICE", "USD", &["1", "2"]);
    input["binding"] = json!(true);
    let poll = create(&app, &staffer, &input).await;
    assert_eq!(poll["binding"], true);
    assert_eq!(poll["quorum"], 1);
    assert_eq!(poll["eligibleCount"], 2);
    assert!(poll["outcome"].is_null(), "{poll}");
    let mut input = poll_input(&community_id, "CHOICE", "USD", &["1", "2"]);
    input["binding"] = json!(true);
    input["quorum"] = json!(3);
    let poll = create(&app, &staffer, &input).await;
    assert_eq!(poll["quorum"], 3);
    assert_eq!(app.count("pricing_poll").await, 5);

    // A member, an anonymous caller and an unknown community write nothing.
    let input = poll_input(&community_id, "CHOICE", "USD", &["1", "2"]);
    assert_code(&try_create(&app, Some(&fan), &input).await, "FORBIDDEN");
    assert_code(&try_create(&app, Some(&owner), &input).await, "FORBIDDEN");
    assert_code(&try_create(&app, None, &input).await, "UNAUTHENTICATED");
    let elsewhere = poll_input(&new_id(), "CHOICE", "USD", &["1", "2"]);
    assert_code(
        &try_create(&app, Some(&staffer), &elsewhere).await,
        "NOT_FOUND",
    );
    assert_eq!(app.count("pricing_poll").await, 5);
}

/// The `id` of an object as a String.
#[track_caller]
fn id_str(object: &Value) -> String {
    crate::support::id_of(object)
}

#[tokio::test]
async fn invalid_polls_are_refused_with_the_field_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community_id = create_community(&app, &owner, "fans", "PUBLIC").await;
    let staffer = staff(&app, "staffer").await;
    let base = |method: &str, currency: &str, points: &[&str]| {
        poll_input(&community_id, method, currency, points)
    };

    let mut cases: Vec<(&str, Value, &str)> = Vec::new();
    cases.push((
        "duplicate price points",
        base("CHOICE", "USD", &["10.00", "12.00", "10.00"]),
        "pricePoints",
    ));
    cases.push((
        "one price point",
        base("CHOICE", "USD", &["10.00"]),
        "pricePoints",
    ));
    let mut many = base("CHOICE", "USD", &[]);
    let twenty_one: Vec<String> = (1..=21).map(|n| n.to_string()).collect();
    many["pricePoints"] = json!(twenty_one);
    cases.push(("21 price points", many, "pricePoints"));
    cases.push((
        "a zero price",
        base("CHOICE", "USD", &["0", "10"]),
        "pricePoints",
    ));
    cases.push((
        "a negative price",
        base("GABOR_GRANGER", "USD", &["-5", "10"]),
        "pricePoints",
    ));
    cases.push((
        "three decimals in USD",
        base("CHOICE", "USD", &["1.999", "2.50"]),
        "pricePoints",
    ));
    cases.push((
        "decimals in JPY",
        base("CHOICE", "JPY", &["10.5", "20"]),
        "pricePoints",
    ));
    cases.push((
        "price points for Van Westendorp",
        base("VAN_WESTENDORP", "USD", &["1", "2"]),
        "pricePoints",
    ));
    cases.push((
        "no price points for CHOICE",
        base("CHOICE", "USD", &[]),
        "pricePoints",
    ));
    cases.push((
        "no price points for Gabor-Granger",
        base("GABOR_GRANGER", "USD", &[]),
        "pricePoints",
    ));
    let mut empty = base("CHOICE", "USD", &[]);
    empty["pricePoints"] = json!([]);
    cases.push(("an empty price list", empty, "pricePoints"));
    let mut backwards = base("CHOICE", "USD", &["1", "2"]);
    backwards["opensAt"] = json!(at(600));
    backwards["closesAt"] = json!(at(300));
    cases.push(("closesAt before opensAt", backwards, "closesAt"));
    let mut same_time = base("CHOICE", "USD", &["1", "2"]);
    same_time["closesAt"] = same_time["opensAt"].clone();
    cases.push(("closesAt equal to opensAt", same_time, "closesAt"));
    let mut quorum_alone = base("CHOICE", "USD", &["1", "2"]);
    quorum_alone["quorum"] = json!(3);
    cases.push(("a quorum without binding", quorum_alone, "quorum"));
    let mut quorum_not_binding = base("CHOICE", "USD", &["1", "2"]);
    quorum_not_binding["binding"] = json!(false);
    quorum_not_binding["quorum"] = json!(3);
    cases.push(("a quorum with binding: false", quorum_not_binding, "quorum"));
    let mut zero_quorum = base("CHOICE", "USD", &["1", "2"]);
    zero_quorum["binding"] = json!(true);
    zero_quorum["quorum"] = json!(0);
    cases.push(("a zero quorum", zero_quorum, "quorum"));
    cases.push((
        "an unknown currency",
        base("CHOICE", "XYZ", &["1", "2"]),
        "currency",
    ));
    let mut unnamed = base("CHOICE", "USD", &["1", "2"]);
    unnamed["productName"] = json!("");
    cases.push(("an empty product name", unnamed, "productName"));
    let mut long_name = base("CHOICE", "USD", &["1", "2"]);
    long_name["productName"] = json!("x".repeat(201));
    cases.push(("a 201-character product name", long_name, "productName"));

    for (case, input, field) in &cases {
        let body = try_create(&app, Some(&staffer), input).await;
        assert_eq!(
            canyu_tests::error_code(&body),
            Some("BAD_USER_INPUT"),
            "{case}: {body}"
        );
        assert_eq!(
            body["errors"][0]["extensions"]["field"], *field,
            "{case}: {body}"
        );
    }
    assert_eq!(app.count("pricing_poll").await, 0);

    // The limits themselves are fine: 2 and 20 points, 3 decimals in KWD, 200 characters.
    create(&app, &staffer, &base("CHOICE", "USD", &["0.01", "0.02"])).await;
    let mut twenty = base("GABOR_GRANGER", "JPY", &[]);
    let points: Vec<String> = (1..=20).map(|n| (n * 100).to_string()).collect();
    twenty["pricePoints"] = json!(points);
    let poll = create(&app, &staffer, &twenty).await;
    assert_eq!(poll["pricePoints"].as_array().map(Vec::len), Some(20));
    let poll = create(&app, &staffer, &base("CHOICE", "KWD", &["2.5", "1.999"])).await;
    assert_eq!(decs(&poll["pricePoints"]), ["1.999", "2.5"]);
    let mut long_name = base("CHOICE", "USD", &["1", "2"]);
    long_name["productName"] = json!("x".repeat(200));
    create(&app, &staffer, &long_name).await;
    assert_eq!(app.count("pricing_poll").await, 4);
}

#[tokio::test]
async fn a_client_made_id_makes_creating_a_poll_idempotent() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community_id = create_community(&app, &owner, "fans", "PUBLIC").await;
    let staffer = staff(&app, "staffer").await;
    let input = poll_input(&community_id, "CHOICE", "USD", &["9.99", "19.99"]);

    let first = create(&app, &staffer, &input).await;
    let again = create(&app, &staffer, &input).await;
    assert_eq!(first["id"], input["id"]);
    assert_eq!(again["id"], input["id"]);
    assert_eq!(again["productName"], "Xiaomi Band 9");
    assert_eq!(decs(&again["pricePoints"]), ["9.99", "19.99"]);
    assert_eq!(app.count("pricing_poll").await, 1);

    let mut changed = input.clone();
    changed["productName"] = json!("Xiaomi Band 10");
    assert_code(
        &try_create(&app, Some(&staffer), &changed).await,
        "CONFLICT",
    );
    let mut other_prices = input.clone();
    other_prices["pricePoints"] = json!(["9.99", "29.99"]);
    assert_code(
        &try_create(&app, Some(&staffer), &other_prices).await,
        "CONFLICT",
    );
    assert_eq!(app.count("pricing_poll").await, 1);
    let stored = read(&app, Some(&staffer), input["id"].as_str().unwrap()).await;
    assert_eq!(stored["productName"], "Xiaomi Band 9");
    assert_eq!(decs(&stored["pricePoints"]), ["9.99", "19.99"]);
}

// ---------------------------------------------------------------------------------------------
// castBallot: who, what and when
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn ballots_come_from_members_and_carry_exactly_the_part_of_the_method() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community_id = create_community(&app, &owner, "fans", "PUBLIC").await;
    let fan = member(&app, "fan", &community_id).await;
    let outsider = app.sign_up("outsider").await;
    let staffer = staff(&app, "staffer").await;
    let poll_id = create_id(
        &app,
        &staffer,
        &poll_input(&community_id, "CHOICE", "USD", &["9.99", "19.99", "29.99"]),
    )
    .await;

    assert_code(
        &try_cast(&app, None, choice(&poll_id, "9.99")).await,
        "UNAUTHENTICATED",
    );
    assert_code(
        &try_cast(&app, Some(&outsider), choice(&poll_id, "9.99")).await,
        "FORBIDDEN",
    );
    assert_code(
        &try_cast(&app, Some(&fan), choice(&new_id(), "9.99")).await,
        "NOT_FOUND",
    );
    let wrong: Vec<(&str, Value)> = vec![
        (
            "a Van Westendorp part",
            vw(&poll_id, ["1.00", "2.00", "3.00", "4.00"]),
        ),
        (
            "a Gabor-Granger part",
            gg(
                &poll_id,
                &[("9.99", true), ("19.99", true), ("29.99", false)],
            ),
        ),
        ("no part", json!({ "pollId": poll_id })),
        (
            "two parts",
            json!({
                "pollId": poll_id,
                "choice": "9.99",
                "gaborGranger": [
                    { "price": "9.99", "wouldBuy": true },
                    { "price": "19.99", "wouldBuy": true },
                    { "price": "29.99", "wouldBuy": true },
                ],
            }),
        ),
        ("a price that is not a point", choice(&poll_id, "15.00")),
        ("a price with too many decimals", choice(&poll_id, "9.991")),
        ("a negative price", choice(&poll_id, "-9.99")),
    ];
    for (case, input) in wrong {
        let body = try_cast(&app, Some(&fan), input).await;
        assert_eq!(
            canyu_tests::error_code(&body),
            Some("BAD_USER_INPUT"),
            "{case}: {body}"
        );
    }
    assert_eq!(app.count("pricing_ballot").await, 0);
    let poll = read(&app, Some(&fan), &poll_id).await;
    assert_eq!(poll["ballotCount"], 0);
    assert!(poll["viewerBallot"].is_null(), "{poll}");

    // The owner is a member too; a valid ballot goes through.
    let ballot = cast(&app, &owner, choice(&poll_id, "19.99")).await;
    assert_eq!(dec(&ballot["choice"]), "19.99");
    assert!(ballot["vanWestendorp"].is_null(), "{ballot}");
    assert!(ballot["gaborGranger"].is_null(), "{ballot}");
    let _ = instant(&ballot["updatedAt"]);
    assert_eq!(app.count("pricing_ballot").await, 1);
}

#[tokio::test]
async fn van_westendorp_answers_must_be_ordered_positive_prices() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community_id = create_community(&app, &owner, "fans", "PUBLIC").await;
    let fan = member(&app, "fan", &community_id).await;
    let staffer = staff(&app, "staffer").await;
    let poll_id = create_id(
        &app,
        &staffer,
        &poll_input(&community_id, "VAN_WESTENDORP", "USD", &[]),
    )
    .await;

    let wrong: Vec<(&str, Value)> = vec![
        ("tooCheap = cheap", vw(&poll_id, ["1", "1", "2", "3"])),
        ("cheap > expensive", vw(&poll_id, ["1", "3", "2", "4"])),
        (
            "expensive = tooExpensive",
            vw(&poll_id, ["1", "2", "3", "3"]),
        ),
        ("descending", vw(&poll_id, ["4", "3", "2", "1"])),
        ("a zero price", vw(&poll_id, ["0", "1", "2", "3"])),
        ("a negative price", vw(&poll_id, ["-1", "1", "2", "3"])),
        (
            "three decimals in USD",
            vw(&poll_id, ["1.001", "2", "3", "4"]),
        ),
        ("a CHOICE part", choice(&poll_id, "1.00")),
    ];
    for (case, input) in wrong {
        let body = try_cast(&app, Some(&fan), input).await;
        assert_eq!(
            canyu_tests::error_code(&body),
            Some("BAD_USER_INPUT"),
            "{case}: {body}"
        );
    }
    assert_eq!(app.count("pricing_ballot").await, 0);

    let ballot = cast(&app, &fan, vw(&poll_id, ["4.99", "9.99", "19.99", "29.99"])).await;
    let answer = &ballot["vanWestendorp"];
    assert_eq!(
        [
            dec(&answer["tooCheap"]),
            dec(&answer["cheap"]),
            dec(&answer["expensive"]),
            dec(&answer["tooExpensive"])
        ],
        ["4.99", "9.99", "19.99", "29.99"]
    );
    assert!(ballot["choice"].is_null(), "{ballot}");
    let poll = read(&app, Some(&fan), &poll_id).await;
    assert_eq!(poll["ballotCount"], 1);
    assert_eq!(
        dec(&poll["viewerBallot"]["vanWestendorp"]["expensive"]),
        "19.99"
    );
}

#[tokio::test]
async fn a_gabor_granger_ballot_answers_every_price_point_exactly_once() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community_id = create_community(&app, &owner, "fans", "PUBLIC").await;
    let fan = member(&app, "fan", &community_id).await;
    let staffer = staff(&app, "staffer").await;
    let poll_id = create_id(
        &app,
        &staffer,
        &poll_input(
            &community_id,
            "GABOR_GRANGER",
            "JPY",
            &["100", "200", "300"],
        ),
    )
    .await;

    let wrong: Vec<(&str, Value)> = vec![
        (
            "a missing price",
            gg(&poll_id, &[("100", true), ("200", true)]),
        ),
        (
            "an extra price",
            gg(
                &poll_id,
                &[("100", true), ("200", true), ("300", true), ("400", false)],
            ),
        ),
        (
            "a repeated price",
            gg(
                &poll_id,
                &[("100", true), ("100", false), ("200", true), ("300", true)],
            ),
        ),
        (
            "a repeated price instead of one",
            gg(&poll_id, &[("100", true), ("100", true), ("200", false)]),
        ),
        (
            "a price that is not a point",
            gg(&poll_id, &[("100", true), ("250", true), ("300", true)]),
        ),
        ("no answers", gg(&poll_id, &[])),
        ("a CHOICE part", choice(&poll_id, "100")),
    ];
    for (case, input) in wrong {
        let body = try_cast(&app, Some(&fan), input).await;
        assert_eq!(
            canyu_tests::error_code(&body),
            Some("BAD_USER_INPUT"),
            "{case}: {body}"
        );
    }
    assert_eq!(app.count("pricing_ballot").await, 0);

    // Any order will do.
    let ballot = cast(
        &app,
        &fan,
        gg(&poll_id, &[("300", false), ("100", true), ("200", true)]),
    )
    .await;
    let expected = vec![
        ("100".to_string(), true),
        ("200".to_string(), true),
        ("300".to_string(), false),
    ];
    assert_eq!(gg_answers(&ballot), expected);
    let poll = read(&app, Some(&fan), &poll_id).await;
    assert_eq!(poll["ballotCount"], 1);
    assert_eq!(gg_answers(&poll["viewerBallot"]), expected);
}

#[tokio::test]
async fn ballots_before_opening_or_after_closing_are_poll_closed() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community_id = create_community(&app, &owner, "fans", "PUBLIC").await;
    let fan = member(&app, "fan", &community_id).await;
    let staffer = staff(&app, "staffer").await;
    let points = ["9.99", "19.99"];

    // Not open yet.
    let mut input = poll_input(&community_id, "CHOICE", "USD", &points);
    input["opensAt"] = json!(at(3600));
    input["closesAt"] = json!(at(7200));
    let scheduled = create(&app, &staffer, &input).await;
    assert_eq!(scheduled["status"], "SCHEDULED");
    let body = try_cast(&app, Some(&fan), choice(&id_str(&scheduled), "9.99")).await;
    assert_code(&body, "POLL_CLOSED");
    assert_eq!(app.count("pricing_ballot").await, 0);

    // Past closesAt: closed on every read and write, with nothing run at that moment.
    let mut input = poll_input(&community_id, "CHOICE", "USD", &points);
    input["closesAt"] = json!(at(3));
    let timed = create(&app, &staffer, &input).await;
    let timed_id = id_str(&timed);
    assert_eq!(timed["status"], "OPEN");
    cast(&app, &fan, choice(&timed_id, "9.99")).await;
    sleep_past(&timed["closesAt"]).await;
    let poll = read(&app, Some(&fan), &timed_id).await;
    assert_eq!(poll["status"], "CLOSED");
    let body = try_cast(&app, Some(&fan), choice(&timed_id, "19.99")).await;
    assert_code(&body, "POLL_CLOSED");
    let poll = read(&app, Some(&fan), &timed_id).await;
    assert_eq!(poll["ballotCount"], 1);
    assert_eq!(dec(&poll["viewerBallot"]["choice"]), "9.99");
    assert_eq!(
        tally(&poll["results"]),
        tally_rows(&[("9.99", 1, "1"), ("19.99", 0, "0")])
    );
    assert_eq!(app.count("pricing_ballot").await, 1);

    // Closed early by staff; a member may not close.
    let early_id = create_id(
        &app,
        &staffer,
        &poll_input(&community_id, "CHOICE", "USD", &points),
    )
    .await;
    assert_code(&try_close(&app, &fan, &early_id).await, "FORBIDDEN");
    assert_eq!(read(&app, None, &early_id).await["status"], "OPEN");
    let closed = close(&app, &staffer, &early_id).await;
    assert_eq!(closed["status"], "CLOSED");
    let closed_at = instant(&closed["closedAt"]);
    assert!(
        (Utc::now() - closed_at).num_seconds().abs() < 60,
        "closedAt {closed_at}"
    );
    let body = try_cast(&app, Some(&fan), choice(&early_id, "9.99")).await;
    assert_code(&body, "POLL_CLOSED");
    assert_eq!(app.count("pricing_ballot").await, 1);
    assert_eq!(read(&app, None, &early_id).await["ballotCount"], 0);
}

#[tokio::test]
async fn a_later_ballot_replaces_the_earlier_one() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community_id = create_community(&app, &owner, "fans", "PUBLIC").await;
    let fan = member(&app, "fan", &community_id).await;
    let other = member(&app, "other", &community_id).await;
    let staffer = staff(&app, "staffer").await;
    let poll_id = create_id(
        &app,
        &staffer,
        &poll_input(&community_id, "CHOICE", "USD", &["9.99", "19.99", "29.99"]),
    )
    .await;

    let first = cast(&app, &fan, choice(&poll_id, "9.99")).await;
    assert_eq!(dec(&first["choice"]), "9.99");
    let poll = read(&app, Some(&fan), &poll_id).await;
    assert_eq!(poll["ballotCount"], 1);
    assert_eq!(
        tally(&poll["results"]),
        tally_rows(&[("9.99", 1, "1"), ("19.99", 0, "0"), ("29.99", 0, "0")])
    );
    assert_eq!(opt_dec(&poll["results"]["winningPrice"]), some("9.99"));

    let second = cast(&app, &fan, choice(&poll_id, "29.99")).await;
    assert_eq!(dec(&second["choice"]), "29.99");
    assert!(instant(&second["updatedAt"]) >= instant(&first["updatedAt"]));
    assert_eq!(app.count("pricing_ballot").await, 1);
    let poll = read(&app, Some(&fan), &poll_id).await;
    assert_eq!(poll["ballotCount"], 1);
    assert_eq!(dec(&poll["viewerBallot"]["choice"]), "29.99");
    assert_eq!(
        tally(&poll["results"]),
        tally_rows(&[("9.99", 0, "0"), ("19.99", 0, "0"), ("29.99", 1, "1")])
    );
    assert_eq!(opt_dec(&poll["results"]["winningPrice"]), some("29.99"));

    // The same ballot again changes nothing.
    cast(&app, &fan, choice(&poll_id, "29.99")).await;
    assert_eq!(app.count("pricing_ballot").await, 1);
    let poll = read(&app, Some(&other), &poll_id).await;
    assert_eq!(poll["ballotCount"], 1);
    assert!(poll["viewerBallot"].is_null(), "{poll}");
    assert_eq!(
        tally(&poll["results"]),
        tally_rows(&[("9.99", 0, "0"), ("19.99", 0, "0"), ("29.99", 1, "1")])
    );
    let anonymous = read(&app, None, &poll_id).await;
    assert!(anonymous["viewerBallot"].is_null(), "{anonymous}");
    assert_eq!(anonymous["ballotCount"], 1);
}

// ---------------------------------------------------------------------------------------------
// Results on hand-worked cases
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn choice_results_count_votes_and_a_tie_goes_to_the_lower_price() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community_id = create_community(&app, &owner, "fans", "PUBLIC").await;
    let staffer = staff(&app, "staffer").await;
    let poll_id = create_id(
        &app,
        &staffer,
        &poll_input(
            &community_id,
            "CHOICE",
            "USD",
            &["39.99", "9.99", "29.99", "19.99"],
        ),
    )
    .await;
    // 9.99 once, 19.99 and 29.99 three times each, 39.99 never: 7 ballots.
    let picks = ["29.99", "19.99", "9.99", "29.99", "19.99", "29.99", "19.99"];
    for (n, price) in picks.iter().enumerate() {
        let fan = member(&app, &format!("fan_{n}"), &community_id).await;
        cast(&app, &fan, choice(&poll_id, price)).await;
    }
    let poll = read(&app, None, &poll_id).await;
    assert_eq!(poll["ballotCount"], 7);
    let results = &poll["results"];
    assert_eq!(
        tally(results),
        tally_rows(&[
            ("9.99", 1, "0.142857"),
            ("19.99", 3, "0.428571"),
            ("29.99", 3, "0.428571"),
            ("39.99", 0, "0"),
        ])
    );
    assert_eq!(opt_dec(&results["winningPrice"]), some("19.99"));
    assert!(results["vanWestendorp"].is_null(), "{results}");
    assert_eq!(results["gaborGranger"], json!([]));
    assert!(results["revenueMaximizingPrice"].is_null(), "{results}");
}

#[tokio::test]
async fn van_westendorp_results_follow_the_hand_worked_crossings() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community_id = create_community(&app, &owner, "fans", "PUBLIC").await;
    let first = member(&app, "first", &community_id).await;
    let second = member(&app, "second", &community_id).await;
    let staffer = staff(&app, "staffer").await;

    // Respondents (1, 2, 3, 4) and (2, 3, 4, 5). Grid 1..5; out of 2:
    // tooCheap 1,0,0,0,0; cheap 2,1,0,0,0 (notCheap 0,1,2,2,2); expensive 0,0,1,2,2
    // (notExpensive 2,2,1,0,0); tooExpensive 0,0,0,1,2.
    // PMC: tooCheap − notCheap = 1,−1 between 1 and 2 → 1.5; OPP: tooCheap − tooExpensive =
    // 1,0 between 1 and 2 → 2 exactly; IPP: cheap − expensive = 1,−1 between 2 and 3 → 2.5;
    // PME: tooExpensive − notExpensive = −1,1 between 3 and 4 → 3.5.
    let cases: [(&str, [[&str; 4]; 2], VwPoints); 3] = [
        // JPY has no minor digits: 1.5 → 2, 2.5 → 2, 3.5 → 4 (half-even).
        (
            "JPY",
            [["1", "2", "3", "4"], ["2", "3", "4", "5"]],
            (some("2"), some("2"), some("2"), some("4"), 2),
        ),
        (
            "USD",
            [["1.00", "2.00", "3.00", "4.00"], ["2", "3", "4", "5"]],
            (some("1.50"), some("2.00"), some("2.50"), some("3.50"), 2),
        ),
        // The same in cents: half a cent rounds half-even.
        (
            "USD",
            [
                ["0.01", "0.02", "0.03", "0.04"],
                ["0.02", "0.03", "0.04", "0.05"],
            ],
            (some("0.02"), some("0.02"), some("0.02"), some("0.04"), 2),
        ),
    ];
    for (currency, [a, b], expected) in cases {
        let poll_id = create_id(
            &app,
            &staffer,
            &poll_input(&community_id, "VAN_WESTENDORP", currency, &[]),
        )
        .await;
        cast(&app, &first, vw(&poll_id, a)).await;
        cast(&app, &second, vw(&poll_id, b)).await;
        let poll = read(&app, None, &poll_id).await;
        assert_eq!(poll["ballotCount"], 2);
        let results = &poll["results"];
        assert_eq!(vw_points(results), expected, "{currency} {a:?} {b:?}");
        assert_eq!(results["choiceTally"], json!([]));
        assert_eq!(results["gaborGranger"], json!([]));
        assert!(results["winningPrice"].is_null(), "{results}");
        assert!(results["revenueMaximizingPrice"].is_null(), "{results}");
    }
}

#[tokio::test]
async fn gabor_granger_results_follow_the_hand_worked_demand() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community_id = create_community(&app, &owner, "fans", "PUBLIC").await;
    let staffer = staff(&app, "staffer").await;
    let mut fans = Vec::new();
    for handle in ["fan_a", "fan_b", "fan_c", "fan_d"] {
        fans.push(member(&app, handle, &community_id).await);
    }
    let poll_id = create_id(
        &app,
        &staffer,
        &poll_input(
            &community_id,
            "GABOR_GRANGER",
            "JPY",
            &["100", "200", "300"],
        ),
    )
    .await;
    // Highest would-buy prices: 100; 300 (a "no" below it still counts as a buyer there);
    // 300; none.
    let ballots: [[(&str, bool); 3]; 4] = [
        [("100", true), ("200", false), ("300", false)],
        [("100", false), ("200", false), ("300", true)],
        [("100", true), ("200", true), ("300", true)],
        [("100", false), ("200", false), ("300", false)],
    ];
    for (fan, answers) in fans.iter().zip(ballots.iter()) {
        cast(&app, fan, gg(&poll_id, answers)).await;
    }
    let poll = read(&app, None, &poll_id).await;
    assert_eq!(poll["ballotCount"], 4);
    let results = &poll["results"];
    assert_eq!(
        gg_rows(results),
        gg_expected(&[
            ("100", "0.75", "75"),
            ("200", "0.5", "100"),
            ("300", "0.5", "150"),
        ])
    );
    assert_eq!(opt_dec(&results["revenueMaximizingPrice"]), some("300"));
    assert_eq!(results["choiceTally"], json!([]));
    assert!(results["vanWestendorp"].is_null(), "{results}");
    assert!(results["winningPrice"].is_null(), "{results}");

    // A tie in revenue goes to the lower price: 100 × 2/2 = 200 × 1/2.
    let tie_id = create_id(
        &app,
        &staffer,
        &poll_input(&community_id, "GABOR_GRANGER", "JPY", &["100", "200"]),
    )
    .await;
    cast(
        &app,
        &fans[0],
        gg(&tie_id, &[("100", true), ("200", false)]),
    )
    .await;
    cast(&app, &fans[1], gg(&tie_id, &[("100", true), ("200", true)])).await;
    let results = read(&app, None, &tie_id).await["results"].clone();
    assert_eq!(
        gg_rows(&results),
        gg_expected(&[("100", "1", "100"), ("200", "0.5", "100")])
    );
    assert_eq!(opt_dec(&results["revenueMaximizingPrice"]), some("100"));
}

// ---------------------------------------------------------------------------------------------
// Binding polls
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_binding_poll_hides_results_until_closed_and_ratifies_the_winner_with_a_quorum() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community_id = create_community(&app, &owner, "fans", "PUBLIC").await;
    let fan_a = member(&app, "fan_a", &community_id).await;
    let fan_b = member(&app, "fan_b", &community_id).await;
    let fan_c = member(&app, "fan_c", &community_id).await;
    let staffer = staff(&app, "staffer").await;
    let mut input = poll_input(&community_id, "CHOICE", "USD", &["9.99", "19.99", "29.99"]);
    input["binding"] = json!(true);
    input["quorum"] = json!(2);
    let poll_id = create_id(&app, &staffer, &input).await;

    cast(&app, &fan_a, choice(&poll_id, "19.99")).await;
    cast(&app, &fan_b, choice(&poll_id, "19.99")).await;
    cast(&app, &fan_c, choice(&poll_id, "29.99")).await;

    for viewer in [Some(&fan_a), Some(&staffer), None] {
        let poll = read(&app, viewer, &poll_id).await;
        assert_eq!(poll["status"], "OPEN");
        assert_eq!(poll["ballotCount"], 3);
        // The owner and three fans were members when it opened.
        assert_eq!(poll["eligibleCount"], 4);
        assert_eq!(poll["quorum"], 2);
        assert!(poll["results"].is_null(), "results while open: {poll}");
        assert!(poll["outcome"].is_null(), "{poll}");
        assert!(poll["ratifiedPrice"].is_null(), "{poll}");
    }
    let own = read(&app, Some(&fan_a), &poll_id).await;
    assert_eq!(dec(&own["viewerBallot"]["choice"]), "19.99");

    assert_code(&try_close(&app, &fan_a, &poll_id).await, "FORBIDDEN");
    let closed = close(&app, &staffer, &poll_id).await;
    assert_eq!(closed["status"], "CLOSED");
    assert!(!closed["closedAt"].is_null(), "{closed}");
    assert_eq!(closed["outcome"], "RATIFIED");
    assert_eq!(opt_dec(&closed["ratifiedPrice"]), some("19.99"));
    assert_eq!(
        tally(&closed["results"]),
        tally_rows(&[
            ("9.99", 0, "0"),
            ("19.99", 2, "0.666667"),
            ("29.99", 1, "0.333333"),
        ])
    );
    assert_eq!(opt_dec(&closed["results"]["winningPrice"]), some("19.99"));

    let poll = read(&app, None, &poll_id).await;
    assert_eq!(poll["outcome"], "RATIFIED");
    assert_eq!(opt_dec(&poll["ratifiedPrice"]), some("19.99"));
    assert_eq!(tally(&poll["results"]), tally(&closed["results"]));
    assert_code(
        &try_cast(&app, Some(&fan_a), choice(&poll_id, "9.99")).await,
        "POLL_CLOSED",
    );

    // Closing again returns it unchanged.
    let again = close(&app, &staffer, &poll_id).await;
    assert_eq!(again, closed);
}

#[tokio::test]
async fn a_binding_poll_that_misses_its_quorum_closes_by_time_with_no_quorum() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community_id = create_community(&app, &owner, "fans", "PUBLIC").await;
    let fan_a = member(&app, "fan_a", &community_id).await;
    let fan_b = member(&app, "fan_b", &community_id).await;
    let staffer = staff(&app, "staffer").await;
    let mut input = poll_input(&community_id, "CHOICE", "USD", &["9.99", "19.99"]);
    input["binding"] = json!(true);
    input["quorum"] = json!(3);
    input["closesAt"] = json!(at(3));
    let created = create(&app, &staffer, &input).await;
    let poll_id = id_str(&created);

    cast(&app, &fan_a, choice(&poll_id, "9.99")).await;
    cast(&app, &fan_b, choice(&poll_id, "9.99")).await;
    let poll = read(&app, Some(&fan_a), &poll_id).await;
    assert_eq!(poll["status"], "OPEN");
    assert!(poll["results"].is_null(), "results while open: {poll}");
    assert!(poll["outcome"].is_null(), "{poll}");

    sleep_past(&created["closesAt"]).await;
    let poll = read(&app, Some(&fan_a), &poll_id).await;
    assert_eq!(poll["status"], "CLOSED");
    assert_eq!(poll["ballotCount"], 2);
    assert_eq!(poll["eligibleCount"], 3);
    assert_eq!(poll["outcome"], "NO_QUORUM");
    assert!(poll["ratifiedPrice"].is_null(), "{poll}");
    assert_eq!(
        tally(&poll["results"]),
        tally_rows(&[("9.99", 2, "1"), ("19.99", 0, "0")])
    );
    assert_code(
        &try_cast(&app, Some(&owner), choice(&poll_id, "9.99")).await,
        "POLL_CLOSED",
    );

    // The outcome is fixed once: closing it now returns it unchanged.
    let before = read_without_ballot(&app, &staffer, &poll_id).await;
    let closed = close(&app, &staffer, &poll_id).await;
    assert_eq!(closed, before);
    assert_eq!(closed["outcome"], "NO_QUORUM");
    assert_eq!(read_without_ballot(&app, &staffer, &poll_id).await, before);
}

#[tokio::test]
async fn only_members_who_belonged_when_a_binding_poll_opened_may_vote() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community_id = create_community(&app, &owner, "fans", "PUBLIC").await;
    let early = member(&app, "early", &community_id).await;
    let staffer = staff(&app, "staffer").await;
    let mut input = poll_input(&community_id, "CHOICE", "USD", &["9.99", "19.99"]);
    input["binding"] = json!(true);
    input["opensAt"] = json!(at(2));
    let created = create(&app, &staffer, &input).await;
    let poll_id = id_str(&created);
    assert_eq!(created["status"], "SCHEDULED");
    assert!(created["eligibleCount"].is_null(), "{created}");
    assert_code(
        &try_cast(&app, Some(&early), choice(&poll_id, "9.99")).await,
        "POLL_CLOSED",
    );

    sleep_past(&created["opensAt"]).await;
    let late = member(&app, "late", &community_id).await;
    let poll = read(&app, Some(&early), &poll_id).await;
    assert_eq!(poll["status"], "OPEN");
    // The owner and the early member.
    assert_eq!(poll["eligibleCount"], 2);

    assert_code(
        &try_cast(&app, Some(&late), choice(&poll_id, "19.99")).await,
        "FORBIDDEN",
    );
    let ballot = cast(&app, &early, choice(&poll_id, "9.99")).await;
    assert_eq!(dec(&ballot["choice"]), "9.99");
    assert_code(
        &try_cast(&app, Some(&late), choice(&poll_id, "9.99")).await,
        "FORBIDDEN",
    );
    assert_eq!(app.count("pricing_ballot").await, 1);
    let poll = read(&app, Some(&late), &poll_id).await;
    assert_eq!(poll["ballotCount"], 1);
    assert_eq!(poll["eligibleCount"], 2);
    assert!(poll["viewerBallot"].is_null(), "{poll}");
}

#[tokio::test]
async fn binding_van_westendorp_and_gabor_granger_polls_ratify_their_own_prices() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community_id = create_community(&app, &owner, "fans", "PUBLIC").await;
    let mut fans = Vec::new();
    for handle in ["fan_a", "fan_b", "fan_c", "fan_d"] {
        fans.push(member(&app, handle, &community_id).await);
    }
    let staffer = staff(&app, "staffer").await;

    let mut input = poll_input(&community_id, "VAN_WESTENDORP", "JPY", &[]);
    input["binding"] = json!(true);
    input["quorum"] = json!(2);
    let vw_id = create_id(&app, &staffer, &input).await;
    cast(&app, &fans[0], vw(&vw_id, ["1", "2", "3", "4"])).await;
    cast(&app, &fans[1], vw(&vw_id, ["2", "3", "4", "5"])).await;
    assert!(read(&app, None, &vw_id).await["results"].is_null());
    let closed = close(&app, &staffer, &vw_id).await;
    assert_eq!(closed["outcome"], "RATIFIED");
    assert_eq!(opt_dec(&closed["ratifiedPrice"]), some("2"));
    assert_eq!(
        vw_points(&closed["results"]),
        (some("2"), some("2"), some("2"), some("4"), 2)
    );

    let mut input = poll_input(
        &community_id,
        "GABOR_GRANGER",
        "JPY",
        &["100", "200", "300"],
    );
    input["binding"] = json!(true);
    input["quorum"] = json!(4);
    let gg_id = create_id(&app, &staffer, &input).await;
    let ballots: [[(&str, bool); 3]; 4] = [
        [("100", true), ("200", false), ("300", false)],
        [("100", false), ("200", false), ("300", true)],
        [("100", true), ("200", true), ("300", true)],
        [("100", false), ("200", false), ("300", false)],
    ];
    for (fan, answers) in fans.iter().zip(ballots.iter()) {
        cast(&app, fan, gg(&gg_id, answers)).await;
    }
    assert!(read(&app, None, &gg_id).await["results"].is_null());
    let closed = close(&app, &staffer, &gg_id).await;
    assert_eq!(closed["outcome"], "RATIFIED");
    assert_eq!(opt_dec(&closed["ratifiedPrice"]), some("300"));
    assert_eq!(
        opt_dec(&closed["results"]["revenueMaximizingPrice"]),
        some("300")
    );
}

// ---------------------------------------------------------------------------------------------
// Aggregates against a recomputation; concurrency
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn results_equal_a_recomputation_after_random_casts_and_replacements() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community_id = create_community(&app, &owner, "fans", "PUBLIC").await;
    let mut fans = Vec::new();
    for n in 0..8 {
        fans.push(member(&app, &format!("fan_{n}"), &community_id).await);
    }
    let staffer = staff(&app, "staffer").await;
    let choice_points = ["9.99", "19.99", "29.99", "39.99"];
    // Multiples of 840 cents: price × buyers / ballots is a whole cent for up to 8 ballots, so the
    // revenue index does not depend on how the demand share was rounded.
    let gg_points = ["8.40", "16.80", "25.20", "33.60"];
    let gg_cents: [i64; 4] = [840, 1680, 2520, 3360];
    let choice_id = create_id(
        &app,
        &staffer,
        &poll_input(&community_id, "CHOICE", "USD", &choice_points),
    )
    .await;
    let gg_id = create_id(
        &app,
        &staffer,
        &poll_input(&community_id, "GABOR_GRANGER", "USD", &gg_points),
    )
    .await;

    let mut rng = Lcg(0x00c0_ffee);
    // Each fan's last ballot: the index of the price (CHOICE), the would-buy bits (GG).
    let mut last_choice: BTreeMap<usize, usize> = BTreeMap::new();
    let mut last_gg: BTreeMap<usize, u64> = BTreeMap::new();
    for step in 0..120 {
        let who = rng.below(8) as usize;
        if rng.below(2) == 0 {
            let pick = rng.below(4) as usize;
            let ballot = cast(&app, &fans[who], choice(&choice_id, choice_points[pick])).await;
            assert_eq!(dec(&ballot["choice"]), norm(choice_points[pick]));
            last_choice.insert(who, pick);
        } else {
            let bits = rng.below(16);
            let answers: Vec<(&str, bool)> = (0..4usize)
                .map(|i| (gg_points[i], bits & (1u64 << i) != 0))
                .collect();
            cast(&app, &fans[who], gg(&gg_id, &answers)).await;
            last_gg.insert(who, bits);
        }
        if step % 40 != 39 {
            continue;
        }

        // CHOICE recomputed from the last ballots.
        let poll = read(&app, None, &choice_id).await;
        let ballots = last_choice.len() as i64;
        assert_eq!(poll["ballotCount"], ballots, "step {step}");
        let votes: Vec<i64> = (0..4)
            .map(|p| last_choice.values().filter(|&&v| v == p).count() as i64)
            .collect();
        let expected: Vec<(String, i64, String)> = (0..4)
            .map(|p| (norm(choice_points[p]), votes[p], ratio(votes[p], ballots)))
            .collect();
        assert_eq!(tally(&poll["results"]), expected, "step {step}");
        let winner = if ballots == 0 {
            None
        } else {
            (0..4)
                .fold(None, |best: Option<usize>, p| match best {
                    Some(b) if votes[b] >= votes[p] => Some(b),
                    _ => Some(p),
                })
                .map(|p| norm(choice_points[p]))
        };
        assert_eq!(
            opt_dec(&poll["results"]["winningPrice"]),
            winner,
            "step {step}"
        );

        // GABOR_GRANGER recomputed from the last ballots.
        let poll = read(&app, None, &gg_id).await;
        let ballots = last_gg.len() as i64;
        assert_eq!(poll["ballotCount"], ballots, "step {step}");
        let highest: Vec<Option<usize>> = last_gg
            .values()
            .map(|bits| (0..4usize).rev().find(|i| *bits & (1u64 << *i) != 0))
            .collect();
        let buyers: Vec<i64> = (0..4)
            .map(|p| {
                highest
                    .iter()
                    .filter(|h| matches!(h, Some(top) if *top >= p))
                    .count() as i64
            })
            .collect();
        let expected: Vec<(String, String, String)> = (0..4)
            .map(|p| {
                let revenue = if ballots == 0 {
                    0
                } else {
                    half_even(
                        i128::from(gg_cents[p]) * i128::from(buyers[p]),
                        i128::from(ballots),
                    )
                };
                (
                    norm(gg_points[p]),
                    ratio(buyers[p], ballots),
                    fixed(revenue, 2),
                )
            })
            .collect();
        assert_eq!(gg_rows(&poll["results"]), expected, "step {step}");
        let best = if ballots == 0 {
            None
        } else {
            (0..4)
                .fold(None, |best: Option<usize>, p| match best {
                    Some(b) if gg_cents[b] * buyers[b] >= gg_cents[p] * buyers[p] => Some(b),
                    _ => Some(p),
                })
                .map(|p| norm(gg_points[p]))
        };
        assert_eq!(
            opt_dec(&poll["results"]["revenueMaximizingPrice"]),
            best,
            "step {step}"
        );
    }

    // Every fan sees their own last ballot; one row per (poll, fan).
    for (who, pick) in &last_choice {
        let poll = read(&app, Some(&fans[*who]), &choice_id).await;
        assert_eq!(
            dec(&poll["viewerBallot"]["choice"]),
            norm(choice_points[*pick])
        );
    }
    for (who, bits) in &last_gg {
        let poll = read(&app, Some(&fans[*who]), &gg_id).await;
        let expected: Vec<(String, bool)> = (0..4usize)
            .map(|i| (norm(gg_points[i]), *bits & (1u64 << i) != 0))
            .collect();
        assert_eq!(gg_answers(&poll["viewerBallot"]), expected, "fan {who}");
    }
    assert_eq!(
        app.count("pricing_ballot").await,
        (last_choice.len() + last_gg.len()) as i64
    );
}

#[tokio::test]
async fn a_hundred_members_casting_at_once_are_tallied_exactly() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community_id = create_community(&app, &owner, "fans", "PUBLIC").await;
    let staffer = staff(&app, "staffer").await;
    let voters = members_at_once(&app, "voter", 100, &community_id).await;
    let points = ["1.00", "2.00", "3.00"];
    let poll_id = create_id(
        &app,
        &staffer,
        &poll_input(&community_id, "CHOICE", "USD", &points),
    )
    .await;

    // Voter n picks points[n % 3]: 34, 33, 33.
    let answers = join_all(
        voters
            .iter()
            .enumerate()
            .map(|(n, voter)| try_cast(&app, Some(voter), choice(&poll_id, points[n % 3]))),
    )
    .await;
    for answer in &answers {
        ok(answer, "castBallot");
    }
    let poll = read(&app, None, &poll_id).await;
    assert_eq!(poll["ballotCount"], 100);
    assert_eq!(app.count("pricing_ballot").await, 100);
    assert_eq!(
        tally(&poll["results"]),
        tally_rows(&[("1", 34, "0.34"), ("2", 33, "0.33"), ("3", 33, "0.33")])
    );
    assert_eq!(opt_dec(&poll["results"]["winningPrice"]), some("1"));

    // All of them change their minds at once: points[(n + 1) % 3] → 33, 34, 33.
    let answers = join_all(
        voters
            .iter()
            .enumerate()
            .map(|(n, voter)| try_cast(&app, Some(voter), choice(&poll_id, points[(n + 1) % 3]))),
    )
    .await;
    for answer in &answers {
        ok(answer, "castBallot");
    }
    let poll = read(&app, None, &poll_id).await;
    assert_eq!(poll["ballotCount"], 100);
    assert_eq!(app.count("pricing_ballot").await, 100);
    assert_eq!(
        tally(&poll["results"]),
        tally_rows(&[("1", 33, "0.33"), ("2", 34, "0.34"), ("3", 33, "0.33")])
    );
    assert_eq!(opt_dec(&poll["results"]["winningPrice"]), some("2"));
}

#[tokio::test]
async fn fifty_identical_ballots_at_once_make_one() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community_id = create_community(&app, &owner, "fans", "PUBLIC").await;
    let fan = member(&app, "fan", &community_id).await;
    let staffer = staff(&app, "staffer").await;
    let poll_id = create_id(
        &app,
        &staffer,
        &poll_input(&community_id, "CHOICE", "USD", &["1.00", "2.00"]),
    )
    .await;
    let answers =
        join_all((0..50).map(|_| try_cast(&app, Some(&fan), choice(&poll_id, "2.00")))).await;
    for answer in &answers {
        assert_eq!(dec(&ok(answer, "castBallot")["choice"]), "2");
    }
    let poll = read(&app, Some(&fan), &poll_id).await;
    assert_eq!(poll["ballotCount"], 1);
    assert_eq!(app.count("pricing_ballot").await, 1);
    assert_eq!(
        tally(&poll["results"]),
        tally_rows(&[("1", 0, "0"), ("2", 1, "1")])
    );
}

// ---------------------------------------------------------------------------------------------
// Listing and visibility
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn pricing_polls_filter_by_status_and_page_newest_first() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community_id = create_community(&app, &owner, "fans", "PUBLIC").await;
    let other_community = create_community(&app, &owner, "others", "PUBLIC").await;
    let fan = member(&app, "fan", &community_id).await;
    let staffer = staff(&app, "staffer").await;
    let points = ["1", "2"];

    let mut input = poll_input(&community_id, "CHOICE", "USD", &points);
    input["opensAt"] = json!(at(3600));
    input["closesAt"] = json!(at(7200));
    let scheduled = create_id(&app, &staffer, &input).await;
    let open = create_id(
        &app,
        &staffer,
        &poll_input(&community_id, "CHOICE", "USD", &points),
    )
    .await;
    let early = create_id(
        &app,
        &staffer,
        &poll_input(&community_id, "VAN_WESTENDORP", "USD", &[]),
    )
    .await;
    let mut input = poll_input(&community_id, "GABOR_GRANGER", "USD", &points);
    input["closesAt"] = json!(at(3));
    let timed = create(&app, &staffer, &input).await;
    let timed_id = id_str(&timed);
    create_id(
        &app,
        &staffer,
        &poll_input(&other_community, "CHOICE", "USD", &points),
    )
    .await;
    close(&app, &staffer, &early).await;
    sleep_past(&timed["closesAt"]).await;

    let everything = vec![
        (timed_id.clone(), "CLOSED".to_string()),
        (early.clone(), "CLOSED".to_string()),
        (open.clone(), "OPEN".to_string()),
        (scheduled.clone(), "SCHEDULED".to_string()),
    ];
    assert_eq!(
        list_all(&app, &fan, &community_id, None, 100).await,
        everything
    );
    assert_eq!(
        list_all(&app, &fan, &community_id, None, 1).await,
        everything
    );
    assert_eq!(
        list_all(&app, &fan, &community_id, None, 3).await,
        everything
    );
    assert_eq!(
        list_all(&app, &fan, &community_id, Some("SCHEDULED"), 100).await,
        vec![(scheduled.clone(), "SCHEDULED".to_string())]
    );
    assert_eq!(
        list_all(&app, &fan, &community_id, Some("OPEN"), 100).await,
        vec![(open.clone(), "OPEN".to_string())]
    );
    assert_eq!(
        list_all(&app, &fan, &community_id, Some("CLOSED"), 1).await,
        vec![
            (timed_id.clone(), "CLOSED".to_string()),
            (early.clone(), "CLOSED".to_string())
        ]
    );
    // A page of two has a next page; the last page has none.
    let body = list_page(&app, &fan, &community_id, None, 2, None).await;
    let page = ok(&body, "pricingPolls");
    assert_eq!(node_ids(page), [timed_id.clone(), early.clone()]);
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let cursor = page["pageInfo"]["endCursor"].as_str().unwrap().to_string();
    let body = list_page(&app, &fan, &community_id, None, 2, Some(cursor)).await;
    let page = ok(&body, "pricingPolls");
    assert_eq!(node_ids(page), [open.clone(), scheduled.clone()]);
    assert_eq!(page["pageInfo"]["hasNextPage"], false);

    let unknown = list_page(&app, &fan, &new_id(), None, 10, None).await;
    assert_code(&unknown, "NOT_FOUND");
}

#[tokio::test]
async fn polls_of_a_private_community_are_invisible_to_outsiders() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let secret = create_community(&app, &owner, "secret", "PRIVATE").await;
    let outsider = app.sign_up("outsider").await;
    let staffer = staff(&app, "staffer").await;
    let poll_id = create_id(
        &app,
        &staffer,
        &poll_input(&secret, "CHOICE", "USD", &["9.99", "19.99"]),
    )
    .await;

    let body = list_page(&app, &outsider, &secret, None, 10, None).await;
    assert_code(&body, "NOT_FOUND");
    assert!(read(&app, Some(&outsider), &poll_id).await.is_null());
    assert!(read(&app, None, &poll_id).await.is_null());
    assert_code(
        &try_cast(&app, Some(&outsider), choice(&poll_id, "9.99")).await,
        "NOT_FOUND",
    );
    assert_eq!(app.count("pricing_ballot").await, 0);

    // Its members see and vote.
    let body = list_page(&app, &owner, &secret, None, 10, None).await;
    assert_eq!(
        node_ids(ok(&body, "pricingPolls")),
        std::slice::from_ref(&poll_id)
    );
    cast(&app, &owner, choice(&poll_id, "19.99")).await;
    let poll = read(&app, Some(&owner), &poll_id).await;
    assert_eq!(poll["id"], poll_id.as_str());
    assert_eq!(poll["ballotCount"], 1);
    assert!(read(&app, Some(&outsider), &poll_id).await.is_null());
}

// ---------------------------------------------------------------------------------------------
// The pricingPollUpdated subscription
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn subscribers_see_ballot_counts_and_results_live() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community_id = create_community(&app, &owner, "fans", "PUBLIC").await;
    let fan = member(&app, "fan", &community_id).await;
    let other = member(&app, "other", &community_id).await;
    let watcher = member(&app, "watcher", &community_id).await;
    let staffer = staff(&app, "staffer").await;
    let poll_id = create_id(
        &app,
        &staffer,
        &poll_input(&community_id, "CHOICE", "USD", &["9.99", "19.99"]),
    )
    .await;

    let mut socket = connect(&app, &watcher).await;
    subscribe(&mut socket, "1", &poll_id).await;

    cast(&app, &fan, choice(&poll_id, "19.99")).await;
    let update = next_update(&mut socket, "1").await;
    assert_eq!(update["id"], poll_id.as_str());
    assert_eq!(update["status"], "OPEN");
    assert_eq!(update["ballotCount"], 1);
    assert_eq!(
        tally(&update["results"]),
        tally_rows(&[("9.99", 0, "0"), ("19.99", 1, "1")])
    );

    // A replacement keeps the count and moves the vote.
    cast(&app, &fan, choice(&poll_id, "9.99")).await;
    let update = next_update(&mut socket, "1").await;
    assert_eq!(update["ballotCount"], 1);
    assert_eq!(
        tally(&update["results"]),
        tally_rows(&[("9.99", 1, "1"), ("19.99", 0, "0")])
    );

    cast(&app, &other, choice(&poll_id, "19.99")).await;
    let update = next_update(&mut socket, "1").await;
    assert_eq!(update["ballotCount"], 2);
    assert_eq!(
        tally(&update["results"]),
        tally_rows(&[("9.99", 1, "0.5"), ("19.99", 1, "0.5")])
    );
    assert_eq!(opt_dec(&update["results"]["winningPrice"]), some("9.99"));

    close(&app, &staffer, &poll_id).await;
    let update = next_update(&mut socket, "1").await;
    assert_eq!(update["status"], "CLOSED");
    assert_eq!(update["ballotCount"], 2);
    assert!(update["outcome"].is_null(), "not binding: {update}");
}

#[tokio::test]
async fn a_binding_poll_pushes_no_results_until_it_closes() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community_id = create_community(&app, &owner, "fans", "PUBLIC").await;
    let fan = member(&app, "fan", &community_id).await;
    let other = member(&app, "other", &community_id).await;
    let watcher = member(&app, "watcher", &community_id).await;
    let staffer = staff(&app, "staffer").await;
    let mut input = poll_input(&community_id, "CHOICE", "USD", &["9.99", "19.99"]);
    input["binding"] = json!(true);
    input["quorum"] = json!(2);
    let poll_id = create_id(&app, &staffer, &input).await;

    let mut socket = connect(&app, &watcher).await;
    subscribe(&mut socket, "1", &poll_id).await;

    cast(&app, &fan, choice(&poll_id, "19.99")).await;
    let update = next_update(&mut socket, "1").await;
    assert_eq!(update["id"], poll_id.as_str());
    assert_eq!(update["status"], "OPEN");
    assert_eq!(update["ballotCount"], 1);
    assert!(
        update["results"].is_null(),
        "results before close: {update}"
    );
    assert!(update["outcome"].is_null(), "{update}");

    cast(&app, &other, choice(&poll_id, "19.99")).await;
    let update = next_update(&mut socket, "1").await;
    assert_eq!(update["ballotCount"], 2);
    assert!(
        update["results"].is_null(),
        "results before close: {update}"
    );
    assert!(update["ratifiedPrice"].is_null(), "{update}");

    close(&app, &staffer, &poll_id).await;
    let update = next_update(&mut socket, "1").await;
    assert_eq!(update["status"], "CLOSED");
    assert_eq!(update["ballotCount"], 2);
    assert_eq!(update["outcome"], "RATIFIED");
    assert_eq!(opt_dec(&update["ratifiedPrice"]), some("19.99"));
    assert_eq!(
        tally(&update["results"]),
        tally_rows(&[("9.99", 0, "0"), ("19.99", 2, "1")])
    );
    assert_eq!(opt_dec(&update["results"]["winningPrice"]), some("19.99"));
}

#[tokio::test]
async fn a_private_poll_is_not_found_for_a_non_member_subscriber() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let secret = create_community(&app, &owner, "secret", "PRIVATE").await;
    let outsider = app.sign_up("outsider").await;
    let staffer = staff(&app, "staffer").await;
    let poll_id = create_id(
        &app,
        &staffer,
        &poll_input(&secret, "CHOICE", "USD", &["9.99", "19.99"]),
    )
    .await;

    let mut socket = connect(&app, &outsider).await;
    send(
        &mut socket,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": UPDATED, "variables": { "id": poll_id } } }),
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
                    || message["payload"]["data"]["pricingPollUpdated"].is_null(),
                "{message}"
            );
            message["payload"]["errors"][0]["extensions"]["code"].clone()
        }
        _ => panic!("expected an error, got {message}"),
    };
    assert_eq!(code, "NOT_FOUND", "{message}");

    // Nothing about it leaks afterwards either.
    cast(&app, &owner, choice(&poll_id, "9.99")).await;
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

#[tokio::test]
async fn a_ballot_must_carry_the_part_of_its_method_and_only_valid_prices() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community_id = create_community(&app, &owner, "fans", "PUBLIC").await;
    let fan = member(&app, "fan", &community_id).await;
    let staffer = staff(&app, "staffer").await;
    let vw = id_str(
        &create(
            &app,
            &staffer,
            &poll_input(&community_id, "VAN_WESTENDORP", "USD", &[]),
        )
        .await,
    );
    let gg = id_str(
        &create(
            &app,
            &staffer,
            &poll_input(&community_id, "GABOR_GRANGER", "USD", &["1", "2"]),
        )
        .await,
    );
    let ladder = json!([{ "price": "1", "wouldBuy": true }, { "price": "2", "wouldBuy": false }]);
    let ordered = json!({ "tooCheap": "1", "cheap": "2", "expensive": "3", "tooExpensive": "4" });
    let cases = [
        // A Van Westendorp poll: no part, or a Gabor-Granger ladder beside the right part.
        (json!({ "pollId": vw }), "vanWestendorp"),
        (
            json!({ "pollId": vw, "vanWestendorp": ordered, "gaborGranger": ladder }),
            "gaborGranger",
        ),
        // A Gabor-Granger poll: no part, a Van Westendorp part, or a price with too many decimals.
        (json!({ "pollId": gg }), "gaborGranger"),
        (
            json!({ "pollId": gg, "gaborGranger": ladder, "vanWestendorp": ordered }),
            "vanWestendorp",
        ),
        (
            json!({ "pollId": gg, "gaborGranger": [{ "price": "1.001", "wouldBuy": true }, { "price": "2", "wouldBuy": true }] }),
            "gaborGranger",
        ),
    ];
    for (input, field) in cases {
        let body = try_cast(&app, Some(&fan), input.clone()).await;
        assert_code(&body, "BAD_USER_INPUT");
        assert_eq!(
            body["errors"][0]["extensions"]["field"], field,
            "{input}: {body}"
        );
    }
    assert_eq!(app.count("pricing_ballot").await, 0);
    assert_eq!(app.count("pricing_tally").await, 0);
}

const COUNTED_POLLS: &str = "query($c: ID!) { pricingPolls(communityId: $c, first: 50) { nodes { id status viewerBallot { choice updatedAt } results { winningPrice choiceTally { votes } } } } }";

/// The fewest queries (of three tries) listing the community's polls with ballots and results
/// ran, and how many polls it listed.
async fn queries_for_polls(app: &TestApp, viewer: &TestUser, community_id: &str) -> (f64, usize) {
    let variables = json!({ "c": community_id });
    let (fewest, body) = support::fewest_queries(app, 3, COUNTED_POLLS, variables, viewer).await;
    (
        fewest,
        ok(&body, "pricingPolls")["nodes"].as_array().unwrap().len(),
    )
}

#[tokio::test]
async fn listing_polls_with_ballots_and_results_runs_as_many_queries_for_six_as_for_two() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let brand = staff(&app, "brand").await;
    let small = create_community(&app, &owner, "small", "PUBLIC").await;
    let large = create_community(&app, &owner, "large", "PUBLIC").await;
    let fan = app.sign_up("fan").await;
    for (community, polls) in [(&small, 2), (&large, 6)] {
        join(&app, &fan, community).await;
        for _ in 0..polls {
            let poll = create(
                &app,
                &brand,
                &poll_input(community, "CHOICE", "USD", &["199", "249"]),
            )
            .await;
            cast(&app, &fan, choice(poll["id"].as_str().unwrap(), "199")).await;
        }
    }
    let (for_small, listed_small) = queries_for_polls(&app, &fan, &small).await;
    let (for_large, listed_large) = queries_for_polls(&app, &fan, &large).await;
    assert_eq!((listed_small, listed_large), (2, 6));
    // A query per poll would add one for each of the four extra polls and each loader.
    assert!(
        for_large <= for_small + 1.0,
        "six polls ran {for_large} queries, two ran {for_small}"
    );
}

#[tokio::test]
async fn results_are_computed_once_per_ballot_and_follow_ballots_cast_on_another_replica() {
    let app = TestApp::spawn().await;
    let replica = app.replica(&[]).await;
    let owner = app.sign_up("owner").await;
    let community_id = create_community(&app, &owner, "fans", "PUBLIC").await;
    let fan = member(&app, "fan", &community_id).await;
    let staffer = staff(&app, "staffer").await;
    let poll_id = create_id(
        &app,
        &staffer,
        &poll_input(&community_id, "CHOICE", "USD", &["9.99", "19.99"]),
    )
    .await;
    cast(&app, &fan, choice(&poll_id, "9.99")).await;

    // The replica computes the results once; a second read reuses them (no tally query).
    let before = support::db_queries(&replica).await;
    let first = read(&replica, None, &poll_id).await;
    let between = support::db_queries(&replica).await;
    let again = read(&replica, None, &poll_id).await;
    let after = support::db_queries(&replica).await;
    assert_eq!(first["results"], again["results"]);
    assert_eq!(opt_dec(&first["results"]["winningPrice"]), some("9.99"));
    assert!(
        after - between < between - before,
        "the second read ran {} queries, the first {}",
        after - between,
        between - before
    );

    // A replacement on the other replica keeps the ballot count but changes the results.
    cast(&app, &fan, choice(&poll_id, "19.99")).await;
    let replaced = read(&replica, None, &poll_id).await;
    assert_eq!(replaced["ballotCount"], 1);
    assert_eq!(
        tally(&replaced["results"]),
        tally_rows(&[("9.99", 0, "0"), ("19.99", 1, "1")])
    );
    assert_eq!(opt_dec(&replaced["results"]["winningPrice"]), some("19.99"));
}
