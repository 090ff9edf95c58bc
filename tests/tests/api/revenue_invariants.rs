//! Idea dividends under a random workload: reports (new, repeated, reused by another reporter,
//! in and out of reward windows, positive and negative), approvals, payouts, voids and
//! mixed-status batches in a seeded random order; afterwards the ledger must agree with a
//! recomputation in integer cents: every report's records per reward split exactly its
//! half-even pool by largest remainder, reversals mirror their voided originals, statuses
//! follow the operations, and statements and the audit log add up.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use canyu_tests::{TestApp, TestUser, assert_code};
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::support::{auth, create_community, id_of, member, ok, submit};

/// Record fields the checks need.
const RECORD: &str = "id status amount { amount currency } beneficiary { id } reward { id } salesReport { id } reversalOf { id } createdAt";

/// Up to `count` distinct items, in random order.
fn sample(rng: &mut StdRng, items: &[String], count: usize) -> Vec<String> {
    let mut pool = items.to_vec();
    let (chosen, _) = pool.partial_shuffle(rng, count.min(items.len()));
    chosen.to_vec()
}

// ---------------------------------------------------------------------------------------------
// Integer-cent arithmetic, independent of the server
// ---------------------------------------------------------------------------------------------

/// `numerator / denominator` (denominator > 0) rounded half to even, symmetric around zero.
fn half_even(numerator: i128, denominator: i128) -> i128 {
    let magnitude = numerator.abs();
    let quotient = magnitude / denominator;
    let remainder = magnitude % denominator;
    let rounded = match (2 * remainder).cmp(&denominator) {
        std::cmp::Ordering::Less => quotient,
        std::cmp::Ordering::Greater => quotient + 1,
        std::cmp::Ordering::Equal => {
            if quotient % 2 == 0 {
                quotient
            } else {
                quotient + 1
            }
        }
    };
    if numerator < 0 { -rounded } else { rounded }
}

/// The pool of a report for a reward, in cents.
fn pool(net_cents: i64, share_bps: i64) -> i64 {
    half_even(i128::from(net_cents) * i128::from(share_bps), 10_000) as i64
}

/// A pool split by weight: floors on |pool|, leftover cents one each by largest remainder,
/// ties to the earlier contributor; the sign restored.
fn shares(pool: i64, weights: &[i64]) -> Vec<i64> {
    let magnitude = i128::from(pool).abs();
    let mut floors: Vec<i128> = weights
        .iter()
        .map(|w| magnitude * i128::from(*w) / 10_000)
        .collect();
    let remainders: Vec<i128> = weights
        .iter()
        .map(|w| magnitude * i128::from(*w) % 10_000)
        .collect();
    let left = magnitude - floors.iter().sum::<i128>();
    assert!(
        left >= 0 && left <= weights.len() as i128,
        "leftover {left}"
    );
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&x, &y| remainders[y].cmp(&remainders[x]).then(x.cmp(&y)));
    for &index in order.iter().take(left as usize) {
        floors[index] += 1;
    }
    let sign: i64 = if pool < 0 { -1 } else { 1 };
    floors.into_iter().map(|f| sign * (f as i64)).collect()
}

/// A USD `Decimal` string ("-12.05") in cents.
#[track_caller]
fn cents(value: &Value) -> i64 {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a Decimal string: {value}"));
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits
        .split_once('.')
        .unwrap_or_else(|| panic!("USD carries two decimals: {text}"));
    assert_eq!(fraction.len(), 2, "USD carries two decimals: {text}");
    let units = whole.parse::<i64>().unwrap() * 100 + fraction.parse::<i64>().unwrap();
    if negative { -units } else { units }
}

/// Cents as a USD decimal string for input.
fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let magnitude = cents.unsigned_abs();
    format!("{sign}{}.{:02}", magnitude / 100, magnitude % 100)
}

#[track_caller]
fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("not RFC 3339: {text}: {e}"))
        .with_timezone(&Utc)
}

