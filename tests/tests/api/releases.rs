//! Weekly releases ("Orange Friday"): drafts by the brand's people, publication that ships every
//! linked suggestion with its thanks and points in one transaction, and what is refused.

use canyu_tests::{TestApp, TestUser, assert_code};
use serde_json::{Value, json};

use crate::support::{
    auth, create_community, id_of, mark_duplicate, member, new_id, ok, read_suggestion, set_status,
    staff, submit, vote,
};

const CREATE: &str = "mutation($input: CreateReleaseInput!) { createRelease(input: $input) { id version notes scheduledAt publishedAt userSourcedShare items { position title suggestion { id status } } } }";

const PUBLISH: &str = "mutation($id: ID!) { publishRelease(id: $id) { id publishedAt userSourcedShare items { title suggestion { id status } } } }";

const LIST: &str =
    "query($c: ID!) { releases(communityId: $c) { nodes { id version publishedAt } } }";

fn release(community: &str, version: &str, items: Value) -> Value {
    json!({ "input": {
        "communityId": community, "version": version, "notes": "What is new this Friday",
        "scheduledAt": "2026-12-04T10:00:00Z", "items": items,
    } })
}

async fn points(app: &TestApp, user: &TestUser) -> i64 {
    let body = app
        .graphql("query { viewer { growthPoints } }", json!({}), auth(user))
        .await;
    ok(&body, "viewer")["growthPoints"].as_i64().unwrap()
}

async fn listed(app: &TestApp, viewer: Option<&TestUser>, community: &str) -> Vec<Value> {
    let body = app
        .graphql(LIST, json!({ "c": community }), viewer.and_then(auth))
        .await;
    ok(&body, "releases")["nodes"].as_array().unwrap().clone()
}

#[tokio::test]
async fn publishing_a_release_ships_its_linked_suggestions_with_thanks_and_points() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "fans", "PUBLIC").await;
    let fan = member(&app, "fan", &community).await;
    let voter = member(&app, "voter", &community).await;
    let brand = staff(&app, "brand").await;
    let quiet = submit(&app, &fan, &community, "A quieter fan").await;
    let dark = submit(&app, &fan, &community, "A dark mode").await;
    vote(&app, &voter, &quiet, "UP").await;
    set_status(&app, &brand, &dark, "IN_PROGRESS").await;
    let before = points(&app, &fan).await;

    let body = app
        .graphql(
            CREATE,
            release(
                &community,
                "2026.49",
                json!([
                    { "title": "Quieter fan", "suggestionId": quiet },
                    { "title": "Dark mode", "suggestionId": dark },
                    { "title": "Bug fixes" },
                ]),
            ),
            auth(&brand),
        )
        .await;
    let draft = ok(&body, "createRelease").clone();
    assert!(draft["publishedAt"].is_null());
    assert_eq!(draft["userSourcedShare"], "0.666667");
    assert_eq!(draft["items"][2]["position"], 2);
    assert!(draft["items"][2]["suggestion"].is_null());
    assert_eq!(draft["items"][0]["suggestion"]["status"], "OPEN");
    // A draft is the brand's: members do not see it.
    assert!(listed(&app, Some(&fan), &community).await.is_empty());
    assert_eq!(listed(&app, Some(&brand), &community).await.len(), 1);
    let one = app
        .graphql(
            "query($id: ID!) { release(id: $id) { id } }",
            json!({ "id": id_of(&draft) }),
            auth(&fan),
        )
        .await;
    assert!(ok_or_null(&one, "release").is_null());

    let body = app
        .graphql(PUBLISH, json!({ "id": id_of(&draft) }), auth(&brand))
        .await;
    let published = ok(&body, "publishRelease").clone();
    assert!(published["publishedAt"].is_string());
    for item in &published["items"].as_array().unwrap()[..2] {
        assert_eq!(item["suggestion"]["status"], "SHIPPED");
    }
    assert_eq!(points(&app, &fan).await, before + 200);
    let timeline = read_suggestion(
        &app,
        Some(&fan),
        &quiet,
        "status resolvedAt timeline { toStatus note }",
    )
    .await;
    assert_eq!(timeline["status"], "SHIPPED");
    assert!(timeline["resolvedAt"].is_string());
    assert!(
        timeline["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["toStatus"] == "SHIPPED" && e["note"] == "released in 2026.49"),
        "{timeline}"
    );
    // The thanks: the author is told now, the voters by the fan-out.
    let kinds = |user: &TestUser| {
        let app = &app;
        let token = user.access_token.clone();
        async move {
            let body = app
                .graphql(
                    "query { notifications(first: 50) { nodes { kind suggestion { id } } } }",
                    json!({}),
                    Some(&token),
                )
                .await;
            ok(&body, "notifications")["nodes"]
                .as_array()
                .unwrap()
                .clone()
        }
    };
    assert!(
        kinds(&fan)
            .await
            .iter()
            .any(|n| n["kind"] == "STATUS_CHANGED" && n["suggestion"]["id"] == quiet.as_str())
    );
    let mut told = false;
    for _ in 0..100 {
        if kinds(&voter).await.iter().any(|n| n["kind"] == "SHIPPED") {
            told = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(told, "the voter was thanked");
    assert_eq!(listed(&app, Some(&fan), &community).await.len(), 1);
    assert_eq!(listed(&app, None, &community).await.len(), 1);

    // Twice is CONFLICT, and earns nothing more.
    let again = app
        .graphql(PUBLISH, json!({ "id": id_of(&draft) }), auth(&brand))
        .await;
    assert_code(&again, "CONFLICT");
    assert_eq!(points(&app, &fan).await, before + 200);
}

fn ok_or_null<'a>(body: &'a Value, field: &str) -> &'a Value {
    assert!(body["errors"].is_null(), "{field} failed: {body}");
    &body["data"][field]
}

