//! Suggestions: submitting, validation, idempotent submits, editing, deleting, the status
//! workflow and its timeline, official responses, duplicates, and listing (sorts, filters,
//! paging under concurrent votes, full-text search, a constant number of queries).

use std::time::Duration;

use canyu_tests::{TestApp, TestUser, assert_code};
use serde_json::{Value, json};

use crate::support::{
    assert_counters_equal_vote_rows, auth, comment, create_community, db_queries, execute, id_of,
    join, mark_duplicate, member, new_id, node_ids, ok, read_suggestion, respond, set_status,
    staff, submit, submit_with_body, try_vote, vote,
};

const SUBMIT: &str = "mutation($input: SubmitSuggestionInput!) { submitSuggestion(input: $input) { id kind title body productLine status upvotes downvotes score commentCount viewerVote officialResponse { id } firstResponseAt resolvedAt duplicateOf { id } author { id handle } community { id } timeline { fromStatus toStatus } } }";
const EDIT: &str = "mutation($input: EditSuggestionInput!) { editSuggestion(input: $input) { id title body productLine } }";
const DELETE: &str = "mutation($id: ID!) { deleteSuggestion(suggestionId: $id) }";
const SET_STATUS: &str = "mutation($input: SetStatusInput!) { setSuggestionStatus(input: $input) { status resolvedAt timeline { fromStatus toStatus note actor { id } } } }";
const RESPOND: &str = "mutation($input: RespondInput!) { respondToSuggestion(input: $input) { status commentCount firstResponseAt officialResponse { body official author { id } } timeline { fromStatus toStatus } } }";
const MARK_DUPLICATE: &str = "mutation($input: MarkDuplicateInput!) { markDuplicate(input: $input) { id status duplicateOf { id } } }";
const USER_SUGGESTIONS: &str =
    "query($id: ID!) { user(id: $id) { suggestions(first: 10) { nodes { id } } } }";

/// A PUBLIC community `fans` and its owner.
async fn community(app: &TestApp) -> (TestUser, String) {
    let owner = app.sign_up("owner").await;
    let id = create_community(app, &owner, "fans", "PUBLIC").await;
    (owner, id)
}

/// A suggestion of `kind` with a client-made id; returns its id.
async fn submit_kind(
    app: &TestApp,
    author: &TestUser,
    community_id: &str,
    kind: &str,
    title: &str,
) -> String {
    let body = app
        .graphql(
            SUBMIT,
            json!({ "input": {
                "id": new_id(),
                "communityId": community_id,
                "kind": kind,
                "title": title,
                "body": "Details.",
            } }),
            auth(author),
        )
        .await;
    id_of(ok(&body, "submitSuggestion"))
}

/// `setSuggestionStatus` by `user`; the whole answer.
async fn try_status(app: &TestApp, user: &TestUser, suggestion_id: &str, status: &str) -> Value {
    app.graphql(
        SET_STATUS,
        json!({ "input": { "suggestionId": suggestion_id, "status": status } }),
        auth(user),
    )
    .await
}

/// A timeline as `from->to` strings (`null->OPEN` for the first entry).
#[track_caller]
fn transitions(timeline: &Value) -> Vec<String> {
    timeline
        .as_array()
        .unwrap_or_else(|| panic!("no timeline: {timeline}"))
        .iter()
        .map(|entry| {
            format!(
                "{}->{}",
                entry["fromStatus"].as_str().unwrap_or("null"),
                entry["toStatus"].as_str().unwrap()
            )
        })
        .collect()
}

/// The status and timeline of a suggestion as `viewer` sees it.
async fn status_and_transitions(
    app: &TestApp,
    viewer: &TestUser,
    suggestion_id: &str,
) -> (String, Vec<String>) {
    let read = read_suggestion(
        app,
        Some(viewer),
        suggestion_id,
        "status timeline { fromStatus toStatus }",
    )
    .await;
    (
        read["status"].as_str().unwrap().to_string(),
        transitions(&read["timeline"]),
    )
}

/// The `suggestions` query with `sort` (the default when None); the variables must name all of
/// `c status kind search first after` (null when unused).
fn list_query(sort: Option<&str>) -> String {
    let sort = sort
        .map(|sort| format!(", sort: {sort}"))
        .unwrap_or_default();
    format!(
        "query($c: ID, $status: [SuggestionStatus!], $kind: SuggestionKind, $search: String, $first: Int, $after: String) {{ suggestions(communityId: $c, status: $status, kind: $kind, search: $search, first: $first, after: $after{sort}) {{ nodes {{ id }} pageInfo {{ hasNextPage endCursor }} }} }}"
    )
}

/// Variables for [`list_query`]: one community, no filters, the first 100.
fn in_community(community_id: &str) -> Value {
    json!({ "c": community_id, "status": null, "kind": null, "search": null, "first": 100, "after": null })
}

/// One page of `suggestions`.
async fn list(app: &TestApp, token: Option<&str>, sort: Option<&str>, variables: Value) -> Value {
    let body = app.graphql(&list_query(sort), variables, token).await;
    ok(&body, "suggestions").clone()
}

/// The ids of one page of `suggestions`.
async fn listed(
    app: &TestApp,
    token: Option<&str>,
    sort: Option<&str>,
    variables: Value,
) -> Vec<String> {
    node_ids(&list(app, token, sort, variables).await)
}

/// Every page of `first: 2`; returns the ids in page order and the number of pages.
async fn all_pages(
    app: &TestApp,
    token: Option<&str>,
    sort: &str,
    community_id: &str,
) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages <= 50, "paging does not end");
        let mut variables = in_community(community_id);
        variables["first"] = json!(2);
        variables["after"] = json!(after);
        let page = list(app, token, Some(sort), variables).await;
        let page_ids = node_ids(&page);
        assert!(page_ids.len() <= 2, "{page}");
        ids.extend(page_ids);
        if page["pageInfo"]["hasNextPage"] != json!(true) {
            return (ids, pages);
        }
        after = Some(page["pageInfo"]["endCursor"].as_str().unwrap().to_string());
    }
}

/// Asserts `ids` holds each of `expected` exactly once.
#[track_caller]
fn assert_each_once(ids: &[String], expected: &[String], context: &str) {
    let mut sorted = ids.to_vec();
    sorted.sort();
    let mut wanted = expected.to_vec();
    wanted.sort();
    assert_eq!(sorted, wanted, "{context}: every suggestion exactly once");
}

