//! Idea dividends: adopting a suggestion as an idea reward, partner sales reports and their
//! accrual into the revenue-share ledger (half-even pools, largest-remainder splits, windows,
//! currencies), idempotent reporting, the ledger's transitions (approve, pay, void with a
//! reversal), who may see what, statements, the audit log and the CSV export.

use std::collections::{BTreeMap, BTreeSet};

use canyu_tests::{TestApp, TestUser, assert_code};
use chrono::{DateTime, Utc};
use futures_util::future::{join, join_all};
use serde_json::{Value, json};

use super::support::{
    auth, create_community, id_of, mark_duplicate, member, new_id, node_ids, ok, read_suggestion,
    set_status, staff, submit,
};

/// An `IdeaReward`'s fields.
const REWARD: &str = "id suggestion { id status } productLine shareBps currency startsAt endsAt status contributors { user { id } weightBps } createdAt";
/// A `RevenueShareRecord`'s fields.
const RECORD: &str = "id status amount { amount currency } beneficiary { id } reward { id } salesReport { id } reversalOf { id status } createdAt approvedAt paidAt payoutReference voidedAt voidReason";
/// A `SalesReport`'s fields with its records (as the caller may see them).
const REPORT: &str = "id externalId productLine periodStart periodEnd netSales { amount currency } createdAt recordCount records { id status amount { amount currency } beneficiary { id } reward { id } reversalOf { id } }";
const AUDIT: &str = "query($t: AuditEntityType, $e: ID, $first: Int, $after: String) { auditLog(entityType: $t, entityId: $e, first: $first, after: $after) { nodes { id entityType entityId action actorKind actorId details createdAt } pageInfo { hasNextPage endCursor } } }";
const STATEMENT: &str = "query($b: ID, $from: DateTime, $to: DateTime) { revenueShareStatement(beneficiaryId: $b, from: $from, to: $to) { beneficiary { id } from to totals { currency status amount { amount currency } count } records(first: 100) { nodes { id createdAt beneficiary { id } } pageInfo { hasNextPage } } } }";
const CSV_HEADER: &str = "id,created_at,status,beneficiary_id,beneficiary_handle,amount,currency,reward_id,suggestion_id,product_line,sales_report_id,external_id,period_start,period_end,approved_at,paid_at,payout_reference,reversal_of,void_reason";

/// When the rewards of these tests start (in the past: the server's clock decides ENDED).
const STARTS: &str = "2025-01-01T00:00:00Z";
/// The sales period of most reports: inside every open reward's window.
const PERIOD_START: &str = "2025-03-01T00:00:00Z";
const PERIOD_END: &str = "2025-04-01T00:00:00Z";

// ---------------------------------------------------------------------------------------------
// Times
// ---------------------------------------------------------------------------------------------

#[track_caller]
fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("not RFC 3339: {text}: {e}"))
        .with_timezone(&Utc)
}

#[track_caller]
fn instant(value: &Value) -> DateTime<Utc> {
    at(value
        .as_str()
        .unwrap_or_else(|| panic!("not a DateTime: {value}")))
}

// ---------------------------------------------------------------------------------------------
// The cast: an admin, a community and three members
// ---------------------------------------------------------------------------------------------

struct World {
    app: TestApp,
    admin: TestUser,
    community: String,
    alice: TestUser,
    bob: TestUser,
    carol: TestUser,
}

/// A fresh server with an admin `root` and members alice, bob and carol (created in that
/// order) of a public community.
async fn world() -> World {
    let app = TestApp::spawn().await;
    let admin = app.admin("root").await;
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "makers", "PUBLIC").await;
    let alice = member(&app, "alice", &community).await;
    let bob = member(&app, "bob", &community).await;
    let carol = member(&app, "carol", &community).await;
    World {
        app,
        admin,
        community,
        alice,
        bob,
        carol,
    }
}

/// A partner and a client-credentials token carrying all its scopes.
struct Partner {
    id: String,
    token: String,
}

impl Partner {
    fn bearer(&self) -> Option<&str> {
        Some(self.token.as_str())
    }
}

