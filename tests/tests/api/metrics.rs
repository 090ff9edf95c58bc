//! Loop metrics: every figure of `communityMetrics` against a hand-made fixture on a stopped
//! server clock, the empty community, and who may read them.

use canyu_tests::{TestApp, TestUser, assert_code};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::support::{auth, create_community, id_of, member, new_id, ok, staff};

const METRICS: &str = "query($c: ID!, $from: DateTime, $to: DateTime) { communityMetrics(communityId: $c, from: $from, to: $to) { communityId from to suggestionCount byKind { kind count } byStatus { status count } respondedCount replyRate complaintCount complaintReplyRate medianFirstResponseSeconds meanFirstResponseSeconds resolvedCount meanResolutionSeconds decidedCount adoptionRate topContributorShare releasedItemCount userSourcedReleaseShare } }";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

async fn metrics(
    app: &TestApp,
    viewer: Option<&TestUser>,
    community: &str,
    window: Value,
) -> Value {
    let mut variables = json!({ "c": community });
    for (key, value) in window.as_object().unwrap() {
        variables[key] = value.clone();
    }
    app.graphql(METRICS, variables, viewer.and_then(auth)).await
}

/// Submits a suggestion of `kind` at `t0 + offset` seconds; returns its id.
async fn submit_at(
    app: &TestApp,
    t0: DateTime<Utc>,
    offset: i64,
    author: &TestUser,
    community: &str,
    kind: &str,
) -> String {
    app.state.clock.set(t0 + Duration::seconds(offset));
    let body = app
        .graphql(
            "mutation($input: SubmitSuggestionInput!) { submitSuggestion(input: $input) { id } }",
            json!({ "input": { "id": new_id(), "communityId": community, "kind": kind,
                               "title": format!("A {kind} at {offset}"), "body": "" } }),
            auth(author),
        )
        .await;
    id_of(ok(&body, "submitSuggestion"))
}

async fn respond_at(app: &TestApp, t0: DateTime<Utc>, offset: i64, brand: &TestUser, id: &str) {
    app.state.clock.set(t0 + Duration::seconds(offset));
    let body = app
        .graphql(
            "mutation($input: RespondInput!) { respondToSuggestion(input: $input) { id } }",
            json!({ "input": { "suggestionId": id, "body": "Thank you" } }),
            auth(brand),
        )
        .await;
    ok(&body, "respondToSuggestion");
}

async fn status_at(
    app: &TestApp,
    t0: DateTime<Utc>,
    offset: i64,
    brand: &TestUser,
    id: &str,
    status: &str,
) {
    app.state.clock.set(t0 + Duration::seconds(offset));
    let body = app
        .graphql(
            "mutation($input: SetStatusInput!) { setSuggestionStatus(input: $input) { id } }",
            json!({ "input": { "suggestionId": id, "status": status } }),
            auth(brand),
        )
        .await;
    ok(&body, "setSuggestionStatus");
}