#[tokio::test]
async fn a_submitted_suggestion_is_open_with_one_timeline_entry() {
    let app = TestApp::spawn().await;
    let (_, community_id) = community(&app).await;
    let author = member(&app, "author", &community_id).await;
    let body = app
        .graphql(
            SUBMIT,
            json!({ "input": {
                "communityId": community_id,
                "kind": "COMPLAINT",
                "title": "  Battery drains overnight  ",
                "body": "  It loses 40% while idle.\n\tEvery night.  ",
                "productLine": "phone-x",
            } }),
            auth(&author),
        )
        .await;
    let suggestion = ok(&body, "submitSuggestion");
    assert_eq!(suggestion["kind"], "COMPLAINT");
    assert_eq!(suggestion["title"], "Battery drains overnight");
    assert_eq!(
        suggestion["body"],
        "It loses 40% while idle.\n\tEvery night."
    );
    assert_eq!(suggestion["productLine"], "phone-x");
    assert_eq!(suggestion["status"], "OPEN");
    assert_eq!(suggestion["author"]["id"], author.id.as_str());
    assert_eq!(suggestion["author"]["handle"], "author");
    assert_eq!(suggestion["community"]["id"], community_id.as_str());
    assert_eq!(suggestion["upvotes"], 0);
    assert_eq!(suggestion["downvotes"], 0);
    assert_eq!(suggestion["score"], 0);
    assert_eq!(suggestion["commentCount"], 0);
    assert_eq!(suggestion["viewerVote"], "NONE");
    assert!(suggestion["officialResponse"].is_null());
    assert!(suggestion["firstResponseAt"].is_null());
    assert!(suggestion["resolvedAt"].is_null());
    assert!(suggestion["duplicateOf"].is_null());
    assert_eq!(
        suggestion["timeline"],
        json!([{ "fromStatus": null, "toStatus": "OPEN" }])
    );
    assert_eq!(app.count("suggestion").await, 1);

    let id = id_of(suggestion);
    let read = read_suggestion(&app, None, &id, "id title viewerVote").await;
    assert_eq!(read["title"], "Battery drains overnight");
    assert_eq!(read["viewerVote"], "NONE", "anonymous viewers have no vote");
}

#[tokio::test]
async fn invalid_suggestions_name_the_field_and_write_nothing() {
    let app = TestApp::spawn().await;
    let (_, community_id) = community(&app).await;
    let author = member(&app, "author", &community_id).await;
    let long_title = "t".repeat(201);
    let long_body = "b".repeat(20_001);
    let cases = [
        ("ab", "Fine.", "title"),
        ("   ab   ", "Fine.", "title"),
        ("", "Fine.", "title"),
        (long_title.as_str(), "Fine.", "title"),
        ("bell\u{7} title", "Fine.", "title"),
        ("two\nlines", "Fine.", "title"),
        ("Fine title", long_body.as_str(), "body"),
        ("Fine title", "nul \u{0} byte", "body"),
        ("Fine title", "escape \u{1b}[31m red", "body"),
    ];
    for (title, text, field) in cases {
        let body = app
            .graphql(
                SUBMIT,
                json!({ "input": { "communityId": community_id, "kind": "IDEA", "title": title, "body": text } }),
                auth(&author),
            )
            .await;
        assert_code(&body, "BAD_USER_INPUT");
        assert_eq!(
            body["errors"][0]["extensions"]["field"], field,
            "{title:?}: {body}"
        );
    }
    assert_eq!(app.count("suggestion").await, 0);

    // The limits themselves are fine, and so are new lines and tabs in a body.
    let longest_title = "t".repeat(200);
    let longest_body = format!("{}\n\tb", "b".repeat(19_997));
    for (title, text) in [
        ("abc", "Fine."),
        (longest_title.as_str(), longest_body.as_str()),
    ] {
        let body = app
            .graphql(
                SUBMIT,
                json!({ "input": { "communityId": community_id, "kind": "IDEA", "title": title, "body": text } }),
                auth(&author),
            )
            .await;
        let suggestion = ok(&body, "submitSuggestion");
        assert_eq!(suggestion["body"], text);
    }
    assert_eq!(app.count("suggestion").await, 2);
}

#[tokio::test]
async fn only_active_members_submit() {
    let app = TestApp::spawn().await;
    let (owner, public) = community(&app).await;
    let secret = create_community(&app, &owner, "secret", "PRIVATE").await;
    let outsider = app.sign_up("outsider").await;
    let hopeful = app.sign_up("hopeful").await;
    assert_eq!(join(&app, &hopeful, &secret).await["status"], "REQUESTED");

    let input = |community_id: &str| json!({ "input": { "communityId": community_id, "kind": "IDEA", "title": "Let me in", "body": "" } });
    let cases = [
        (input(&public), auth(&outsider), "FORBIDDEN"),
        (input(&secret), auth(&outsider), "NOT_FOUND"),
        (input(&secret), auth(&hopeful), "NOT_FOUND"),
        (input(&new_id()), auth(&outsider), "NOT_FOUND"),
        (input(&public), None, "UNAUTHENTICATED"),
    ];
    for (variables, token, code) in cases {
        let body = app.graphql(SUBMIT, variables, token).await;
        assert_code(&body, code);
    }
    assert_eq!(app.count("suggestion").await, 0);
}

#[tokio::test]
async fn submitting_again_with_the_same_client_id_returns_the_same_suggestion() {
    let app = TestApp::spawn().await;
    let (_, community_id) = community(&app).await;
    let author = member(&app, "author", &community_id).await;
    let id = new_id();
    let input = json!({ "id": id, "communityId": community_id, "kind": "BUG", "title": "Crash on start", "body": "Every time." });
    for _ in 0..2 {
        let body = app
            .graphql(SUBMIT, json!({ "input": input }), auth(&author))
            .await;
        assert_eq!(ok(&body, "submitSuggestion")["id"], id.as_str());
    }
    assert_eq!(app.count("suggestion").await, 1);

    let changed = app
        .graphql(
            SUBMIT,
            json!({ "input": { "id": id, "communityId": community_id, "kind": "BUG", "title": "Crash on exit", "body": "Every time." } }),
            auth(&author),
        )
        .await;
    assert_code(&changed, "CONFLICT");
    assert_eq!(app.count("suggestion").await, 1);
    let read = read_suggestion(&app, None, &id, "title").await;
    assert_eq!(read["title"], "Crash on start");
}