async fn partner(app: &TestApp, admin: &TestUser, scopes: &[&str]) -> Partner {
    let body = app
        .graphql(
            "mutation($input: CreatePartnerInput!) { createPartner(input: $input) { clientId clientSecret partner { id } } }",
            json!({ "input": { "name": "Brick Retail", "scopes": scopes } }),
            auth(admin),
        )
        .await;
    let created = ok(&body, "createPartner");
    let id = id_of(&created["partner"]);
    let client_id = created["clientId"].as_str().unwrap().to_string();
    let client_secret = created["clientSecret"].as_str().unwrap().to_string();
    let response = app
        .client
        .post(format!("{}/oauth/token", app.address))
        .form(&[("grant_type", "client_credentials")])
        .basic_auth(&client_id, Some(&client_secret))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let answer: Value = response.json().await.unwrap();
    Partner {
        id,
        token: answer["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access_token: {answer}"))
            .to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Rewards
// ---------------------------------------------------------------------------------------------

/// An adoption in USD from [`STARTS`], open-ended, default share and contributors.
fn adopt_input(suggestion_id: &str, line: &str) -> Value {
    json!({
        "suggestionId": suggestion_id,
        "productLine": line,
        "currency": "USD",
        "startsAt": STARTS,
    })
}

/// `ContributorInput`s.
fn weights(list: &[(&TestUser, i64)]) -> Value {
    Value::Array(
        list.iter()
            .map(|(user, weight)| json!({ "userId": user.id, "weightBps": weight }))
            .collect(),
    )
}

async fn try_adopt(app: &TestApp, token: Option<&str>, input: &Value) -> Value {
    app.graphql(
        &format!(
            "mutation($input: AdoptSuggestionInput!) {{ adoptSuggestion(input: $input) {{ {REWARD} }} }}"
        ),
        json!({ "input": input }),
        token,
    )
    .await
}

/// Adopts, which must succeed; returns the reward.
async fn adopt(app: &TestApp, admin: &TestUser, input: &Value) -> Value {
    let body = try_adopt(app, auth(admin), input).await;
    ok(&body, "adoptSuggestion").clone()
}

/// Adopts `suggestion_id` for `line` in USD with `share_bps` and the contributors (the author
/// alone when empty); returns the reward id.
async fn adopt_id(
    app: &TestApp,
    admin: &TestUser,
    suggestion_id: &str,
    line: &str,
    share_bps: i64,
    contributors: &[(&TestUser, i64)],
) -> String {
    let mut input = adopt_input(suggestion_id, line);
    input["shareBps"] = json!(share_bps);
    if !contributors.is_empty() {
        input["contributors"] = weights(contributors);
    }
    id_of(&adopt(app, admin, &input).await)
}

async fn try_end(app: &TestApp, token: Option<&str>, reward_id: &str, ends_at: &str) -> Value {
    app.graphql(
        &format!(
            "mutation($id: ID!, $at: DateTime!) {{ endIdeaReward(id: $id, endsAt: $at) {{ {REWARD} }} }}"
        ),
        json!({ "id": reward_id, "at": ends_at }),
        token,
    )
    .await
}

async fn try_read_reward(app: &TestApp, token: Option<&str>, reward_id: &str) -> Value {
    app.graphql(
        &format!("query($id: ID!) {{ ideaReward(id: $id) {{ {REWARD} }} }}"),
        json!({ "id": reward_id }),
        token,
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Sales reports
// ---------------------------------------------------------------------------------------------

fn sales_at(
    external_id: &str,
    line: &str,
    period: (&str, &str),
    net: &str,
    currency: &str,
) -> Value {
    json!({
        "externalId": external_id,
        "productLine": line,
        "periodStart": period.0,
        "periodEnd": period.1,
        "netSales": net,
        "currency": currency,
    })
}

/// A report over March 2025.
fn sales(external_id: &str, line: &str, net: &str, currency: &str) -> Value {
    sales_at(external_id, line, (PERIOD_START, PERIOD_END), net, currency)
}

async fn try_report(app: &TestApp, token: Option<&str>, input: &Value) -> Value {
    app.graphql(
        &format!(
            "mutation($input: ReportSalesInput!) {{ reportSales(input: $input) {{ {REPORT} }} }}"
        ),
        json!({ "input": input }),
        token,
    )
    .await
}

/// Reports, which must succeed; returns the report.
async fn report(app: &TestApp, token: Option<&str>, input: &Value) -> Value {
    let body = try_report(app, token, input).await;
    ok(&body, "reportSales").clone()
}

/// The records of a report (as returned), as an array.
#[track_caller]
fn records_of(report: &Value) -> &Vec<Value> {
    report["records"]
        .as_array()
        .unwrap_or_else(|| panic!("no records in {report}"))
}

/// The amounts a report accrued for `reward_id`, by beneficiary id.
#[track_caller]
fn split(report: &Value, reward_id: &str) -> BTreeMap<String, String> {
    let mut amounts = BTreeMap::new();
    for record in records_of(report) {
        if record["reward"]["id"] == reward_id {
            let previous = amounts.insert(
                record["beneficiary"]["id"].as_str().unwrap().to_string(),
                record["amount"]["amount"].as_str().unwrap().to_string(),
            );
            assert!(
                previous.is_none(),
                "two records for one beneficiary: {report}"
            );
        }
    }
    amounts
}

/// Expected amounts by beneficiary id.
fn expected(pairs: &[(&TestUser, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(user, amount)| (user.id.clone(), amount.to_string()))
        .collect()
}

/// The id of the record a report accrued for `user` under `reward_id`.
#[track_caller]
fn record_for(report: &Value, reward_id: &str, user: &TestUser) -> String {
    records_of(report)
        .iter()
        .find(|r| r["reward"]["id"] == reward_id && r["beneficiary"]["id"] == user.id.as_str())
        .map(id_of)
        .unwrap_or_else(|| panic!("no record for {} in {report}", user.handle))
}

/// The record ids of a report (as returned).
#[track_caller]
fn record_ids(report: &Value) -> Vec<String> {
    records_of(report).iter().map(id_of).collect()
}

// ---------------------------------------------------------------------------------------------
// The ledger
// ---------------------------------------------------------------------------------------------

async fn try_approve(app: &TestApp, token: Option<&str>, ids: &[&str]) -> Value {
    app.graphql(
        &format!("mutation($ids: [ID!]!) {{ approveRevenueShares(ids: $ids) {{ {RECORD} }} }}"),
        json!({ "ids": ids }),
        token,
    )
    .await
}

async fn try_pay(app: &TestApp, token: Option<&str>, ids: &[&str], reference: &str) -> Value {
    app.graphql(
        &format!(
            "mutation($ids: [ID!]!, $ref: String!) {{ markRevenueSharesPaid(ids: $ids, payoutReference: $ref) {{ {RECORD} }} }}"
        ),
        json!({ "ids": ids, "ref": reference }),
        token,
    )
    .await
}

async fn try_void(app: &TestApp, token: Option<&str>, id: &str, reason: &str) -> Value {
    app.graphql(
        &format!(
            "mutation($id: ID!, $reason: String!) {{ voidRevenueShare(id: $id, reason: $reason) {{ {RECORD} }} }}"
        ),
        json!({ "id": id, "reason": reason }),
        token,
    )
    .await
}

async fn approve(app: &TestApp, admin: &TestUser, ids: &[&str]) -> Value {
    let body = try_approve(app, auth(admin), ids).await;
    ok(&body, "approveRevenueShares").clone()
}

async fn pay(app: &TestApp, admin: &TestUser, ids: &[&str], reference: &str) -> Value {
    let body = try_pay(app, auth(admin), ids, reference).await;
    ok(&body, "markRevenueSharesPaid").clone()
}

/// Voids, which must succeed; returns the reversal.
async fn void(app: &TestApp, admin: &TestUser, id: &str, reason: &str) -> Value {
    let body = try_void(app, auth(admin), id, reason).await;
    ok(&body, "voidRevenueShare").clone()
}

/// One `revenueShareRecords` page (the whole answer).
async fn records_page(
    app: &TestApp,
    token: Option<&str>,
    beneficiary: Option<&str>,
    status: Option<&str>,
    first: i64,
    after: Option<&str>,
) -> Value {
    app.graphql(
        &format!(
            "query($b: ID, $s: RevenueShareStatus, $first: Int, $after: String) {{ revenueShareRecords(beneficiaryId: $b, status: $s, first: $first, after: $after) {{ nodes {{ {RECORD} }} pageInfo {{ hasNextPage endCursor }} }} }}"
        ),
        json!({ "b": beneficiary, "s": status, "first": first, "after": after }),
        token,
    )
    .await
}

/// Every record `revenueShareRecords` lists, paging `first` at a time, in order; each page
/// must hold at most `first`.
async fn all_records(
    app: &TestApp,
    token: Option<&str>,
    beneficiary: Option<&str>,
    status: Option<&str>,
    first: i64,
) -> Vec<Value> {
    let mut listed: Vec<Value> = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..200 {
        let body = records_page(app, token, beneficiary, status, first, after.as_deref()).await;
        let page = ok(&body, "revenueShareRecords");
        let nodes = page["nodes"].as_array().unwrap();
        assert!(nodes.len() as i64 <= first, "page too long: {page}");
        listed.extend(nodes.iter().cloned());
        if page["pageInfo"]["hasNextPage"] != json!(true) {
            return listed;
        }
        after = Some(page["pageInfo"]["endCursor"].as_str().unwrap().to_string());
    }
    panic!("revenueShareRecords never ended");
}

/// A record as the admin lists it.
async fn record(app: &TestApp, admin: &TestUser, id: &str) -> Value {
    all_records(app, auth(admin), None, None, 25)
        .await
        .into_iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("record {id} is not listed"))
}

/// Every record's status, by id, as the admin lists them.
async fn statuses(app: &TestApp, admin: &TestUser) -> BTreeMap<String, String> {
    all_records(app, auth(admin), None, None, 25)
        .await
        .iter()
        .map(|r| (id_of(r), r["status"].as_str().unwrap().to_string()))
        .collect()
}

/// The whole audit log (optionally filtered), oldest first.
async fn audit(
    app: &TestApp,
    admin: &TestUser,
    entity_type: Option<&str>,
    entity_id: Option<&str>,
    first: i64,
) -> Vec<Value> {
    let mut listed: Vec<Value> = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..200 {
        let body = app
            .graphql(
                AUDIT,
                json!({ "t": entity_type, "e": entity_id, "first": first, "after": after }),
                auth(admin),
            )
            .await;
        let page = ok(&body, "auditLog");
        let nodes = page["nodes"].as_array().unwrap();
        assert!(nodes.len() as i64 <= first, "page too long: {page}");
        listed.extend(nodes.iter().cloned());
        if page["pageInfo"]["hasNextPage"] != json!(true) {
            return listed;
        }
        after = Some(page["pageInfo"]["endCursor"].as_str().unwrap().to_string());
    }
    panic!("auditLog never ended");
}

/// The actions of audit entries, in order.
fn actions(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

/// A world with one reward on "bricks" (alice 3333, bob 3333, carol 3334; 1 %) and one admin
/// report "pos-1" of 1000.00 USD: 3.33, 3.33 and 3.34 PENDING.
struct Ledger {
    w: World,
    suggestion: String,
    reward: String,
    report: Value,
}

async fn ledger() -> Ledger {
    let w = world().await;
    let suggestion = submit(&w.app, &w.alice, &w.community, "Stackable bricks").await;
    let reward = adopt_id(
        &w.app,
        &w.admin,
        &suggestion,
        "bricks",
        100,
        &[(&w.alice, 3333), (&w.bob, 3333), (&w.carol, 3334)],
    )
    .await;
    let report = report(
        &w.app,
        auth(&w.admin),
        &sales("pos-1", "bricks", "1000.00", "USD"),
    )
    .await;
    assert_eq!(report["recordCount"], 3, "{report}");
    Ledger {
        w,
        suggestion,
        reward,
        report,
    }
}

/// Of two answers to the same mutation sent at once, exactly one succeeded and the other was
/// a CONFLICT; returns the winner's payload.
#[track_caller]
fn one_wins<'a>(first: &'a Value, second: &'a Value, field: &str) -> &'a Value {
    let (winner, loser) = if first["errors"].is_null() {
        (first, second)
    } else {
        (second, first)
    };
    assert_code(loser, "CONFLICT");
    ok(winner, field)
}

// ---------------------------------------------------------------------------------------------
// Adopting suggestions
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn adopting_a_suggestion_gives_its_author_one_percent_by_default() {
    let w = world().await;
    let app = &w.app;
    let suggestion = submit(app, &w.alice, &w.community, "Stackable bricks").await;
    let mut input = adopt_input(&suggestion, "bricks");
    input["endsAt"] = json!("2099-01-01T00:00:00Z");
    let reward = adopt(app, &w.admin, &input).await;

    assert!(reward["id"].is_string(), "{reward}");
    assert_eq!(reward["suggestion"]["id"], suggestion.as_str());
    assert_eq!(reward["suggestion"]["status"], "PLANNED", "OPEN → PLANNED");
    assert_eq!(reward["productLine"], "bricks");
    assert_eq!(reward["shareBps"], 100, "the default share");
    assert_eq!(reward["currency"], "USD");
    assert_eq!(instant(&reward["startsAt"]), at(STARTS));
    assert_eq!(instant(&reward["endsAt"]), at("2099-01-01T00:00:00Z"));
    assert_eq!(reward["status"], "ACTIVE");
    assert_eq!(
        reward["contributors"],
        json!([{ "user": { "id": w.alice.id }, "weightBps": 10000 }]),
        "the author alone by default"
    );
    assert!(reward["createdAt"].is_string(), "{reward}");
    assert_eq!(app.count("idea_reward").await, 1);
    assert_eq!(app.count("idea_reward_contributor").await, 1);
    let seen = read_suggestion(app, Some(&w.bob), &suggestion, "status").await;
    assert_eq!(seen["status"], "PLANNED");

    // A second reward on another product line; the PLANNED suggestion stays PLANNED.
    let second = adopt(app, &w.admin, &adopt_input(&suggestion, "bricks-xl")).await;
    assert_ne!(second["id"], reward["id"]);
    assert!(second["endsAt"].is_null(), "{second}");
    assert_eq!(second["status"], "ACTIVE");
    assert_eq!(second["suggestion"]["status"], "PLANNED");
    assert_eq!(app.count("idea_reward").await, 2);

    // Explicit contributors come back with their weights.
    let third = adopt_id(
        app,
        &w.admin,
        &suggestion,
        "bricks-mini",
        250,
        &[(&w.bob, 6000), (&w.carol, 4000)],
    )
    .await;
    let body = try_read_reward(app, auth(&w.admin), &third).await;
    let read = ok(&body, "ideaReward");
    assert_eq!(read["shareBps"], 250);
    let mut contributors: Vec<(String, i64)> = read["contributors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["user"]["id"].as_str().unwrap().to_string(),
                c["weightBps"].as_i64().unwrap(),
            )
        })
        .collect();
    contributors.sort();
    let mut want = vec![(w.bob.id.clone(), 6000), (w.carol.id.clone(), 4000)];
    want.sort();
    assert_eq!(contributors, want);
    assert_eq!(app.count("idea_reward_contributor").await, 4);
}

#[tokio::test]
async fn adopting_moves_open_and_under_review_to_planned_and_keeps_later_statuses() {
    let w = world().await;
    let app = &w.app;
    let staffer = staff(app, "staffer").await;
    let open = submit(app, &w.alice, &w.community, "Open idea").await;
    let review = submit(app, &w.alice, &w.community, "Reviewed idea").await;
    set_status(app, &staffer, &review, "UNDER_REVIEW").await;
    let progress = submit(app, &w.alice, &w.community, "Idea in progress").await;
    set_status(app, &staffer, &progress, "IN_PROGRESS").await;
    let shipped = submit(app, &w.alice, &w.community, "Shipped idea").await;
    set_status(app, &staffer, &shipped, "SHIPPED").await;

    for (suggestion, line, status) in [
        (&open, "line-a", "PLANNED"),
        (&review, "line-b", "PLANNED"),
        (&progress, "line-c", "IN_PROGRESS"),
        (&shipped, "line-d", "SHIPPED"),
    ] {
        let reward = adopt(app, &w.admin, &adopt_input(suggestion, line)).await;
        assert_eq!(reward["suggestion"]["status"], status, "{line}: {reward}");
        let seen = read_suggestion(app, Some(&w.alice), suggestion, "status").await;
        assert_eq!(seen["status"], status, "{line}");
    }
}

#[tokio::test]
async fn invalid_adoptions_are_rejected_and_write_nothing() {
    let w = world().await;
    let app = &w.app;
    let suggestion = submit(app, &w.alice, &w.community, "Stackable bricks").await;
    let audit_before = app.count("audit_log").await;
    let base = adopt_input(&suggestion, "bricks");
    let with = |key: &str, value: Value| {
        let mut input = base.clone();
        input[key] = value;
        input
    };
    let too_many: Vec<Value> = (0..21)
        .map(|n| {
            let weight = if n == 20 { 480 } else { 476 };
            json!({ "userId": new_id(), "weightBps": weight })
        })
        .collect();
    let cases: Vec<(&str, Value, Option<&str>)> = vec![
        ("share 0", with("shareBps", json!(0)), Some("shareBps")),
        (
            "share 10001",
            with("shareBps", json!(10001)),
            Some("shareBps"),
        ),
        (
            "negative share",
            with("shareBps", json!(-100)),
            Some("shareBps"),
        ),
        (
            "weights sum to 9999",
            with(
                "contributors",
                weights(&[(&w.alice, 3333), (&w.bob, 3333), (&w.carol, 3333)]),
            ),
            Some("contributors"),
        ),
        (
            "weights sum to 10001",
            with("contributors", weights(&[(&w.alice, 5000), (&w.bob, 5001)])),
            Some("contributors"),
        ),
        (
            "a zero weight",
            with("contributors", weights(&[(&w.alice, 10000), (&w.bob, 0)])),
            Some("contributors"),
        ),
        (
            "a negative weight",
            with("contributors", weights(&[(&w.alice, 10001), (&w.bob, -1)])),
            Some("contributors"),
        ),
        (
            "a contributor twice",
            with(
                "contributors",
                weights(&[(&w.alice, 5000), (&w.alice, 5000)]),
            ),
            Some("contributors"),
        ),
        (
            "an unknown user",
            with(
                "contributors",
                json!([{ "userId": w.alice.id, "weightBps": 5000 }, { "userId": new_id(), "weightBps": 5000 }]),
            ),
            Some("contributors"),
        ),
        (
            "no contributors",
            with("contributors", json!([])),
            Some("contributors"),
        ),
        (
            "21 contributors",
            with("contributors", Value::Array(too_many)),
            Some("contributors"),
        ),
        ("unknown currency", with("currency", json!("XXX")), None),
        (
            "endsAt before startsAt",
            with("endsAt", json!("2024-12-31T00:00:00Z")),
            None,
        ),
        (
            "endsAt equal to startsAt",
            with("endsAt", json!(STARTS)),
            None,
        ),
        ("empty product line", with("productLine", json!("")), None),
        (
            "product line of 101 characters",
            with("productLine", json!("b".repeat(101))),
            None,
        ),
    ];
    for (name, input, field) in cases {
        let body = try_adopt(app, auth(&w.admin), &input).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{name}: {body}"
        );
        if let Some(field) = field {
            assert_eq!(
                body["errors"][0]["extensions"]["field"], field,
                "{name}: {body}"
            );
        }
        assert!(body["data"]["adoptSuggestion"].is_null(), "{name}: {body}");
    }
    assert_eq!(app.count("idea_reward").await, 0);
    assert_eq!(app.count("idea_reward_contributor").await, 0);
    assert_eq!(app.count("audit_log").await, audit_before);
    let seen = read_suggestion(app, Some(&w.alice), &suggestion, "status").await;
    assert_eq!(seen["status"], "OPEN", "a failed adoption moves nothing");

    // The limits themselves pass: 10000 bps, 100 characters, 20 contributors.
    let mut input = with("shareBps", json!(10000));
    input["productLine"] = json!("b".repeat(100));
    let reward = adopt(app, &w.admin, &input).await;
    assert_eq!(reward["shareBps"], 10000);
    let mut twenty = Vec::new();
    for n in 0..20 {
        twenty.push(app.sign_up(&format!("helper{n:02}")).await);
    }
    let list: Vec<(&TestUser, i64)> = twenty.iter().map(|u| (u, 500)).collect();
    let mut input = with("productLine", json!("crowd"));
    input["contributors"] = weights(&list);
    input["shareBps"] = json!(1);
    let reward = adopt(app, &w.admin, &input).await;
    assert_eq!(reward["contributors"].as_array().unwrap().len(), 20);
}

#[tokio::test]
async fn declined_duplicate_and_unknown_suggestions_cannot_be_adopted() {
    let w = world().await;
    let app = &w.app;
    let staffer = staff(app, "staffer").await;
    let declined = submit(app, &w.alice, &w.community, "Declined idea").await;
    set_status(app, &staffer, &declined, "DECLINED").await;
    let original = submit(app, &w.alice, &w.community, "Original idea").await;
    let duplicate = submit(app, &w.bob, &w.community, "Same idea again").await;
    mark_duplicate(app, &staffer, &duplicate, &original).await;

    let body = try_adopt(app, auth(&w.admin), &adopt_input(&declined, "bricks")).await;
    assert_code(&body, "CONFLICT");
    let body = try_adopt(app, auth(&w.admin), &adopt_input(&duplicate, "bricks")).await;
    assert_code(&body, "CONFLICT");
    let body = try_adopt(app, auth(&w.admin), &adopt_input(&new_id(), "bricks")).await;
    assert_code(&body, "NOT_FOUND");
    assert_eq!(app.count("idea_reward").await, 0);
    assert_eq!(app.count("idea_reward_contributor").await, 0);
    let seen = read_suggestion(app, Some(&w.alice), &declined, "status").await;
    assert_eq!(seen["status"], "DECLINED");
}

#[tokio::test]
async fn only_admins_adopt_suggestions() {
    let w = world().await;
    let app = &w.app;
    let staffer = staff(app, "staffer").await;
    let partner = partner(app, &w.admin, &["sales:write", "ideas:read"]).await;
    let suggestion = submit(app, &w.alice, &w.community, "Stackable bricks").await;
    let input = adopt_input(&suggestion, "bricks");
    for (who, token, code) in [
        ("the author", auth(&w.alice), "FORBIDDEN"),
        ("a member", auth(&w.bob), "FORBIDDEN"),
        ("STAFF", auth(&staffer), "FORBIDDEN"),
        ("a partner", partner.bearer(), "FORBIDDEN"),
        ("anonymous", None, "UNAUTHENTICATED"),
    ] {
        let body = try_adopt(app, token, &input).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], code,
            "{who}: {body}"
        );
    }
    assert_eq!(app.count("idea_reward").await, 0);
    let seen = read_suggestion(app, Some(&w.alice), &suggestion, "status").await;
    assert_eq!(seen["status"], "OPEN");
}