#[tokio::test]
async fn invalid_releases_are_refused_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "fans", "PUBLIC").await;
    let elsewhere = create_community(&app, &owner, "others", "PUBLIC").await;
    let fan = member(&app, "fan", &community).await;
    let brand = staff(&app, "brand").await;
    let open = submit(&app, &fan, &community, "An open idea").await;
    let declined = submit(&app, &fan, &community, "A declined idea").await;
    set_status(&app, &brand, &declined, "DECLINED").await;
    let duplicate = submit(&app, &fan, &community, "A duplicate idea").await;
    mark_duplicate(&app, &brand, &duplicate, &open).await;
    let foreign = submit(&app, &owner, &elsewhere, "Another community's idea").await;
    let body = app
        .graphql(
            CREATE,
            release(
                &community,
                "1.0",
                json!([{ "title": "Open", "suggestionId": open }]),
            ),
            auth(&brand),
        )
        .await;
    ok(&body, "createRelease");

    let many: Vec<Value> = (0..101)
        .map(|n| json!({ "title": format!("item {n}") }))
        .collect();
    for (input, token, code) in [
        (
            release(&community, "2.0", json!([{ "title": "x" }])),
            auth(&fan),
            "FORBIDDEN",
        ),
        (
            release(&community, "2.0", json!([{ "title": "x" }])),
            auth(&owner),
            "FORBIDDEN",
        ),
        (
            release(&community, "2.0", json!([{ "title": "x" }])),
            None,
            "UNAUTHENTICATED",
        ),
        (
            release(
                &community,
                "2.0",
                json!([{ "title": "x", "suggestionId": declined }]),
            ),
            auth(&brand),
            "BAD_USER_INPUT",
        ),
        (
            release(
                &community,
                "2.0",
                json!([{ "title": "x", "suggestionId": duplicate }]),
            ),
            auth(&brand),
            "BAD_USER_INPUT",
        ),
        (
            release(
                &community,
                "2.0",
                json!([{ "title": "x", "suggestionId": foreign }]),
            ),
            auth(&brand),
            "BAD_USER_INPUT",
        ),
        (
            release(
                &community,
                "2.0",
                json!([{ "title": "x", "suggestionId": new_id() }]),
            ),
            auth(&brand),
            "BAD_USER_INPUT",
        ),
        (
            release(
                &community,
                "2.0",
                json!([{ "title": "x", "suggestionId": open }, { "title": "y", "suggestionId": open }]),
            ),
            auth(&brand),
            "BAD_USER_INPUT",
        ),
        (
            release(&community, "2.0", json!([])),
            auth(&brand),
            "BAD_USER_INPUT",
        ),
        (
            release(&community, "2.0", Value::Array(many)),
            auth(&brand),
            "BAD_USER_INPUT",
        ),
        (
            release(&community, "2.0", json!([{ "title": "" }])),
            auth(&brand),
            "BAD_USER_INPUT",
        ),
        (
            release(&community, "", json!([{ "title": "x" }])),
            auth(&brand),
            "BAD_USER_INPUT",
        ),
        (
            release(&community, "1.0", json!([{ "title": "x" }])),
            auth(&brand),
            "CONFLICT",
        ),
        (
            release(&new_id(), "2.0", json!([{ "title": "x" }])),
            auth(&brand),
            "NOT_FOUND",
        ),
    ] {
        let body = app.graphql(CREATE, input.clone(), token).await;
        assert_code(&body, code);
    }
    assert_eq!(app.count("release").await, 1);
    assert_eq!(app.count("release_item").await, 1);
    let body = app
        .graphql(PUBLISH, json!({ "id": new_id() }), auth(&brand))
        .await;
    assert_code(&body, "NOT_FOUND");
    let listed_id = id_of(&listed(&app, Some(&brand), &community).await[0]);
    let body = app
        .graphql(PUBLISH, json!({ "id": listed_id }), auth(&fan))
        .await;
    assert_code(&body, "FORBIDDEN");
    assert_eq!(
        read_suggestion(&app, Some(&fan), &open, "status").await["status"],
        "OPEN"
    );
}