fn counts(list: &Value, key: &str) -> Vec<(String, i64)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e[key].as_str().unwrap().to_string(),
                e["count"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_figure_matches_a_hand_made_fixture() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "fans", "PUBLIC").await;
    let (ann, bob, cid) = (
        member(&app, "ann", &community).await,
        member(&app, "bob", &community).await,
        member(&app, "cid", &community).await,
    );
    let brand = staff(&app, "brand").await;
    let t0 = at("2026-02-01T00:00:00Z");

    // A: an idea answered after 100 s and shipped after 1000 s.
    let a = submit_at(&app, t0, 0, &ann, &community, "IDEA").await;
    // B: an idea answered after 300 s, then planned.
    let b = submit_at(&app, t0, 10, &ann, &community, "IDEA").await;
    // C: a complaint answered after 50 s and declined after 500 s.
    let c = submit_at(&app, t0, 20, &bob, &community, "COMPLAINT").await;
    // D: a complaint nobody answered.
    submit_at(&app, t0, 30, &bob, &community, "COMPLAINT").await;
    // E: a bug under review, unanswered.
    let e = submit_at(&app, t0, 40, &cid, &community, "BUG").await;
    // F: the next day, an idea answered after 60 s.
    let f = submit_at(&app, t0, 86_400 + 5, &ann, &community, "IDEA").await;
    respond_at(&app, t0, 100, &brand, &a).await;
    respond_at(&app, t0, 310, &brand, &b).await;
    respond_at(&app, t0, 70, &brand, &c).await;
    status_at(&app, t0, 1_000, &brand, &a, "SHIPPED").await;
    status_at(&app, t0, 400, &brand, &b, "PLANNED").await;
    status_at(&app, t0, 520, &brand, &c, "DECLINED").await;
    status_at(&app, t0, 600, &brand, &e, "UNDER_REVIEW").await;
    respond_at(&app, t0, 86_400 + 65, &brand, &f).await;
    // A release of three items, one of them A (already shipped), published on the first day.
    app.state.clock.set(t0 + Duration::seconds(2_000));
    let body = app
        .graphql(
            "mutation($input: CreateReleaseInput!) { createRelease(input: $input) { id } }",
            json!({ "input": { "communityId": community, "version": "1", "notes": "", "items": [
                { "title": "A", "suggestionId": a }, { "title": "Polish" }, { "title": "Fixes" },
            ] } }),
            auth(&brand),
        )
        .await;
    let release = id_of(ok(&body, "createRelease"));
    let body = app
        .graphql(
            "mutation($id: ID!) { publishRelease(id: $id) { id } }",
            json!({ "id": release }),
            auth(&brand),
        )
        .await;
    ok(&body, "publishRelease");

    let body = metrics(
        &app,
        Some(&brand),
        &community,
        json!({ "from": "2026-02-01T00:00:00Z", "to": "2026-02-02T00:00:00Z" }),
    )
    .await;
    let day = ok(&body, "communityMetrics");
    assert_eq!(day["suggestionCount"], 5);
    assert_eq!(
        counts(&day["byKind"], "kind"),
        [
            ("BUG".into(), 1),
            ("COMPLAINT".into(), 2),
            ("IDEA".into(), 2)
        ]
    );
    assert_eq!(
        counts(&day["byStatus"], "status"),
        [
            ("DECLINED".into(), 1),
            ("OPEN".into(), 1),
            ("PLANNED".into(), 1),
            ("SHIPPED".into(), 1),
            ("UNDER_REVIEW".into(), 1)
        ]
    );
    assert_eq!(day["respondedCount"], 3);
    assert_eq!(day["replyRate"], "0.6");
    assert_eq!(day["complaintCount"], 2);
    assert_eq!(day["complaintReplyRate"], "0.5");
    assert_eq!(day["medianFirstResponseSeconds"], "100");
    assert_eq!(day["meanFirstResponseSeconds"], "150");
    assert_eq!(day["resolvedCount"], 2);
    assert_eq!(day["meanResolutionSeconds"], "750");
    assert_eq!(day["decidedCount"], 3);
    assert_eq!(day["adoptionRate"], "0.666667");
    assert_eq!(day["topContributorShare"], "1");
    assert_eq!(day["releasedItemCount"], 3);
    assert_eq!(day["userSourcedReleaseShare"], "0.333333");

    // All time: F joins, the median is of an even count.
    let body = metrics(&app, Some(&owner), &community, json!({})).await;
    let all = ok(&body, "communityMetrics");
    assert_eq!(all["suggestionCount"], 6);
    assert_eq!(all["respondedCount"], 4);
    assert_eq!(all["replyRate"], "0.666667");
    assert_eq!(all["medianFirstResponseSeconds"], "80");
    assert_eq!(all["meanFirstResponseSeconds"], "127.5");
    assert!(all["from"].is_null());

    // The second day alone: no release, nothing resolved.
    let body = metrics(
        &app,
        Some(&brand),
        &community,
        json!({ "from": "2026-02-02T00:00:00Z" }),
    )
    .await;
    let next = ok(&body, "communityMetrics");
    assert_eq!(next["suggestionCount"], 1);
    assert!(next["meanResolutionSeconds"].is_null());
    assert!(next["adoptionRate"].is_null());
    assert!(next["complaintReplyRate"].is_null());
    assert_eq!(next["releasedItemCount"], 0);
    assert!(next["userSourcedReleaseShare"].is_null());
    assert_eq!(next["meanFirstResponseSeconds"], "60");
}

#[tokio::test]
async fn an_empty_community_has_counts_of_zero_and_no_ratios() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "quiet", "PUBLIC").await;
    let body = metrics(&app, Some(&owner), &community, json!({})).await;
    let empty = ok(&body, "communityMetrics");
    assert_eq!(empty["suggestionCount"], 0);
    assert_eq!(empty["byKind"], json!([]));
    for field in [
        "replyRate",
        "complaintReplyRate",
        "medianFirstResponseSeconds",
        "meanFirstResponseSeconds",
        "meanResolutionSeconds",
        "adoptionRate",
        "topContributorShare",
        "userSourcedReleaseShare",
    ] {
        assert!(empty[field].is_null(), "{field}: {empty}");
    }
}