// ---------------------------------------------------------------------------------------------
// Accrual: pools and splits worked by hand
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_pool_is_split_by_largest_remainder() {
    let l = ledger().await;
    let (app, w) = (&l.w.app, &l.w);

    // 1000.00 × 100 / 10000 = pool 10.00 = 1000 cents. Shares 1000 × 3333/3333/3334 / 10000 =
    // 333.3, 333.3, 333.4 → floors 333 each (999); one cent left → the largest remainder (.4,
    // carol) → 3.33, 3.33, 3.34.
    let r = &l.report;
    assert_eq!(r["externalId"], "pos-1");
    assert_eq!(r["productLine"], "bricks");
    assert_eq!(
        r["netSales"],
        json!({ "amount": "1000.00", "currency": "USD" })
    );
    assert_eq!(instant(&r["periodStart"]), at(PERIOD_START));
    assert_eq!(instant(&r["periodEnd"]), at(PERIOD_END));
    assert!(r["createdAt"].is_string(), "{r}");
    assert_eq!(
        split(r, &l.reward),
        expected(&[(&w.alice, "3.33"), (&w.bob, "3.33"), (&w.carol, "3.34")])
    );
    for record in records_of(r) {
        assert_eq!(record["status"], "PENDING", "{record}");
        assert_eq!(record["amount"]["currency"], "USD", "{record}");
        assert!(record["reversalOf"].is_null(), "{record}");
    }

    let cases = [
        // 2000.00 → pool 2000 cents → 666.6, 666.6, 666.8 → floors 666 × 3 = 1998; two left:
        // carol (.8), then alice (.6, tied with bob, earlier in the input).
        ("pos-2", "2000.00", ["6.67", "6.66", "6.67"]),
        // 300.00 → pool 300 cents → 99.99, 99.99, 100.02 → floors 99, 99, 100 = 298; two left:
        // alice and bob (.99 each) → 1.00 each.
        ("pos-3", "300.00", ["1.00", "1.00", "1.00"]),
        // 10.00 → pool 10 cents → 3.333, 3.333, 3.334 → floors 3, 3, 3; one left → carol (.4).
        ("pos-4", "10.00", ["0.03", "0.03", "0.04"]),
        // 1.00 → pool 1 cent → .3333, .3333, .3334 → floors 0; the cent → carol.
        ("pos-5", "1.00", ["0.00", "0.00", "0.01"]),
        // Zero sales: a record per contributor all the same, each 0.00.
        ("pos-6", "0.00", ["0.00", "0.00", "0.00"]),
        // 0.49 → 0.49 cents → half-even 0 → nothing to split, still three records.
        ("pos-7", "0.49", ["0.00", "0.00", "0.00"]),
    ];
    for (external_id, net, [a, b, c]) in cases {
        let r = report(
            app,
            auth(&w.admin),
            &sales(external_id, "bricks", net, "USD"),
        )
        .await;
        assert_eq!(r["recordCount"], 3, "{external_id}: {r}");
        assert_eq!(records_of(&r).len(), 3, "{external_id}: {r}");
        assert_eq!(
            split(&r, &l.reward),
            expected(&[(&w.alice, a), (&w.bob, b), (&w.carol, c)]),
            "{external_id}"
        );
    }
    assert_eq!(app.count("revenue_share_record").await, 21);
}

#[tokio::test]
async fn ties_go_to_the_earlier_contributor_in_input_order() {
    let w = world().await;
    let app = &w.app;
    let dave = member(app, "dave", &w.community).await;
    let suggestion = submit(app, &w.alice, &w.community, "Stackable bricks").await;
    // Input order carol, bob, alice: the reverse of the order they were created in.
    let ties = adopt_id(
        app,
        &w.admin,
        &suggestion,
        "ties",
        100,
        &[(&w.carol, 2500), (&w.bob, 2500), (&w.alice, 5000)],
    )
    .await;
    let quads = adopt_id(
        app,
        &w.admin,
        &suggestion,
        "quads",
        100,
        &[
            (&dave, 2500),
            (&w.carol, 2500),
            (&w.bob, 2500),
            (&w.alice, 2500),
        ],
    )
    .await;

    // 10.00 → pool 10 cents → 2.5, 2.5, 5.0 → floors 2, 2, 5 (9); one left; carol and bob tie
    // at .5 → carol, first in the input → 0.03, 0.02, 0.05.
    let r = report(app, auth(&w.admin), &sales("t-1", "ties", "10.00", "USD")).await;
    assert_eq!(
        split(&r, &ties),
        expected(&[(&w.carol, "0.03"), (&w.bob, "0.02"), (&w.alice, "0.05")])
    );
    // Equal weights: 10 cents → 2.5 each → floors 2 × 4 = 8; two left → the first two of the
    // input (dave, carol).
    let r = report(app, auth(&w.admin), &sales("q-1", "quads", "10.00", "USD")).await;
    assert_eq!(
        split(&r, &quads),
        expected(&[
            (&dave, "0.03"),
            (&w.carol, "0.03"),
            (&w.bob, "0.02"),
            (&w.alice, "0.02")
        ])
    );
    // The same on a return, with the sign restored.
    let r = report(app, auth(&w.admin), &sales("q-2", "quads", "-10.00", "USD")).await;
    assert_eq!(
        split(&r, &quads),
        expected(&[
            (&dave, "-0.03"),
            (&w.carol, "-0.03"),
            (&w.bob, "-0.02"),
            (&w.alice, "-0.02")
        ])
    );
    // 30.00 → 30 cents → 7.5 each → floors 7 × 4 = 28; two left → dave, carol again.
    let r = report(app, auth(&w.admin), &sales("q-3", "quads", "30.00", "USD")).await;
    assert_eq!(
        split(&r, &quads),
        expected(&[
            (&dave, "0.08"),
            (&w.carol, "0.08"),
            (&w.bob, "0.07"),
            (&w.alice, "0.07")
        ])
    );
}

#[tokio::test]
async fn pools_round_half_even() {
    let w = world().await;
    let app = &w.app;
    let suggestion = submit(app, &w.alice, &w.community, "Stackable bricks").await;
    let reward = adopt_id(app, &w.admin, &suggestion, "halves", 100, &[]).await;
    for (external_id, net, share) in [
        // 12.50 × 1 % = 0.125 → 12.5 cents → the even neighbour 12.
        ("h-1", "12.50", "0.12"),
        // 13.50 × 1 % = 0.135 → 13.5 cents → 14.
        ("h-2", "13.50", "0.14"),
        // Above and below the half.
        ("h-3", "12.51", "0.13"),
        ("h-4", "12.49", "0.12"),
        // Returns round the same way away from or towards zero.
        ("h-5", "-12.50", "-0.12"),
        ("h-6", "-13.50", "-0.14"),
        // 0.50 → 0.5 cents → 0; 1.50 → 1.5 → 2.
        ("h-7", "0.50", "0.00"),
        ("h-8", "1.50", "0.02"),
    ] {
        let r = report(
            app,
            auth(&w.admin),
            &sales(external_id, "halves", net, "USD"),
        )
        .await;
        assert_eq!(r["recordCount"], 1, "{external_id}: {r}");
        assert_eq!(
            split(&r, &reward),
            expected(&[(&w.alice, share)]),
            "{external_id}: {net}"
        );
    }
}

#[tokio::test]
async fn a_return_accrues_negative_shares() {
    let w = world().await;
    let app = &w.app;
    let suggestion = submit(app, &w.alice, &w.community, "Stackable bricks").await;
    let reward = adopt_id(
        app,
        &w.admin,
        &suggestion,
        "bricks",
        100,
        &[(&w.alice, 3333), (&w.bob, 3333), (&w.carol, 3334)],
    )
    .await;
    // −1000.00 → pool −10.00; on |pool| 1000 cents the split is 333, 333, 334 → signs restored.
    let r = report(
        app,
        auth(&w.admin),
        &sales("return-1", "bricks", "-1000.00", "USD"),
    )
    .await;
    assert_eq!(
        r["netSales"],
        json!({ "amount": "-1000.00", "currency": "USD" })
    );
    assert_eq!(r["recordCount"], 3);
    assert_eq!(
        split(&r, &reward),
        expected(&[(&w.alice, "-3.33"), (&w.bob, "-3.33"), (&w.carol, "-3.34")])
    );
    for record in records_of(&r) {
        assert_eq!(record["status"], "PENDING");
    }
    // −2000.00 → −20.00: the two extra cents go to carol (.8) and alice (.6).
    let r = report(
        app,
        auth(&w.admin),
        &sales("return-2", "bricks", "-2000.00", "USD"),
    )
    .await;
    assert_eq!(
        split(&r, &reward),
        expected(&[(&w.alice, "-6.67"), (&w.bob, "-6.66"), (&w.carol, "-6.67")])
    );
}

#[tokio::test]
async fn every_reward_on_a_product_line_accrues_its_own_records() {
    let w = world().await;
    let app = &w.app;
    let first = submit(app, &w.alice, &w.community, "Stackable bricks").await;
    let second = submit(app, &w.bob, &w.community, "Glow bricks").await;
    let shared = adopt_id(
        app,
        &w.admin,
        &first,
        "bricks",
        100,
        &[(&w.alice, 3333), (&w.bob, 3333), (&w.carol, 3334)],
    )
    .await;
    // 2.5 % to bob, the author, alone.
    let glow = adopt_id(app, &w.admin, &second, "bricks", 250, &[]).await;
    // Another line of the first suggestion.
    let xl = adopt_id(app, &w.admin, &first, "bricks-xl", 100, &[]).await;

    let r = report(
        app,
        auth(&w.admin),
        &sales("pos-1", "bricks", "1000.00", "USD"),
    )
    .await;
    assert_eq!(r["recordCount"], 4, "{r}");
    assert_eq!(
        split(&r, &shared),
        expected(&[(&w.alice, "3.33"), (&w.bob, "3.33"), (&w.carol, "3.34")])
    );
    // 1000.00 × 250 / 10000 = 25.00.
    assert_eq!(split(&r, &glow), expected(&[(&w.bob, "25.00")]));
    assert!(split(&r, &xl).is_empty(), "another line accrues nothing");

    let r = report(
        app,
        auth(&w.admin),
        &sales("pos-2", "bricks-xl", "1000.00", "USD"),
    )
    .await;
    assert_eq!(r["recordCount"], 1, "{r}");
    assert_eq!(split(&r, &xl), expected(&[(&w.alice, "10.00")]));
    assert_eq!(app.count("revenue_share_record").await, 5);
}