#[tokio::test]
async fn a_suggestion_declined_after_drafting_stops_the_publication_and_nothing_changes() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "fans", "PUBLIC").await;
    let fan = member(&app, "fan", &community).await;
    let brand = staff(&app, "brand").await;
    let first = submit(&app, &fan, &community, "The first idea").await;
    let second = submit(&app, &fan, &community, "The second idea").await;
    let body = app
        .graphql(
            CREATE,
            release(
                &community,
                "3.0",
                json!([
                    { "title": "First", "suggestionId": first },
                    { "title": "Second", "suggestionId": second },
                ]),
            ),
            auth(&brand),
        )
        .await;
    let draft = id_of(ok(&body, "createRelease"));
    set_status(&app, &brand, &second, "DECLINED").await;
    let before = points(&app, &fan).await;
    let body = app
        .graphql(PUBLISH, json!({ "id": draft }), auth(&brand))
        .await;
    assert_code(&body, "BAD_USER_INPUT");
    assert_eq!(
        read_suggestion(&app, Some(&fan), &first, "status").await["status"],
        "OPEN"
    );
    assert_eq!(points(&app, &fan).await, before);
    assert!(listed(&app, Some(&brand), &community).await[0]["publishedAt"].is_null());
}

#[tokio::test]
async fn published_releases_sync_to_their_community_and_drafts_do_not() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "fans", "PUBLIC").await;
    let fan = member(&app, "fan", &community).await;
    let brand = staff(&app, "brand").await;
    let idea = submit(&app, &fan, &community, "Synced idea").await;
    let body = app
        .graphql(
            CREATE,
            release(
                &community,
                "4.0",
                json!([{ "title": "Idea", "suggestionId": idea }]),
            ),
            auth(&brand),
        )
        .await;
    let draft = id_of(ok(&body, "createRelease"));
    let mut device = crate::sync_client::SyncClient::new(&fan);
    device.pull_all(&app, 100).await;
    assert!(device.ids_of("Release").is_empty());

    let body = app
        .graphql(PUBLISH, json!({ "id": draft }), auth(&brand))
        .await;
    ok(&body, "publishRelease");
    device.pull_all(&app, 100).await;
    let row = device
        .row("Release", &draft)
        .expect("the published release synced");
    assert_eq!(row.entity["version"], "4.0");
    assert_eq!(row.entity["userSourcedShare"], "1");
    assert_eq!(
        device.row("Suggestion", &idea).unwrap().entity["status"],
        "SHIPPED"
    );
}