#[tokio::test]
async fn the_author_edits_an_open_suggestion_and_nobody_else_can() {
    let app = TestApp::spawn().await;
    let (_, community_id) = community(&app).await;
    let author = member(&app, "author", &community_id).await;
    let other = member(&app, "other", &community_id).await;
    let staffer = staff(&app, "staffer").await;
    let id = submit(&app, &author, &community_id, "First draft").await;

    let edited = app
        .graphql(
            EDIT,
            json!({ "input": { "suggestionId": id, "title": "  Second draft ", "body": "Now with details.", "productLine": "tv" } }),
            auth(&author),
        )
        .await;
    let suggestion = ok(&edited, "editSuggestion");
    assert_eq!(suggestion["title"], "Second draft");
    assert_eq!(suggestion["body"], "Now with details.");
    assert_eq!(suggestion["productLine"], "tv");

    let expected = json!({ "title": "Second draft", "body": "Now with details." });
    let by_other = app
        .graphql(
            EDIT,
            json!({ "input": { "suggestionId": id, "title": "Vandalised" } }),
            auth(&other),
        )
        .await;
    assert_code(&by_other, "FORBIDDEN");
    assert_eq!(
        read_suggestion(&app, None, &id, "title body").await,
        expected
    );

    let too_short = app
        .graphql(
            EDIT,
            json!({ "input": { "suggestionId": id, "title": "ab" } }),
            auth(&author),
        )
        .await;
    assert_code(&too_short, "BAD_USER_INPUT");
    assert_eq!(too_short["errors"][0]["extensions"]["field"], "title");
    assert_eq!(
        read_suggestion(&app, None, &id, "title body").await,
        expected
    );

    set_status(&app, &staffer, &id, "UNDER_REVIEW").await;
    let too_late = app
        .graphql(
            EDIT,
            json!({ "input": { "suggestionId": id, "title": "Third draft" } }),
            auth(&author),
        )
        .await;
    assert_code(&too_late, "BAD_USER_INPUT");
    assert_eq!(
        read_suggestion(&app, None, &id, "title body").await,
        expected
    );
}

#[tokio::test]
async fn a_deleted_suggestion_disappears_but_only_its_author_or_moderators_delete() {
    let app = TestApp::spawn().await;
    let (owner, community_id) = community(&app).await;
    let author = member(&app, "author", &community_id).await;
    let other = member(&app, "other", &community_id).await;
    let staffer = staff(&app, "staffer").await;
    let first = submit(&app, &author, &community_id, "First idea").await;
    let second = submit(&app, &author, &community_id, "Second idea").await;
    let third = submit(&app, &author, &community_id, "Third idea").await;

    let by_other = app
        .graphql(DELETE, json!({ "id": first }), auth(&other))
        .await;
    assert_code(&by_other, "FORBIDDEN");
    let anonymous = app.graphql(DELETE, json!({ "id": first }), None).await;
    assert_code(&anonymous, "UNAUTHENTICATED");
    assert!(!read_suggestion(&app, None, &first, "id").await.is_null());

    let by_author = app
        .graphql(DELETE, json!({ "id": first }), auth(&author))
        .await;
    assert_eq!(ok(&by_author, "deleteSuggestion"), &json!(true));
    assert!(
        read_suggestion(&app, Some(&author), &first, "id")
            .await
            .is_null()
    );
    assert_eq!(
        listed(
            &app,
            auth(&author),
            Some("NEW"),
            in_community(&community_id)
        )
        .await,
        vec![third.clone(), second.clone()]
    );
    let nested = app
        .graphql(USER_SUGGESTIONS, json!({ "id": author.id }), auth(&author))
        .await;
    assert_eq!(
        node_ids(&ok(&nested, "user")["suggestions"]),
        vec![third.clone(), second.clone()],
        "a user's suggestions are newest first and leave out deleted ones"
    );

    let by_owner = app
        .graphql(DELETE, json!({ "id": second }), auth(&owner))
        .await;
    assert_eq!(ok(&by_owner, "deleteSuggestion"), &json!(true));
    let by_staff = app
        .graphql(DELETE, json!({ "id": third }), auth(&staffer))
        .await;
    assert_eq!(ok(&by_staff, "deleteSuggestion"), &json!(true));
    assert!(
        listed(
            &app,
            auth(&author),
            Some("NEW"),
            in_community(&community_id)
        )
        .await
        .is_empty()
    );
    assert_eq!(app.count("suggestion").await, 3, "deletion is soft");
}

#[tokio::test]
async fn statuses_move_forward_with_skips_and_every_change_joins_the_timeline() {
    let app = TestApp::spawn().await;
    let (_, community_id) = community(&app).await;
    let author = member(&app, "author", &community_id).await;
    let staffer = staff(&app, "staffer").await;
    let id = submit(&app, &author, &community_id, "Wireless charging").await;

    let planned = app
        .graphql(
            SET_STATUS,
            json!({ "input": { "suggestionId": id, "status": "PLANNED", "note": "For Q3" } }),
            auth(&staffer),
        )
        .await;
    let planned = ok(&planned, "setSuggestionStatus");
    assert_eq!(planned["status"], "PLANNED");
    assert!(planned["resolvedAt"].is_null(), "{planned}");
    assert_eq!(
        transitions(&planned["timeline"]),
        vec!["null->OPEN", "OPEN->PLANNED"]
    );
    assert_eq!(planned["timeline"][1]["note"], "For Q3");
    assert_eq!(planned["timeline"][1]["actor"]["id"], staffer.id.as_str());

    let shipped = try_status(&app, &staffer, &id, "SHIPPED").await;
    let shipped = ok(&shipped, "setSuggestionStatus");
    assert_eq!(shipped["status"], "SHIPPED");
    assert!(shipped["resolvedAt"].is_string(), "{shipped}");
    assert_eq!(
        transitions(&shipped["timeline"]),
        vec!["null->OPEN", "OPEN->PLANNED", "PLANNED->SHIPPED"]
    );
    assert!(shipped["timeline"][2]["note"].is_null());
    assert_eq!(shipped["timeline"][2]["actor"]["id"], staffer.id.as_str());

    let reopened = try_status(&app, &staffer, &id, "UNDER_REVIEW").await;
    let reopened = ok(&reopened, "setSuggestionStatus");
    assert_eq!(reopened["status"], "UNDER_REVIEW");
    assert!(
        reopened["resolvedAt"].is_null(),
        "reopening clears resolvedAt"
    );

    for status in ["IN_PROGRESS", "SHIPPED"] {
        set_status(&app, &staffer, &id, status).await;
    }
    let (status, timeline) = status_and_transitions(&app, &author, &id).await;
    assert_eq!(status, "SHIPPED");
    assert_eq!(
        timeline,
        vec![
            "null->OPEN",
            "OPEN->PLANNED",
            "PLANNED->SHIPPED",
            "SHIPPED->UNDER_REVIEW",
            "UNDER_REVIEW->IN_PROGRESS",
            "IN_PROGRESS->SHIPPED",
        ]
    );

    // The whole chain one step at a time, and a direct ship, work too.
    let stepwise = submit(&app, &author, &community_id, "Step by step").await;
    for status in ["UNDER_REVIEW", "PLANNED", "IN_PROGRESS", "SHIPPED"] {
        assert_eq!(
            set_status(&app, &staffer, &stepwise, status).await["status"],
            status
        );
    }
    let direct = submit(&app, &author, &community_id, "Straight out").await;
    assert!(set_status(&app, &staffer, &direct, "SHIPPED").await["resolvedAt"].is_string());
}