#[tokio::test]
async fn reports_outside_every_window_or_in_another_currency_accrue_nothing() {
    let w = world().await;
    let app = &w.app;
    let suggestion = submit(app, &w.alice, &w.community, "Stackable bricks").await;
    let mut input = adopt_input(&suggestion, "seasonal");
    input["endsAt"] = json!("2025-06-01T00:00:00Z");
    let seasonal = adopt(app, &w.admin, &input).await;
    assert_eq!(seasonal["status"], "ENDED", "its end has passed");
    let seasonal = id_of(&seasonal);
    adopt_id(app, &w.admin, &suggestion, "bricks", 100, &[]).await;

    for (external_id, line, period, currency, count) in [
        // Starts a second before the window, though it overlaps it.
        (
            "w-1",
            "seasonal",
            ("2024-12-31T23:59:59Z", "2025-01-31T00:00:00Z"),
            "USD",
            0,
        ),
        // startsAt is inclusive.
        (
            "w-2",
            "seasonal",
            (STARTS, "2025-02-01T00:00:00Z"),
            "USD",
            1,
        ),
        // The last second of the window.
        (
            "w-3",
            "seasonal",
            ("2025-05-31T23:59:59Z", "2025-06-30T00:00:00Z"),
            "USD",
            1,
        ),
        // endsAt is exclusive.
        (
            "w-4",
            "seasonal",
            ("2025-06-01T00:00:00Z", "2025-07-01T00:00:00Z"),
            "USD",
            0,
        ),
        (
            "w-5",
            "seasonal",
            ("2025-09-01T00:00:00Z", "2025-10-01T00:00:00Z"),
            "USD",
            0,
        ),
        // The open reward starts on 2025-01-01 too.
        (
            "w-6",
            "bricks",
            ("2024-06-01T00:00:00Z", "2024-07-01T00:00:00Z"),
            "USD",
            0,
        ),
        ("w-7", "bricks", (PERIOD_START, PERIOD_END), "USD", 1),
        // Another currency, another case of the line, a line without rewards.
        ("w-8", "bricks", (PERIOD_START, PERIOD_END), "EUR", 0),
        ("w-9", "Bricks", (PERIOD_START, PERIOD_END), "USD", 0),
        ("w-10", "tiles", (PERIOD_START, PERIOD_END), "USD", 0),
    ] {
        let r = report(
            app,
            auth(&w.admin),
            &sales_at(external_id, line, period, "1000.00", currency),
        )
        .await;
        assert_eq!(r["recordCount"], count, "{external_id}: {r}");
        assert_eq!(records_of(&r).len() as i64, count, "{external_id}: {r}");
        if external_id == "w-2" || external_id == "w-3" {
            assert_eq!(split(&r, &seasonal), expected(&[(&w.alice, "10.00")]));
        }
    }
    assert_eq!(app.count("sales_report").await, 10);
    assert_eq!(app.count("revenue_share_record").await, 3);
}

#[tokio::test]
async fn amounts_carry_the_currencys_minor_digits() {
    let w = world().await;
    let app = &w.app;
    let suggestion = submit(app, &w.alice, &w.community, "Stackable bricks").await;
    let mut input = adopt_input(&suggestion, "ramen");
    input["currency"] = json!("JPY");
    let ramen = adopt(app, &w.admin, &input).await;
    assert_eq!(ramen["currency"], "JPY");
    let ramen = id_of(&ramen);
    let mut input = adopt_input(&suggestion, "dates");
    input["currency"] = json!("KWD");
    let dates = id_of(&adopt(app, &w.admin, &input).await);
    adopt_id(app, &w.admin, &suggestion, "bricks", 100, &[]).await;

    // JPY has no minor digits: 12000 × 1 % = 120.
    let r = report(app, auth(&w.admin), &sales("j-1", "ramen", "12000", "JPY")).await;
    assert_eq!(
        r["netSales"],
        json!({ "amount": "12000", "currency": "JPY" })
    );
    assert_eq!(split(&r, &ramen), expected(&[(&w.alice, "120")]));
    assert_eq!(records_of(&r)[0]["amount"]["currency"], "JPY");
    // 12050 → 120.5 → 120 (even); 12150 → 121.5 → 122.
    let r = report(app, auth(&w.admin), &sales("j-2", "ramen", "12050", "JPY")).await;
    assert_eq!(split(&r, &ramen), expected(&[(&w.alice, "120")]));
    let r = report(app, auth(&w.admin), &sales("j-3", "ramen", "12150", "JPY")).await;
    assert_eq!(split(&r, &ramen), expected(&[(&w.alice, "122")]));
    // KWD has three: 1000.000 × 1 % = 10.000; "1000" is shown with its three digits.
    let r = report(
        app,
        auth(&w.admin),
        &sales("k-1", "dates", "1000.000", "KWD"),
    )
    .await;
    assert_eq!(
        r["netSales"],
        json!({ "amount": "1000.000", "currency": "KWD" })
    );
    assert_eq!(split(&r, &dates), expected(&[(&w.alice, "10.000")]));
    let r = report(app, auth(&w.admin), &sales("k-2", "dates", "1000", "KWD")).await;
    assert_eq!(r["netSales"]["amount"], "1000.000");
    // USD input without decimals comes back with two.
    let r = report(app, auth(&w.admin), &sales("u-1", "bricks", "1000", "USD")).await;
    assert_eq!(r["netSales"]["amount"], "1000.00");
    assert_eq!(records_of(&r)[0]["amount"]["amount"], "10.00");

    // More decimals than the currency allows.
    let reports = app.count("sales_report").await;
    let records = app.count("revenue_share_record").await;
    for (external_id, line, net, currency) in [
        ("bad-1", "bricks", "1.001", "USD"),
        ("bad-2", "ramen", "1.5", "JPY"),
        ("bad-3", "dates", "1.0001", "KWD"),
    ] {
        let body = try_report(
            app,
            auth(&w.admin),
            &sales(external_id, line, net, currency),
        )
        .await;
        assert_code(&body, "BAD_USER_INPUT");
        assert_eq!(
            body["errors"][0]["extensions"]["field"], "netSales",
            "{external_id}: {body}"
        );
    }
    assert_eq!(app.count("sales_report").await, reports);
    assert_eq!(app.count("revenue_share_record").await, records);
}

#[tokio::test]
async fn invalid_sales_reports_are_rejected_and_write_nothing() {
    let w = world().await;
    let app = &w.app;
    let suggestion = submit(app, &w.alice, &w.community, "Stackable bricks").await;
    adopt_id(app, &w.admin, &suggestion, "bricks", 100, &[]).await;
    let long = "x".repeat(201);
    for (name, input) in [
        ("empty externalId", sales("", "bricks", "1.00", "USD")),
        ("externalId of 201", sales(&long, "bricks", "1.00", "USD")),
        (
            "periodEnd equal to periodStart",
            sales_at("p-1", "bricks", (PERIOD_START, PERIOD_START), "1.00", "USD"),
        ),
        (
            "periodEnd before periodStart",
            sales_at("p-2", "bricks", (PERIOD_END, PERIOD_START), "1.00", "USD"),
        ),
        ("too many decimals", sales("p-3", "bricks", "1.001", "USD")),
    ] {
        let body = try_report(app, auth(&w.admin), &input).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{name}: {body}"
        );
    }
    assert_eq!(app.count("sales_report").await, 0);
    assert_eq!(app.count("revenue_share_record").await, 0);
    // 200 characters pass.
    let r = report(
        app,
        auth(&w.admin),
        &sales(&"x".repeat(200), "bricks", "1.00", "USD"),
    )
    .await;
    assert_eq!(r["externalId"].as_str().unwrap().len(), 200);
    assert_eq!(app.count("sales_report").await, 1);
}

// ---------------------------------------------------------------------------------------------
// Idempotent reporting
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn reporting_the_same_sales_twice_is_idempotent() {
    let l = ledger().await;
    let (app, w) = (&l.w.app, &l.w);
    let input = sales("pos-1", "bricks", "1000.00", "USD");
    let again = report(app, auth(&w.admin), &input).await;
    assert_eq!(again["id"], l.report["id"]);
    assert_eq!(again["recordCount"], 3);
    let mut first_ids = record_ids(&l.report);
    let mut again_ids = record_ids(&again);
    first_ids.sort();
    again_ids.sort();
    assert_eq!(first_ids, again_ids, "the same records");
    assert_eq!(app.count("sales_report").await, 1);
    assert_eq!(app.count("revenue_share_record").await, 3);

    // The same externalId with another payload.
    let audit_before = app.count("audit_log").await;
    for (name, changed) in [
        ("netSales", sales("pos-1", "bricks", "1000.01", "USD")),
        ("productLine", sales("pos-1", "bricks-xl", "1000.00", "USD")),
        ("currency", sales("pos-1", "bricks", "1000.00", "EUR")),
        (
            "period",
            sales_at(
                "pos-1",
                "bricks",
                (PERIOD_START, "2025-03-31T00:00:00Z"),
                "1000.00",
                "USD",
            ),
        ),
    ] {
        let body = try_report(app, auth(&w.admin), &changed).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "CONFLICT",
            "{name}: {body}"
        );
    }
    assert_eq!(app.count("sales_report").await, 1);
    assert_eq!(app.count("revenue_share_record").await, 3);
    assert_eq!(app.count("audit_log").await, audit_before);

    // Another reporter may use the same externalId on its own.
    let partner = partner(app, &w.admin, &["sales:write"]).await;
    let theirs = report(app, partner.bearer(), &input).await;
    assert_ne!(theirs["id"], l.report["id"]);
    assert_eq!(theirs["recordCount"], 3);
    let theirs_again = report(app, partner.bearer(), &input).await;
    assert_eq!(theirs_again["id"], theirs["id"]);
    assert_eq!(app.count("sales_report").await, 2);
    assert_eq!(app.count("revenue_share_record").await, 6);
    let reported = audit(app, &w.admin, Some("SALES_REPORT"), None, 25).await;
    assert_eq!(actions(&reported), ["REPORTED", "REPORTED"]);
}

#[tokio::test]
async fn ten_identical_reports_at_once_make_one() {
    let w = world().await;
    let app = &w.app;
    let suggestion = submit(app, &w.alice, &w.community, "Stackable bricks").await;
    let reward = adopt_id(
        app,
        &w.admin,
        &suggestion,
        "bricks",
        100,
        &[(&w.alice, 3333), (&w.bob, 3333), (&w.carol, 3334)],
    )
    .await;
    let input = sales("rush-1", "bricks", "1000.00", "USD");
    let answers = join_all((0..10).map(|_| try_report(app, auth(&w.admin), &input))).await;
    let mut ids = BTreeSet::new();
    for answer in &answers {
        let r = ok(answer, "reportSales");
        assert_eq!(r["recordCount"], 3, "{r}");
        ids.insert(id_of(r));
    }
    assert_eq!(ids.len(), 1, "one report: {ids:?}");
    assert_eq!(app.count("sales_report").await, 1);
    assert_eq!(app.count("revenue_share_record").await, 3);
    let r = report(app, auth(&w.admin), &input).await;
    assert_eq!(
        split(&r, &reward),
        expected(&[(&w.alice, "3.33"), (&w.bob, "3.33"), (&w.carol, "3.34")])
    );
    let reported = audit(app, &w.admin, Some("SALES_REPORT"), None, 25).await;
    assert_eq!(actions(&reported), ["REPORTED"]);
    let records = audit(app, &w.admin, Some("REVENUE_SHARE_RECORD"), None, 25).await;
    assert_eq!(actions(&records), ["ACCRUED", "ACCRUED", "ACCRUED"]);
}