#[tokio::test]
async fn metrics_are_for_the_communitys_moderators_and_the_brand() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let public = create_community(&app, &owner, "open", "PUBLIC").await;
    let private = create_community(&app, &owner, "closed", "PRIVATE").await;
    let fan = member(&app, "fan", &public).await;
    let moderator = member(&app, "moderator", &public).await;
    let body = app
        .graphql(
            "mutation($c: ID!, $u: ID!) { setMemberRole(communityId: $c, userId: $u, role: MODERATOR) { role } }",
            json!({ "c": public, "u": moderator.id }),
            auth(&owner),
        )
        .await;
    ok(&body, "setMemberRole");
    let admin = app.admin("boss").await;

    assert!(
        ok(
            &metrics(&app, Some(&moderator), &public, json!({})).await,
            "communityMetrics"
        )
        .is_object()
    );
    assert!(
        ok(
            &metrics(&app, Some(&admin), &private, json!({})).await,
            "communityMetrics"
        )
        .is_object()
    );
    assert_code(
        &metrics(&app, Some(&fan), &public, json!({})).await,
        "FORBIDDEN",
    );
    assert_code(
        &metrics(&app, None, &public, json!({})).await,
        "UNAUTHENTICATED",
    );
    assert_code(
        &metrics(&app, Some(&fan), &private, json!({})).await,
        "NOT_FOUND",
    );
    assert_code(
        &metrics(&app, Some(&owner), &new_id(), json!({})).await,
        "NOT_FOUND",
    );
    assert_code(
        &metrics(
            &app,
            Some(&owner),
            &public,
            json!({ "from": "2026-02-02T00:00:00Z", "to": "2026-02-01T00:00:00Z" }),
        )
        .await,
        "BAD_USER_INPUT",
    );
}

/// A `[from, to)` window of `communityMetrics` (an open end counts everything).
type Window = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// One suggestion as the test made it: seconds from `t0` to its creation, and from its
/// creation to its first response and resolution.
struct Made {
    id: String,
    author: usize,
    created: i64,
    status: &'static str,
    response: Option<i64>,
    resolved: Option<i64>,
    deleted: bool,
}

/// Where a suggestion may move by `setSuggestionStatus` (the rule of the closed loop).
fn moves(from: &str) -> Vec<&'static str> {
    let chain = ["OPEN", "UNDER_REVIEW", "PLANNED", "IN_PROGRESS", "SHIPPED"];
    match from {
        "DUPLICATE" => vec![],
        "DECLINED" | "SHIPPED" => vec!["UNDER_REVIEW"],
        _ => {
            let position = chain.iter().position(|s| *s == from).unwrap();
            let mut moves = chain[position + 1..].to_vec();
            moves.push("DECLINED");
            moves
        }
    }
}

fn decimal(value: &Value) -> Option<f64> {
    value.as_str().map(|text| text.parse().unwrap())
}

fn mean(values: &[i64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<i64>() as f64 / values.len() as f64)
}