#[tokio::test]
async fn a_suggestion_is_declined_from_in_progress_and_reopened() {
    let app = TestApp::spawn().await;
    let (_, community_id) = community(&app).await;
    let author = member(&app, "author", &community_id).await;
    let staffer = staff(&app, "staffer").await;
    let id = submit(&app, &author, &community_id, "Foldable screen").await;

    assert!(set_status(&app, &staffer, &id, "IN_PROGRESS").await["resolvedAt"].is_null());
    let declined = set_status(&app, &staffer, &id, "DECLINED").await;
    assert_eq!(declined["status"], "DECLINED");
    assert!(declined["resolvedAt"].is_string(), "{declined}");
    let reopened = set_status(&app, &staffer, &id, "UNDER_REVIEW").await;
    assert!(reopened["resolvedAt"].is_null(), "{reopened}");
    let (_, timeline) = status_and_transitions(&app, &author, &id).await;
    assert_eq!(
        timeline,
        vec![
            "null->OPEN",
            "OPEN->IN_PROGRESS",
            "IN_PROGRESS->DECLINED",
            "DECLINED->UNDER_REVIEW",
        ]
    );

    let straight = submit(&app, &author, &community_id, "Declined at once").await;
    assert_eq!(
        set_status(&app, &staffer, &straight, "DECLINED").await["status"],
        "DECLINED"
    );
}

#[tokio::test]
async fn illegal_status_moves_are_bad_user_input_and_leave_the_timeline_alone() {
    let app = TestApp::spawn().await;
    let (_, community_id) = community(&app).await;
    let author = member(&app, "author", &community_id).await;
    let staffer = staff(&app, "staffer").await;
    let planned = submit(&app, &author, &community_id, "Planned one").await;
    set_status(&app, &staffer, &planned, "PLANNED").await;
    let shipped = submit(&app, &author, &community_id, "Shipped one").await;
    set_status(&app, &staffer, &shipped, "SHIPPED").await;
    let declined = submit(&app, &author, &community_id, "Declined one").await;
    set_status(&app, &staffer, &declined, "DECLINED").await;
    let open = submit(&app, &author, &community_id, "Open one").await;
    let events = app.count("suggestion_event").await;

    let cases = [
        (
            &planned,
            "PLANNED",
            vec!["OPEN", "UNDER_REVIEW", "PLANNED", "DUPLICATE"],
        ),
        (
            &shipped,
            "SHIPPED",
            vec![
                "DECLINED",
                "IN_PROGRESS",
                "OPEN",
                "SHIPPED",
                "DUPLICATE",
                "PLANNED",
            ],
        ),
        (
            &declined,
            "DECLINED",
            vec!["OPEN", "PLANNED", "SHIPPED", "DECLINED", "DUPLICATE"],
        ),
        (&open, "OPEN", vec!["OPEN", "DUPLICATE"]),
    ];
    for (id, current, targets) in cases {
        let (_, before) = status_and_transitions(&app, &author, id).await;
        for target in targets {
            let body = try_status(&app, &staffer, id, target).await;
            assert_code(&body, "BAD_USER_INPUT");
            let (status, timeline) = status_and_transitions(&app, &author, id).await;
            assert_eq!(status, current, "{current} -> {target}");
            assert_eq!(timeline, before, "{current} -> {target}");
        }
    }
    assert_eq!(app.count("suggestion_event").await, events);
}

#[tokio::test]
async fn only_staff_and_admins_change_statuses_respond_and_mark_duplicates() {
    let app = TestApp::spawn().await;
    let (owner, community_id) = community(&app).await;
    let author = member(&app, "author", &community_id).await;
    let id = submit(&app, &author, &community_id, "Better speakers").await;
    let other = submit(&app, &author, &community_id, "Louder speakers").await;
    let events = app.count("suggestion_event").await;

    for token in [auth(&owner), auth(&author)] {
        let status = app
            .graphql(
                SET_STATUS,
                json!({ "input": { "suggestionId": id, "status": "PLANNED" } }),
                token,
            )
            .await;
        assert_code(&status, "FORBIDDEN");
        let response = app
            .graphql(
                RESPOND,
                json!({ "input": { "suggestionId": id, "body": "Official-looking" } }),
                token,
            )
            .await;
        assert_code(&response, "FORBIDDEN");
        let duplicate = app
            .graphql(
                MARK_DUPLICATE,
                json!({ "input": { "suggestionId": other, "duplicateOfId": id } }),
                token,
            )
            .await;
        assert_code(&duplicate, "FORBIDDEN");
    }
    let anonymous = app
        .graphql(
            SET_STATUS,
            json!({ "input": { "suggestionId": id, "status": "PLANNED" } }),
            None,
        )
        .await;
    assert_code(&anonymous, "UNAUTHENTICATED");

    for suggestion_id in [&id, &other] {
        let read = read_suggestion(
            &app,
            None,
            suggestion_id,
            "status commentCount officialResponse { id } duplicateOf { id }",
        )
        .await;
        assert_eq!(
            read,
            json!({ "status": "OPEN", "commentCount": 0, "officialResponse": null, "duplicateOf": null })
        );
    }
    assert_eq!(app.count("comment").await, 0);
    assert_eq!(app.count("suggestion_event").await, events);

    // An admin may.
    let admin = app.admin("root").await;
    assert_eq!(
        set_status(&app, &admin, &id, "PLANNED").await["status"],
        "PLANNED"
    );
}

#[tokio::test]
async fn the_first_official_response_is_stamped_once_and_the_latest_is_shown() {
    let app = TestApp::spawn().await;
    let (_, community_id) = community(&app).await;
    let author = member(&app, "author", &community_id).await;
    let fan = member(&app, "fan", &community_id).await;
    let staffer = staff(&app, "staffer").await;
    let id = submit(&app, &author, &community_id, "Night mode camera").await;

    let first = app
        .graphql(
            RESPOND,
            json!({ "input": { "suggestionId": id, "body": "Looking into it" } }),
            auth(&staffer),
        )
        .await;
    let first = ok(&first, "respondToSuggestion").clone();
    let stamped = first["firstResponseAt"].clone();
    assert!(stamped.is_string(), "{first}");
    assert_eq!(first["commentCount"], 1);
    assert_eq!(first["status"], "OPEN");
    assert_eq!(
        first["officialResponse"],
        json!({ "body": "Looking into it", "official": true, "author": { "id": staffer.id } })
    );

    tokio::time::sleep(Duration::from_millis(50)).await;
    comment(&app, &fan, &id, "Please hurry").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let second = respond(&app, &staffer, &id, "Fixed in 2.1").await;
    assert_eq!(
        second["firstResponseAt"], stamped,
        "never changes afterwards"
    );
    assert_eq!(second["officialResponse"]["body"], "Fixed in 2.1");
    assert_eq!(second["commentCount"], 3);

    let read = read_suggestion(
        &app,
        Some(&fan),
        &id,
        "firstResponseAt commentCount officialResponse { body } comments(first: 10) { nodes { body official author { id } } }",
    )
    .await;
    assert_eq!(read["firstResponseAt"], stamped);
    assert_eq!(read["officialResponse"]["body"], "Fixed in 2.1");
    assert_eq!(
        read["comments"]["nodes"],
        json!([
            { "body": "Looking into it", "official": true, "author": { "id": staffer.id } },
            { "body": "Please hurry", "official": false, "author": { "id": fan.id } },
            { "body": "Fixed in 2.1", "official": true, "author": { "id": staffer.id } },
        ])
    );

    // A response may carry a status, with the usual rules.
    let with_status = app
        .graphql(
            RESPOND,
            json!({ "input": { "suggestionId": id, "body": "Planned for 3.0", "status": "PLANNED" } }),
            auth(&staffer),
        )
        .await;
    let with_status = ok(&with_status, "respondToSuggestion");
    assert_eq!(with_status["status"], "PLANNED");
    assert_eq!(with_status["commentCount"], 4);
    assert_eq!(with_status["firstResponseAt"], stamped);
    assert_eq!(
        transitions(&with_status["timeline"]),
        vec!["null->OPEN", "OPEN->PLANNED"]
    );

    let comments = app.count("comment").await;
    let illegal = app
        .graphql(
            RESPOND,
            json!({ "input": { "suggestionId": id, "body": "Back to square one", "status": "OPEN" } }),
            auth(&staffer),
        )
        .await;
    assert_code(&illegal, "BAD_USER_INPUT");
    assert_eq!(app.count("comment").await, comments, "nothing was written");
    let read = read_suggestion(
        &app,
        None,
        &id,
        "status commentCount officialResponse { body }",
    )
    .await;
    assert_eq!(
        read,
        json!({ "status": "PLANNED", "commentCount": 4, "officialResponse": { "body": "Planned for 3.0" } })
    );
}