#[tokio::test]
async fn only_partners_with_sales_write_and_admins_report_sales() {
    let w = world().await;
    let app = &w.app;
    let staffer = staff(app, "staffer").await;
    let reader = partner(app, &w.admin, &["ideas:read"]).await;
    let writer = partner(app, &w.admin, &["sales:write"]).await;
    let suggestion = submit(app, &w.alice, &w.community, "Stackable bricks").await;
    adopt_id(
        app,
        &w.admin,
        &suggestion,
        "bricks",
        100,
        &[(&w.alice, 3333), (&w.bob, 3333), (&w.carol, 3334)],
    )
    .await;
    let input = sales("pos-1", "bricks", "1000.00", "USD");
    for (who, token, code) in [
        (
            "a partner with ideas:read only",
            reader.bearer(),
            "FORBIDDEN",
        ),
        ("a member", auth(&w.alice), "FORBIDDEN"),
        ("STAFF", auth(&staffer), "FORBIDDEN"),
        ("anonymous", None, "UNAUTHENTICATED"),
    ] {
        let body = try_report(app, token, &input).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], code,
            "{who}: {body}"
        );
    }
    assert_eq!(app.count("sales_report").await, 0);
    assert_eq!(app.count("revenue_share_record").await, 0);

    // A partner with sales:write reports; it learns how many records accrued, not whose.
    let theirs = report(app, writer.bearer(), &input).await;
    assert_eq!(theirs["recordCount"], 3);
    assert_eq!(theirs["records"], json!([]), "a partner sees no records");
    // An admin reports too, and sees the records.
    let ours = report(
        app,
        auth(&w.admin),
        &sales("pos-2", "bricks", "1.00", "USD"),
    )
    .await;
    assert_eq!(ours["recordCount"], 3);
    assert_eq!(records_of(&ours).len(), 3);
    assert_eq!(app.count("sales_report").await, 2);
    assert_eq!(app.count("revenue_share_record").await, 6);
}

// ---------------------------------------------------------------------------------------------
// Transitions
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn approving_and_paying_move_records_forward_once() {
    let l = ledger().await;
    let (app, w) = (&l.w.app, &l.w);
    let admin = &w.admin;
    let a = record_for(&l.report, &l.reward, &w.alice);
    let b = record_for(&l.report, &l.reward, &w.bob);
    let c = record_for(&l.report, &l.reward, &w.carol);

    let approved = approve(app, admin, &[a.as_str()]).await;
    assert_eq!(approved.as_array().unwrap().len(), 1, "{approved}");
    let approved = &approved[0];
    assert_eq!(approved["id"], a.as_str());
    assert_eq!(approved["status"], "APPROVED");
    assert!(approved["approvedAt"].is_string(), "{approved}");
    assert!(approved["paidAt"].is_null(), "{approved}");
    assert!(approved["payoutReference"].is_null(), "{approved}");
    assert_eq!(
        approved["amount"],
        json!({ "amount": "3.33", "currency": "USD" })
    );
    assert_eq!(approved["beneficiary"]["id"], w.alice.id.as_str());
    assert_eq!(approved["reward"]["id"], l.reward.as_str());
    assert_eq!(approved["salesReport"]["id"], l.report["id"]);

    // Approving again, or paying a PENDING record, conflicts.
    assert_code(
        &try_approve(app, auth(admin), &[a.as_str()]).await,
        "CONFLICT",
    );
    assert_code(
        &try_pay(app, auth(admin), &[b.as_str()], "batch-1").await,
        "CONFLICT",
    );

    let paid = pay(app, admin, &[a.as_str()], "batch-1").await;
    let paid = &paid[0];
    assert_eq!(paid["id"], a.as_str());
    assert_eq!(paid["status"], "PAID");
    assert!(paid["paidAt"].is_string(), "{paid}");
    assert_eq!(paid["payoutReference"], "batch-1");
    assert_eq!(
        instant(&paid["approvedAt"]),
        instant(&approved["approvedAt"])
    );
    assert_code(
        &try_pay(app, auth(admin), &[a.as_str()], "batch-2").await,
        "CONFLICT",
    );
    assert_code(
        &try_approve(app, auth(admin), &[a.as_str()]).await,
        "CONFLICT",
    );

    // Several at once.
    let both = approve(app, admin, &[b.as_str(), c.as_str()]).await;
    let mut ids: Vec<String> = both.as_array().unwrap().iter().map(id_of).collect();
    ids.sort();
    let mut want = vec![b.clone(), c.clone()];
    want.sort();
    assert_eq!(ids, want);
    for record in both.as_array().unwrap() {
        assert_eq!(record["status"], "APPROVED");
    }

    // Bad input changes nothing.
    for (name, body) in [
        (
            "empty reference",
            try_pay(app, auth(admin), &[b.as_str()], "").await,
        ),
        (
            "reference of 201",
            try_pay(app, auth(admin), &[b.as_str()], &"r".repeat(201)).await,
        ),
        (
            "no ids to approve",
            try_approve(app, auth(admin), &[]).await,
        ),
        (
            "no ids to pay",
            try_pay(app, auth(admin), &[], "batch-3").await,
        ),
        (
            "an id twice",
            try_pay(app, auth(admin), &[b.as_str(), b.as_str()], "batch-3").await,
        ),
    ] {
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{name}: {body}"
        );
    }
    let over: Vec<String> = (0..101).map(|_| new_id()).collect();
    let over: Vec<&str> = over.iter().map(String::as_str).collect();
    assert_code(
        &try_approve(app, auth(admin), &over).await,
        "BAD_USER_INPUT",
    );
    let unknown = new_id();
    assert_code(
        &try_approve(app, auth(admin), &[unknown.as_str()]).await,
        "NOT_FOUND",
    );
    assert_code(
        &try_pay(app, auth(admin), &[unknown.as_str()], "batch-3").await,
        "NOT_FOUND",
    );

    let now = statuses(app, admin).await;
    assert_eq!(now[&a], "PAID");
    assert_eq!(now[&b], "APPROVED");
    assert_eq!(now[&c], "APPROVED");
    let b_record = record(app, admin, &b).await;
    assert!(b_record["paidAt"].is_null(), "{b_record}");
    assert!(b_record["payoutReference"].is_null(), "{b_record}");
    let a_record = record(app, admin, &a).await;
    assert_eq!(a_record["payoutReference"], "batch-1");
    assert!(a_record["paidAt"].is_string(), "{a_record}");
}

#[tokio::test]
async fn a_batch_with_one_wrong_status_changes_nothing() {
    let l = ledger().await;
    let (app, w) = (&l.w.app, &l.w);
    let admin = &w.admin;
    let a = record_for(&l.report, &l.reward, &w.alice);
    let b = record_for(&l.report, &l.reward, &w.bob);
    let c = record_for(&l.report, &l.reward, &w.carol);
    let approved = approve(app, admin, &[a.as_str()]).await;
    let approved_at = instant(&approved[0]["approvedAt"]);

    // [PENDING, APPROVED] to approve.
    assert_code(
        &try_approve(app, auth(admin), &[b.as_str(), a.as_str()]).await,
        "CONFLICT",
    );
    // [APPROVED, PENDING] to pay.
    assert_code(
        &try_pay(app, auth(admin), &[a.as_str(), c.as_str()], "batch-1").await,
        "CONFLICT",
    );
    // [PENDING, unknown] to approve.
    let unknown = new_id();
    assert_code(
        &try_approve(app, auth(admin), &[b.as_str(), unknown.as_str()]).await,
        "NOT_FOUND",
    );

    let now = statuses(app, admin).await;
    assert_eq!(now[&a], "APPROVED");
    assert_eq!(now[&b], "PENDING");
    assert_eq!(now[&c], "PENDING");
    let a_record = record(app, admin, &a).await;
    assert_eq!(instant(&a_record["approvedAt"]), approved_at);
    assert!(a_record["paidAt"].is_null(), "{a_record}");
    let b_record = record(app, admin, &b).await;
    assert!(b_record["approvedAt"].is_null(), "{b_record}");
    assert_eq!(
        actions(
            &audit(
                app,
                admin,
                Some("REVENUE_SHARE_RECORD"),
                Some(b.as_str()),
                25
            )
            .await
        ),
        ["ACCRUED"]
    );
    assert_eq!(
        actions(
            &audit(
                app,
                admin,
                Some("REVENUE_SHARE_RECORD"),
                Some(a.as_str()),
                25
            )
            .await
        ),
        ["ACCRUED", "APPROVED"]
    );
}

#[tokio::test]
async fn voiding_adds_a_reversal_and_ends_the_record() {
    let l = ledger().await;
    let (app, w) = (&l.w.app, &l.w);
    let admin = &w.admin;
    let a = record_for(&l.report, &l.reward, &w.alice);
    let b = record_for(&l.report, &l.reward, &w.bob);
    let c = record_for(&l.report, &l.reward, &w.carol);

    // Bad reasons first: nothing happens.
    assert_code(&try_void(app, auth(admin), &b, "").await, "BAD_USER_INPUT");
    assert_code(
        &try_void(app, auth(admin), &b, &"r".repeat(501)).await,
        "BAD_USER_INPUT",
    );
    assert_code(
        &try_void(app, auth(admin), &new_id(), "typo").await,
        "NOT_FOUND",
    );
    assert_eq!(app.count("revenue_share_record").await, 3);
    assert_eq!(statuses(app, admin).await[&b], "PENDING");

    // A PENDING record.
    let reversal = void(app, admin, &b, "duplicate report").await;
    assert_ne!(reversal["id"], b.as_str(), "the reversal is a new record");
    assert_eq!(reversal["status"], "VOIDED");
    assert_eq!(
        reversal["amount"],
        json!({ "amount": "-3.33", "currency": "USD" })
    );
    assert_eq!(reversal["reversalOf"]["id"], b.as_str());
    assert_eq!(reversal["reversalOf"]["status"], "VOIDED");
    assert_eq!(reversal["beneficiary"]["id"], w.bob.id.as_str());
    assert_eq!(reversal["reward"]["id"], l.reward.as_str());
    assert_eq!(reversal["salesReport"]["id"], l.report["id"]);
    let original = record(app, admin, &b).await;
    assert_eq!(original["status"], "VOIDED");
    assert!(original["voidedAt"].is_string(), "{original}");
    assert_eq!(original["voidReason"], "duplicate report");
    assert!(original["reversalOf"].is_null(), "{original}");
    assert_eq!(
        original["amount"]["amount"], "3.33",
        "the original keeps its amount"
    );

    // Neither the voided record nor its reversal can be voided, approved or paid.
    let reversal_id = id_of(&reversal);
    for id in [&b, &reversal_id] {
        assert_code(&try_void(app, auth(admin), id, "again").await, "CONFLICT");
        assert_code(
            &try_approve(app, auth(admin), &[id.as_str()]).await,
            "CONFLICT",
        );
        assert_code(
            &try_pay(app, auth(admin), &[id.as_str()], "batch-1").await,
            "CONFLICT",
        );
    }

    // An APPROVED record.
    approve(app, admin, &[a.as_str()]).await;
    let reversal_a = void(app, admin, &a, "refunded").await;
    assert_eq!(reversal_a["amount"]["amount"], "-3.33");
    assert_eq!(reversal_a["reversalOf"]["id"], a.as_str());
    assert_eq!(record(app, admin, &a).await["status"], "VOIDED");

    // A PAID record cannot be voided.
    approve(app, admin, &[c.as_str()]).await;
    pay(app, admin, &[c.as_str()], "batch-9").await;
    assert_code(
        &try_void(app, auth(admin), &c, "too late").await,
        "CONFLICT",
    );
    let paid = record(app, admin, &c).await;
    assert_eq!(paid["status"], "PAID");
    assert!(paid["voidedAt"].is_null(), "{paid}");

    // Three originals and two reversals; the report's records now sum to carol's 3.34.
    let all = all_records(app, auth(admin), None, None, 25).await;
    assert_eq!(all.len(), 5);
    assert_eq!(app.count("revenue_share_record").await, 5);
    let reversals: Vec<&Value> = all.iter().filter(|r| !r["reversalOf"].is_null()).collect();
    assert_eq!(reversals.len(), 2);
    let total: i64 = all
        .iter()
        .map(|r| {
            let text = r["amount"]["amount"].as_str().unwrap();
            let negative = text.starts_with('-');
            let digits: String = text.chars().filter(char::is_ascii_digit).collect();
            let units: i64 = digits.parse().unwrap();
            if negative { -units } else { units }
        })
        .sum();
    assert_eq!(total, 334);
}

