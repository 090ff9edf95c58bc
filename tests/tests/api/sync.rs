//! Offline sync (SYNC.md and the contract in notes/sync-contract.md), through the reference
//! client of `sync_client.rs`: push with per-client mutation ids (replays, gaps, reused ids,
//! permanent and transient failures, foreign client groups), pull (commit order, paging,
//! clocks, acks, empty pulls, tombstones and resets, scopes gained and lost, foreign and
//! garbled cursors, schema versions), conflict rules (votes, ballots, field merges), revenue
//! shares' visibility, and the `syncPoke` subscription.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use canyu::db::WriteTransaction;
use canyu_tests::{TestApp, TestUser, assert_code, on_postgres};
use chrono::{DateTime, TimeDelta, Utc};
use futures_util::future::join;
use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::{Value, json};

use crate::support::{
    self, auth, connect, create_community, execute, id_of, member, new_id, node_ids, ok,
    read_suggestion, receive, scalar, staff, submit,
};
use crate::sync_client::{
    PULL, PUSH, SyncClient, change_kind, changes_of, entity_of, idea, ids_in, list, mutation,
    result_of, scope_events_of, summary, text_of,
};

const POKE: &str = "subscription($id: ID!) { syncPoke(clientGroupId: $id) }";
const DELETE: &str = "mutation($id: ID!) { deleteSuggestion(suggestionId: $id) }";
const INVITE: &str =
    "mutation($c: ID!, $u: ID!) { inviteToCommunity(communityId: $c, userId: $u) { status } }";
const EDIT: &str =
    "mutation($input: EditSuggestionInput!) { editSuggestion(input: $input) { id title body } }";
const COUNTERS: &str = "upvotes downvotes commentCount";

// ---------------------------------------------------------------------------------------------
// The cast and small helpers
// ---------------------------------------------------------------------------------------------

/// A server, a public community "fans" of `owner`, and two members.
struct Scene {
    app: TestApp,
    owner: TestUser,
    community: String,
    alice: TestUser,
    bob: TestUser,
}

async fn scene() -> Scene {
    scene_with(&[]).await
}

async fn scene_with(overrides: &[(&str, &str)]) -> Scene {
    let app = TestApp::spawn_with(overrides).await;
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "fans", "PUBLIC").await;
    let alice = member(&app, "alice", &community).await;
    let bob = member(&app, "bob", &community).await;
    Scene {
        app,
        owner,
        community,
        alice,
        bob,
    }
}

/// Suggestions that are not deleted.
async fn live_suggestions(app: &TestApp) -> i64 {
    scalar(
        app,
        "SELECT COUNT(*) FROM suggestion WHERE deleted_at IS NULL",
    )
    .await
}

/// `{ upvotes downvotes commentCount }` of a suggestion as `viewer` reads it.
async fn counters(app: &TestApp, viewer: &TestUser, id: &str) -> Value {
    read_suggestion(app, Some(viewer), id, COUNTERS).await
}

/// `{ "upvotes": up, "downvotes": down, "commentCount": comments }`.
fn counts(up: i64, down: i64, comments: i64) -> Value {
    json!({ "upvotes": up, "downvotes": down, "commentCount": comments })
}

/// (kind, scope, entityId, op, seq) of a change.
type ChangeKey = (String, String, String, String, String);

/// The (kind, scope, entityId, op, seq) of every change of a page: what a pull returned,
/// without the entities' contents.
fn change_keys(page: &Value) -> Vec<ChangeKey> {
    list(&page["changes"])
        .iter()
        .map(|change| {
            (
                change_kind(change),
                text_of(change, "scope"),
                text_of(change, "entityId"),
                text_of(change, "op"),
                text_of(change, "seq"),
            )
        })
        .collect()
}

/// Asserts no (kind, scope, entityId) comes twice among `changes`.
#[track_caller]
fn assert_each_row_once(changes: &[&Value]) {
    let mut seen: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for change in changes {
        *seen
            .entry((
                change_kind(change),
                text_of(change, "scope"),
                text_of(change, "entityId"),
            ))
            .or_default() += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "rows delivered more than once: {twice:?}");
}

/// Asserts every page of `pages` carries at most `limit` changes.
#[track_caller]
fn assert_pages_within(pages: &[Value], limit: usize) {
    for page in pages {
        let n = list(&page["changes"]).len();
        assert!(n <= limit, "a page of {n} changes with limit {limit}");
    }
}

/// A parsed RFC 3339 value.
#[track_caller]
fn instant(value: &Value) -> DateTime<Utc> {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a DateTime: {value}"));
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("not RFC 3339: {text}: {e}"))
        .with_timezone(&Utc)
}

/// A decimal string without trailing zeros after the point.
fn norm(text: &str) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text.to_string()
    }
}