#[tokio::test]
async fn marking_a_duplicate_moves_votes_to_the_original_once_per_voter() {
    let app = TestApp::spawn().await;
    let (_, community_id) = community(&app).await;
    let author = member(&app, "author", &community_id).await;
    let staffer = staff(&app, "staffer").await;
    let mut voters = Vec::new();
    for handle in ["ann", "bob", "cat", "dan", "eve"] {
        voters.push(member(&app, handle, &community_id).await);
    }
    let [ann, bob, cat, dan, eve] = &voters[..] else {
        unreachable!()
    };
    let original = submit(&app, &author, &community_id, "Longer battery life").await;
    let duplicate = submit(&app, &author, &community_id, "Battery should last longer").await;

    vote(&app, cat, &original, "UP").await;
    vote(&app, dan, &original, "DOWN").await;
    vote(&app, eve, &original, "UP").await;
    vote(&app, ann, &duplicate, "UP").await;
    vote(&app, bob, &duplicate, "DOWN").await;
    vote(&app, cat, &duplicate, "UP").await;
    let before = vote(&app, dan, &duplicate, "UP").await;
    assert_eq!(
        (before["upvotes"].clone(), before["downvotes"].clone()),
        (json!(3), json!(1))
    );

    let marked = mark_duplicate(&app, &staffer, &duplicate, &original).await;
    assert_eq!(marked["id"], duplicate.as_str());
    assert_eq!(marked["status"], "DUPLICATE");
    assert_eq!(marked["duplicateOf"]["id"], original.as_str());
    assert_eq!(marked["upvotes"], 0);
    assert_eq!(marked["downvotes"], 0);
    assert_eq!(marked["score"], 0);

    // ann and bob move over; cat keeps one UP; dan keeps the DOWN cast on the original.
    let expected = [
        (ann, "UP"),
        (bob, "DOWN"),
        (cat, "UP"),
        (dan, "DOWN"),
        (eve, "UP"),
    ];
    for (voter, value) in expected {
        let read = read_suggestion(
            &app,
            Some(voter),
            &original,
            "upvotes downvotes score viewerVote",
        )
        .await;
        assert_eq!(
            read,
            json!({ "upvotes": 3, "downvotes": 2, "score": 1, "viewerVote": value }),
            "{}",
            voter.handle
        );
    }
    let read = read_suggestion(
        &app,
        Some(ann),
        &duplicate,
        "status upvotes downvotes score viewerVote duplicateOf { id }",
    )
    .await;
    assert_eq!(
        read,
        json!({ "status": "DUPLICATE", "upvotes": 0, "downvotes": 0, "score": 0, "viewerVote": "NONE", "duplicateOf": { "id": original } })
    );
    assert_eq!(
        crate::support::scalar(&app, "SELECT COUNT(*) FROM vote WHERE value = 'UP'").await,
        3
    );
    assert_eq!(
        crate::support::scalar(&app, "SELECT COUNT(*) FROM vote WHERE value = 'DOWN'").await,
        2
    );
    assert_counters_equal_vote_rows(&app).await;
}

#[tokio::test]
async fn mark_duplicate_refuses_itself_other_communities_duplicates_and_deleted_originals() {
    let app = TestApp::spawn().await;
    let (owner, community_id) = community(&app).await;
    let elsewhere = create_community(&app, &owner, "elsewhere", "PUBLIC").await;
    let author = member(&app, "author", &community_id).await;
    join(&app, &author, &elsewhere).await;
    let staffer = staff(&app, "staffer").await;
    let target = submit(&app, &author, &community_id, "The one to mark").await;
    let foreign = submit(&app, &author, &elsewhere, "In another community").await;
    let base = submit(&app, &author, &community_id, "A base").await;
    let already = submit(&app, &author, &community_id, "Already a duplicate").await;
    mark_duplicate(&app, &staffer, &already, &base).await;
    let deleted = submit(&app, &author, &community_id, "Deleted soon").await;
    let body = app
        .graphql(DELETE, json!({ "id": deleted }), auth(&author))
        .await;
    ok(&body, "deleteSuggestion");

    for original in [&target, &foreign, &already, &deleted] {
        let body = app
            .graphql(
                MARK_DUPLICATE,
                json!({ "input": { "suggestionId": target, "duplicateOfId": original } }),
                auth(&staffer),
            )
            .await;
        assert_code(&body, "BAD_USER_INPUT");
        let read = read_suggestion(&app, None, &target, "status duplicateOf { id }").await;
        assert_eq!(read, json!({ "status": "OPEN", "duplicateOf": null }));
    }
}