#[test]
fn the_reference_arithmetic_matches_the_worked_examples() {
    assert_eq!(pool(100_000, 100), 1000);
    assert_eq!(pool(1250, 100), 12);
    assert_eq!(pool(1350, 100), 14);
    assert_eq!(pool(-1250, 100), -12);
    assert_eq!(pool(-1350, 100), -14);
    assert_eq!(shares(1000, &[3333, 3333, 3334]), [333, 333, 334]);
    assert_eq!(shares(2000, &[3333, 3333, 3334]), [667, 666, 667]);
    assert_eq!(shares(-1000, &[3333, 3333, 3334]), [-333, -333, -334]);
    assert_eq!(shares(10, &[2500, 2500, 2500, 2500]), [3, 3, 2, 2]);
    assert_eq!(shares(0, &[5000, 5000]), [0, 0]);
    assert_eq!(cents(&json!("-0.03")), -3);
    assert_eq!(cents(&json!("1000.00")), 100_000);
    assert_eq!(money(-3), "-0.03");
    assert_eq!(money(123_456), "1234.56");
}

// ---------------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------------

struct Reward {
    id: String,
    line: &'static str,
    share_bps: i64,
    /// (user id, weight) in input order.
    weights: Vec<(String, i64)>,
    starts: DateTime<Utc>,
    ends: Option<DateTime<Utc>>,
}

impl Reward {
    fn accrues(&self, report: &Report) -> bool {
        self.line == report.line
            && report.currency == "USD"
            && self.starts <= report.period_start
            && self.ends.is_none_or(|ends| report.period_start < ends)
    }
}

struct Report {
    id: String,
    reporter: usize,
    input: Value,
    external_id: String,
    line: String,
    currency: String,
    period_start: DateTime<Utc>,
    net_cents: i64,
    record_count: i64,
}

const LINES: [&str; 4] = ["bricks", "bricks", "tiles", "pipes"];
const PERIOD_STARTS: [&str; 6] = [
    "2024-12-31T00:00:00Z",
    "2025-03-01T00:00:00Z",
    "2025-03-15T12:00:00Z",
    "2025-06-30T23:59:59Z",
    "2025-07-01T00:00:00Z",
    "2025-08-01T00:00:00Z",
];

/// A random report input: line, period, amount and currency.
fn random_sales(
    rng: &mut StdRng,
    external_id: &str,
) -> (Value, String, String, DateTime<Utc>, i64) {
    let line = LINES[rng.gen_range(0..LINES.len())].to_string();
    let start_text = PERIOD_STARTS[rng.gen_range(0..PERIOD_STARTS.len())];
    let start = at(start_text);
    let end = start + chrono::TimeDelta::days(30);
    let net_cents = match rng.gen_range(0..10) {
        0 => 0,
        1 | 2 => rng.gen_range(-60..=60),
        3 | 4 => rng.gen_range(-300_000..=-1),
        _ => rng.gen_range(1..=900_000),
    };
    let currency = String::from(if rng.gen_ratio(1, 10) { "EUR" } else { "USD" });
    let input = json!({
        "externalId": external_id,
        "productLine": line,
        "periodStart": start_text,
        "periodEnd": end.to_rfc3339(),
        "netSales": money(net_cents),
        "currency": currency,
    });
    (input, line, currency, start, net_cents)
}

// ---------------------------------------------------------------------------------------------
// API steps
// ---------------------------------------------------------------------------------------------

async fn partner_token(app: &TestApp, admin: &TestUser, scopes: &[&str]) -> String {
    let body = app
        .graphql(
            "mutation($input: CreatePartnerInput!) { createPartner(input: $input) { clientId clientSecret } }",
            json!({ "input": { "name": "Brick Retail", "scopes": scopes } }),
            auth(admin),
        )
        .await;
    let created = ok(&body, "createPartner");
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
    answer["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access_token: {answer}"))
        .to_string()
}

async fn try_report(app: &TestApp, token: &str, input: &Value) -> Value {
    app.graphql(
        "mutation($input: ReportSalesInput!) { reportSales(input: $input) { id externalId recordCount netSales { amount currency } } }",
        json!({ "input": input }),
        Some(token),
    )
    .await
}

async fn mutate_ids(app: &TestApp, admin: &TestUser, mutation: &str, variables: Value) -> Value {
    app.graphql(mutation, variables, auth(admin)).await
}

const APPROVE: &str =
    "mutation($ids: [ID!]!) { approveRevenueShares(ids: $ids) { id status approvedAt } }";