#[tokio::test]
async fn ledger_mutations_are_admin_only() {
    let l = ledger().await;
    let (app, w) = (&l.w.app, &l.w);
    let staffer = staff(app, "staffer").await;
    let partner = partner(app, &w.admin, &["sales:write", "ideas:read"]).await;
    let a = record_for(&l.report, &l.reward, &w.alice);
    for (who, token, code) in [
        ("the beneficiary", auth(&w.alice), "FORBIDDEN"),
        ("STAFF", auth(&staffer), "FORBIDDEN"),
        ("a partner", partner.bearer(), "FORBIDDEN"),
        ("anonymous", None, "UNAUTHENTICATED"),
    ] {
        let body = try_approve(app, token, &[a.as_str()]).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], code,
            "approve, {who}: {body}"
        );
        let body = try_pay(app, token, &[a.as_str()], "batch-1").await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], code,
            "pay, {who}: {body}"
        );
        let body = try_void(app, token, &a, "nope").await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], code,
            "void, {who}: {body}"
        );
        let body = try_end(app, token, &l.reward, "2025-06-01T00:00:00Z").await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], code,
            "end, {who}: {body}"
        );
    }
    for status in statuses(app, &w.admin).await.values() {
        assert_eq!(status, "PENDING");
    }
    assert_eq!(app.count("revenue_share_record").await, 3);
}

#[tokio::test]
async fn two_admins_approving_and_paying_at_once_succeed_once() {
    let l = ledger().await;
    let (app, w) = (&l.w.app, &l.w);
    let admin = &w.admin;
    let other = app.admin("root2").await;
    for round in 0..3 {
        let r = report(
            app,
            auth(admin),
            &sales(&format!("race-{round}"), "bricks", "1000.00", "USD"),
        )
        .await;
        let ids = record_ids(&r);
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();

        let (first, second) = join(
            try_approve(app, auth(admin), &refs),
            try_approve(app, auth(&other), &refs),
        )
        .await;
        let approved = one_wins(&first, &second, "approveRevenueShares");
        assert_eq!(approved.as_array().unwrap().len(), 3, "{approved}");

        let (first, second) = join(
            try_pay(app, auth(admin), &refs, "batch-a"),
            try_pay(app, auth(&other), &refs, "batch-b"),
        )
        .await;
        let paid = one_wins(&first, &second, "markRevenueSharesPaid");
        let reference = paid[0]["payoutReference"].as_str().unwrap().to_string();
        for id in &ids {
            let stored = record(app, admin, id).await;
            assert_eq!(stored["status"], "PAID");
            assert_eq!(stored["payoutReference"], reference.as_str());
            let entries = audit(
                app,
                admin,
                Some("REVENUE_SHARE_RECORD"),
                Some(id.as_str()),
                25,
            )
            .await;
            assert_eq!(
                actions(&entries),
                ["ACCRUED", "APPROVED", "PAID"],
                "round {round}"
            );
        }
    }

    // Two voids of one record: one reversal.
    let a = record_for(&l.report, &l.reward, &w.alice);
    let (first, second) = join(
        try_void(app, auth(admin), &a, "race"),
        try_void(app, auth(&other), &a, "race"),
    )
    .await;
    let reversal = one_wins(&first, &second, "voidRevenueShare");
    assert_eq!(reversal["reversalOf"]["id"], a.as_str());
    let all = all_records(app, auth(admin), None, None, 25).await;
    let reversals = all
        .iter()
        .filter(|r| r["reversalOf"]["id"] == a.as_str())
        .count();
    assert_eq!(reversals, 1);
    let entries = audit(
        app,
        admin,
        Some("REVENUE_SHARE_RECORD"),
        Some(a.as_str()),
        25,
    )
    .await;
    assert_eq!(actions(&entries), ["ACCRUED", "VOIDED"]);
}