#[tokio::test]
async fn duplicate_declined_and_shipped_suggestions_take_no_votes() {
    let app = TestApp::spawn().await;
    let (_, community_id) = community(&app).await;
    let author = member(&app, "author", &community_id).await;
    let voter = member(&app, "voter", &community_id).await;
    let staffer = staff(&app, "staffer").await;
    let original = submit(&app, &author, &community_id, "The original").await;
    let duplicate = submit(&app, &author, &community_id, "The copy").await;
    mark_duplicate(&app, &staffer, &duplicate, &original).await;
    let declined = submit(&app, &author, &community_id, "Declined").await;
    set_status(&app, &staffer, &declined, "DECLINED").await;
    let shipped = submit(&app, &author, &community_id, "Shipped").await;
    set_status(&app, &staffer, &shipped, "SHIPPED").await;

    for id in [&duplicate, &declined, &shipped] {
        for value in ["UP", "DOWN"] {
            let body = try_vote(&app, &voter, id, value).await;
            assert_code(&body, "BAD_USER_INPUT");
        }
        let read = read_suggestion(&app, Some(&voter), id, "upvotes downvotes viewerVote").await;
        assert_eq!(
            read,
            json!({ "upvotes": 0, "downvotes": 0, "viewerVote": "NONE" })
        );
    }
    assert_eq!(
        crate::support::scalar(&app, "SELECT COUNT(*) FROM vote WHERE value <> 'NONE'").await,
        0
    );

    // Reopened, it takes votes again.
    set_status(&app, &staffer, &shipped, "UNDER_REVIEW").await;
    assert_eq!(vote(&app, &voter, &shipped, "UP").await["upvotes"], 1);
}

#[tokio::test]
async fn sorts_order_exactly_with_ids_breaking_ties() {
    let app = TestApp::spawn().await;
    let (_, community_id) = community(&app).await;
    let author = member(&app, "author", &community_id).await;
    let v1 = member(&app, "voter1", &community_id).await;
    let v2 = member(&app, "voter2", &community_id).await;
    let mut ids = Vec::new();
    // Created a minute apart, in this order: NEW and HOT see the times, not the clock's grain.
    for (minute, title) in [
        "Suggestion one",
        "Suggestion two",
        "Suggestion three",
        "Suggestion four",
    ]
    .into_iter()
    .enumerate()
    {
        ids.push(submit(&app, &author, &community_id, title).await);
        execute(
            &app,
            &format!(
                "UPDATE suggestion SET created_at = '2026-01-01T00:{minute:02}:00+00:00' \
                 WHERE title = '{title}'"
            ),
        )
        .await;
    }
    let (s1, s2, s3, s4) = (&ids[0], &ids[1], &ids[2], &ids[3]);
    // Scores: s1 2, s2 -1, s3 2, s4 0 (1 up, 1 down). Comments: s2 2, s4 1.
    vote(&app, &v1, s1, "UP").await;
    vote(&app, &v2, s1, "UP").await;
    vote(&app, &v1, s2, "DOWN").await;
    vote(&app, &v1, s3, "UP").await;
    vote(&app, &v2, s3, "UP").await;
    vote(&app, &v1, s4, "UP").await;
    vote(&app, &v2, s4, "DOWN").await;
    comment(&app, &v1, s2, "First thought").await;
    comment(&app, &v2, s2, "Second thought").await;
    comment(&app, &v1, s4, "Only thought").await;

    let order =
        |expected: [&String; 4]| expected.iter().map(|id| id.to_string()).collect::<Vec<_>>();
    let cases = [
        (Some("NEW"), order([s4, s3, s2, s1])),
        (Some("TOP"), order([s3, s1, s4, s2])),
        (Some("MOST_DISCUSSED"), order([s2, s4, s3, s1])),
        (Some("HOT"), order([s3, s1, s4, s2])),
        (None, order([s3, s1, s4, s2])),
    ];
    for (sort, expected) in cases {
        assert_eq!(
            listed(&app, auth(&v1), sort, in_community(&community_id)).await,
            expected,
            "sort {sort:?}"
        );
    }
}

#[tokio::test]
async fn status_and_kind_filters_narrow_the_list() {
    let app = TestApp::spawn().await;
    let (_, community_id) = community(&app).await;
    let author = member(&app, "author", &community_id).await;
    let staffer = staff(&app, "staffer").await;
    let idea = submit_kind(&app, &author, &community_id, "IDEA", "An open idea").await;
    let bug = submit_kind(&app, &author, &community_id, "BUG", "A planned bug").await;
    set_status(&app, &staffer, &bug, "PLANNED").await;
    let complaint = submit_kind(
        &app,
        &author,
        &community_id,
        "COMPLAINT",
        "A shipped complaint",
    )
    .await;
    set_status(&app, &staffer, &complaint, "SHIPPED").await;
    let declined = submit_kind(&app, &author, &community_id, "IDEA", "A declined idea").await;
    set_status(&app, &staffer, &declined, "DECLINED").await;

    let cases: [(Value, Value, Vec<&String>); 6] = [
        (
            Value::Null,
            Value::Null,
            vec![&declined, &complaint, &bug, &idea],
        ),
        (
            json!(["PLANNED", "SHIPPED"]),
            Value::Null,
            vec![&complaint, &bug],
        ),
        (Value::Null, json!("IDEA"), vec![&declined, &idea]),
        (json!(["OPEN"]), json!("IDEA"), vec![&idea]),
        (json!(["OPEN"]), json!("BUG"), vec![]),
        (
            json!(["DECLINED", "OPEN"]),
            Value::Null,
            vec![&declined, &idea],
        ),
    ];
    for (status, kind, expected) in cases {
        let mut variables = in_community(&community_id);
        variables["status"] = status.clone();
        variables["kind"] = kind.clone();
        let expected: Vec<String> = expected.into_iter().cloned().collect();
        assert_eq!(
            listed(&app, auth(&author), Some("NEW"), variables).await,
            expected,
            "status {status}, kind {kind}"
        );
    }
}

#[tokio::test]
async fn every_page_of_every_sort_holds_each_suggestion_once() {
    let app = TestApp::spawn().await;
    let (_, community_id) = community(&app).await;
    let author = member(&app, "author", &community_id).await;
    let fans = [
        member(&app, "fan_a", &community_id).await,
        member(&app, "fan_b", &community_id).await,
    ];
    let mut all = Vec::new();
    for n in 0..7 {
        let id = submit(&app, &author, &community_id, &format!("Idea number {n}")).await;
        // Ties on purpose: scores 0, 1 or 2; comment counts 0 or 1.
        for fan in fans.iter().take(n % 3) {
            vote(&app, fan, &id, "UP").await;
        }
        if n % 2 == 0 {
            comment(&app, &fans[0], &id, "Agreed").await;
        }
        all.push(id);
    }
    for sort in ["HOT", "TOP", "NEW", "MOST_DISCUSSED"] {
        let (paged, pages) = all_pages(&app, auth(&author), sort, &community_id).await;
        assert_eq!(pages, 4, "{sort}");
        assert_each_once(&paged, &all, sort);
        let whole = listed(&app, auth(&author), Some(sort), in_community(&community_id)).await;
        assert_eq!(
            paged, whole,
            "{sort}: pages follow the same order as one big page"
        );
    }
}