fn median(values: &[i64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    (n > 0).then(|| (sorted[(n - 1) / 2] + sorted[n / 2]) as f64 / 2.0)
}

#[tokio::test]
async fn kept_figures_equal_the_suggestions_in_any_window_after_a_random_sequence() {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "fans", "PUBLIC").await;
    let mut authors = Vec::new();
    for handle in ["ann", "bob", "cid"] {
        authors.push(member(&app, handle, &community).await);
    }
    let brand = staff(&app, "brand").await;
    // Mid-morning: the first day and the last are part-days.
    let t0 = at("2026-02-01T09:00:00Z");
    let kinds = ["IDEA", "COMPLAINT", "BUG"];
    let mut rng = StdRng::seed_from_u64(43);
    let mut made: Vec<Made> = Vec::new();
    let mut now = 0i64;
    for _ in 0..90 {
        now += rng.gen_range(200..14_000);
        let live: Vec<usize> = (0..made.len()).filter(|&i| !made[i].deleted).collect();
        let pick = if live.is_empty() {
            None
        } else {
            Some(live[rng.gen_range(0..live.len())])
        };
        match (rng.gen_range(0..10), pick) {
            (0..4, _) | (_, None) => {
                let author = rng.gen_range(0..authors.len());
                let kind = kinds[rng.gen_range(0..kinds.len())];
                let id = submit_at(&app, t0, now, &authors[author], &community, kind).await;
                made.push(Made {
                    id,
                    author,
                    created: now,
                    status: "OPEN",
                    response: None,
                    resolved: None,
                    deleted: false,
                });
            }
            (4..6, Some(i)) => {
                respond_at(&app, t0, now, &brand, &made[i].id).await;
                let waited = now - made[i].created;
                made[i].response.get_or_insert(waited);
            }
            (6..8, Some(i)) => {
                let allowed = moves(made[i].status);
                if allowed.is_empty() {
                    continue;
                }
                let status = allowed[rng.gen_range(0..allowed.len())];
                status_at(&app, t0, now, &brand, &made[i].id, status).await;
                made[i].status = status;
                made[i].resolved =
                    matches!(status, "SHIPPED" | "DECLINED").then_some(now - made[i].created);
            }
            // Deleting now and then: most suggestions stay for the windows to count.
            (8, Some(i)) if rng.gen_bool(0.3) => {
                app.state.clock.set(t0 + Duration::seconds(now));
                let body = app
                    .graphql(
                        "mutation($id: ID!) { deleteSuggestion(suggestionId: $id) }",
                        json!({ "id": made[i].id }),
                        auth(&authors[made[i].author]),
                    )
                    .await;
                assert_eq!(ok(&body, "deleteSuggestion"), true);
                made[i].deleted = true;
            }
            (_, Some(i)) => {
                let Some(&original) = live
                    .iter()
                    .find(|&&j| j != i && made[j].status != "DUPLICATE")
                else {
                    continue;
                };
                if !matches!(made[i].status, "OPEN" | "UNDER_REVIEW") {
                    continue;
                }
                app.state.clock.set(t0 + Duration::seconds(now));
                let body = app
                    .graphql(
                        "mutation($input: MarkDuplicateInput!) { markDuplicate(input: $input) { status } }",
                        json!({ "input": { "suggestionId": made[i].id, "duplicateOfId": made[original].id } }),
                        auth(&brand),
                    )
                    .await;
                assert_eq!(ok(&body, "markDuplicate")["status"], "DUPLICATE");
                made[i].status = "DUPLICATE";
            }
        }
    }
    assert!(made.iter().any(|m| m.deleted) && made.iter().any(|m| m.status == "DUPLICATE"));

    let day = |d: i64, hour: i64| at("2026-02-01T00:00:00Z") + Duration::hours(24 * d + hour);
    let last = t0 + Duration::seconds(now);
    let windows: Vec<Window> = vec![
        (None, None),
        (Some(day(0, 10)), Some(day(4, 14))),
        (Some(day(1, 0)), None),
        (None, Some(day(3, 0))),
        (Some(day(2, 6)), Some(day(2, 18))),
        (Some(day(1, 0)), Some(day(5, 0))),
        (Some(day(1, 23)), Some(day(2, 1))),
        (Some(t0), Some(last + Duration::seconds(1))),
    ];
    for (from, to) in windows {
        let inside: Vec<&Made> = made
            .iter()
            .filter(|m| !m.deleted)
            .filter(|m| {
                let created = t0 + Duration::seconds(m.created);
                from.is_none_or(|f| created >= f) && to.is_none_or(|t| created < t)
            })
            .collect();
        let mut window = json!({});
        if let Some(from) = from {
            window["from"] = json!(from.to_rfc3339());
        }
        if let Some(to) = to {
            window["to"] = json!(to.to_rfc3339());
        }
        let body = metrics(&app, Some(&brand), &community, window.clone()).await;
        let got = ok(&body, "communityMetrics");
        let what = format!("window {window}: {got}");
        assert_eq!(got["suggestionCount"], inside.len(), "{what}");
        let mut by_status: Vec<(String, i64)> = Vec::new();
        for m in &inside {
            match by_status.iter_mut().find(|(s, _)| s == m.status) {
                Some((_, n)) => *n += 1,
                None => by_status.push((m.status.to_string(), 1)),
            }
        }
        by_status.sort();
        assert_eq!(counts(&got["byStatus"], "status"), by_status, "{what}");
        let responses: Vec<i64> = inside.iter().filter_map(|m| m.response).collect();
        let resolutions: Vec<i64> = inside.iter().filter_map(|m| m.resolved).collect();
        assert_eq!(got["respondedCount"], responses.len(), "{what}");
        assert_eq!(got["resolvedCount"], resolutions.len(), "{what}");
        for (field, expected) in [
            ("meanFirstResponseSeconds", mean(&responses)),
            ("medianFirstResponseSeconds", median(&responses)),
            ("meanResolutionSeconds", mean(&resolutions)),
        ] {
            match (decimal(&got[field]), expected) {
                (Some(got), Some(expected)) => {
                    assert!(
                        (got - expected).abs() < 0.001,
                        "{field} {got} ≠ {expected}: {what}"
                    )
                }
                (got, expected) => assert_eq!(got, expected, "{field}: {what}"),
            }
        }
    }
}