// ---------------------------------------------------------------------------------------------
// Visibility, paging and statements
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn members_see_only_their_own_records() {
    let l = ledger().await;
    let (app, w) = (&l.w.app, &l.w);
    let dave = member(app, "dave", &w.community).await;
    let partner = partner(app, &w.admin, &["sales:write", "ideas:read"]).await;
    let second = report(
        app,
        auth(&w.admin),
        &sales("pos-2", "bricks", "2000.00", "USD"),
    )
    .await;

    let mine = all_records(app, auth(&w.alice), None, None, 25).await;
    assert_eq!(mine.len(), 2, "{mine:?}");
    let mut ids: Vec<String> = mine.iter().map(id_of).collect();
    ids.sort();
    let mut want = vec![
        record_for(&l.report, &l.reward, &w.alice),
        record_for(&second, &l.reward, &w.alice),
    ];
    want.sort();
    assert_eq!(ids, want);
    for record in &mine {
        assert_eq!(record["beneficiary"]["id"], w.alice.id.as_str());
    }
    let own = all_records(app, auth(&w.alice), Some(w.alice.id.as_str()), None, 25).await;
    assert_eq!(own.len(), 2);
    assert!(
        all_records(app, auth(&dave), None, None, 25)
            .await
            .is_empty()
    );

    // Another user's records are forbidden; partners are forbidden; anonymous is not signed in.
    let body = records_page(app, auth(&w.alice), Some(w.bob.id.as_str()), None, 10, None).await;
    assert_code(&body, "FORBIDDEN");
    let body = records_page(app, partner.bearer(), None, None, 10, None).await;
    assert_code(&body, "FORBIDDEN");
    let body = records_page(app, None, None, None, 10, None).await;
    assert_code(&body, "UNAUTHENTICATED");

    // The admin sees everybody's, and anybody's.
    assert_eq!(
        all_records(app, auth(&w.admin), None, None, 25).await.len(),
        6
    );
    let bobs = all_records(app, auth(&w.admin), Some(w.bob.id.as_str()), None, 25).await;
    assert_eq!(bobs.len(), 2);
    for record in &bobs {
        assert_eq!(record["beneficiary"]["id"], w.bob.id.as_str());
    }

    // Through a record, a report shows a member only their own records, but the full count.
    let nested = "{ revenueShareRecords(first: 10) { nodes { id salesReport { id recordCount records { id beneficiary { id } } } } } }";
    let body = app.graphql(nested, json!({}), auth(&w.alice)).await;
    let nodes = ok(&body, "revenueShareRecords")["nodes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(nodes.len(), 2);
    for node in &nodes {
        let report = &node["salesReport"];
        assert_eq!(report["recordCount"], 3, "{report}");
        let records = report["records"].as_array().unwrap();
        assert_eq!(records.len(), 1, "{report}");
        assert_eq!(records[0]["id"], node["id"]);
        assert_eq!(records[0]["beneficiary"]["id"], w.alice.id.as_str());
    }
    let body = app.graphql(nested, json!({}), auth(&w.admin)).await;
    for node in ok(&body, "revenueShareRecords")["nodes"]
        .as_array()
        .unwrap()
    {
        assert_eq!(
            node["salesReport"]["records"].as_array().unwrap().len(),
            3,
            "the admin sees all of a report's records"
        );
    }
    // A partner reporting sees the count only.
    let theirs = report(
        app,
        partner.bearer(),
        &sales("pos-3", "bricks", "1.00", "USD"),
    )
    .await;
    assert_eq!(theirs["recordCount"], 3);
    assert_eq!(theirs["records"], json!([]));
}

#[tokio::test]
async fn records_page_newest_first_and_filter_by_status() {
    let l = ledger().await;
    let (app, w) = (&l.w.app, &l.w);
    let admin = &w.admin;
    let second = report(
        app,
        auth(admin),
        &sales("pos-2", "bricks", "2000.00", "USD"),
    )
    .await;
    let third = report(app, auth(admin), &sales("pos-3", "bricks", "300.00", "USD")).await;

    let everything = all_records(app, auth(admin), None, None, 25).await;
    assert_eq!(everything.len(), 9);
    let order: Vec<String> = everything.iter().map(id_of).collect();
    let unique: BTreeSet<&String> = order.iter().collect();
    assert_eq!(unique.len(), 9, "no record twice");
    for pair in everything.windows(2) {
        assert!(
            instant(&pair[0]["createdAt"]) >= instant(&pair[1]["createdAt"]),
            "newest first: {} then {}",
            pair[0],
            pair[1]
        );
    }
    // The third report's records come before the first's.
    let position = |id: &str| order.iter().position(|x| x == id).unwrap();
    assert!(
        position(record_for(&third, &l.reward, &w.alice).as_str())
            < position(record_for(&l.report, &l.reward, &w.alice).as_str())
    );
    for first in [1, 2, 4] {
        let paged: Vec<String> = all_records(app, auth(admin), None, None, first)
            .await
            .iter()
            .map(id_of)
            .collect();
        assert_eq!(
            paged, order,
            "first: {first} walks every record once, in order"
        );
    }
    // A page of two says there is more, the last page does not.
    let body = records_page(app, auth(admin), None, None, 2, None).await;
    let page = ok(&body, "revenueShareRecords");
    assert_eq!(node_ids(page), order[..2].to_vec());
    assert_eq!(page["pageInfo"]["hasNextPage"], true);

    // Statuses.
    let x = record_for(&l.report, &l.reward, &w.alice);
    let y = record_for(&second, &l.reward, &w.bob);
    let z = record_for(&third, &l.reward, &w.carol);
    approve(app, admin, &[x.as_str(), y.as_str()]).await;
    pay(app, admin, &[x.as_str()], "batch-1").await;
    let reversal = id_of(&void(app, admin, &z, "wrong line").await);
    let expected_ids = |status: &str| -> BTreeSet<String> {
        let mut ids: BTreeSet<String> = order.iter().cloned().collect();
        match status {
            "PAID" => BTreeSet::from([x.clone()]),
            "APPROVED" => BTreeSet::from([y.clone()]),
            "VOIDED" => BTreeSet::from([z.clone(), reversal.clone()]),
            _ => {
                ids.remove(&x);
                ids.remove(&y);
                ids.remove(&z);
                ids
            }
        }
    };
    for status in ["PENDING", "APPROVED", "PAID", "VOIDED"] {
        let listed = all_records(app, auth(admin), None, Some(status), 2).await;
        for record in &listed {
            assert_eq!(record["status"], status, "{record}");
        }
        let ids: BTreeSet<String> = listed.iter().map(id_of).collect();
        assert_eq!(ids.len(), listed.len(), "{status}: no record twice");
        assert_eq!(ids, expected_ids(status), "{status}");
    }
    // A member filters their own.
    let alices_pending = all_records(app, auth(&w.alice), None, Some("PENDING"), 25).await;
    assert_eq!(alices_pending.len(), 2);
    let alices_paid = all_records(app, auth(&w.alice), None, Some("PAID"), 25).await;
    assert_eq!(
        node_ids(&json!({ "nodes": alices_paid })),
        std::slice::from_ref(&x)
    );

    // Paging arguments are checked (a small selection, so the page size itself is what fails,
    // not the complexity limit).
    assert_code(
        &app.graphql(
            "{ revenueShareRecords(first: 101) { nodes { id } } }",
            json!({}),
            auth(admin),
        )
        .await,
        "BAD_USER_INPUT",
    );
    assert_code(
        &records_page(app, auth(admin), None, None, 10, Some("garbage")).await,
        "BAD_USER_INPUT",
    );
}

/// A statement's totals as (currency, status, amount, count), in the order given; each total's
/// amount must carry its currency.
#[track_caller]
fn totals(statement: &Value) -> Vec<(String, String, String, i64)> {
    statement["totals"]
        .as_array()
        .unwrap_or_else(|| panic!("no totals in {statement}"))
        .iter()
        .map(|t| {
            assert_eq!(t["amount"]["currency"], t["currency"], "{t}");
            (
                t["currency"].as_str().unwrap().to_string(),
                t["status"].as_str().unwrap().to_string(),
                t["amount"]["amount"].as_str().unwrap().to_string(),
                t["count"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// Totals sorted (the order by status within a currency is left to the server), after checking
/// that the currencies come sorted and each (currency, status) once.
#[track_caller]
fn sorted_totals(statement: &Value) -> Vec<(String, String, String, i64)> {
    let given = totals(statement);
    let currencies: Vec<&String> = given.iter().map(|t| &t.0).collect();
    let mut sorted_currencies = currencies.clone();
    sorted_currencies.sort();
    assert_eq!(
        currencies, sorted_currencies,
        "sorted by currency: {statement}"
    );
    let mut sorted = given.clone();
    sorted.sort();
    let keys: BTreeSet<(String, String)> =
        sorted.iter().map(|t| (t.0.clone(), t.1.clone())).collect();
    assert_eq!(keys.len(), sorted.len(), "one total per (currency, status)");
    sorted
}

fn total(currency: &str, status: &str, amount: &str, count: i64) -> (String, String, String, i64) {
    (
        currency.to_string(),
        status.to_string(),
        amount.to_string(),
        count,
    )
}

async fn statement(
    app: &TestApp,
    token: Option<&str>,
    beneficiary: Option<&str>,
    window: (Option<&str>, Option<&str>),
) -> Value {
    app.graphql(
        STATEMENT,
        json!({ "b": beneficiary, "from": window.0, "to": window.1 }),
        token,
    )
    .await
}

#[tokio::test]
async fn the_statement_totals_per_currency_and_status() {
    let l = ledger().await;
    let (app, w) = (&l.w.app, &l.w);
    let admin = &w.admin;
    let partner = partner(app, admin, &["sales:write", "ideas:read"]).await;
    let mut input = adopt_input(&l.suggestion, "ramen");
    input["currency"] = json!("JPY");
    adopt(app, admin, &input).await;
    // alice: 3.33 (pos-1), 6.67 (pos-2), 1.00 (pos-3), ¥120 (jp-1).
    let second = report(
        app,
        auth(admin),
        &sales("pos-2", "bricks", "2000.00", "USD"),
    )
    .await;
    let third = report(app, auth(admin), &sales("pos-3", "bricks", "300.00", "USD")).await;
    report(app, auth(admin), &sales("jp-1", "ramen", "12000", "JPY")).await;
    let first_a = record_for(&l.report, &l.reward, &w.alice);
    let third_a = record_for(&third, &l.reward, &w.alice);
    approve(app, admin, &[first_a.as_str()]).await;
    pay(app, admin, &[first_a.as_str()], "batch-1").await;
    approve(app, admin, &[third_a.as_str()]).await;
    void(app, admin, &third_a, "returned goods").await;
    let _ = second;

    // 1.00 voided plus its −1.00 reversal: 0.00 over two records.
    let alice_totals = vec![
        total("JPY", "PENDING", "120", 1),
        total("USD", "PAID", "3.33", 1),
        total("USD", "PENDING", "6.67", 1),
        total("USD", "VOIDED", "0.00", 2),
    ];
    let body = statement(app, auth(admin), Some(w.alice.id.as_str()), (None, None)).await;
    let s = ok(&body, "revenueShareStatement");
    assert_eq!(s["beneficiary"]["id"], w.alice.id.as_str());
    assert!(s["from"].is_null() && s["to"].is_null(), "{s}");
    assert_eq!(sorted_totals(s), alice_totals);
    // Records oldest first: alice's five.
    let records = s["records"]["nodes"].as_array().unwrap();
    assert_eq!(records.len(), 5, "{s}");
    for pair in records.windows(2) {
        assert!(instant(&pair[0]["createdAt"]) <= instant(&pair[1]["createdAt"]));
    }
    for record in records {
        assert_eq!(record["beneficiary"]["id"], w.alice.id.as_str());
    }
    // alice asks for her own, with or without her id.
    let body = statement(app, auth(&w.alice), None, (None, None)).await;
    assert_eq!(
        sorted_totals(ok(&body, "revenueShareStatement")),
        alice_totals
    );
    let body = statement(app, auth(&w.alice), Some(w.alice.id.as_str()), (None, None)).await;
    assert_eq!(
        sorted_totals(ok(&body, "revenueShareStatement")),
        alice_totals
    );

    // bob: 3.33 + 6.66 + 1.00 pending.
    let body = statement(app, auth(admin), Some(w.bob.id.as_str()), (None, None)).await;
    assert_eq!(
        sorted_totals(ok(&body, "revenueShareStatement")),
        vec![total("USD", "PENDING", "10.99", 3)]
    );
    // Everybody: the USD PENDING records are bob's 10.99, carol's 3.34 + 6.67 + 1.00 and
    // alice's 6.67.
    let body = statement(app, auth(admin), None, (None, None)).await;
    let everybody = ok(&body, "revenueShareStatement");
    assert!(everybody["beneficiary"].is_null(), "{everybody}");
    assert_eq!(
        sorted_totals(everybody),
        vec![
            total("JPY", "PENDING", "120", 1),
            total("USD", "PAID", "3.33", 1),
            total("USD", "PENDING", "28.67", 7),
            total("USD", "VOIDED", "0.00", 2),
        ]
    );

    // The window is on createdAt: from inclusive, to exclusive.
    let body = statement(
        app,
        auth(admin),
        Some(w.alice.id.as_str()),
        (Some("2099-01-01T00:00:00Z"), None),
    )
    .await;
    let s = ok(&body, "revenueShareStatement");
    assert_eq!(s["totals"], json!([]));
    assert_eq!(s["records"]["nodes"], json!([]));
    assert_eq!(instant(&s["from"]), at("2099-01-01T00:00:00Z"));
    let body = statement(
        app,
        auth(admin),
        Some(w.alice.id.as_str()),
        (None, Some("2000-01-01T00:00:00Z")),
    )
    .await;
    assert_eq!(ok(&body, "revenueShareStatement")["totals"], json!([]));
    let body = statement(
        app,
        auth(admin),
        Some(w.alice.id.as_str()),
        (Some("2000-01-01T00:00:00Z"), Some("2099-01-01T00:00:00Z")),
    )
    .await;
    assert_eq!(
        sorted_totals(ok(&body, "revenueShareStatement")),
        alice_totals
    );

    // A window that ends before it starts is refused.
    let body = statement(
        app,
        auth(admin),
        None,
        (Some("2026-02-01T00:00:00Z"), Some("2026-01-01T00:00:00Z")),
    )
    .await;
    assert_code(&body, "BAD_USER_INPUT");

    // The same access rule as revenueShareRecords.
    let body = statement(app, auth(&w.bob), Some(w.alice.id.as_str()), (None, None)).await;
    assert_code(&body, "FORBIDDEN");
    let body = statement(app, partner.bearer(), None, (None, None)).await;
    assert_code(&body, "FORBIDDEN");
    let body = statement(app, None, None, (None, None)).await;
    assert_code(&body, "UNAUTHENTICATED");
}

// ---------------------------------------------------------------------------------------------
// The audit log
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_audit_log_records_every_step_with_its_actor() {
    let w = world().await;
    let app = &w.app;
    let admin = &w.admin;
    let staffer = staff(app, "staffer").await;
    let partner = partner(app, admin, &["sales:write", "ideas:read"]).await;
    let suggestion = submit(app, &w.alice, &w.community, "Stackable bricks").await;
    let reward = adopt_id(
        app,
        admin,
        &suggestion,
        "bricks",
        100,
        &[(&w.alice, 3333), (&w.bob, 3333), (&w.carol, 3334)],
    )
    .await;
    let r = report(
        app,
        partner.bearer(),
        &sales("pos-1", "bricks", "1000.00", "USD"),
    )
    .await;
    let report_id = id_of(&r);
    let records = all_records(app, auth(admin), None, None, 25).await;
    assert_eq!(records.len(), 3);
    let id_for = |user: &TestUser| -> String {
        records
            .iter()
            .find(|r| r["beneficiary"]["id"] == user.id.as_str())
            .map(id_of)
            .unwrap()
    };
    let (a, b, c) = (id_for(&w.alice), id_for(&w.bob), id_for(&w.carol));
    approve(app, admin, &[a.as_str()]).await;
    pay(app, admin, &[a.as_str()], "batch-1").await;
    let reversal = id_of(&void(app, admin, &b, "typo").await);

    let by_user =
        |entry: &Value| entry["actorKind"] == "USER" && entry["actorId"] == admin.id.as_str();
    let by_partner =
        |entry: &Value| entry["actorKind"] == "PARTNER" && entry["actorId"] == partner.id.as_str();

    let entries = audit(app, admin, Some("IDEA_REWARD"), Some(reward.as_str()), 25).await;
    assert_eq!(actions(&entries), ["ADOPTED"]);
    assert_eq!(entries[0]["entityType"], "IDEA_REWARD");
    assert_eq!(entries[0]["entityId"], reward.as_str());
    assert!(by_user(&entries[0]), "{}", entries[0]);
    assert!(!entries[0]["details"].is_null(), "{}", entries[0]);

    let entries = audit(
        app,
        admin,
        Some("SALES_REPORT"),
        Some(report_id.as_str()),
        25,
    )
    .await;
    assert_eq!(actions(&entries), ["REPORTED"]);
    assert_eq!(entries[0]["entityId"], report_id.as_str());
    assert!(by_partner(&entries[0]), "{}", entries[0]);

    let entries = audit(
        app,
        admin,
        Some("REVENUE_SHARE_RECORD"),
        Some(a.as_str()),
        25,
    )
    .await;
    assert_eq!(actions(&entries), ["ACCRUED", "APPROVED", "PAID"]);
    assert!(
        by_partner(&entries[0]),
        "accrued by the reporter: {}",
        entries[0]
    );
    assert!(by_user(&entries[1]) && by_user(&entries[2]), "{entries:?}");
    let entries = audit(
        app,
        admin,
        Some("REVENUE_SHARE_RECORD"),
        Some(b.as_str()),
        25,
    )
    .await;
    assert_eq!(actions(&entries), ["ACCRUED", "VOIDED"]);
    assert!(by_user(&entries[1]), "{}", entries[1]);
    let entries = audit(
        app,
        admin,
        Some("REVENUE_SHARE_RECORD"),
        Some(reversal.as_str()),
        25,
    )
    .await;
    assert_eq!(actions(&entries), ["REVERSAL"]);
    assert!(by_user(&entries[0]), "{}", entries[0]);
    let entries = audit(
        app,
        admin,
        Some("REVENUE_SHARE_RECORD"),
        Some(c.as_str()),
        25,
    )
    .await;
    assert_eq!(actions(&entries), ["ACCRUED"]);

    // The whole log, oldest first, the same in pages of two.
    let everything = audit(app, admin, None, None, 25).await;
    assert_eq!(everything.len(), 9, "{everything:?}");
    assert_eq!(everything[0]["action"], "ADOPTED");
    // The report and its accruals were written together, in whatever order.
    let mut together = actions(&everything[1..5]);
    together.sort();
    assert_eq!(together, ["ACCRUED", "ACCRUED", "ACCRUED", "REPORTED"]);
    for pair in everything.windows(2) {
        assert!(instant(&pair[0]["createdAt"]) <= instant(&pair[1]["createdAt"]));
    }
    let seen: BTreeSet<String> = actions(&everything).into_iter().collect();
    let want: BTreeSet<String> = [
        "ADOPTED", "REPORTED", "ACCRUED", "APPROVED", "PAID", "VOIDED", "REVERSAL",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(seen, want);
    let paged = audit(app, admin, None, None, 2).await;
    let ids = |entries: &[Value]| -> Vec<String> { entries.iter().map(id_of).collect() };
    assert_eq!(ids(&paged[..]), ids(&everything[..]));
    assert_eq!(
        audit(app, admin, Some("REVENUE_SHARE_RECORD"), None, 25)
            .await
            .len(),
        7
    );

    // Bad arguments name their error.
    for variables in [
        json!({ "t": null, "e": null, "first": 10, "after": "garbage" }),
        json!({ "t": null, "e": "not-an-id", "first": 10, "after": null }),
    ] {
        let body = app.graphql(AUDIT, variables.clone(), auth(admin)).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{variables}: {body}"
        );
    }
    // (A small selection, so the page size itself is what fails, not the complexity limit.)
    let body = app
        .graphql(
            "{ auditLog(first: 101) { nodes { id } } }",
            json!({}),
            auth(admin),
        )
        .await;
    assert_code(&body, "BAD_USER_INPUT");

    for (who, token, code) in [
        ("a member", auth(&w.alice), "FORBIDDEN"),
        ("STAFF", auth(&staffer), "FORBIDDEN"),
        ("a partner", partner.bearer(), "FORBIDDEN"),
        ("anonymous", None, "UNAUTHENTICATED"),
    ] {
        let body = app
            .graphql(
                AUDIT,
                json!({ "t": null, "e": null, "first": 10, "after": null }),
                token,
            )
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], code,
            "{who}: {body}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Ending rewards and reading them
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn ending_a_reward_only_moves_its_end_earlier() {
    let w = world().await;
    let app = &w.app;
    let admin = &w.admin;
    let suggestion = submit(app, &w.alice, &w.community, "Stackable bricks").await;
    let reward = adopt_id(app, admin, &suggestion, "bricks", 100, &[]).await;

    for ends_at in ["2024-12-01T00:00:00Z", STARTS] {
        let body = try_end(app, auth(admin), &reward, ends_at).await;
        assert_code(&body, "BAD_USER_INPUT");
    }
    assert_code(
        &try_end(app, auth(admin), &new_id(), "2025-06-01T00:00:00Z").await,
        "NOT_FOUND",
    );
    let body = try_end(app, auth(admin), &reward, "2025-06-01T00:00:00Z").await;
    let ended = ok(&body, "endIdeaReward");
    assert_eq!(instant(&ended["endsAt"]), at("2025-06-01T00:00:00Z"));
    assert_eq!(ended["status"], "ENDED");
    let body = try_end(app, auth(admin), &reward, "2025-07-01T00:00:00Z").await;
    assert_code(&body, "CONFLICT");
    let body = try_read_reward(app, auth(admin), &reward).await;
    assert_eq!(
        instant(&ok(&body, "ideaReward")["endsAt"]),
        at("2025-06-01T00:00:00Z"),
        "a later end is refused"
    );
    let body = try_end(app, auth(admin), &reward, "2025-05-01T00:00:00Z").await;
    assert_eq!(
        instant(&ok(&body, "endIdeaReward")["endsAt"]),
        at("2025-05-01T00:00:00Z")
    );

    // Reports follow the new window.
    let inside = report(
        app,
        auth(admin),
        &sales_at(
            "e-1",
            "bricks",
            ("2025-04-30T00:00:00Z", "2025-05-30T00:00:00Z"),
            "100.00",
            "USD",
        ),
    )
    .await;
    assert_eq!(inside["recordCount"], 1);
    let outside = report(
        app,
        auth(admin),
        &sales_at(
            "e-2",
            "bricks",
            ("2025-05-15T00:00:00Z", "2025-06-15T00:00:00Z"),
            "100.00",
            "USD",
        ),
    )
    .await;
    assert_eq!(outside["recordCount"], 0);

    // An end still ahead keeps the reward ACTIVE.
    let later = adopt_id(app, admin, &suggestion, "tiles", 100, &[]).await;
    let body = try_end(app, auth(admin), &later, "2099-01-01T00:00:00Z").await;
    assert_eq!(ok(&body, "endIdeaReward")["status"], "ACTIVE");

    let entries = audit(app, admin, Some("IDEA_REWARD"), Some(reward.as_str()), 25).await;
    assert_eq!(actions(&entries), ["ADOPTED", "ENDED", "ENDED"]);
}

#[tokio::test]
async fn idea_rewards_are_readable_by_admins_and_partners_with_ideas_read() {
    let w = world().await;
    let app = &w.app;
    let admin = &w.admin;
    let staffer = staff(app, "staffer").await;
    let reader = partner(app, admin, &["ideas:read"]).await;
    let writer = partner(app, admin, &["sales:write"]).await;
    let first = submit(app, &w.alice, &w.community, "Stackable bricks").await;
    let second = submit(app, &w.bob, &w.community, "Glow bricks").await;
    let bricks_a = adopt_id(app, admin, &first, "bricks", 100, &[]).await;
    let bricks_b = adopt_id(app, admin, &second, "bricks", 250, &[]).await;
    let tiles = adopt_id(app, admin, &first, "tiles", 100, &[]).await;

    for token in [auth(admin), reader.bearer()] {
        let body = try_read_reward(app, token, &bricks_b).await;
        let read = ok(&body, "ideaReward");
        assert_eq!(read["id"], bricks_b.as_str());
        assert_eq!(read["shareBps"], 250);
        if token == auth(admin) {
            assert_eq!(read["suggestion"]["id"], second.as_str());
        }
        assert_eq!(
            read["contributors"],
            json!([{ "user": { "id": w.bob.id }, "weightBps": 10000 }])
        );
        let body = try_read_reward(app, token, &new_id()).await;
        assert!(body["errors"].is_null(), "{body}");
        assert!(body["data"]["ideaReward"].is_null(), "{body}");

        let list = "query($line: String) { ideaRewards(productLine: $line, first: 100) { nodes { id productLine } pageInfo { hasNextPage } } }";
        let body = app.graphql(list, json!({ "line": "bricks" }), token).await;
        let ids: BTreeSet<String> = node_ids(ok(&body, "ideaRewards")).into_iter().collect();
        assert_eq!(ids, BTreeSet::from([bricks_a.clone(), bricks_b.clone()]));
        let body = app.graphql(list, json!({ "line": null }), token).await;
        let ids: BTreeSet<String> = node_ids(ok(&body, "ideaRewards")).into_iter().collect();
        assert_eq!(
            ids,
            BTreeSet::from([bricks_a.clone(), bricks_b.clone(), tiles.clone()])
        );
    }
    for (who, token) in [
        ("a partner without ideas:read", writer.bearer()),
        ("a member", auth(&w.alice)),
        ("STAFF", auth(&staffer)),
    ] {
        let body = try_read_reward(app, token, &bricks_a).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{who}: {body}"
        );
        let body = app
            .graphql(
                "{ ideaRewards(first: 10) { nodes { id } } }",
                json!({}),
                token,
            )
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{who}: {body}"
        );
    }
    // Pages of one walk the three.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..10 {
        let body = app
            .graphql(
                "query($after: String) { ideaRewards(first: 1, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }",
                json!({ "after": after }),
                auth(admin),
            )
            .await;
        let page = ok(&body, "ideaRewards");
        seen.extend(node_ids(page));
        if page["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
        after = Some(page["pageInfo"]["endCursor"].as_str().unwrap().to_string());
    }
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!((seen.len(), unique.len()), (3, 3), "{seen:?}");
}

// ---------------------------------------------------------------------------------------------
// The CSV export
// ---------------------------------------------------------------------------------------------

/// GETs the export with `query` ("?status=PAID", or ""); returns status, content type, body.
async fn export(app: &TestApp, query: &str, token: Option<&str>) -> (u16, String, String) {
    let mut request = app
        .client
        .get(format!("{}/exports/revenue-shares.csv{query}", app.address));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, content_type, response.text().await.unwrap())
}

/// The lines of a CSV body split into fields (the tests use no commas or quotes in values).
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|line| line.trim_end_matches('\r'))
        .filter(|line| !line.is_empty())
        .map(|line| line.split(',').map(str::to_string).collect())
        .collect()
}

/// An exported row as a map from column to value.
fn csv_records(text: &str) -> Vec<BTreeMap<String, String>> {
    let rows = csv_rows(text);
    let header = rows[0].clone();
    rows[1..]
        .iter()
        .map(|row| {
            assert_eq!(row.len(), header.len(), "{row:?}");
            header.iter().cloned().zip(row.iter().cloned()).collect()
        })
        .collect()
}

#[tokio::test]
async fn the_csv_export_lists_every_record_for_admins() {
    let l = ledger().await;
    let (app, w) = (&l.w.app, &l.w);
    let admin = &w.admin;
    let a = record_for(&l.report, &l.reward, &w.alice);
    let b = record_for(&l.report, &l.reward, &w.bob);
    let c = record_for(&l.report, &l.reward, &w.carol);
    approve(app, admin, &[a.as_str()]).await;
    pay(app, admin, &[a.as_str()], "batch-7").await;
    let reversal = id_of(&void(app, admin, &b, "typo").await);

    let (status, content_type, text) = export(app, "", auth(admin)).await;
    assert_eq!(status, 200, "{text}");
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    let rows = csv_rows(&text);
    assert_eq!(rows[0].join(","), CSV_HEADER);
    let records = csv_records(&text);
    assert_eq!(records.len(), 4, "{text}");
    let ids: BTreeSet<String> = records.iter().map(|r| r["id"].clone()).collect();
    assert_eq!(
        ids,
        BTreeSet::from([a.clone(), b.clone(), c.clone(), reversal.clone()])
    );
    assert_eq!(
        records[3]["id"], reversal,
        "oldest first: the reversal last"
    );
    let row = |id: &str| records.iter().find(|r| r["id"] == id).unwrap().clone();

    let paid = row(a.as_str());
    assert_eq!(paid["status"], "PAID");
    assert_eq!(paid["beneficiary_id"], w.alice.id);
    assert_eq!(paid["beneficiary_handle"], "alice");
    assert_eq!(paid["amount"], "3.33");
    assert_eq!(paid["currency"], "USD");
    assert_eq!(paid["reward_id"], l.reward);
    assert_eq!(paid["suggestion_id"], l.suggestion);
    assert_eq!(paid["product_line"], "bricks");
    assert_eq!(paid["sales_report_id"], id_of(&l.report));
    assert_eq!(paid["external_id"], "pos-1");
    assert_eq!(at(&paid["period_start"]), at(PERIOD_START));
    assert_eq!(at(&paid["period_end"]), at(PERIOD_END));
    assert!(
        at(&paid["created_at"]) <= at(&paid["approved_at"]),
        "{paid:?}"
    );
    assert!(at(&paid["approved_at"]) <= at(&paid["paid_at"]), "{paid:?}");
    assert_eq!(paid["payout_reference"], "batch-7");
    assert_eq!(paid["reversal_of"], "");
    assert_eq!(paid["void_reason"], "");

    let voided = row(b.as_str());
    assert_eq!(voided["status"], "VOIDED");
    assert_eq!(voided["amount"], "3.33");
    assert_eq!(voided["void_reason"], "typo");
    assert_eq!(voided["approved_at"], "");
    let reversed = row(reversal.as_str());
    assert_eq!(reversed["status"], "VOIDED");
    assert_eq!(reversed["amount"], "-3.33");
    assert_eq!(reversed["reversal_of"], b);
    assert_eq!(reversed["beneficiary_handle"], "bob");
    let pending = row(c.as_str());
    assert_eq!(pending["status"], "PENDING");
    assert_eq!(pending["amount"], "3.34");
    assert_eq!(pending["paid_at"], "");

    // Filters.
    let (status, _, text) = export(app, "?status=PAID", auth(admin)).await;
    assert_eq!(status, 200);
    let records = csv_records(&text);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["id"], a);
    let (_, _, text) = export(app, "?status=VOIDED", auth(admin)).await;
    assert_eq!(csv_records(&text).len(), 2);
    let (status, _, text) = export(app, "?from=2099-01-01T00:00:00Z", auth(admin)).await;
    assert_eq!(status, 200);
    assert_eq!(csv_rows(&text), vec![rows[0].clone()], "the header alone");
    let (_, _, text) = export(app, "?to=2000-01-01T00:00:00Z", auth(admin)).await;
    assert!(csv_records(&text).is_empty());
    let (_, _, text) = export(
        app,
        "?from=2000-01-01T00:00:00Z&to=2099-01-01T00:00:00Z",
        auth(admin),
    )
    .await;
    assert_eq!(csv_records(&text).len(), 4);
}

#[tokio::test]
async fn the_csv_export_checks_its_token_and_parameters() {
    let l = ledger().await;
    let (app, w) = (&l.w.app, &l.w);
    let staffer = staff(app, "staffer").await;
    let partner = partner(app, &w.admin, &["sales:write", "ideas:read"]).await;

    let (status, _, text) = export(app, "", None).await;
    assert_eq!(status, 401, "{text}");
    assert!(
        serde_json::from_str::<Value>(&text).is_ok(),
        "a JSON error: {text}"
    );
    let (status, _, _) = export(app, "", Some("not-a-token")).await;
    assert_eq!(status, 401);
    for (who, token) in [
        ("a member", auth(&w.alice)),
        ("STAFF", auth(&staffer)),
        ("a partner", partner.bearer()),
    ] {
        let (status, _, text) = export(app, "", token).await;
        assert_eq!(status, 403, "{who}: {text}");
        assert!(!text.contains(&w.alice.id), "{who}: {text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_code(&body, "FORBIDDEN");
    }
    for query in [
        "?from=garbage",
        "?to=yesterday",
        "?status=BOGUS",
        "?from=2025-13-01T00:00:00Z",
        "?status=PAID&status=PENDING",
    ] {
        let (status, _, text) = export(app, query, auth(&w.admin)).await;
        assert_eq!(status, 400, "{query}: {text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_code(&body, "BAD_USER_INPUT");
    }
}