#[tokio::test]
async fn paging_stays_exact_while_votes_move_suggestions_across_page_boundaries() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    for sort in ["TOP", "HOT"] {
        let slug = format!("fans-{}", sort.to_lowercase());
        let community_id = create_community(&app, &owner, &slug, "PUBLIC").await;
        let mut voters = Vec::new();
        for i in 0..3 {
            let handle = format!("{}_voter{i}", sort.to_lowercase());
            voters.push(member(&app, &handle, &community_id).await);
        }
        let mut all = Vec::new();
        for n in 0..6 {
            all.push(submit(&app, &owner, &community_id, &format!("{sort} idea {n}")).await);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }

        let mut variables = in_community(&community_id);
        variables["first"] = json!(2);
        let page = list(&app, auth(&owner), Some(sort), variables.clone()).await;
        assert_eq!(
            node_ids(&page),
            vec![all[5].clone(), all[4].clone()],
            "{sort}: all scores 0, so the newest ids come first"
        );
        let mut seen = node_ids(&page);
        let mut cursor = page["pageInfo"]["endCursor"].clone();

        // Between the pages: the last one jumps to the top, the first one sinks to the bottom.
        for voter in &voters {
            vote(&app, voter, &all[0], "UP").await;
        }
        for voter in &voters[..2] {
            vote(&app, voter, &all[5], "DOWN").await;
        }
        let mut round = 0;
        loop {
            round += 1;
            assert!(round <= 10, "{sort}: paging does not end");
            variables["after"] = cursor.clone();
            let page = list(&app, auth(&owner), Some(sort), variables.clone()).await;
            seen.extend(node_ids(&page));
            if page["pageInfo"]["hasNextPage"] != json!(true) {
                break;
            }
            cursor = page["pageInfo"]["endCursor"].clone();
            // More moves while paging: an unseen or seen middle one rises, another falls.
            for voter in &voters {
                vote(&app, voter, &all[round % all.len()], "UP").await;
            }
            vote(&app, &voters[0], &all[4], "DOWN").await;
        }
        assert_each_once(&seen, &all, sort);
    }
}

/// Later pages read the order of the first page's snapshot for every sort, in one community
/// and across all of them: comments and votes between pages move nothing, and suggestions
/// submitted after the first page are not slipped in.
#[tokio::test]
async fn every_sort_pages_against_its_snapshot_while_comments_votes_and_new_ideas_arrive() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    for (n, sort) in ["NEW", "MOST_DISCUSSED", "TOP", "HOT"]
        .into_iter()
        .enumerate()
    {
        for community in [true, false] {
            let slug = format!("snap-{n}-{community}");
            let community_id = create_community(&app, &owner, &slug, "PUBLIC").await;
            let voter = member(&app, &format!("snapvoter{n}{community}"), &community_id).await;
            let mut all = Vec::new();
            for i in 0..5 {
                all.push(submit(&app, &owner, &community_id, &format!("{slug} idea {i}")).await);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            // In the listing of every community the earlier rounds' suggestions are there too.
            let mut variables = if community {
                in_community(&community_id)
            } else {
                json!({ "c": null, "status": null, "kind": null, "search": null, "first": 100, "after": null })
            };
            let before: Vec<String> =
                listed(&app, auth(&owner), Some(sort), variables.clone()).await;
            let context = format!("{sort}, one community: {community}");
            let size = if community { 2 } else { 10 };
            assert!(
                before.len() < 100,
                "{context}: the whole listing fits one read"
            );
            variables["first"] = json!(size);
            let page = list(&app, auth(&owner), Some(sort), variables.clone()).await;
            let mut seen = node_ids(&page);
            assert_eq!(seen, before[..size].to_vec(), "{context}");
            let mut cursor = page["pageInfo"]["endCursor"].clone();
            let mut late = Vec::new();
            let mut round = 0;
            loop {
                // Between pages: the last of the first listing gains comments and a vote, the
                // first sinks, and a new suggestion arrives.
                comment(&app, &voter, &all[round % all.len()], "a comment").await;
                vote(&app, &voter, &all[(round + 3) % all.len()], "UP").await;
                vote(&app, &voter, &all[(round + 1) % all.len()], "DOWN").await;
                late.push(
                    submit(&app, &voter, &community_id, &format!("{slug} late {round}")).await,
                );
                round += 1;
                assert!(round <= 200, "{context}: paging does not end");
                variables["after"] = cursor.clone();
                let page = list(&app, auth(&owner), Some(sort), variables.clone()).await;
                seen.extend(node_ids(&page));
                if page["pageInfo"]["hasNextPage"] != json!(true) {
                    break;
                }
                cursor = page["pageInfo"]["endCursor"].clone();
            }
            assert_eq!(
                seen, before,
                "{context}: the order of the first page's snapshot"
            );
            for id in &late {
                assert!(
                    !seen.contains(id),
                    "{context}: a later submission slipped in"
                );
            }
        }
    }
}

#[tokio::test]
async fn full_text_search_matches_words_in_titles_and_bodies_and_takes_input_literally() {
    let app = TestApp::spawn().await;
    let (_, community_id) = community(&app).await;
    let author = member(&app, "author", &community_id).await;
    let s1 = submit_with_body(
        &app,
        &author,
        &community_id,
        "Battery drains overnight",
        "My phone loses charge while sleeping",
    )
    .await;
    let s2 = submit_with_body(
        &app,
        &author,
        &community_id,
        "Camera focus is slow",
        "Autofocus hunts in low light with the battery saver on",
    )
    .await;
    let s3 = submit_with_body(
        &app,
        &author,
        &community_id,
        "Add a dark mode",
        "Night reading hurts the eyes",
    )
    .await;

    let cases: Vec<(&str, Vec<&String>)> = vec![
        ("battery", vec![&s1, &s2]),
        ("BATTERY", vec![&s1, &s2]),
        ("camera", vec![&s2]),
        ("sleeping", vec![&s1]),
        ("night", vec![&s3]),
        ("battery light", vec![&s2]),
        ("\"battery drains\"", vec![&s1]),
        ("-camera battery", vec![&s2]),
        ("battery & !camera", vec![&s2]),
        ("(battery", vec![&s1, &s2]),
        ("zeppelin", vec![]),
        ("batt*", vec![]),
        ("battery OR zeppelin", vec![]),
        ("a OR b", vec![]),
        ("title:camera", vec![]),
        ("foo:bar", vec![]),
        ("'); DROP TABLE suggestion; --", vec![]),
    ];
    for (search, expected) in cases {
        let mut variables = in_community(&community_id);
        variables["search"] = json!(search);
        let mut found = listed(&app, auth(&author), None, variables).await;
        found.sort();
        let mut expected: Vec<String> = expected.into_iter().cloned().collect();
        expected.sort();
        assert_eq!(found, expected, "search {search:?}");
    }

    // Input with no words at all is no error either, and finds nothing.
    for search in ["\"", "*", "'", "&|!", ":", "\\", "NEAR(", "^"] {
        let mut variables = in_community(&community_id);
        variables["search"] = json!(search);
        let body = app
            .graphql(&list_query(None), variables, auth(&author))
            .await;
        let mut found = node_ids(ok(&body, "suggestions"));
        found.sort();
        // Input without a single word matches nothing (and is never a syntax error).
        assert!(found.is_empty(), "search {search:?} found {found:?}");
    }
    assert_eq!(app.count("suggestion").await, 3);
}