const PAY: &str = "mutation($ids: [ID!]!, $ref: String!) { markRevenueSharesPaid(ids: $ids, payoutReference: $ref) { id status paidAt payoutReference } }";
const VOID: &str = "mutation($id: ID!, $reason: String!) { voidRevenueShare(id: $id, reason: $reason) { id status amount { amount currency } reversalOf { id status } } }";

/// Every record the admin lists with `status` (all when None), paging `first` at a time.
async fn list(app: &TestApp, admin: &TestUser, status: Option<&str>, first: i64) -> Vec<Value> {
    let query = format!(
        "query($s: RevenueShareStatus, $first: Int, $after: String) {{ revenueShareRecords(status: $s, first: $first, after: $after) {{ nodes {{ {RECORD} }} pageInfo {{ hasNextPage endCursor }} }} }}"
    );
    let mut listed: Vec<Value> = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..500 {
        let body = app
            .graphql(
                &query,
                json!({ "s": status, "first": first, "after": after }),
                auth(admin),
            )
            .await;
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

/// The ids of the records with `status`.
async fn ids_with(app: &TestApp, admin: &TestUser, status: &str) -> Vec<String> {
    list(app, admin, Some(status), 25)
        .await
        .iter()
        .map(id_of)
        .collect()
}

/// The whole audit log for an entity type, oldest first.
async fn audit_actions(app: &TestApp, admin: &TestUser, entity_type: &str) -> Vec<String> {
    let query = "query($t: AuditEntityType, $first: Int, $after: String) { auditLog(entityType: $t, first: $first, after: $after) { nodes { id action entityType } pageInfo { hasNextPage endCursor } } }";
    let mut listed = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..500 {
        let body = app
            .graphql(
                query,
                json!({ "t": entity_type, "first": 25, "after": after }),
                auth(admin),
            )
            .await;
        let page = ok(&body, "auditLog");
        for node in page["nodes"].as_array().unwrap() {
            assert_eq!(node["entityType"], entity_type, "{node}");
            listed.push(node["action"].as_str().unwrap().to_string());
        }
        if page["pageInfo"]["hasNextPage"] != json!(true) {
            return listed;
        }
        after = Some(page["pageInfo"]["endCursor"].as_str().unwrap().to_string());
    }
    panic!("auditLog never ended");
}

/// Per (currency, status): (sum of cents, count).
type Totals = BTreeMap<(String, String), (i64, i64)>;

async fn statement_totals(app: &TestApp, admin: &TestUser, beneficiary: Option<&str>) -> Totals {
    let body = app
        .graphql(
            "query($b: ID) { revenueShareStatement(beneficiaryId: $b) { totals { currency status amount { amount currency } count } } }",
            json!({ "b": beneficiary }),
            auth(admin),
        )
        .await;
    let statement = ok(&body, "revenueShareStatement");
    let mut totals = Totals::new();
    for total in statement["totals"].as_array().unwrap() {
        assert_eq!(total["amount"]["currency"], total["currency"], "{total}");
        let key = (
            total["currency"].as_str().unwrap().to_string(),
            total["status"].as_str().unwrap().to_string(),
        );
        let previous = totals.insert(
            key,
            (
                cents(&total["amount"]["amount"]),
                total["count"].as_i64().unwrap(),
            ),
        );
        assert!(
            previous.is_none(),
            "a (currency, status) twice: {statement}"
        );
    }
    totals
}

/// A reward to adopt: (suggestion index, product line, shareBps, startsAt, endsAt,
/// contributors as (user index, weight)).
type RewardSpec = (
    usize,
    &'static str,
    i64,
    &'static str,
    Option<&'static str>,
    Vec<(usize, i64)>,
);

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

async fn run(seed: u64, operations: usize) {
    // Seeded, so a failing sequence repeats (`rand` keeps `StdRng` stable within a version).
    let mut rng = StdRng::seed_from_u64(seed);
    let app = TestApp::spawn().await;
    let admin = app.admin("root").await;
    let partner = partner_token(&app, &admin, &["sales:write"]).await;
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "makers", "PUBLIC").await;
    let users = [
        member(&app, "user0", &community).await,
        member(&app, "user1", &community).await,
        member(&app, "user2", &community).await,
    ];
    let suggestions = [
        submit(&app, &users[0], &community, "Stackable bricks").await,
        submit(&app, &users[1], &community, "Glow bricks").await,
        submit(&app, &users[2], &community, "Heated tiles").await,
    ];
    let reporters: [&str; 2] = [admin.access_token.as_str(), partner.as_str()];

    let specs: Vec<RewardSpec> = vec![
        (
            0,
            "bricks",
            100,
            "2025-01-01T00:00:00Z",
            None,
            vec![(0, 5000), (1, 3000), (2, 2000)],
        ),
        (
            1,
            "bricks",
            250,
            "2025-01-01T00:00:00Z",
            None,
            vec![(0, 3333), (1, 3333), (2, 3334)],
        ),
        (
            2,
            "tiles",
            777,
            "2025-01-01T00:00:00Z",
            Some("2025-07-01T00:00:00Z"),
            vec![(2, 6001), (0, 3999)],
        ),
        (
            0,
            "tiles",
            1,
            "2025-03-01T00:00:00Z",
            None,
            vec![(1, 2500), (2, 2500), (0, 5000)],
        ),
    ];
    let mut rewards: Vec<Reward> = Vec::new();
    for (suggestion, line, share_bps, starts, ends, contributors) in specs {
        let weights: Vec<(String, i64)> = contributors
            .iter()
            .map(|(user, weight)| (users[*user].id.clone(), *weight))
            .collect();
        let contributor_inputs: Vec<Value> = weights
            .iter()
            .map(|(user, weight)| json!({ "userId": user, "weightBps": weight }))
            .collect();
        let mut input = json!({
            "suggestionId": suggestions[suggestion],
            "productLine": line,
            "shareBps": share_bps,
            "currency": "USD",
            "startsAt": starts,
            "contributors": contributor_inputs,
        });
        if let Some(ends) = ends {
            input["endsAt"] = json!(ends);
        }
        let body = app
            .graphql(
                "mutation($input: AdoptSuggestionInput!) { adoptSuggestion(input: $input) { id shareBps } }",
                json!({ "input": input }),
                auth(&admin),
            )
            .await;
        let adopted = ok(&body, "adoptSuggestion");
        assert_eq!(adopted["shareBps"], share_bps);
        rewards.push(Reward {
            id: id_of(adopted),
            line,
            share_bps,
            weights,
            starts: at(starts),
            ends: ends.map(at),
        });
    }

    let mut reports: Vec<Report> = Vec::new();
    // (reporter, externalId) pairs in use.
    let mut used: BTreeSet<(usize, String)> = BTreeSet::new();
    // The status each record should have, for records an operation touched (others PENDING).
    let mut expected_status: HashMap<String, &'static str> = HashMap::new();
    let (mut approvals, mut payments, mut voids, mut conflicts) = (0usize, 0usize, 0usize, 0usize);
    let mut next_external = 0usize;

    for step in 0..operations {
        let roll = rng.gen_range(0..100);
        let context = format!("seed {seed}, step {step}");
        if roll < 35 || reports.is_empty() {
            // A new report.
            next_external += 1;
            let external_id = format!("ext-{next_external}");
            let reporter = rng.gen_range(0..2);
            let (input, line, currency, period_start, net_cents) =
                random_sales(&mut rng, &external_id);
            let body = try_report(&app, reporters[reporter], &input).await;
            let answer = ok(&body, "reportSales");
            let report = Report {
                id: id_of(answer),
                reporter,
                input,
                external_id: external_id.clone(),
                line,
                currency,
                period_start,
                net_cents,
                record_count: answer["recordCount"].as_i64().unwrap(),
            };
            let expected_count: usize = rewards
                .iter()
                .filter(|r| r.accrues(&report))
                .map(|r| r.weights.len())
                .sum();
            assert_eq!(
                report.record_count, expected_count as i64,
                "{context}: records accrued by {}",
                report.input
            );
            assert_eq!(cents(&answer["netSales"]["amount"]), report.net_cents);
            used.insert((reporter, external_id));
            reports.push(report);
        } else if roll < 45 {
            // The same report again, exactly: the same report, nothing new.
            let earlier = &reports[rng.gen_range(0..reports.len())];
            let records_before = app.count("revenue_share_record").await;
            let body = try_report(&app, reporters[earlier.reporter], &earlier.input).await;
            let answer = ok(&body, "reportSales");
            assert_eq!(answer["id"], earlier.id.as_str(), "{context}: a repeat");
            assert_eq!(answer["recordCount"], earlier.record_count, "{context}");
            assert_eq!(app.count("revenue_share_record").await, records_before);
        } else if roll < 50 {
            // The other reporter reuses an externalId with its own payload.
            let earlier = &reports[rng.gen_range(0..reports.len())];
            let reporter = 1 - earlier.reporter;
            let external_id = earlier.external_id.clone();
            let earlier_id = earlier.id.clone();
            if used.contains(&(reporter, external_id.clone())) {
                continue;
            }
            let (input, line, currency, period_start, net_cents) =
                random_sales(&mut rng, &external_id);
            let body = try_report(&app, reporters[reporter], &input).await;
            let answer = ok(&body, "reportSales");
            let report = Report {
                id: id_of(answer),
                reporter,
                input,
                external_id: external_id.clone(),
                line,
                currency,
                period_start,
                net_cents,
                record_count: answer["recordCount"].as_i64().unwrap(),
            };
            assert_ne!(
                report.id, earlier_id,
                "{context}: another reporter's report"
            );
            let expected_count: usize = rewards
                .iter()
                .filter(|r| r.accrues(&report))
                .map(|r| r.weights.len())
                .sum();
            assert_eq!(report.record_count, expected_count as i64, "{context}");
            used.insert((reporter, external_id));
            reports.push(report);
        } else if roll < 65 {
            // Approve one to three PENDING records.
            let pending = ids_with(&app, &admin, "PENDING").await;
            if pending.is_empty() {
                continue;
            }
            let count = rng.gen_range(1..=3);
            let chosen = sample(&mut rng, &pending, count);
            let body = mutate_ids(&app, &admin, APPROVE, json!({ "ids": chosen })).await;
            let approved = ok(&body, "approveRevenueShares")
                .as_array()
                .unwrap()
                .clone();
            assert_eq!(approved.len(), chosen.len(), "{context}");
            for record in &approved {
                assert_eq!(record["status"], "APPROVED", "{context}");
                assert!(record["approvedAt"].is_string(), "{context}");
            }
            for id in chosen {
                expected_status.insert(id, "APPROVED");
                approvals += 1;
            }
        } else if roll < 78 {
            // Pay one or two APPROVED records.
            let approved = ids_with(&app, &admin, "APPROVED").await;
            if approved.is_empty() {
                continue;
            }
            let count = rng.gen_range(1..=2);
            let chosen = sample(&mut rng, &approved, count);
            let reference = format!("payout-{step}");
            let body = mutate_ids(
                &app,
                &admin,
                PAY,
                json!({ "ids": chosen, "ref": reference }),
            )
            .await;
            let paid = ok(&body, "markRevenueSharesPaid")
                .as_array()
                .unwrap()
                .clone();
            assert_eq!(paid.len(), chosen.len(), "{context}");
            for record in &paid {
                assert_eq!(record["status"], "PAID", "{context}");
                assert_eq!(record["payoutReference"], reference.as_str(), "{context}");
            }
            for id in chosen {
                expected_status.insert(id, "PAID");
                payments += 1;
            }
        } else if roll < 90 {
            // Void a PENDING or APPROVED record.
            let mut candidates = ids_with(&app, &admin, "PENDING").await;
            candidates.extend(ids_with(&app, &admin, "APPROVED").await);
            if candidates.is_empty() {
                continue;
            }
            let chosen = candidates[rng.gen_range(0..candidates.len())].clone();
            let body = mutate_ids(
                &app,
                &admin,
                VOID,
                json!({ "id": chosen, "reason": format!("void at step {step}") }),
            )
            .await;
            let reversal = ok(&body, "voidRevenueShare");
            assert_eq!(reversal["status"], "VOIDED", "{context}");
            assert_eq!(reversal["reversalOf"]["id"], chosen.as_str(), "{context}");
            assert_eq!(reversal["reversalOf"]["status"], "VOIDED", "{context}");
            expected_status.insert(chosen, "VOIDED");
            voids += 1;
        } else {
            // A batch mixing a PENDING record with one in another status: nothing changes.
            let pending = ids_with(&app, &admin, "PENDING").await;
            let mut others = ids_with(&app, &admin, "APPROVED").await;
            others.extend(ids_with(&app, &admin, "PAID").await);
            others.extend(ids_with(&app, &admin, "VOIDED").await);
            if pending.is_empty() || others.is_empty() {
                continue;
            }
            let good = pending[rng.gen_range(0..pending.len())].clone();
            let bad = others[rng.gen_range(0..others.len())].clone();
            let ids = if rng.gen_bool(0.5) {
                vec![good, bad]
            } else {
                vec![bad, good]
            };
            let body = mutate_ids(&app, &admin, APPROVE, json!({ "ids": ids })).await;
            assert_code(&body, "CONFLICT");
            conflicts += 1;
        }
    }
    let context = format!("seed {seed}");

    // ---- Everything the admin lists, once, in pages of 100 and of 7 alike.
    let records = list(&app, &admin, None, 25).await;
    let order: Vec<String> = records.iter().map(id_of).collect();
    let unique: BTreeSet<&String> = order.iter().collect();
    assert_eq!(
        unique.len(),
        order.len(),
        "{context}: a record listed twice"
    );
    let paged: Vec<String> = list(&app, &admin, None, 7)
        .await
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(paged, order, "{context}: pages of 7 walk the same list");
    assert_eq!(
        app.count("revenue_share_record").await,
        records.len() as i64
    );
    assert_eq!(app.count("sales_report").await, reports.len() as i64);
    let by_id: HashMap<String, &Value> = records.iter().map(|r| (id_of(r), r)).collect();

    // ---- Non-reversal records per (report, reward), by beneficiary.
    let mut accrued: BTreeMap<(String, String), BTreeMap<String, i64>> = BTreeMap::new();
    for record in records.iter().filter(|r| r["reversalOf"].is_null()) {
        assert_eq!(record["amount"]["currency"], "USD", "{context}: {record}");
        let key = (
            record["salesReport"]["id"].as_str().unwrap().to_string(),
            record["reward"]["id"].as_str().unwrap().to_string(),
        );
        let previous = accrued.entry(key).or_default().insert(
            record["beneficiary"]["id"].as_str().unwrap().to_string(),
            cents(&record["amount"]["amount"]),
        );
        assert!(
            previous.is_none(),
            "{context}: two records of one beneficiary for one report and reward"
        );
    }
    let mut expected_keys: BTreeSet<(String, String)> = BTreeSet::new();
    for report in &reports {
        for reward in &rewards {
            let key = (report.id.clone(), reward.id.clone());
            if !reward.accrues(report) {
                assert!(
                    !accrued.contains_key(&key),
                    "{context}: report {} accrued to reward {} outside its window, line or currency",
                    report.input,
                    reward.line
                );
                continue;
            }
            let pool = pool(report.net_cents, reward.share_bps);
            let weights: Vec<i64> = reward.weights.iter().map(|(_, w)| *w).collect();
            let split = shares(pool, &weights);
            let want: BTreeMap<String, i64> = reward
                .weights
                .iter()
                .map(|(user, _)| user.clone())
                .zip(split)
                .collect();
            let got = accrued.get(&key).cloned().unwrap_or_default();
            assert_eq!(
                got.values().sum::<i64>(),
                pool,
                "{context}: the records of {} for reward {} ({} bps) sum to the pool",
                report.input,
                reward.id,
                reward.share_bps
            );
            assert_eq!(
                got, want,
                "{context}: the split of {} for reward {} ({} bps)",
                report.input, reward.id, reward.share_bps
            );
            expected_keys.insert(key);
        }
    }
    let keys: BTreeSet<(String, String)> = accrued.keys().cloned().collect();
    assert_eq!(keys, expected_keys, "{context}: no stray records");

    // ---- Reversals mirror their voided originals, one each.
    let mut reversed: BTreeSet<String> = BTreeSet::new();
    for reversal in records.iter().filter(|r| !r["reversalOf"].is_null()) {
        let original_id = reversal["reversalOf"]["id"].as_str().unwrap().to_string();
        let original = by_id
            .get(&original_id)
            .unwrap_or_else(|| panic!("{context}: the original of {reversal} is not listed"));
        assert!(
            original["reversalOf"].is_null(),
            "{context}: a reversal of a reversal"
        );
        assert_eq!(original["status"], "VOIDED", "{context}: {original}");
        assert_eq!(reversal["status"], "VOIDED", "{context}: {reversal}");
        assert_eq!(
            cents(&reversal["amount"]["amount"]),
            -cents(&original["amount"]["amount"]),
            "{context}: {reversal} against {original}"
        );
        assert_eq!(
            reversal["beneficiary"], original["beneficiary"],
            "{context}"
        );
        assert_eq!(reversal["reward"], original["reward"], "{context}");
        assert_eq!(
            reversal["salesReport"], original["salesReport"],
            "{context}"
        );
        assert!(
            reversed.insert(original_id),
            "{context}: {reversal}: a second reversal"
        );
    }
    // ---- Statuses follow the operations.
    for record in records.iter().filter(|r| r["reversalOf"].is_null()) {
        let id = id_of(record);
        let want = expected_status.get(&id).copied().unwrap_or("PENDING");
        assert_eq!(record["status"], want, "{context}: {record}");
        assert_eq!(
            want == "VOIDED",
            reversed.contains(&id),
            "{context}: a voided record has exactly one reversal: {record}"
        );
    }
    assert_eq!(reversed.len(), voids, "{context}");

    // ---- Statements add up per beneficiary, and for everybody.
    let mut everybody = Totals::new();
    for user in &users {
        let mut want = Totals::new();
        for record in records
            .iter()
            .filter(|r| r["beneficiary"]["id"] == user.id.as_str())
        {
            let key = (
                record["amount"]["currency"].as_str().unwrap().to_string(),
                record["status"].as_str().unwrap().to_string(),
            );
            let entry = want.entry(key.clone()).or_insert((0, 0));
            entry.0 += cents(&record["amount"]["amount"]);
            entry.1 += 1;
            let all = everybody.entry(key).or_insert((0, 0));
            all.0 += cents(&record["amount"]["amount"]);
            all.1 += 1;
        }
        let got = statement_totals(&app, &admin, Some(user.id.as_str())).await;
        assert_eq!(got, want, "{context}: the statement of {}", user.handle);
    }
    assert_eq!(
        statement_totals(&app, &admin, None).await,
        everybody,
        "{context}: everybody's statement"
    );

    // ---- The stored amounts agree with the listed ones.
    let listed_sum: i64 = records.iter().map(|r| cents(&r["amount"]["amount"])).sum();
    let stored_sum: i64 = app
        .sql_strings(
            "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM revenue_share_record",
        )
        .await[0]
        .parse()
        .unwrap();
    assert_eq!(stored_sum, listed_sum, "{context}");

    // ---- The audit log counts every step once.
    let originals = records.iter().filter(|r| r["reversalOf"].is_null()).count();
    let mut counted: BTreeMap<String, usize> = BTreeMap::new();
    for action in audit_actions(&app, &admin, "REVENUE_SHARE_RECORD").await {
        *counted.entry(action).or_default() += 1;
    }
    let count = |action: &str| counted.get(action).copied().unwrap_or(0);
    assert_eq!(count("ACCRUED"), originals, "{context}: ACCRUED");
    assert_eq!(count("APPROVED"), approvals, "{context}: APPROVED");
    assert_eq!(count("PAID"), payments, "{context}: PAID");
    assert_eq!(count("VOIDED"), voids, "{context}: VOIDED");
    assert_eq!(count("REVERSAL"), voids, "{context}: REVERSAL");
    assert_eq!(
        counted.values().sum::<usize>(),
        originals + approvals + payments + 2 * voids,
        "{context}: no other entries ({conflicts} refused batches): {counted:?}"
    );
    let reported = audit_actions(&app, &admin, "SALES_REPORT").await;
    assert_eq!(
        reported.len(),
        reports.len(),
        "{context}: one REPORTED per report"
    );
    assert!(
        reported.iter().all(|a| a == "REPORTED"),
        "{context}: {reported:?}"
    );
}

#[tokio::test]
async fn a_random_ledger_agrees_with_a_recomputation() {
    run(0x5eed_1dea, 40).await;
}

#[tokio::test]
async fn another_random_ledger_agrees_with_a_recomputation() {
    run(0x0dd_c0ffee, 45).await;
}