fn as_uuid(text: &str) -> uuid::Uuid {
    uuid::Uuid::parse_str(text).unwrap_or_else(|e| panic!("not a UUID: {text}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// 1. Replays
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_replayed_push_returns_the_stored_results_and_changes_nothing() {
    let s = scene().await;
    let app = &s.app;
    let mut device = SyncClient::new(&s.alice);
    let id = new_id();
    device.queue("CREATE_SUGGESTION", idea(&id, &s.community, "Replay me"));
    device.queue("SET_VOTE", json!({ "suggestionId": id, "value": "UP" }));
    device.queue(
        "ADD_COMMENT",
        json!({ "id": new_id(), "suggestionId": id, "body": "First!" }),
    );
    let batch = device.outbox.clone();

    let first = device.push(app).await;
    assert_eq!(first["lastMutationId"], 3, "{first}");
    assert_eq!(summary(&first), ["1 APPLIED", "2 APPLIED", "3 APPLIED"]);
    for result in list(&first["results"]) {
        assert_eq!(result["replayed"], false, "{result}");
        assert!(
            result["seq"].is_string(),
            "APPLIED carries its seq: {result}"
        );
    }
    assert!(first["retryAfterMs"].is_null(), "{first}");
    assert!(device.outbox.is_empty());
    device.pull_all(app, 100).await;
    let stored = (
        app.count("suggestion").await,
        app.count("vote").await,
        app.count("comment").await,
    );
    assert_eq!(stored, (1, 1, 1));

    for _ in 0..2 {
        let body = device.send(app, &batch).await;
        let again = ok(&body, "push");
        assert_eq!(again["lastMutationId"], 3, "{again}");
        let results = list(&again["results"]);
        assert_eq!(results.len(), 3, "{again}");
        for (before, after) in list(&first["results"]).iter().zip(results) {
            assert_eq!(after["replayed"], true, "{after}");
            for key in ["id", "outcome", "code", "seq"] {
                assert_eq!(after[key], before[key], "{key}: {after} against {before}");
            }
        }
    }
    let stored_again = (
        app.count("suggestion").await,
        app.count("vote").await,
        app.count("comment").await,
    );
    assert_eq!(stored_again, (1, 1, 1), "a replay wrote something");
    assert_eq!(counters(app, &s.bob, &id).await, counts(1, 0, 1));
    let page = device.pull(app, 100).await;
    assert_eq!(page["changes"], json!([]), "a replay made changes: {page}");
}

// ---------------------------------------------------------------------------------------------
// 2. Gaps
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_batch_with_a_gap_applies_up_to_the_gap_only() {
    let s = scene().await;
    let app = &s.app;
    let mut device = SyncClient::new(&s.alice);
    let ids: Vec<String> = (0..5).map(|_| new_id()).collect();
    for (n, id) in ids.iter().enumerate() {
        device.queue(
            "CREATE_SUGGESTION",
            idea(id, &s.community, &format!("Gap idea {n}")),
        );
    }

    let with_gap: Vec<Value> = device
        .outbox
        .iter()
        .filter(|m| m["id"] != 3)
        .cloned()
        .collect();
    let body = device.send(app, &with_gap).await;
    let payload = ok(&body, "push");
    assert_eq!(payload["lastMutationId"], 2, "{payload}");
    assert_eq!(summary(payload), ["1 APPLIED", "2 APPLIED"]);
    assert_eq!(app.count("suggestion").await, 2);
    for id in &ids[2..] {
        assert!(read_suggestion(app, Some(&s.bob), id, "id").await.is_null());
    }

    // A batch that starts beyond lastMutationId + 1 applies nothing at all.
    let late = device.outbox[3..].to_vec();
    let body = device.send(app, &late).await;
    let payload = ok(&body, "push");
    assert_eq!(payload["lastMutationId"], 2, "{payload}");
    assert_eq!(payload["results"], json!([]), "{payload}");
    assert_eq!(app.count("suggestion").await, 2);

    // Resending from the start: 1 and 2 are replays, 3–5 run.
    let payload = device.push(app).await;
    assert_eq!(payload["lastMutationId"], 5, "{payload}");
    assert_eq!(
        summary(&payload),
        [
            "1 APPLIED",
            "2 APPLIED",
            "3 APPLIED",
            "4 APPLIED",
            "5 APPLIED"
        ]
    );
    let replayed: Vec<Value> = list(&payload["results"])
        .iter()
        .map(|r| r["replayed"].clone())
        .collect();
    assert_eq!(
        replayed,
        [
            json!(true),
            json!(true),
            json!(false),
            json!(false),
            json!(false)
        ]
    );
    assert!(device.outbox.is_empty());
    assert_eq!(app.count("suggestion").await, 5);
}

// ---------------------------------------------------------------------------------------------
// 3. Reused ids
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_used_mutation_id_is_never_run_again_and_other_args_are_mutation_id_reused() {
    let s = scene().await;
    let app = &s.app;
    let mut device = SyncClient::new(&s.alice);
    let original_id = new_id();
    device.queue(
        "CREATE_SUGGESTION",
        idea(&original_id, &s.community, "Original title"),
    );
    let original = device.outbox.clone();
    let first = device.push(app).await;
    assert_eq!(summary(&first), ["1 APPLIED"]);

    // The same id and args: the stored result.
    let body = device.send(app, &original).await;
    let again = ok(&body, "push");
    assert_eq!(summary(again), ["1 APPLIED"]);
    assert_eq!(result_of(again, 1)["replayed"], true);
    assert_eq!(result_of(again, 1)["seq"], result_of(&first, 1)["seq"]);

    // The same id, other args.
    let sneaky_id = new_id();
    let reused = [mutation(
        1,
        "CREATE_SUGGESTION",
        idea(&sneaky_id, &s.community, "Sneaky title"),
    )];
    let body = device.send(app, &reused).await;
    let answer = ok(&body, "push");
    assert_eq!(summary(answer), ["1 REJECTED MUTATION_ID_REUSED"]);
    assert_eq!(result_of(answer, 1)["replayed"], true, "{answer}");
    assert_eq!(answer["lastMutationId"], 1, "{answer}");

    // The same id, another name.
    let renamed = [mutation(
        1,
        "SET_VOTE",
        json!({ "suggestionId": original_id, "value": "UP" }),
    )];
    let body = device.send(app, &renamed).await;
    let answer = ok(&body, "push");
    assert_eq!(summary(answer), ["1 REJECTED MUTATION_ID_REUSED"]);
    assert_eq!(answer["lastMutationId"], 1, "{answer}");

    assert_eq!(app.count("suggestion").await, 1);
    assert_eq!(app.count("vote").await, 0);
    assert!(
        read_suggestion(app, Some(&s.bob), &sneaky_id, "id")
            .await
            .is_null()
    );
    let seen = read_suggestion(app, Some(&s.bob), &original_id, "title upvotes").await;
    assert_eq!(seen, json!({ "title": "Original title", "upvotes": 0 }));

    // The original still replays as it was, and the next id runs.
    let body = device.send(app, &original).await;
    assert_eq!(summary(ok(&body, "push")), ["1 APPLIED"]);
    device.queue(
        "SET_VOTE",
        json!({ "suggestionId": original_id, "value": "UP" }),
    );
    let next = device.push(app).await;
    assert_eq!(summary(&next), ["2 APPLIED"]);
    assert_eq!(next["lastMutationId"], 2);
    assert_eq!(counters(app, &s.bob, &original_id).await, counts(1, 0, 0));
}

// ---------------------------------------------------------------------------------------------
// 4. Permanent failures
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_permanently_invalid_mutation_is_rejected_and_the_queue_moves_on() {
    let s = scene().await;
    let app = &s.app;
    let mut device = SyncClient::new(&s.alice);
    let good = new_id();
    device.queue(
        "CREATE_SUGGESTION",
        idea(&good, &s.community, "A good idea"),
    );
    device.queue("CREATE_SUGGESTION", idea(&new_id(), &s.community, "x"));
    device.queue(
        "SET_VOTE",
        json!({ "suggestionId": new_id(), "value": "UP" }),
    );
    let mut extra = idea(&new_id(), &s.community, "An extra field");
    extra["bogus"] = json!(1);
    device.queue("CREATE_SUGGESTION", extra);
    let mut without_id = idea(&new_id(), &s.community, "Without an id");
    if let Some(fields) = without_id.as_object_mut() {
        fields.remove("id");
    }
    device.queue("CREATE_SUGGESTION", without_id);
    device.queue("SET_VOTE", json!({ "suggestionId": good }));
    device.queue("SET_VOTE", json!({ "suggestionId": good, "value": 5 }));
    device.queue(
        "ADD_COMMENT",
        json!({ "suggestionId": good, "body": "No id" }),
    );
    device.queue("DELETE_SUGGESTION", json!("not an object"));
    device.queue("SET_VOTE", json!({ "suggestionId": good, "value": "UP" }));
    device.queue(
        "ADD_COMMENT",
        json!({ "id": new_id(), "suggestionId": good, "body": "Still works" }),
    );

    let payload = device.push(app).await;
    assert_eq!(payload["lastMutationId"], 11, "{payload}");
    assert_eq!(
        summary(&payload),
        [
            "1 APPLIED",
            "2 REJECTED BAD_USER_INPUT",
            "3 REJECTED NOT_FOUND",
            "4 REJECTED INVALID_ARGS",
            "5 REJECTED INVALID_ARGS",
            "6 REJECTED INVALID_ARGS",
            "7 REJECTED INVALID_ARGS",
            "8 REJECTED INVALID_ARGS",
            "9 REJECTED INVALID_ARGS",
            "10 APPLIED",
            "11 APPLIED",
        ]
    );
    for result in list(&payload["results"]) {
        assert_eq!(result["replayed"], false, "{result}");
        if result["outcome"] == "REJECTED" {
            assert!(
                result["message"].as_str().is_some_and(|m| !m.is_empty()),
                "a rejection explains itself: {result}"
            );
        }
    }
    assert!(payload["retryAfterMs"].is_null(), "{payload}");
    assert!(device.outbox.is_empty(), "rejections leave the outbox too");
    assert_eq!(app.count("suggestion").await, 1);
    assert_eq!(app.count("vote").await, 1);
    assert_eq!(app.count("comment").await, 1);
    assert_eq!(counters(app, &s.bob, &good).await, counts(1, 0, 1));

    // A forbidden write is permanent too: bob may not delete alice's idea; his vote applies.
    let mut bobs = SyncClient::new(&s.bob);
    bobs.queue("DELETE_SUGGESTION", json!({ "id": good }));
    bobs.queue("SET_VOTE", json!({ "suggestionId": good, "value": "DOWN" }));
    let payload = bobs.push(app).await;
    assert_eq!(summary(&payload), ["1 REJECTED FORBIDDEN", "2 APPLIED"]);
    assert_eq!(payload["lastMutationId"], 2);
    assert_eq!(counters(app, &s.alice, &good).await, counts(1, 1, 1));

    // 101 mutations: BAD_USER_INPUT and nothing applied; 100 then 1 go through.
    let mut bulk = SyncClient::new(&s.alice);
    for n in 0..101 {
        bulk.queue(
            "CREATE_SUGGESTION",
            idea(&new_id(), &s.community, &format!("Bulk idea {n}")),
        );
    }
    let body = bulk.send(app, &bulk.outbox).await;
    assert_code(&body, "BAD_USER_INPUT");
    assert_eq!(app.count("suggestion").await, 1);
    let payload = bulk.push(app).await;
    assert_eq!(payload["lastMutationId"], 100, "{payload}");
    assert_eq!(bulk.outbox_ids(), [101_i64]);
    let payload = bulk.push(app).await;
    assert_eq!(payload["lastMutationId"], 101, "{payload}");
    assert_eq!(app.count("suggestion").await, 102);
}

#[tokio::test]
async fn one_push_sent_several_times_at_once_applies_or_rejects_each_mutation_once() {
    let s = scene().await;
    let app = &s.app;
    let mut device = SyncClient::new(&s.alice);
    let good = new_id();
    device.queue(
        "CREATE_SUGGESTION",
        idea(&good, &s.community, "A good idea"),
    );
    device.queue(
        "SET_VOTE",
        json!({ "suggestionId": new_id(), "value": "UP" }),
    );
    device.queue("CREATE_SUGGESTION", idea(&new_id(), &s.community, "x"));
    device.queue(
        "ADD_COMMENT",
        json!({ "id": new_id(), "suggestionId": good, "body": "Counted once" }),
    );
    device.queue("SET_VOTE", json!({ "suggestionId": good, "value": "UP" }));
    // Each rejection is rolled back and recorded in a transaction of its own: another copy of
    // the push may run the same mutation in between, and then only one of them records it.
    let copies = (0..8).map(|_| device.send(app, &device.outbox));
    let bodies = futures_util::future::join_all(copies).await;
    let mut first_runs = BTreeMap::<i64, usize>::new();
    for body in &bodies {
        let payload = &body["data"]["push"];
        assert_eq!(payload["lastMutationId"], 5, "{body}");
        assert_eq!(
            summary(payload),
            [
                "1 APPLIED",
                "2 REJECTED NOT_FOUND",
                "3 REJECTED BAD_USER_INPUT",
                "4 APPLIED",
                "5 APPLIED",
            ],
            "{body}"
        );
        for result in list(&payload["results"]) {
            if result["replayed"] == false {
                *first_runs
                    .entry(result["id"].as_i64().unwrap())
                    .or_default() += 1;
            }
        }
    }
    assert_eq!(
        first_runs,
        BTreeMap::from([(1, 1), (2, 1), (3, 1), (4, 1), (5, 1)]),
        "each mutation runs once, every other copy replays it"
    );
    assert_eq!(app.count("sync_mutation_ledger").await, 5);
    assert_eq!(app.count("suggestion").await, 1);
    assert_eq!(app.count("comment").await, 1);
    assert_eq!(app.count("vote").await, 1);
    assert_eq!(counters(app, &s.bob, &good).await, counts(1, 0, 1));
}

/// The fewest statements (of three tries) a push of one changing SET_VOTE on each of `targets`
/// cost; each try flips every vote, so every mutation writes.
async fn statements_of_a_vote_push(
    app: &TestApp,
    device: &mut SyncClient,
    targets: &[String],
) -> f64 {
    let mut fewest = f64::MAX;
    for value in ["DOWN", "UP", "DOWN"] {
        for target in targets {
            device.queue(
                "SET_VOTE",
                json!({ "suggestionId": target, "value": value }),
            );
        }
        let before = support::db_queries(app).await;
        let payload = device.push(app).await;
        fewest = fewest.min(support::db_queries(app).await - before);
        assert!(
            summary(&payload)
                .iter()
                .all(|line| line.ends_with("APPLIED")),
            "{payload}"
        );
    }
    fewest
}

#[tokio::test]
#[cfg_attr(not(canyu_postgres), ignore = "needs Postgres (set TEST_DATABASE_URL)")]
async fn on_postgres_each_further_vote_of_a_push_costs_five_statements() {
    let s = scene().await;
    let app = &s.app;
    let mut device = SyncClient::new(&s.alice);
    let targets: Vec<String> = (0..3).map(|_| new_id()).collect();
    for (n, id) in targets.iter().enumerate() {
        device.queue(
            "CREATE_SUGGESTION",
            idea(id, &s.community, &format!("Idea number {n}")),
        );
        device.queue("SET_VOTE", json!({ "suggestionId": id, "value": "UP" }));
    }
    device.push(app).await;
    let one = statements_of_a_vote_push(app, &mut device, &targets[..1]).await;
    let three = statements_of_a_vote_push(app, &mut device, &targets).await;
    // Per mutation: lock the client, lock the suggestion with the voter's standing, write the
    // vote with its counters, index the change (taking the seq), and write the ledger row with
    // the client's bump. The push's pokes go out in one NOTIFY whatever its length.
    assert_eq!(
        (three - one) / 2.0,
        5.0,
        "a push of one vote ran {one} statements, of three votes {three}"
    );
    support::assert_counters_equal_vote_rows(app).await;
}

// ---------------------------------------------------------------------------------------------
// 5. Transient faults
// ---------------------------------------------------------------------------------------------

const SQLITE_FAULT: &str = "CREATE TRIGGER sync_test_fault BEFORE INSERT ON \"comment\" WHEN NEW.body = 'boom' BEGIN SELECT RAISE(ABORT, 'injected fault'); END";
const POSTGRES_FAULT_FUNCTION: &str = "CREATE OR REPLACE FUNCTION sync_test_fault() RETURNS trigger AS $$ BEGIN IF NEW.body = 'boom' THEN RAISE EXCEPTION 'injected fault'; END IF; RETURN NEW; END; $$ LANGUAGE plpgsql";
const POSTGRES_FAULT_TRIGGER: &str = "CREATE TRIGGER sync_test_fault BEFORE INSERT ON \"comment\" FOR EACH ROW EXECUTE FUNCTION sync_test_fault()";

/// Makes every insert of a comment whose body is 'boom' fail inside the database.
async fn install_fault(app: &TestApp) {
    if on_postgres() {
        execute(app, POSTGRES_FAULT_FUNCTION).await;
        execute(app, POSTGRES_FAULT_TRIGGER).await;
    } else {
        execute(app, SQLITE_FAULT).await;
    }
}

async fn remove_fault(app: &TestApp) {
    if on_postgres() {
        execute(app, "DROP TRIGGER sync_test_fault ON \"comment\"").await;
    } else {
        execute(app, "DROP TRIGGER sync_test_fault").await;
    }
}

#[tokio::test]
async fn a_transient_fault_mid_batch_leaves_no_partial_effects_and_a_resend_completes_once() {
    let s = scene().await;
    let app = &s.app;
    let target = submit(app, &s.owner, &s.community, "Fault tolerant").await;
    install_fault(app).await;

    let mut device = SyncClient::new(&s.alice);
    device.queue(
        "ADD_COMMENT",
        json!({ "id": new_id(), "suggestionId": target, "body": "fine" }),
    );
    device.queue(
        "ADD_COMMENT",
        json!({ "id": new_id(), "suggestionId": target, "body": "boom" }),
    );
    device.queue("SET_VOTE", json!({ "suggestionId": target, "value": "UP" }));
    let batch = device.outbox.clone();

    let payload = device.push(app).await;
    assert_eq!(payload["lastMutationId"], 1, "{payload}");
    assert_eq!(summary(&payload), ["1 APPLIED"]);
    assert_eq!(payload["retryAfterMs"], 1000, "{payload}");
    assert_eq!(device.outbox_ids(), [2_i64, 3]);
    let boom = "SELECT COUNT(*) FROM \"comment\" WHERE body = 'boom'";
    assert_eq!(scalar(app, boom).await, 0);
    assert_eq!(app.count("comment").await, 1);
    assert_eq!(app.count("vote").await, 0, "nothing after the fault ran");
    assert_eq!(counters(app, &s.bob, &target).await, counts(0, 0, 1));

    remove_fault(app).await;
    let payload = device.push(app).await;
    assert_eq!(payload["lastMutationId"], 3, "{payload}");
    assert_eq!(summary(&payload), ["2 APPLIED", "3 APPLIED"]);
    assert!(payload["retryAfterMs"].is_null(), "{payload}");
    assert!(device.outbox.is_empty());
    assert_eq!(scalar(app, boom).await, 1);
    assert_eq!(app.count("comment").await, 2);
    assert_eq!(app.count("vote").await, 1);
    assert_eq!(counters(app, &s.bob, &target).await, counts(1, 0, 2));

    // The whole batch once more: replays only.
    let body = device.send(app, &batch).await;
    let again = ok(&body, "push");
    assert_eq!(
        summary(again),
        ["1 APPLIED", "2 APPLIED", "3 APPLIED"],
        "{again}"
    );
    assert!(
        list(&again["results"])
            .iter()
            .all(|r| r["replayed"] == true)
    );
    assert_eq!(app.count("comment").await, 2);
    assert_eq!(app.count("vote").await, 1);
    assert_eq!(counters(app, &s.bob, &target).await, counts(1, 0, 2));
}

// ---------------------------------------------------------------------------------------------
// 6. Client groups belong to one user
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn another_users_client_group_or_client_is_forbidden_and_nothing_is_applied() {
    let s = scene().await;
    let app = &s.app;
    let mut device = SyncClient::new(&s.alice);
    let target = new_id();
    device.queue("CREATE_SUGGESTION", idea(&target, &s.community, "Mine"));
    assert_eq!(summary(&device.push(app).await), ["1 APPLIED"]);

    // Bob with alice's group.
    let mut intruder = SyncClient::in_group(&s.bob, &device.client_group_id);
    intruder.queue(
        "CREATE_SUGGESTION",
        idea(&new_id(), &s.community, "Not yours"),
    );
    intruder.queue(
        "SET_VOTE",
        json!({ "suggestionId": target, "value": "DOWN" }),
    );
    let body = intruder.push_raw(app).await;
    assert_code(&body, "FORBIDDEN");
    assert_eq!(intruder.outbox.len(), 2);
    assert_code(&intruder.pull_raw(app, 10).await, "FORBIDDEN");

    // Bob's own group with alice's client id.
    let mut borrowed = SyncClient::new(&s.bob);
    borrowed.client_id = device.client_id.clone();
    borrowed.queue(
        "CREATE_SUGGESTION",
        idea(&new_id(), &s.community, "Borrowed client"),
    );
    assert_code(&borrowed.push_raw(app).await, "FORBIDDEN");

    // A group first used by bob's pull is bob's.
    let mut bobs = SyncClient::new(&s.bob);
    bobs.pull_all(app, 10).await;
    let mut hijack = SyncClient::in_group(&s.alice, &bobs.client_group_id);
    hijack.queue(
        "CREATE_SUGGESTION",
        idea(&new_id(), &s.community, "Hijacked"),
    );
    assert_code(&hijack.push_raw(app).await, "FORBIDDEN");
    assert_code(&hijack.pull_raw(app, 10).await, "FORBIDDEN");

    // No token at all.
    let anonymous = app
        .graphql(
            PUSH,
            json!({ "input": device.push_input(&intruder.outbox) }),
            None,
        )
        .await;
    assert_code(&anonymous, "UNAUTHENTICATED");
    let anonymous = app
        .graphql(PULL, json!({ "input": device.pull_input(None, 10) }), None)
        .await;
    assert_code(&anonymous, "UNAUTHENTICATED");

    assert_eq!(app.count("suggestion").await, 1);
    assert_eq!(app.count("vote").await, 0);

    // The owner's device is unaffected.
    device.queue("SET_VOTE", json!({ "suggestionId": target, "value": "UP" }));
    assert_eq!(summary(&device.push(app).await), ["2 APPLIED"]);
    assert_eq!(counters(app, &s.bob, &target).await, counts(1, 0, 0));
}

// ---------------------------------------------------------------------------------------------
// 7. Commit order (Postgres)
// ---------------------------------------------------------------------------------------------

// SQLite takes its write lock at BEGIN, so two write transactions never overlap there.
#[tokio::test]
#[cfg_attr(not(canyu_postgres), ignore = "needs Postgres (set TEST_DATABASE_URL)")]
async fn a_transaction_that_starts_first_and_commits_last_is_still_delivered() {
    let s = scene().await;
    let app = &s.app;
    let carol = member(app, "carol", &s.community).await;
    // B writes in another community, so that it takes no lock A holds.
    let makers = create_community(app, &s.owner, "makers", "PUBLIC").await;
    support::join(app, &s.bob, &makers).await;
    support::join(app, &carol, &makers).await;
    let target = submit(app, &s.owner, &s.community, "Commit order").await;

    let mut watcher = SyncClient::new(&carol);
    watcher.pull_all(app, 100).await;
    let mut alices = SyncClient::new(&s.alice);
    alices.pull_all(app, 100).await;

    // A: alice's vote, written but not committed.
    let (txn, writer) = open_vote(app, &s.alice, &target).await;

    // B: bob's push commits first.
    let mut bobs = SyncClient::new(&s.bob);
    let late = new_id();
    bobs.queue("CREATE_SUGGESTION", idea(&late, &makers, "Committed first"));
    let pushed = tokio::time::timeout(Duration::from_secs(20), bobs.push(app))
        .await
        .expect("B waited for A");
    assert_eq!(summary(&pushed), ["1 APPLIED"]);

    // A began first: its seq is below B's, so B is held back while A is open — never
    // served before a change that could still appear below it — and the device is told
    // there is more to pull (it may have been poked for B alone).
    for _ in 0..2 {
        let between = watcher.pull(app, 100).await;
        assert!(
            suggestions_in(&between).is_empty(),
            "B is held back while A is open: {between}"
        );
        assert_eq!(between["hasMore"], true, "{between}");
    }
    let seen = watcher.entity("Suggestion", &target).unwrap();
    assert_eq!(seen["upvotes"], 0, "A is not committed: {seen}");

    writer.commit(txn, &app.state).await.unwrap();

    let after = watcher.pull_all(app, 100).await;
    let after_changes = changes_of(&after);
    assert_eq!(
        ids_in(&after_changes, "Suggestion"),
        [target.clone(), late.clone()],
        "once A commits, both arrive, A first, each once"
    );
    let seen = watcher.entity("Suggestion", &target).unwrap();
    assert_eq!(seen["upvotes"], 1, "{seen}");
    assert!(watcher.entity("Suggestion", &late).is_some());
    assert!(
        changes_of(&watcher.pull_all(app, 100).await).is_empty(),
        "nothing comes twice"
    );

    let mine = alices.pull_all(app, 100).await;
    let votes: Vec<&Value> = changes_of(&mine)
        .into_iter()
        .filter(|c| change_kind(c) == "Vote")
        .collect();
    assert_eq!(votes.len(), 1, "{votes:?}");
    assert_eq!(entity_of(votes[0])["suggestionId"], target.as_str());
    assert_eq!(entity_of(votes[0])["value"], "UP");
    assert_eq!(entity_of(votes[0])["userId"], s.alice.id.as_str());
}

/// `voter`'s vote on `target` through `app`'s pool, written in a transaction left open; its
/// transaction id is taken now, before any write that follows.
async fn open_vote(
    app: &TestApp,
    voter: &TestUser,
    target: &str,
) -> (WriteTransaction, canyu::changes::SyncWriter) {
    let txn = canyu::db::begin_write(&app.state.db).await.unwrap();
    let mut writer = canyu::changes::SyncWriter::new();
    let viewer = canyu::auth::Viewer::User(canyu::auth::UserViewer {
        id: as_uuid(&voter.id),
        role: canyu::auth::Role::Member,
    });
    canyu::services::votes::cast_in(
        &txn,
        &viewer,
        as_uuid(target),
        entity::vote::Value::Up,
        &mut writer,
    )
    .await
    .unwrap();
    (txn, writer)
}

/// A new idea pushed by `device` to `community`, applied; its id.
async fn push_idea(app: &TestApp, device: &mut SyncClient, community: &str, title: &str) -> String {
    let id = new_id();
    device.queue("CREATE_SUGGESTION", idea(&id, community, title));
    assert_eq!(summary(&device.push(app).await), ["1 APPLIED"]);
    id
}

/// The suggestions one pull answer carries, in order.
fn suggestions_in(page: &Value) -> Vec<String> {
    ids_in(&changes_of(std::slice::from_ref(page)), "Suggestion")
}

// A writer that began first and commits a few milliseconds into a pull does not make the pull
// miss what committed after it began: the pull takes a new snapshot until the head passes the
// changes it saw held back, and serves both, the earlier writer's first.
#[tokio::test]
#[cfg_attr(not(canyu_postgres), ignore = "needs Postgres (set TEST_DATABASE_URL)")]
async fn a_pull_waits_for_an_earlier_writer_that_commits_meanwhile() {
    let s = scene().await;
    let app = &s.app;
    let target = submit(app, &s.owner, &s.community, "Held back").await;
    let mut watcher = SyncClient::new(&s.bob);
    watcher.pull_all(app, 100).await;

    let (txn, writer) = open_vote(app, &s.alice, &target).await;
    let late = push_idea(
        app,
        &mut SyncClient::new(&s.owner),
        &s.community,
        "After it",
    )
    .await;

    let commit_soon = async {
        tokio::time::sleep(Duration::from_millis(30)).await;
        writer.commit(txn, &app.state).await.unwrap();
    };
    let ((), page) = join(commit_soon, watcher.pull(app, 100)).await;
    assert_eq!(
        suggestions_in(&page),
        [target.clone(), late.clone()],
        "{page}"
    );
}

// Open transactions of other databases on the same Postgres server hold no pull back: the head
// is narrowed to this database's writers.
#[tokio::test]
#[cfg_attr(not(canyu_postgres), ignore = "needs Postgres (set TEST_DATABASE_URL)")]
async fn a_transaction_open_in_another_database_holds_no_pull_back() {
    let s = scene().await;
    let app = &s.app;
    let mut watcher = SyncClient::new(&s.bob);
    watcher.pull_all(app, 100).await;

    let elsewhere = sea_orm::Database::connect(std::env::var("TEST_DATABASE_URL").unwrap())
        .await
        .unwrap();
    let open = elsewhere.begin().await.unwrap();
    open.execute_unprepared("SELECT pg_current_xact_id()")
        .await
        .unwrap();

    let mut owners = SyncClient::new(&s.owner);
    let id = push_idea(app, &mut owners, &s.community, "Not held back").await;
    let page = watcher.pull(app, 100).await;
    assert_eq!(suggestions_in(&page), [id], "{page}");
    let acked = owners.pull(app, 100).await;
    assert_eq!(list(&acked["acks"]).len(), 1, "{acked}");
    open.rollback().await.unwrap();
}

// A write transaction of the server left idle (a task that stopped between statements) is
// ended by Postgres after the request time limit, so it holds pulls back no longer than that.
#[tokio::test]
#[cfg_attr(not(canyu_postgres), ignore = "needs Postgres (set TEST_DATABASE_URL)")]
async fn an_abandoned_write_holds_pulls_back_no_longer_than_the_request_time_limit() {
    let s = scene().await;
    let app = &s.app;
    let target = submit(app, &s.owner, &s.community, "Abandoned vote").await;
    let mut watcher = SyncClient::new(&s.bob);
    watcher.pull_all(app, 100).await;

    let quick = app.replica(&[("REQUEST_TIMEOUT_MS", "300")]).await;
    let (txn, writer) = open_vote(&quick, &s.alice, &target).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let late = push_idea(
        app,
        &mut SyncClient::new(&s.owner),
        &s.community,
        "After it",
    )
    .await;
    let page = watcher.pull(app, 100).await;
    assert_eq!(suggestions_in(&page), [late], "{page}");
    assert!(
        writer.commit(txn, &quick.state).await.is_err(),
        "the abandoned transaction was ended"
    );
    let seen = watcher.entity("Suggestion", &target).unwrap();
    assert_eq!(seen["upvotes"], 0, "{seen}");
}

// After a point-in-time recovery of the whole Postgres cluster its transaction ids go back: a
// cursor above every seq the database can hand out resets.
#[tokio::test]
#[cfg_attr(not(canyu_postgres), ignore = "needs Postgres (set TEST_DATABASE_URL)")]
async fn a_cursor_above_every_seq_handed_out_resets() {
    let s = scene().await;
    let app = &s.app;
    submit(app, &s.owner, &s.community, "Before the recovery").await;
    let mut device = SyncClient::new(&s.bob);
    device.pull_all(app, 100).await;
    execute(
        app,
        "UPDATE sync_counter SET xid_offset = xid_offset - 1000000000",
    )
    .await;
    let page = device.pull(app, 100).await;
    assert_eq!(page["reset"], true, "{page}");
}

/// Eight rounds of pushes to `server`: four new suggestions and three votes on the newest
/// each; then one writer fewer is left. Returns the suggestions made.
async fn write_rounds(
    mut device: SyncClient,
    server: &TestApp,
    community: &str,
    writers_left: &Cell<i32>,
) -> Vec<String> {
    let mut created: Vec<String> = Vec::new();
    for round in 0..8 {
        for n in 0..4 {
            let id = new_id();
            let title = format!("{} {round}.{n}", device.client_id);
            device.queue("CREATE_SUGGESTION", idea(&id, community, &title));
            created.push(id);
        }
        for id in created.iter().rev().take(3) {
            let value = if round % 2 == 0 { "UP" } else { "DOWN" };
            device.queue("SET_VOTE", json!({ "suggestionId": id, "value": value }));
        }
        device.push_all(server).await;
    }
    writers_left.set(writers_left.get() - 1);
    created
}

// Two replicas take pushes at once (each write on its own connection and transaction) while a
// device pulls small pages from both in turn: every change reaches it exactly once — no
// (entity, version) twice, the versions of an entity only ever rising — and in the end it holds
// every suggestion with the counters the API shows.
#[tokio::test]
#[cfg_attr(not(canyu_postgres), ignore = "needs Postgres (set TEST_DATABASE_URL)")]
async fn writers_on_two_replicas_reach_a_device_pulling_meanwhile_exactly_once() {
    let s = scene().await;
    let app = &s.app;
    let replica = app.replica(&[]).await;
    let carol = member(app, "carol", &s.community).await;
    let mut watcher = SyncClient::new(&carol);
    watcher.pull_all(app, 100).await;

    let writers_left = Cell::new(2);
    let pull = async {
        let mut pages = Vec::new();
        let mut turn = 0;
        while writers_left.get() > 0 {
            let server = if turn % 2 == 0 { app } else { &replica };
            pages.push(watcher.pull(server, 7).await);
            turn += 1;
        }
        pages.extend(watcher.pull_all(&replica, 7).await);
        pages
    };
    let ((by_alice, by_bob), pages) = join(
        join(
            write_rounds(SyncClient::new(&s.alice), app, &s.community, &writers_left),
            write_rounds(
                SyncClient::new(&s.bob),
                &replica,
                &s.community,
                &writers_left,
            ),
        ),
        pull,
    )
    .await;

    let mut versions: BTreeMap<(String, String), i64> = BTreeMap::new();
    for change in changes_of(&pages) {
        let key = (change_kind(change), text_of(change, "entityId"));
        let version = change["version"].as_i64().unwrap();
        if let Some(before) = versions.insert(key.clone(), version) {
            assert!(
                version > before,
                "{key:?} came as version {before}, then {version}"
            );
        }
    }
    let expected: BTreeSet<String> = by_alice.into_iter().chain(by_bob).collect();
    assert_eq!(expected.len(), 64);
    assert_eq!(watcher.ids_of("Suggestion"), expected);
    for id in &expected {
        let shown = read_suggestion(app, Some(&carol), id, COUNTERS).await;
        let held = watcher.entity("Suggestion", id).unwrap();
        assert_eq!(
            (held["upvotes"].clone(), held["downvotes"].clone()),
            (shown["upvotes"].clone(), shown["downvotes"].clone()),
            "{id}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 8. Paging
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_thousand_changes_paged_seven_at_a_time_arrive_exactly_once() {
    let s = scene().await;
    let app = &s.app;
    let mut author = SyncClient::new(&s.alice);
    let ids: Vec<String> = (0..1000).map(|_| new_id()).collect();
    for (n, id) in ids.iter().enumerate() {
        author.queue(
            "CREATE_SUGGESTION",
            idea(id, &s.community, &format!("Idea number {n}")),
        );
    }
    author.push_all(app).await;
    assert_eq!(app.count("suggestion").await, 1000);
    // Votes write two rows in one transaction (the vote and the suggestion's counters): rows
    // with one seq that page boundaries cut through.
    let mut voter = SyncClient::new(&s.bob);
    for id in &ids[..200] {
        voter.queue("SET_VOTE", json!({ "suggestionId": id, "value": "UP" }));
    }
    voter.push_all(app).await;

    let mut fresh = voter.new_device_of();
    let pages = fresh.pull_all(app, 7).await;
    assert_pages_within(&pages, 7);
    let changes = changes_of(&pages);
    assert_each_row_once(&changes);
    assert!(
        changes.iter().all(|c| c["op"] == "UPSERT"),
        "a first sync carries no tombstones"
    );
    let got: BTreeSet<String> = ids_in(&changes, "Suggestion").into_iter().collect();
    let want: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(got, want);
    assert_eq!(ids_in(&changes, "Vote").len(), 200);
    for id in &ids[..200] {
        assert_eq!(fresh.entity("Suggestion", id).unwrap()["upvotes"], 1);
    }

    // Changes after a cursor, seven at a time: each changed row once, in its final state.
    for id in &ids[200..300] {
        voter.queue("SET_VOTE", json!({ "suggestionId": id, "value": "DOWN" }));
    }
    for id in &ids[100..150] {
        voter.queue("SET_VOTE", json!({ "suggestionId": id, "value": "NONE" }));
    }
    for id in &ids[900..920] {
        author.queue("DELETE_SUGGESTION", json!({ "id": id }));
    }
    let (votes, deletes) = join(voter.push_all(app), author.push_all(app)).await;
    assert!(votes.len() + deletes.len() >= 3);
    let pages = fresh.pull_all(app, 7).await;
    assert_pages_within(&pages, 7);
    let changes = changes_of(&pages);
    assert_each_row_once(&changes);
    let changed: BTreeSet<String> = ids_in(&changes, "Suggestion").into_iter().collect();
    let expected: BTreeSet<String> = ids[100..150]
        .iter()
        .chain(&ids[200..300])
        .chain(&ids[900..920])
        .cloned()
        .collect();
    assert_eq!(changed, expected);
    assert_eq!(ids_in(&changes, "Vote").len(), 150);
    assert_eq!(fresh.ids_of("Suggestion").len(), 980);
    for id in &ids[200..300] {
        assert_eq!(fresh.entity("Suggestion", id).unwrap()["downvotes"], 1);
    }
    for id in &ids[100..150] {
        assert_eq!(fresh.entity("Suggestion", id).unwrap()["upvotes"], 0);
    }
    for id in &ids[900..920] {
        assert!(fresh.entity("Suggestion", id).is_none());
    }
}

// ---------------------------------------------------------------------------------------------
// 9. Clocks
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn clock_values_never_change_what_is_applied_or_pulled() {
    let s = scene().await;
    let app = &s.app;
    let mut device = SyncClient::new(&s.alice);
    let past = new_id();
    let future = new_id();
    device.queue_with(
        "CREATE_SUGGESTION",
        idea(&past, &s.community, "Sent from 1970"),
        json!({ "clientCreatedAt": "1970-01-01T00:00:00Z" }),
    );
    device.queue_with(
        "CREATE_SUGGESTION",
        idea(&future, &s.community, "Sent from 2999"),
        json!({ "clientCreatedAt": "2999-12-31T23:59:59Z" }),
    );
    device.queue_with(
        "SET_VOTE",
        json!({ "suggestionId": past, "value": "UP" }),
        json!({ "clientCreatedAt": "2999-12-31T23:59:59Z" }),
    );
    let payload = device.push(app).await;
    assert_eq!(summary(&payload), ["1 APPLIED", "2 APPLIED", "3 APPLIED"]);
    for id in [&past, &future] {
        let seen = read_suggestion(app, Some(&s.bob), id, "createdAt").await;
        let age = Utc::now() - instant(&seen["createdAt"]);
        assert!(
            age.num_minutes().abs() < 60,
            "the server's clock decides createdAt: {seen}"
        );
    }
    assert_eq!(counters(app, &s.bob, &past).await, counts(1, 0, 0));

    let mut watcher = SyncClient::new(&s.bob);
    watcher.pull_all(app, 100).await;
    let cursor = watcher.cursor.clone();
    for n in 0..3 {
        device.queue_with(
            "CREATE_SUGGESTION",
            idea(&new_id(), &s.community, &format!("Later idea {n}")),
            json!({ "clientCreatedAt": "1970-01-01T00:00:00Z" }),
        );
    }
    device.queue(
        "SET_VOTE",
        json!({ "suggestionId": future, "value": "DOWN" }),
    );
    device.queue(
        "ADD_COMMENT",
        json!({ "id": new_id(), "suggestionId": past, "body": "Timeless" }),
    );
    device.push_all(app).await;

    let before = pull_from(app, &watcher, cursor.as_deref()).await;
    assert!(!list(&before["changes"]).is_empty(), "{before}");
    assert_eq!(before["hasMore"], false, "{before}");
    let first_before = first_sync_keys(app, &watcher).await;

    for (moment, label) in [
        ("1971-01-01T00:00:00+00:00", "the far past"),
        ("2999-01-01T00:00:00+00:00", "the far future"),
    ] {
        for sql in [
            format!("UPDATE suggestion SET created_at = '{moment}', updated_at = '{moment}'"),
            format!("UPDATE vote SET created_at = '{moment}', updated_at = '{moment}'"),
            format!("UPDATE \"comment\" SET created_at = '{moment}'"),
        ] {
            execute(app, &sql).await;
        }
        let after = pull_from(app, &watcher, cursor.as_deref()).await;
        assert_eq!(
            change_keys(&after),
            change_keys(&before),
            "timestamps moved to {label} changed what the cursor returns"
        );
        assert_eq!(after["hasMore"], before["hasMore"]);
        assert_eq!(
            first_sync_keys(app, &watcher).await,
            first_before,
            "timestamps moved to {label} changed a first sync"
        );
        let body = watcher
            .pull_at(app, Some(&text_of(&after, "cursor")), 100)
            .await;
        assert_eq!(ok(&body, "pull")["changes"], json!([]), "{body}");
    }
}

/// One pull page from `cursor`, not applied.
async fn pull_from(app: &TestApp, device: &SyncClient, cursor: Option<&str>) -> Value {
    let body = device.pull_at(app, cursor, 100).await;
    ok(&body, "pull").clone()
}

/// What a first sync of a new device of `device`'s user receives, without the contents.
async fn first_sync_keys(app: &TestApp, device: &SyncClient) -> Vec<ChangeKey> {
    let mut fresh = device.new_device_of();
    let pages = fresh.pull_all(app, 100).await;
    pages.iter().flat_map(change_keys).collect()
}

// ---------------------------------------------------------------------------------------------
// 10. Acks and changes agree
// ---------------------------------------------------------------------------------------------

/// Pushes `ids` as CREATE_SUGGESTIONs, `per_round` queued and pushed at a time.
async fn push_rounds(
    app: &TestApp,
    device: &mut SyncClient,
    ids: &[String],
    community: &str,
    per_round: usize,
) {
    let label = device.client_id.clone();
    for (round, chunk) in ids.chunks(per_round).enumerate() {
        for (n, id) in chunk.iter().enumerate() {
            device.queue(
                "CREATE_SUGGESTION",
                idea(id, community, &format!("Round {round} idea {n} of {label}")),
            );
        }
        let payload = device.push(app).await;
        assert!(
            list(&payload["results"])
                .iter()
                .all(|r| r["outcome"] == "APPLIED"),
            "{payload}"
        );
    }
}

/// Every ack of `page` (already applied by `puller`) covers only effects the puller holds:
/// mutation n of a client created `effects[client][n - 1]`.
#[track_caller]
fn check_acks(
    puller: &SyncClient,
    page: &Value,
    effects: &BTreeMap<String, Vec<String>>,
    acked: &mut BTreeMap<String, i64>,
) {
    for ack in list(&page["acks"]) {
        let client = text_of(ack, "clientId");
        let last = ack["lastMutationId"]
            .as_i64()
            .unwrap_or_else(|| panic!("{ack}"));
        let ids = effects
            .get(&client)
            .unwrap_or_else(|| panic!("an ack for a client of another group: {ack}"));
        let upto = usize::try_from(last).unwrap_or_else(|_| panic!("{ack}"));
        assert!(upto <= ids.len(), "{ack}");
        for (n, id) in ids.iter().take(upto).enumerate() {
            assert!(
                puller.row("Suggestion", id).is_some(),
                "ack {ack} came before the effect of mutation {} ({id})",
                n + 1
            );
        }
        let previous = acked.insert(client, last).unwrap_or(0);
        assert!(last >= previous, "acks went backwards: {ack}");
    }
}

#[tokio::test]
async fn acks_never_run_ahead_of_the_changes_under_concurrent_pushes() {
    let s = scene().await;
    let app = &s.app;
    let mut first = SyncClient::new(&s.alice);
    let mut second = first.sibling();
    let mut puller = first.sibling();
    // The group exists (bound to alice) before the concurrent part starts.
    puller.pull_all(app, 10).await;
    let first_ids: Vec<String> = (0..32).map(|_| new_id()).collect();
    let second_ids: Vec<String> = (0..32).map(|_| new_id()).collect();
    let effects = BTreeMap::from([
        (first.client_id.clone(), first_ids.clone()),
        (second.client_id.clone(), second_ids.clone()),
    ]);
    let mut acked: BTreeMap<String, i64> = BTreeMap::new();
    let done = Cell::new(false);
    let community = s.community.clone();

    let pushes = async {
        join(
            push_rounds(app, &mut first, &first_ids, &community, 8),
            push_rounds(app, &mut second, &second_ids, &community, 8),
        )
        .await;
        done.set(true);
    };
    let pulling = async {
        let mut pages = 0;
        while !done.get() {
            let page = puller.pull(app, 3).await;
            check_acks(&puller, &page, &effects, &mut acked);
            pages += 1;
            assert!(pages < 20_000, "the pushes never ended");
        }
    };
    join(pushes, pulling).await;

    for _ in 0..5_000 {
        let page = puller.pull(app, 2).await;
        check_acks(&puller, &page, &effects, &mut acked);
        if page["hasMore"] != true {
            break;
        }
    }
    assert_eq!(acked.get(&first.client_id), Some(&32), "{acked:?}");
    assert_eq!(acked.get(&second.client_id), Some(&32), "{acked:?}");
    assert_eq!(puller.ids_of("Suggestion").len(), 64);
}

// ---------------------------------------------------------------------------------------------
// 11. Empty pulls
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_unchanged_cursor_returns_nothing() {
    let s = scene().await;
    let app = &s.app;
    submit(app, &s.owner, &s.community, "Already there").await;
    let mut device = SyncClient::new(&s.alice);
    let first = device.pull(app, 500).await;
    assert_eq!(first["reset"], false);
    assert_eq!(first["userId"], s.alice.id.as_str());
    let events = scope_events_of(std::slice::from_ref(&first));
    for scope in [
        format!("ADDED user:{}", s.alice.id),
        format!("ADDED community:{}", s.community),
    ] {
        assert!(events.contains(&scope), "{scope} missing from {events:?}");
    }
    device.pull_all(app, 500).await;

    let empty = |page: &Value| {
        assert_eq!(page["changes"], json!([]), "{page}");
        assert_eq!(page["scopeEvents"], json!([]), "{page}");
        assert_eq!(page["acks"], json!([]), "{page}");
        assert_eq!(page["hasMore"], false, "{page}");
        assert_eq!(page["reset"], false, "{page}");
        assert!(page["cursor"].is_string(), "{page}");
    };
    let held = device.cursor.clone();
    for _ in 0..3 {
        let page = device.pull(app, 100).await;
        empty(&page);
    }
    for _ in 0..2 {
        let body = device.pull_at(app, held.as_deref(), 100).await;
        empty(ok(&body, "pull"));
    }

    // The device's own push: its changes and its ack once, then nothing again.
    device.queue(
        "CREATE_SUGGESTION",
        idea(&new_id(), &s.community, "Pushed then pulled"),
    );
    device.push(app).await;
    let page = device.pull(app, 100).await;
    assert!(!list(&page["changes"]).is_empty(), "{page}");
    assert_eq!(
        page["acks"],
        json!([{ "clientId": device.client_id, "lastMutationId": 1 }]),
        "{page}"
    );
    let page = device.pull(app, 100).await;
    empty(&page);
}

// ---------------------------------------------------------------------------------------------
// 13. Create, then delete, offline
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn create_then_delete_offline_leaves_nothing_on_a_fresh_device_and_removes_it_elsewhere() {
    let s = scene().await;
    let app = &s.app;
    let mut writer = SyncClient::new(&s.alice);
    let old = new_id();
    writer.queue("CREATE_SUGGESTION", idea(&old, &s.community, "Seen by bob"));
    writer.push(app).await;
    let mut bobs = SyncClient::new(&s.bob);
    bobs.pull_all(app, 100).await;
    assert!(bobs.entity("Suggestion", &old).is_some());

    let fleeting = new_id();
    writer.queue(
        "CREATE_SUGGESTION",
        idea(&fleeting, &s.community, "Gone before sync"),
    );
    writer.queue("DELETE_SUGGESTION", json!({ "id": fleeting }));
    writer.queue("DELETE_SUGGESTION", json!({ "id": old }));
    let payload = writer.push(app).await;
    assert_eq!(summary(&payload), ["2 APPLIED", "3 APPLIED", "4 APPLIED"]);
    assert_eq!(live_suggestions(app).await, 0);

    let mut fresh = SyncClient::new(&s.bob);
    let pages = fresh.pull_all(app, 100).await;
    let changes = changes_of(&pages);
    assert!(ids_in(&changes, "Suggestion").is_empty(), "{changes:?}");
    assert!(
        changes.iter().all(|c| c["op"] == "UPSERT"),
        "a first sync carries no tombstones: {changes:?}"
    );
    assert!(fresh.rows_of("Suggestion").is_empty());

    let pages = bobs.pull_all(app, 100).await;
    let changes = changes_of(&pages);
    assert!(
        changes.iter().any(|c| change_kind(c) == "Suggestion"
            && c["entityId"] == old.as_str()
            && c["op"] == "DELETE"),
        "{changes:?}"
    );
    assert!(
        !changes
            .iter()
            .any(|c| c["entityId"] == fleeting.as_str() && c["op"] == "UPSERT"),
        "{changes:?}"
    );
    assert!(bobs.rows_of("Suggestion").is_empty());
    writer.pull_all(app, 100).await;
    assert!(writer.rows_of("Suggestion").is_empty());
}

// ---------------------------------------------------------------------------------------------
// 14. Deleted targets
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn writes_on_a_deleted_suggestion_are_entity_deleted_and_it_never_comes_back() {
    let s = scene().await;
    let app = &s.app;
    let mut online = SyncClient::new(&s.alice);
    let target = new_id();
    online.queue(
        "CREATE_SUGGESTION",
        idea(&target, &s.community, "Short-lived"),
    );
    online.push(app).await;
    let mut offline = online.new_device_of();
    offline.pull_all(app, 100).await;
    let mut bobs = SyncClient::new(&s.bob);
    bobs.pull_all(app, 100).await;

    online.queue("DELETE_SUGGESTION", json!({ "id": target }));
    assert_eq!(summary(&online.push(app).await), ["2 APPLIED"]);

    offline.queue(
        "EDIT_SUGGESTION",
        json!({ "id": target, "title": "Edited offline" }),
    );
    offline.queue("SET_VOTE", json!({ "suggestionId": target, "value": "UP" }));
    offline.queue(
        "ADD_COMMENT",
        json!({ "id": new_id(), "suggestionId": target, "body": "Too late" }),
    );
    offline.queue(
        "CREATE_SUGGESTION",
        idea(&target, &s.community, "Back from the dead"),
    );
    offline.queue("DELETE_SUGGESTION", json!({ "id": target }));
    let payload = offline.push(app).await;
    assert_eq!(
        summary(&payload),
        [
            "1 REJECTED ENTITY_DELETED",
            "2 REJECTED ENTITY_DELETED",
            "3 REJECTED ENTITY_DELETED",
            "4 REJECTED ENTITY_DELETED",
            "5 REJECTED ENTITY_DELETED",
        ]
    );
    assert_eq!(payload["lastMutationId"], 5);
    bobs.queue(
        "SET_VOTE",
        json!({ "suggestionId": target, "value": "DOWN" }),
    );
    assert_eq!(
        summary(&bobs.push(app).await),
        ["1 REJECTED ENTITY_DELETED"]
    );

    assert_eq!(app.count("vote").await, 0);
    assert_eq!(app.count("comment").await, 0);
    assert_eq!(live_suggestions(app).await, 0);
    assert!(
        read_suggestion(app, Some(&s.alice), &target, "id")
            .await
            .is_null()
    );

    for device in [&mut offline, &mut bobs, &mut online] {
        let pages = device.pull_all(app, 100).await;
        for change in changes_of(&pages) {
            if change["entityId"] == target.as_str() {
                assert_eq!(change["op"], "DELETE", "it came back: {change}");
            }
        }
        assert!(device.entity("Suggestion", &target).is_none());
    }
    let mut fresh = SyncClient::new(&s.bob);
    fresh.pull_all(app, 100).await;
    assert!(fresh.entity("Suggestion", &target).is_none());
}

// ---------------------------------------------------------------------------------------------
// 15. The tombstone horizon
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_cursor_older_than_the_horizon_resets_and_the_outbox_survives() {
    let s = scene_with(&[("SYNC_TOMBSTONE_HORIZON_SECS", "1")]).await;
    let app = &s.app;
    let mut writer = SyncClient::new(&s.alice);
    let gone = new_id();
    let stays = new_id();
    writer.queue(
        "CREATE_SUGGESTION",
        idea(&gone, &s.community, "Deleted later"),
    );
    writer.queue("CREATE_SUGGESTION", idea(&stays, &s.community, "Stays"));
    writer.push(app).await;

    let mut behind = SyncClient::new(&s.bob);
    behind.pull_all(app, 100).await;
    assert_eq!(behind.ids_of("Suggestion").len(), 2);

    writer.queue("DELETE_SUGGESTION", json!({ "id": gone }));
    assert_eq!(summary(&writer.push(app).await), ["3 APPLIED"]);
    let mut current = behind.new_device_of();
    current.pull_all(app, 100).await;

    // Offline meanwhile: a vote waits in the outbox.
    behind.queue("SET_VOTE", json!({ "suggestionId": stays, "value": "UP" }));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let purged = canyu::sync::compact(&app.state).await.unwrap();
    assert!(purged >= 1, "the tombstone is past the horizon: {purged}");

    let page = behind.pull(app, 100).await;
    assert_eq!(page["reset"], true, "{page}");
    assert_eq!(behind.resets, 1);
    assert_eq!(behind.outbox_ids(), [1_i64], "a reset keeps the outbox");
    behind.pull_all(app, 100).await;
    let held = behind.ids_of("Suggestion");
    assert_eq!(held, BTreeSet::from([stays.clone()]));

    let page = current.pull(app, 100).await;
    assert_eq!(page["reset"], false, "a cursor inside the horizon: {page}");

    let payload = behind.push(app).await;
    assert_eq!(summary(&payload), ["1 APPLIED"]);
    assert_eq!(counters(app, &s.alice, &stays).await, counts(1, 0, 0));
    behind.pull_all(app, 100).await;
    assert_eq!(behind.entity("Suggestion", &stays).unwrap()["upvotes"], 1);
    assert!(behind.outbox.is_empty());
}

// A cursor names its scopes by a stored set; a set the purge has forgotten (no pull named it
// for longer than the horizon) cannot be read back, and the cursor resets like one older than
// the horizon, keeping the outbox.
#[tokio::test]
async fn a_cursor_whose_scope_set_was_forgotten_resets_and_the_outbox_survives() {
    let s = scene().await;
    let app = &s.app;
    let kept = submit(app, &s.owner, &s.community, "Kept").await;
    let mut device = SyncClient::new(&s.alice);
    device.pull_all(app, 100).await;
    assert_eq!(device.ids_of("Suggestion"), BTreeSet::from([kept.clone()]));
    device.queue("SET_VOTE", json!({ "suggestionId": kept, "value": "UP" }));

    assert!(scalar(app, "SELECT COUNT(*) FROM sync_scope_set").await >= 1);
    execute(app, "DELETE FROM sync_scope_set").await;
    let page = device.pull(app, 100).await;
    assert_eq!(page["reset"], true, "{page}");
    assert_eq!(device.outbox_ids(), [1_i64], "a reset keeps the outbox");
    device.pull_all(app, 100).await;
    assert_eq!(device.ids_of("Suggestion"), BTreeSet::from([kept.clone()]));
    assert_eq!(summary(&device.push(app).await), ["1 APPLIED"]);
    let page = device.pull(app, 100).await;
    assert_eq!(
        page["reset"], false,
        "the new cursor's set is stored: {page}"
    );
}

// ---------------------------------------------------------------------------------------------
// 16–17. Votes
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn two_devices_of_one_user_voting_offline_converge_to_one_vote() {
    let s = scene().await;
    let app = &s.app;
    let target = submit(app, &s.owner, &s.community, "Vote twice").await;
    let other = submit(app, &s.owner, &s.community, "Vote both ways").await;
    let mut phone = SyncClient::new(&s.alice);
    let mut laptop = phone.new_device_of();
    phone.pull_all(app, 100).await;
    laptop.pull_all(app, 100).await;

    phone.queue("SET_VOTE", json!({ "suggestionId": target, "value": "UP" }));
    laptop.queue("SET_VOTE", json!({ "suggestionId": target, "value": "UP" }));
    let (a, b) = join(phone.push(app), laptop.push(app)).await;
    assert_eq!(summary(&a), ["1 APPLIED"]);
    assert_eq!(summary(&b), ["1 APPLIED"]);
    assert_eq!(app.count("vote").await, 1);
    assert_eq!(counters(app, &s.bob, &target).await, counts(1, 0, 0));

    // Different values: the one processed last wins.
    phone.queue(
        "SET_VOTE",
        json!({ "suggestionId": other, "value": "DOWN" }),
    );
    phone.push(app).await;
    laptop.queue("SET_VOTE", json!({ "suggestionId": other, "value": "UP" }));
    laptop.push(app).await;
    assert_eq!(app.count("vote").await, 2);
    assert_eq!(counters(app, &s.bob, &other).await, counts(1, 0, 0));

    phone.pull_all(app, 100).await;
    laptop.pull_all(app, 100).await;
    for device in [&phone, &laptop] {
        let votes = device.rows_of("Vote");
        assert_eq!(votes.len(), 2, "{votes:?}");
        for vote in &votes {
            assert_eq!(vote["userId"], s.alice.id.as_str());
            assert_eq!(vote["value"], "UP", "{vote}");
        }
        assert_eq!(device.entity("Suggestion", &target).unwrap()["upvotes"], 1);
        let seen = device.entity("Suggestion", &other).unwrap();
        assert_eq!(
            (seen["upvotes"].clone(), seen["downvotes"].clone()),
            (json!(1), json!(0))
        );
    }
    assert_eq!(phone.rows_of("Vote"), laptop.rows_of("Vote"));
    assert_eq!(phone.rows_of("Suggestion"), laptop.rows_of("Suggestion"));
}

#[tokio::test]
async fn a_repeated_vote_changes_nothing_after_the_first() {
    let s = scene().await;
    let app = &s.app;
    let target = submit(app, &s.owner, &s.community, "Vote again").await;
    let mut device = SyncClient::new(&s.alice);
    device.pull_all(app, 100).await;
    device.queue("SET_VOTE", json!({ "suggestionId": target, "value": "UP" }));
    assert_eq!(summary(&device.push(app).await), ["1 APPLIED"]);
    device.pull_all(app, 100).await;
    let vote_row = |device: &SyncClient| {
        device
            .synced
            .iter()
            .find(|(key, row)| key.0 == "Vote" && row.entity["suggestionId"] == target.as_str())
            .map(|(_, row)| row.clone())
            .unwrap_or_else(|| panic!("no vote held"))
    };
    let vote_before = vote_row(&device);
    let suggestion_before = device.row("Suggestion", &target).unwrap().clone();
    let stamp = "SELECT CAST(updated_at AS TEXT) FROM vote";
    let stored_before = app.sql_strings(stamp).await;

    for round in 0..2 {
        device.queue("SET_VOTE", json!({ "suggestionId": target, "value": "UP" }));
        let payload = device.push(app).await;
        assert_eq!(
            list(&payload["results"])[0]["outcome"],
            "APPLIED",
            "{payload}"
        );
        assert_eq!(app.count("vote").await, 1);
        assert_eq!(counters(app, &s.bob, &target).await, counts(1, 0, 0));
        assert_eq!(app.sql_strings(stamp).await, stored_before, "round {round}");
        let pages = device.pull_all(app, 100).await;
        for change in changes_of(&pages) {
            let kind = change_kind(change);
            if kind == "Vote" {
                assert_eq!(change["version"], vote_before.version, "{change}");
            }
            if kind == "Suggestion" {
                assert_eq!(change["version"], suggestion_before.version, "{change}");
            }
        }
        let vote_after = vote_row(&device);
        assert_eq!(vote_after.version, vote_before.version);
        assert_eq!(vote_after.entity, vote_before.entity);
        let suggestion_after = device.row("Suggestion", &target).unwrap();
        assert_eq!(suggestion_after.entity, suggestion_before.entity);
        assert_eq!(suggestion_after.version, suggestion_before.version);
    }
}

// ---------------------------------------------------------------------------------------------
// 18. Ballots
// ---------------------------------------------------------------------------------------------

/// An open CHOICE poll (9.99 / 19.99 USD) for an hour; returns its id.
pub(super) async fn create_poll(app: &TestApp, staffer: &TestUser, community_id: &str) -> String {
    let body = app
        .graphql(
            "mutation($input: CreatePricingPollInput!) { createPricingPoll(input: $input) { id } }",
            json!({ "input": {
                "id": new_id(),
                "communityId": community_id,
                "productName": "Xiaomi Band 9",
                "description": "What should it cost?",
                "currency": "USD",
                "method": "CHOICE",
                "pricePoints": ["9.99", "19.99"],
                "opensAt": Utc::now().to_rfc3339(),
                "closesAt": (Utc::now() + TimeDelta::hours(1)).to_rfc3339(),
            } }),
            auth(staffer),
        )
        .await;
    id_of(ok(&body, "createPricingPoll"))
}

#[tokio::test]
async fn a_ballot_after_the_polls_close_is_poll_closed_whatever_the_client_clock_says() {
    let s = scene().await;
    let app = &s.app;
    let staffer = staff(app, "staffer").await;
    let poll = create_poll(app, &staffer, &s.community).await;

    let mut alices = SyncClient::new(&s.alice);
    alices.queue("SET_BALLOT", json!({ "pollId": poll, "choice": "9.99" }));
    assert_eq!(summary(&alices.push(app).await), ["1 APPLIED"]);
    assert_eq!(app.count("pricing_ballot").await, 1);
    alices.pull_all(app, 100).await;
    let ballots = alices.rows_of("Ballot");
    assert_eq!(ballots.len(), 1, "{ballots:?}");
    assert_eq!(ballots[0]["userId"], s.alice.id.as_str());
    assert_eq!(ballots[0]["pollId"], poll.as_str());
    let mut bobs = SyncClient::new(&s.bob);
    bobs.pull_all(app, 100).await;
    assert!(bobs.rows_of("Ballot").is_empty(), "ballots are private");
    assert_eq!(bobs.entity("Poll", &poll).unwrap()["status"], "OPEN");

    // Offline, before the close by the devices' clocks; pushed after it.
    let before_close = (Utc::now() - TimeDelta::minutes(5)).to_rfc3339();
    alices.queue_with(
        "SET_BALLOT",
        json!({ "pollId": poll, "choice": "19.99" }),
        json!({ "clientCreatedAt": before_close }),
    );
    bobs.queue_with(
        "SET_BALLOT",
        json!({ "pollId": poll, "choice": "9.99" }),
        json!({ "clientCreatedAt": "1970-01-01T00:00:00Z" }),
    );
    let closed = app
        .graphql(
            "mutation($id: ID!) { closePricingPoll(pollId: $id) { status } }",
            json!({ "id": poll }),
            auth(&staffer),
        )
        .await;
    assert_eq!(ok(&closed, "closePricingPoll")["status"], "CLOSED");

    assert_eq!(summary(&alices.push(app).await), ["2 REJECTED POLL_CLOSED"]);
    assert_eq!(summary(&bobs.push(app).await), ["1 REJECTED POLL_CLOSED"]);
    assert_eq!(app.count("pricing_ballot").await, 1);
    let body = app
        .graphql(
            "query($id: ID!) { pricingPoll(id: $id) { status ballotCount viewerBallot { choice } } }",
            json!({ "id": poll }),
            auth(&s.alice),
        )
        .await;
    let seen = ok(&body, "pricingPoll");
    assert_eq!(seen["ballotCount"], 1, "{seen}");
    assert_eq!(norm(&text_of(&seen["viewerBallot"], "choice")), "9.99");

    bobs.pull_all(app, 100).await;
    assert_eq!(bobs.entity("Poll", &poll).unwrap()["status"], "CLOSED");
    assert!(bobs.rows_of("Ballot").is_empty());
    alices.pull_all(app, 100).await;
    let ballots = alices.rows_of("Ballot");
    assert_eq!(ballots.len(), 1);
    assert_eq!(norm(&text_of(ballots[0], "choice")), "9.99");
}

// ---------------------------------------------------------------------------------------------
// 19. Field merges and conflicts
// ---------------------------------------------------------------------------------------------

async fn title_and_body(app: &TestApp, viewer: &TestUser, id: &str) -> (String, String) {
    let seen = read_suggestion(app, Some(viewer), id, "title body").await;
    (text_of(&seen, "title"), text_of(&seen, "body"))
}

fn pair(title: &str, body: &str) -> (String, String) {
    (title.to_string(), body.to_string())
}

#[tokio::test]
async fn edits_merge_by_field_and_the_same_field_conflicts_exactly_once() {
    let s = scene().await;
    let app = &s.app;
    let mut one = SyncClient::new(&s.alice);
    let mut two = one.new_device_of();
    let target = new_id();
    one.queue(
        "CREATE_SUGGESTION",
        json!({ "id": target, "communityId": s.community, "kind": "IDEA", "title": "Original title", "body": "Original body" }),
    );
    one.push(app).await;
    one.pull_all(app, 100).await;
    two.pull_all(app, 100).await;

    // Different fields merge.
    one.queue(
        "EDIT_SUGGESTION",
        json!({ "id": target, "title": "Title from one" }),
    );
    two.queue(
        "EDIT_SUGGESTION",
        json!({ "id": target, "body": "Body from two" }),
    );
    assert_eq!(summary(&one.push(app).await), ["2 APPLIED"]);
    assert_eq!(summary(&two.push(app).await), ["1 APPLIED"]);
    assert_eq!(
        title_and_body(app, &s.bob, &target).await,
        pair("Title from one", "Body from two")
    );

    // The same field: exactly one CONFLICT, with the server's value; the other field merges.
    one.pull_all(app, 100).await;
    two.pull_all(app, 100).await;
    one.queue(
        "EDIT_SUGGESTION",
        json!({ "id": target, "title": "Title A" }),
    );
    two.queue(
        "EDIT_SUGGESTION",
        json!({ "id": target, "title": "Title B", "body": "Body B" }),
    );
    let first = one.push(app).await;
    let second = two.push(app).await;
    assert_eq!(summary(&first), ["3 APPLIED"]);
    assert_eq!(summary(&second), ["2 CONFLICT CONFLICT"]);
    let conflict = result_of(&second, 2);
    assert_eq!(
        conflict["serverValues"],
        json!({ "title": "Title A" }),
        "{conflict}"
    );
    assert!(conflict["seq"].is_string(), "{conflict}");
    assert_eq!(second["lastMutationId"], 2);
    assert!(two.outbox.is_empty());
    let conflicts = [&first, &second]
        .iter()
        .flat_map(|p| list(&p["results"]))
        .filter(|r| r["outcome"] == "CONFLICT")
        .count();
    assert_eq!(conflicts, 1);
    assert_eq!(
        title_and_body(app, &s.bob, &target).await,
        pair("Title A", "Body B")
    );

    // One device's sequential edits never conflict, pulled or not in between.
    one.pull_all(app, 100).await;
    one.queue(
        "EDIT_SUGGESTION",
        json!({ "id": target, "title": "Step one" }),
    );
    one.queue(
        "EDIT_SUGGESTION",
        json!({ "id": target, "title": "Step two" }),
    );
    one.queue(
        "EDIT_SUGGESTION",
        json!({ "id": target, "body": "Step three" }),
    );
    assert_eq!(
        summary(&one.push(app).await),
        ["4 APPLIED", "5 APPLIED", "6 APPLIED"]
    );
    one.queue(
        "EDIT_SUGGESTION",
        json!({ "id": target, "title": "Step four" }),
    );
    assert_eq!(summary(&one.push(app).await), ["7 APPLIED"]);
    assert_eq!(
        title_and_body(app, &s.bob, &target).await,
        pair("Step four", "Step three")
    );

    // A plain GraphQL edit is someone else's change too.
    one.pull_all(app, 100).await;
    let web = app
        .graphql(
            EDIT,
            json!({ "input": { "suggestionId": target, "body": "Edited on the web" } }),
            auth(&s.alice),
        )
        .await;
    ok(&web, "editSuggestion");
    one.queue(
        "EDIT_SUGGESTION",
        json!({ "id": target, "body": "Edited offline" }),
    );
    let payload = one.push(app).await;
    assert_eq!(summary(&payload), ["8 CONFLICT CONFLICT"]);
    assert_eq!(
        result_of(&payload, 8)["serverValues"],
        json!({ "body": "Edited on the web" })
    );
    // A device far behind conflicts on the field others changed since.
    two.queue(
        "EDIT_SUGGESTION",
        json!({ "id": target, "title": "Late title" }),
    );
    let payload = two.push(app).await;
    assert_eq!(summary(&payload), ["3 CONFLICT CONFLICT"]);
    assert_eq!(
        result_of(&payload, 3)["serverValues"],
        json!({ "title": "Step four" })
    );
    assert_eq!(
        title_and_body(app, &s.bob, &target).await,
        pair("Step four", "Edited on the web")
    );
}

// ---------------------------------------------------------------------------------------------
// 20. Revenue shares
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn no_mutation_writes_revenue_shares_and_they_reach_only_the_beneficiary_and_admins() {
    let s = scene().await;
    let app = &s.app;
    let admin = app.admin("root").await;
    let mut alices = SyncClient::new(&s.alice);
    let adopted = new_id();
    alices.queue(
        "CREATE_SUGGESTION",
        idea(&adopted, &s.community, "Stackable bricks"),
    );
    alices.push(app).await;

    // No mutation name reports sales, and args cannot smuggle it in.
    let body = alices
        .send(
            app,
            &[mutation(
                2,
                "REPORT_SALES",
                json!({ "externalId": "pos-x", "productLine": "bricks", "netSales": "1000.00", "currency": "USD" }),
            )],
        )
        .await;
    assert_code(&body, "BAD_USER_INPUT");
    let mut smuggled = idea(&new_id(), &s.community, "Smuggler");
    smuggled["revenueShare"] = json!({ "beneficiaryId": s.alice.id, "amount": "1000.00" });
    alices.queue("CREATE_SUGGESTION", smuggled);
    alices.queue(
        "SET_VOTE",
        json!({ "suggestionId": adopted, "value": "UP", "netSales": "1000.00" }),
    );
    assert_eq!(
        summary(&alices.push(app).await),
        ["2 REJECTED INVALID_ARGS", "3 REJECTED INVALID_ARGS"]
    );
    assert_eq!(app.count("revenue_share_record").await, 0);
    assert_eq!(app.count("sales_report").await, 0);
    assert_eq!(app.count("idea_reward").await, 0);

    let adoption = app
        .graphql(
            "mutation($input: AdoptSuggestionInput!) { adoptSuggestion(input: $input) { id } }",
            json!({ "input": {
                "suggestionId": adopted,
                "productLine": "bricks",
                "currency": "USD",
                "startsAt": "2025-01-01T00:00:00Z",
            } }),
            auth(&admin),
        )
        .await;
    ok(&adoption, "adoptSuggestion");
    let report = app
        .graphql(
            "mutation($input: ReportSalesInput!) { reportSales(input: $input) { id recordCount records { id beneficiary { id } } } }",
            json!({ "input": {
                "externalId": "pos-1",
                "productLine": "bricks",
                "periodStart": "2025-03-01T00:00:00Z",
                "periodEnd": "2025-04-01T00:00:00Z",
                "netSales": "1000.00",
                "currency": "USD",
            } }),
            auth(&admin),
        )
        .await;
    let report = ok(&report, "reportSales");
    assert_eq!(report["recordCount"], 1, "{report}");
    let record = id_of(&list(&report["records"])[0]);

    let pages = alices.pull_all(app, 100).await;
    let shares: Vec<&Value> = changes_of(&pages)
        .into_iter()
        .filter(|c| change_kind(c) == "RevenueShare")
        .collect();
    assert_eq!(shares.len(), 1, "{shares:?}");
    assert_eq!(shares[0]["entityId"], record.as_str());
    assert_eq!(shares[0]["scope"], format!("user:{}", s.alice.id).as_str());
    assert_eq!(
        entity_of(shares[0])["beneficiary"]["id"],
        s.alice.id.as_str()
    );
    let mut second_device = alices.new_device_of();
    second_device.pull_all(app, 100).await;
    assert_eq!(
        second_device.ids_of("RevenueShare"),
        BTreeSet::from([record.clone()])
    );

    let mut bobs = SyncClient::new(&s.bob);
    let pages = bobs.pull_all(app, 100).await;
    assert!(
        ids_in(&changes_of(&pages), "RevenueShare").is_empty(),
        "another member sees no revenue shares"
    );

    // An admin who belongs to the community sees them under `admin:`.
    support::join(app, &admin, &s.community).await;
    let mut admins = SyncClient::new(&admin);
    let pages = admins.pull_all(app, 100).await;
    let events = scope_events_of(&pages);
    assert!(
        events.contains(&format!("ADDED admin:{}", s.community)),
        "{events:?}"
    );
    let row = admins.row("RevenueShare", &record).unwrap();
    assert!(
        row.scopes.contains(&format!("admin:{}", s.community)),
        "{row:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 22. Losing and regaining access
// ---------------------------------------------------------------------------------------------

/// The ids `suggestions(communityId)` lists for `viewer` (one page of 50).
async fn listed(app: &TestApp, viewer: &TestUser, community_id: &str) -> BTreeSet<String> {
    let body = app
        .graphql(
            "query($c: ID) { suggestions(communityId: $c, first: 50) { nodes { id } } }",
            json!({ "c": community_id }),
            auth(viewer),
        )
        .await;
    node_ids(ok(&body, "suggestions")).into_iter().collect()
}

#[tokio::test]
async fn losing_access_removes_a_scope_and_regaining_it_backfills_it() {
    let app = TestApp::spawn().await;
    let keeper = app.sign_up("keeper").await;
    let secret = create_community(&app, &keeper, "secret", "PRIVATE").await;
    let guest = app.sign_up("guest").await;
    let invited = app
        .graphql(INVITE, json!({ "c": secret, "u": guest.id }), auth(&keeper))
        .await;
    assert_eq!(ok(&invited, "inviteToCommunity")["status"], "INVITED");
    assert_eq!(
        support::join(&app, &guest, &secret).await["status"],
        "ACTIVE"
    );
    let s1 = submit(&app, &keeper, &secret, "First secret").await;
    let s2 = submit(&app, &keeper, &secret, "Second secret").await;
    let s3 = submit(&app, &keeper, &secret, "Third secret").await;
    let scope = format!("community:{secret}");

    let mut device = SyncClient::new(&guest);
    device.pull_all(&app, 2).await;
    assert!(device.scopes.contains(&scope));
    assert_eq!(
        device.ids_of("Suggestion"),
        BTreeSet::from([s1.clone(), s2.clone(), s3.clone()])
    );
    assert!(device.entity("Community", &secret).is_some());

    device.queue("LEAVE_COMMUNITY", json!({ "communityId": secret }));
    assert_eq!(summary(&device.push(&app).await), ["1 APPLIED"]);
    let pages = device.pull_all(&app, 2).await;
    assert!(
        scope_events_of(&pages).contains(&format!("REMOVED {scope}")),
        "{pages:?}"
    );
    assert!(!device.scopes.contains(&scope));
    assert!(device.rows_of("Suggestion").is_empty());
    assert!(device.entity("Community", &secret).is_none());
    assert!(
        device
            .rows_of("Membership")
            .iter()
            .all(|m| m["communityId"] != secret.as_str()),
        "the membership is gone"
    );

    // While out: nothing of the community arrives.
    let s4 = submit(&app, &keeper, &secret, "Fourth secret").await;
    let deleted = app
        .graphql(DELETE, json!({ "id": s2 }), auth(&keeper))
        .await;
    assert_eq!(ok(&deleted, "deleteSuggestion"), &json!(true));
    let pages = device.pull_all(&app, 2).await;
    let changes = changes_of(&pages);
    assert!(
        changes.iter().all(|c| c["scope"] != scope.as_str()),
        "{changes:?}"
    );
    assert!(device.rows_of("Suggestion").is_empty());

    // Back in: ADDED, and every live suggestion again.
    let invited = app
        .graphql(INVITE, json!({ "c": secret, "u": guest.id }), auth(&keeper))
        .await;
    ok(&invited, "inviteToCommunity");
    device.queue("JOIN_COMMUNITY", json!({ "communityId": secret }));
    assert_eq!(summary(&device.push(&app).await), ["2 APPLIED"]);
    let pages = device.pull_all(&app, 2).await;
    assert!(
        scope_events_of(&pages).contains(&format!("ADDED {scope}")),
        "{pages:?}"
    );
    let expected = BTreeSet::from([s1, s3, s4]);
    assert_eq!(device.ids_of("Suggestion"), expected);
    assert_eq!(listed(&app, &guest, &secret).await, expected);
    assert!(device.entity("Community", &secret).is_some());
    assert!(
        device
            .rows_of("Membership")
            .iter()
            .any(|m| m["communityId"] == secret.as_str() && m["status"] == "ACTIVE")
    );
}

/// Makes `count` public communities with `user` an ACTIVE member of each, writing the rows
/// directly (through the API this would take minutes); returns their ids.
async fn communities_joined_directly(app: &TestApp, user: &TestUser, count: usize) -> Vec<String> {
    use entity::community::{self, Visibility};
    use entity::membership::{self, CommunityRole, MembershipStatus};
    use sea_orm::{EntityTrait, Set};

    let user_id = uuid::Uuid::parse_str(&user.id).unwrap();
    let now = Utc::now();
    let ids: Vec<uuid::Uuid> = (0..count).map(|_| uuid::Uuid::now_v7()).collect();
    for chunk in ids.chunks(200) {
        community::Entity::insert_many(chunk.iter().map(|id| community::ActiveModel {
            id: Set(*id),
            slug: Set(format!("c-{id}")),
            name: Set(format!("Community {id}")),
            description: Set(String::new()),
            visibility: Set(Visibility::Public),
            member_count: Set(1),
            created_by: Set(user_id),
            created_at: Set(now),
            updated_at: Set(now),
        }))
        .exec_without_returning(&app.state.db)
        .await
        .unwrap();
        membership::Entity::insert_many(chunk.iter().map(|id| membership::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            community_id: Set(*id),
            user_id: Set(user_id),
            role: Set(CommunityRole::Member),
            status: Set(MembershipStatus::Active),
            joined_at: Set(Some(now)),
            created_at: Set(now),
        }))
        .exec_without_returning(&app.state.db)
        .await
        .unwrap();
    }
    ids.iter().map(uuid::Uuid::to_string).collect()
}

// A cursor names the scopes its device holds by the digest of their set, so it does not grow
// with the communities joined: with 1 203 scopes (over 55 KB as a list) a cursor stays under
// 1 KB and every pull goes on; scopes gained together are backfilled one after another, in
// pages, and a scope lost before its turn is skipped.
#[tokio::test]
async fn a_member_of_twelve_hundred_communities_keeps_a_small_cursor_and_pulls_on() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let fan = app.sign_up("fan").await;
    let mut real = Vec::new();
    let mut suggestions = Vec::new();
    for name in ["one", "two", "three"] {
        let community = create_community(&app, &owner, name, "PUBLIC").await;
        let mut ids = BTreeSet::new();
        for n in 0..2 {
            ids.insert(submit(&app, &owner, &community, &format!("{name} {n}")).await);
        }
        real.push(community);
        suggestions.push(ids);
    }
    // The device is at the head before the fan joins: the rows come by backfill.
    let mut device = SyncClient::new(&fan);
    device.pull_all(&app, 100).await;
    for community in &real {
        support::join(&app, &fan, community).await;
    }
    let empty = communities_joined_directly(&app, &fan, 1_200).await;
    // The third is left before the backfill reaches it: its rows never arrive.
    let page = device.pull(&app, 2).await;
    assert_eq!(
        list(&page["scopeEvents"]).len(),
        1_203,
        "one ADDED per scope"
    );
    let leave = app
        .graphql(
            "mutation($c: ID!) { leaveCommunity(communityId: $c) }",
            json!({ "c": real[2] }),
            auth(&fan),
        )
        .await;
    ok(&leave, "leaveCommunity");
    let mut pages = vec![page];
    pages.extend(device.pull_all(&app, 2).await);
    for page in &pages {
        let cursor = text_of(page, "cursor");
        assert!(cursor.len() < 1_024, "a cursor of {} bytes", cursor.len());
    }
    let expected: BTreeSet<String> = suggestions[0].union(&suggestions[1]).cloned().collect();
    assert_eq!(
        device.ids_of("Suggestion"),
        expected,
        "the third's rows never arrive"
    );
    assert!(!device.scopes.contains(&format!("community:{}", real[2])));
    assert_eq!(device.scopes.len(), 1 + 2 + 1_200);

    // The held scopes come back from the cursor's set: nothing new, nothing lost.
    let again = device.pull(&app, 100).await;
    assert_eq!(again["scopeEvents"], json!([]), "{again}");
    assert_eq!(again["changes"], json!([]), "{again}");

    // Losing 600 of them is 600 REMOVED.
    let gone: Vec<String> = empty[..600].to_vec();
    {
        use entity::membership;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let ids = gone.iter().map(|id| uuid::Uuid::parse_str(id).unwrap());
        membership::Entity::delete_many()
            .filter(membership::Column::CommunityId.is_in(ids))
            .exec(&app.state.db)
            .await
            .unwrap();
    }
    let page = device.pull(&app, 100).await;
    let removed: BTreeSet<String> = list(&page["scopeEvents"])
        .iter()
        .filter(|e| e["kind"] == "REMOVED")
        .map(|e| text_of(e, "scope"))
        .collect();
    assert_eq!(
        removed,
        gone.iter().map(|id| format!("community:{id}")).collect()
    );
    assert_eq!(device.scopes.len(), 1 + 2 + 600);
}

// ---------------------------------------------------------------------------------------------
// 23. Foreign, future and garbled cursors
// ---------------------------------------------------------------------------------------------

/// `cursor` with one character changed.
fn tampered(cursor: &str) -> String {
    let mut chars: Vec<char> = cursor.chars().collect();
    let at = chars.len() / 4;
    chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

#[tokio::test]
async fn a_cursor_of_another_database_or_ahead_of_the_head_resets_and_a_garbled_one_is_refused() {
    let s = scene().await;
    let app = &s.app;
    let here_id = submit(app, &s.owner, &s.community, "Here").await;
    let other = TestApp::spawn().await;
    let other_owner = other.sign_up("owner").await;
    let other_community = create_community(&other, &other_owner, "fans", "PUBLIC").await;
    let other_alice = member(&other, "alice", &other_community).await;
    submit(&other, &other_owner, &other_community, "There").await;
    let mut there = SyncClient::new(&other_alice);
    there.pull_all(&other, 100).await;

    // Another database's cursor: reset, with a first page of a fresh first sync.
    let mut device = SyncClient::new(&s.alice);
    device.cursor = there.cursor.clone();
    let page = device.pull(app, 100).await;
    assert_eq!(page["reset"], true, "{page}");
    assert!(
        scope_events_of(std::slice::from_ref(&page))
            .contains(&format!("ADDED community:{}", s.community)),
        "{page}"
    );
    device.pull_all(app, 100).await;
    assert_eq!(
        device.ids_of("Suggestion"),
        BTreeSet::from([here_id.clone()])
    );

    // Garbled and forged cursors.
    for cursor in ["not-a-cursor".to_string(), String::new()] {
        let body = device.pull_at(app, Some(&cursor), 10).await;
        assert_code(&body, "BAD_USER_INPUT");
    }
    let held = device.cursor.clone().unwrap_or_default();
    let body = device.pull_at(app, Some(&tampered(&held)), 10).await;
    assert_code(&body, "BAD_USER_INPUT");

    // The database was restored from an earlier copy: the changes after it are lost.
    let head_before: i64 = scalar(app, "SELECT COALESCE(MAX(seq), 0) FROM sync_entity").await;
    let mut writer = SyncClient::new(&s.bob);
    for n in 0..3 {
        writer.queue(
            "CREATE_SUGGESTION",
            idea(&new_id(), &s.community, &format!("Lost in the restore {n}")),
        );
    }
    writer.push(app).await;
    device.pull_all(app, 100).await;
    assert_eq!(device.ids_of("Suggestion").len(), 4);
    execute(
        app,
        &format!("DELETE FROM sync_entity WHERE seq > {head_before}"),
    )
    .await;
    if on_postgres() {
        // On Postgres a server starting on the copy finds it elsewhere than where its order
        // was set (another database, or another cluster).
        execute(app, "UPDATE sync_counter SET xid_origin = 'elsewhere'").await;
    } else {
        // On SQLite the copy's counter is behind the device's cursor.
        execute(
            app,
            &format!("UPDATE sync_counter SET seq = {head_before} WHERE id = 1"),
        )
        .await;
    }
    let restored = app.replica(&[]).await;
    let app = &restored;
    let page = device.pull(app, 100).await;
    assert_eq!(page["reset"], true, "a cursor of the restored copy: {page}");
    device.pull_all(app, 100).await;
    assert_eq!(device.ids_of("Suggestion"), BTreeSet::from([here_id]));
}

// ---------------------------------------------------------------------------------------------
// 24. Versions and limits
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_client_one_schema_version_behind_can_push_but_must_upgrade_to_pull() {
    let s = scene().await;
    let app = &s.app;
    let mut old = SyncClient::new(&s.alice);
    old.schema_version = 1;
    let id = new_id();
    old.queue(
        "CREATE_SUGGESTION",
        idea(&id, &s.community, "From an old app"),
    );
    assert_eq!(summary(&old.push(app).await), ["1 APPLIED"]);
    assert_eq!(app.count("suggestion").await, 1);
    assert_code(&old.pull_raw(app, 10).await, "CLIENT_UPGRADE_REQUIRED");
    old.queue("SET_VOTE", json!({ "suggestionId": id, "value": "UP" }));
    assert_eq!(summary(&old.push(app).await), ["2 APPLIED"]);

    // Upgraded: the same installation pulls what it pushed.
    old.schema_version = crate::sync_client::SCHEMA_VERSION;
    old.pull_all(app, 100).await;
    assert_eq!(old.entity("Suggestion", &id).unwrap()["upvotes"], 1);
    assert!(old.outbox.is_empty());
}

#[tokio::test]
async fn unknown_versions_and_limits_out_of_range_are_bad_user_input_and_write_nothing() {
    let s = scene().await;
    let app = &s.app;
    let mut future = SyncClient::new(&s.alice);
    future.schema_version = 3;
    future.queue(
        "CREATE_SUGGESTION",
        idea(&new_id(), &s.community, "From the future"),
    );
    assert_code(&future.push_raw(app).await, "BAD_USER_INPUT");
    assert_code(&future.pull_raw(app, 10).await, "BAD_USER_INPUT");
    assert_eq!(future.outbox.len(), 1);

    let device = SyncClient::new(&s.alice);
    let mut input = device.push_input(&future.outbox);
    input["protocolVersion"] = json!(2);
    let body = app
        .graphql(PUSH, json!({ "input": input }), device.token())
        .await;
    assert_code(&body, "BAD_USER_INPUT");
    let mut input = device.pull_input(None, 10);
    input["protocolVersion"] = json!(2);
    let body = app
        .graphql(PULL, json!({ "input": input }), device.token())
        .await;
    assert_code(&body, "BAD_USER_INPUT");
    assert_eq!(app.count("suggestion").await, 0);

    for limit in [0, -1, 1001] {
        assert_code(&device.pull_at(app, None, limit).await, "BAD_USER_INPUT");
    }
    let body = device.pull_at(app, None, 1000).await;
    ok(&body, "pull");
    let mut input = device.pull_input(None, 10);
    if let Some(fields) = input.as_object_mut() {
        fields.remove("limit");
    }
    let body = app
        .graphql(PULL, json!({ "input": input }), device.token())
        .await;
    ok(&body, "pull");
}

// ---------------------------------------------------------------------------------------------
// 25. A large first sync
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_first_sync_of_three_thousand_rows_streams_in_bounded_pages() {
    let s = scene().await;
    let app = &s.app;
    let mut author = SyncClient::new(&s.alice);
    let ids: Vec<String> = (0..3000).map(|_| new_id()).collect();
    for (n, id) in ids.iter().enumerate() {
        author.queue(
            "CREATE_SUGGESTION",
            idea(id, &s.community, &format!("Bulk suggestion {n}")),
        );
    }
    let payloads = author.push_all(app).await;
    assert_eq!(payloads.len(), 30);
    assert_eq!(app.count("suggestion").await, 3000);

    let mut fresh = SyncClient::new(&s.bob);
    let pages = fresh.pull_all(app, 1000).await;
    assert!(pages.len() >= 3, "{} pages", pages.len());
    assert_pages_within(&pages, 1000);
    let changes = changes_of(&pages);
    assert_each_row_once(&changes);
    let got = ids_in(&changes, "Suggestion");
    assert_eq!(got.len(), 3000);
    let got: BTreeSet<String> = got.into_iter().collect();
    let want: BTreeSet<String> = ids.into_iter().collect();
    assert_eq!(got, want);
    assert_eq!(fresh.ids_of("Suggestion").len(), 3000);
}

// ---------------------------------------------------------------------------------------------
// syncPoke
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_push_pokes_the_devices_that_hold_its_scope_and_no_others() {
    let s = scene().await;
    let app = &s.app;
    let outsider = app.sign_up("outsider").await;
    let mut bobs = SyncClient::new(&s.bob);
    bobs.pull_all(app, 100).await;
    let mut outsiders = SyncClient::new(&outsider);
    outsiders.pull_all(app, 100).await;

    let mut socket = connect(app, &s.bob).await;
    support::subscribe(&mut socket, "1", POKE, &bobs.client_group_id).await;
    let mut quiet = connect(app, &outsider).await;
    support::subscribe(&mut quiet, "1", POKE, &outsiders.client_group_id).await;

    let mut alices = SyncClient::new(&s.alice);
    let id = new_id();
    alices.queue("CREATE_SUGGESTION", idea(&id, &s.community, "Poke them"));
    alices.push(app).await;

    let poke = support::next_data(&mut socket, "1", "syncPoke").await;
    assert_eq!(poke, true);
    bobs.pull_all(app, 100).await;
    assert!(bobs.entity("Suggestion", &id).is_some());

    let later = tokio::time::timeout(Duration::from_secs(1), async {
        loop {
            let message = receive(&mut quiet).await;
            if message["type"] == "next" {
                return message;
            }
        }
    })
    .await;
    assert!(
        later.is_err(),
        "a device without the scope was poked: {later:?}"
    );
}

// Replicas fan out through Postgres LISTEN/NOTIFY; SQLite runs a single server.
#[tokio::test]
#[cfg_attr(not(canyu_postgres), ignore = "needs Postgres (set TEST_DATABASE_URL)")]
async fn a_push_on_one_replica_pokes_a_device_subscribed_on_another() {
    let s = scene().await;
    let app = &s.app;
    let replica = app.replica(&[]).await;
    let mut bobs = SyncClient::new(&s.bob);
    bobs.pull_all(&replica, 100).await;

    let mut socket = connect(&replica, &s.bob).await;
    support::subscribe(&mut socket, "1", POKE, &bobs.client_group_id).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;

    let mut alices = SyncClient::new(&s.alice);
    let id = new_id();
    alices.queue(
        "CREATE_SUGGESTION",
        idea(&id, &s.community, "Across replicas"),
    );
    assert_eq!(summary(&alices.push(app).await), ["1 APPLIED"]);

    let poke = support::next_data(&mut socket, "1", "syncPoke").await;
    assert_eq!(poke, true);
    bobs.pull_all(&replica, 100).await;
    assert!(bobs.entity("Suggestion", &id).is_some());
}

#[tokio::test]
async fn acked_results_are_released_and_their_ids_still_never_run_again() {
    let s = scene().await;
    let app = &s.app;
    let group = new_id();
    let client = new_id();
    let ids: Vec<String> = (0..3).map(|_| new_id()).collect();
    let mutations: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            json!({ "id": i + 1, "name": "CREATE_SUGGESTION",
                    "args": idea(id, &s.community, &format!("Idea number {i}")) })
        })
        .collect();
    let push = |mutations: Vec<Value>, acked: Option<i64>| {
        json!({ "input": {
            "clientGroupId": group, "clientId": client, "protocolVersion": 1,
            "schemaVersion": 2, "mutations": mutations, "ackedThrough": acked,
        } })
    };
    let first = app
        .graphql(PUSH, push(mutations.clone(), None), auth(&s.alice))
        .await;
    assert_eq!(
        summary(ok(&first, "push")),
        ["1 APPLIED", "2 APPLIED", "3 APPLIED"]
    );
    assert_eq!(app.count("sync_mutation_ledger").await, 3);

    // The client saw the acks through 2: those results go, 3's stays.
    let released = app
        .graphql(PUSH, push(Vec::new(), Some(2)), auth(&s.alice))
        .await;
    assert_eq!(ok(&released, "push")["lastMutationId"], 3);
    assert_eq!(app.count("sync_mutation_ledger").await, 1);
    let suggestions = app.count("suggestion").await;

    // A faulty client acks through 9 (capped at lastMutationId 3, releasing everything) and
    // replays all three: none runs again.
    let replay = app
        .graphql(PUSH, push(mutations, Some(9)), auth(&s.alice))
        .await;
    let replay = ok(&replay, "push");
    assert_eq!(
        summary(replay),
        [
            "1 REJECTED MUTATION_ID_REUSED",
            "2 REJECTED MUTATION_ID_REUSED",
            "3 REJECTED MUTATION_ID_REUSED"
        ]
    );
    assert!(
        replay["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["replayed"] == true)
    );
    assert_eq!(app.count("suggestion").await, suggestions);
    assert_eq!(app.count("sync_mutation_ledger").await, 0);
}

#[tokio::test]
async fn a_device_is_poked_for_a_community_it_joined_after_subscribing() {
    let s = scene().await;
    let app = &s.app;
    let carol = app.sign_up("carol").await;
    let mut carols = SyncClient::new(&carol);
    carols.pull_all(app, 100).await;
    let mut socket = connect(app, &carol).await;
    support::subscribe(&mut socket, "1", POKE, &carols.client_group_id).await;

    carols.queue("JOIN_COMMUNITY", json!({ "communityId": s.community }));
    assert_eq!(summary(&carols.push(app).await), ["1 APPLIED"]);
    assert_eq!(support::next_data(&mut socket, "1", "syncPoke").await, true);
    carols.pull_all(app, 100).await;
    // The join pokes twice (her membership, the community's member count): let them pass.
    while tokio::time::timeout(Duration::from_millis(500), receive(&mut socket))
        .await
        .is_ok()
    {}

    let mut alices = SyncClient::new(&s.alice);
    let id = new_id();
    alices.queue(
        "CREATE_SUGGESTION",
        idea(&id, &s.community, "After the join"),
    );
    alices.push(app).await;
    assert_eq!(support::next_data(&mut socket, "1", "syncPoke").await, true);
    carols.pull_all(app, 100).await;
    assert!(carols.entity("Suggestion", &id).is_some());
}

#[tokio::test]
async fn promotion_to_admin_pokes_the_user_and_adds_the_admin_scopes() {
    let s = scene().await;
    let app = &s.app;
    let root = app.admin("root").await;
    let mut alices = SyncClient::new(&s.alice);
    alices.pull_all(app, 100).await;
    let mut socket = connect(app, &s.alice).await;
    support::subscribe(&mut socket, "1", POKE, &alices.client_group_id).await;

    let promoted = app
        .graphql(
            "mutation($id: ID!) { setUserRole(userId: $id, role: ADMIN) { role } }",
            json!({ "id": s.alice.id }),
            auth(&root),
        )
        .await;
    assert_eq!(ok(&promoted, "setUserRole")["role"], "ADMIN");
    assert_eq!(support::next_data(&mut socket, "1", "syncPoke").await, true);

    let pages = alices.pull_all(app, 100).await;
    let added: Vec<&Value> = pages
        .iter()
        .flat_map(|page| page["scopeEvents"].as_array().unwrap().iter())
        .filter(|event| event["kind"] == "ADDED")
        .collect();
    assert_eq!(
        added
            .iter()
            .map(|e| e["scope"].as_str().unwrap())
            .collect::<Vec<_>>(),
        [format!("admin:{}", s.community)]
    );
}