const COUNTED_LIST: &str = "query($c: ID) { suggestions(communityId: $c, sort: NEW, first: 60) { nodes { id author { handle } community { name } viewerVote commentCount officialResponse { body } timeline { toStatus actor { handle } } comments(first: 3) { nodes { body author { handle } } } } } }";

/// The fewest queries (of three tries) one listing of the community ran, and how many
/// suggestions it listed.
async fn queries_for_listing(app: &TestApp, viewer: &TestUser, community_id: &str) -> (f64, usize) {
    let mut fewest = f64::MAX;
    let mut listed = 0;
    for _ in 0..3 {
        let before = db_queries(app).await;
        let body = app
            .graphql(COUNTED_LIST, json!({ "c": community_id }), auth(viewer))
            .await;
        let after = db_queries(app).await;
        listed = ok(&body, "suggestions")["nodes"].as_array().unwrap().len();
        fewest = fewest.min(after - before);
    }
    (fewest, listed)
}

#[tokio::test]
async fn listing_60_suggestions_runs_as_many_queries_as_listing_5() {
    let app = TestApp::spawn_with(&[("GRAPHQL_MAX_COMPLEXITY", "100000")]).await;
    let owner = app.sign_up("owner").await;
    let staffer = staff(&app, "staffer").await;
    let small = create_community(&app, &owner, "small", "PUBLIC").await;
    let large = create_community(&app, &owner, "large", "PUBLIC").await;
    let viewer = app.sign_up("viewer").await;
    let mut authors = Vec::new();
    for handle in ["author_a", "author_b", "author_c"] {
        authors.push(app.sign_up(handle).await);
    }
    for (community_id, count) in [(&small, 5), (&large, 60)] {
        join(&app, &viewer, community_id).await;
        for author in &authors {
            join(&app, author, community_id).await;
        }
        for n in 0..count {
            let author = &authors[n % authors.len()];
            let id = submit(&app, author, community_id, &format!("Suggestion {n}")).await;
            if n < 3 {
                vote(&app, &viewer, &id, if n == 1 { "DOWN" } else { "UP" }).await;
            }
            if n < 2 {
                respond(&app, &staffer, &id, "Thanks, noted").await;
                comment(&app, author, &id, "Glad to hear").await;
            }
        }
    }

    let (for_small, listed_small) = queries_for_listing(&app, &viewer, &small).await;
    let (for_large, listed_large) = queries_for_listing(&app, &viewer, &large).await;
    assert_eq!(listed_small, 5);
    assert_eq!(listed_large, 60);
    assert!(for_small > 0.0, "the counter counts the listing's queries");
    // One loader reached from two levels (authors of suggestions, of timeline entries and of
    // comments are all users) may batch its keys once or twice, as timing has it; a query per
    // row would add one for each of the 55 extra suggestions.
    assert!(
        for_large <= for_small + 2.0,
        "listing 60 suggestions ran {for_large} queries, listing 5 ran {for_small}"
    );
}

#[tokio::test]
async fn a_cursor_from_another_sort_or_made_up_is_bad_user_input() {
    let app = TestApp::spawn().await;
    let (author, community_id) = community(&app).await;
    for title in ["First idea", "Second idea", "Third idea"] {
        submit(&app, &author, &community_id, title).await;
    }
    let mut variables = in_community(&community_id);
    variables["first"] = json!(1);
    let page = list(&app, auth(&author), Some("TOP"), variables.clone()).await;
    let cursor = page["pageInfo"]["endCursor"].as_str().unwrap().to_string();

    variables["after"] = json!(cursor);
    let body = app
        .graphql(&list_query(Some("NEW")), variables.clone(), auth(&author))
        .await;
    assert_code(&body, "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "after", "{body}");

    // A well-formed envelope around a position the server never made.
    use base64::Engine;
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("c1:s|top|0|x|y|z");
    variables["after"] = json!(forged);
    let body = app
        .graphql(&list_query(Some("TOP")), variables, auth(&author))
        .await;
    assert_code(&body, "BAD_USER_INPUT");
}

#[tokio::test]
async fn staff_actions_on_a_missing_or_deleted_suggestion_are_not_found() {
    let app = TestApp::spawn().await;
    let (author, community_id) = community(&app).await;
    let staffer = staff(&app, "staffer").await;
    let deleted = submit(&app, &author, &community_id, "Soon gone").await;
    let body = app
        .graphql(DELETE, json!({ "id": deleted }), auth(&author))
        .await;
    assert_eq!(body["data"]["deleteSuggestion"], true, "{body}");
    let original = submit(&app, &author, &community_id, "The original").await;
    let events = app.count("suggestion_event").await;

    for id in [new_id(), deleted] {
        let body = try_status(&app, &staffer, &id, "PLANNED").await;
        assert_code(&body, "NOT_FOUND");
        let body = app
            .graphql(
                RESPOND,
                json!({ "input": { "suggestionId": id, "body": "Thanks" } }),
                auth(&staffer),
            )
            .await;
        assert_code(&body, "NOT_FOUND");
        let body = app
            .graphql(
                EDIT,
                json!({ "input": { "suggestionId": id, "title": "New title" } }),
                auth(&author),
            )
            .await;
        assert_code(&body, "NOT_FOUND");
        let body = app
            .graphql(
                MARK_DUPLICATE,
                json!({ "input": { "suggestionId": id, "duplicateOfId": original } }),
                auth(&staffer),
            )
            .await;
        assert_code(&body, "NOT_FOUND");
    }
    assert_eq!(app.count("suggestion_event").await, events);
    assert_eq!(app.count("comment").await, 0);
}

#[tokio::test]
async fn marking_a_duplicate_twice_is_bad_user_input() {
    let app = TestApp::spawn().await;
    let (author, community_id) = community(&app).await;
    let staffer = staff(&app, "staffer").await;
    let original = submit(&app, &author, &community_id, "The original").await;
    let copy = submit(&app, &author, &community_id, "The copy").await;
    let other = submit(&app, &author, &community_id, "Another original").await;
    mark_duplicate(&app, &staffer, &copy, &original).await;
    let body = app
        .graphql(
            MARK_DUPLICATE,
            json!({ "input": { "suggestionId": copy, "duplicateOfId": other } }),
            auth(&staffer),
        )
        .await;
    assert_code(&body, "BAD_USER_INPUT");
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "suggestionId",
        "{body}"
    );
    let read = read_suggestion(&app, Some(&author), &copy, "duplicateOf { id }").await;
    assert_eq!(read["duplicateOf"]["id"], original.as_str());
}
