//! Comments: adding, listing oldest first with paging, editing, soft deletion, validation and
//! idempotent adds.

use std::time::Duration;

use canyu_tests::{TestApp, TestUser, assert_code};
use serde_json::{Value, json};

use crate::support::{
    auth, comment, create_community, member, new_id, ok, read_suggestion, staff, submit,
};

const ADD: &str = "mutation($input: AddCommentInput!) { addComment(input: $input) { id body official editedAt author { id } suggestion { id commentCount } } }";
const EDIT: &str =
    "mutation($input: EditCommentInput!) { editComment(input: $input) { id body editedAt } }";
const DELETE: &str = "mutation($id: ID!) { deleteComment(commentId: $id) }";
const PAGE: &str = "query($id: ID!, $after: String) { suggestion(id: $id) { comments(first: 2, after: $after) { nodes { id body } pageInfo { hasNextPage endCursor } } } }";

/// A PUBLIC community with its owner, an author and a suggestion: (owner, author, suggestion id).
async fn setup(app: &TestApp) -> (TestUser, TestUser, String) {
    let owner = app.sign_up("owner").await;
    let community_id = create_community(app, &owner, "fans", "PUBLIC").await;
    let author = member(app, "author", &community_id).await;
    let id = submit(app, &author, &community_id, "Better keyboard").await;
    (owner, author, id)
}

/// The bodies of the suggestion's comments (first 100) and its commentCount.
async fn comments(app: &TestApp, suggestion_id: &str) -> (Vec<String>, Value) {
    let read = read_suggestion(
        app,
        None,
        suggestion_id,
        "commentCount comments(first: 100) { nodes { body } }",
    )
    .await;
    let bodies = read["comments"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{read}"))
        .iter()
        .map(|node| node["body"].as_str().unwrap().to_string())
        .collect();
    (bodies, read["commentCount"].clone())
}

/// `user` comments (no client id); the whole answer.
async fn try_add(app: &TestApp, user: Option<&TestUser>, suggestion_id: &str, text: &str) -> Value {
    app.graphql(
        ADD,
        json!({ "input": { "suggestionId": suggestion_id, "body": text } }),
        user.and_then(auth),
    )
    .await
}

#[tokio::test]
async fn adding_a_comment_counts_it() {
    let app = TestApp::spawn().await;
    let (_, author, id) = setup(&app).await;
    let body = try_add(&app, Some(&author), &id, "  Me too!  ").await;
    let added = ok(&body, "addComment");
    assert_eq!(added["body"], "Me too!");
    assert_eq!(added["official"], false);
    assert!(added["editedAt"].is_null(), "{added}");
    assert_eq!(added["author"]["id"], author.id.as_str());
    assert_eq!(added["suggestion"], json!({ "id": id, "commentCount": 1 }));
    assert_eq!(
        comments(&app, &id).await,
        (vec!["Me too!".to_string()], json!(1))
    );
    assert_eq!(app.count("comment").await, 1);
}

#[tokio::test]
async fn only_active_members_comment() {
    let app = TestApp::spawn().await;
    let (_, _, id) = setup(&app).await;
    let outsider = app.sign_up("outsider").await;
    assert_code(
        &try_add(&app, Some(&outsider), &id, "Hello").await,
        "FORBIDDEN",
    );
    assert_code(&try_add(&app, None, &id, "Hello").await, "UNAUTHENTICATED");
    assert_code(
        &try_add(&app, Some(&outsider), &new_id(), "Hello").await,
        "NOT_FOUND",
    );
    assert_eq!(app.count("comment").await, 0);
    assert_eq!(comments(&app, &id).await, (vec![], json!(0)));
}

#[tokio::test]
async fn comments_list_oldest_first_across_pages() {
    let app = TestApp::spawn().await;
    let (owner, author, id) = setup(&app).await;
    let mut expected = Vec::new();
    for n in 0..5 {
        let writer = if n % 2 == 0 { &author } else { &owner };
        expected.push(comment(&app, writer, &id, &format!("Comment {n}")).await);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages <= 10, "paging does not end");
        let body = app
            .graphql(PAGE, json!({ "id": id, "after": after }), None)
            .await;
        assert!(body["errors"].is_null(), "{body}");
        let connection = &body["data"]["suggestion"]["comments"];
        let nodes = connection["nodes"].as_array().unwrap();
        assert!(nodes.len() <= 2, "{connection}");
        seen.extend(
            nodes
                .iter()
                .map(|node| node["id"].as_str().unwrap().to_string()),
        );
        if connection["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
        after = Some(
            connection["pageInfo"]["endCursor"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(seen, expected);
    assert_eq!(pages, 3);
    let (bodies, count) = comments(&app, &id).await;
    assert_eq!(
        bodies,
        vec![
            "Comment 0",
            "Comment 1",
            "Comment 2",
            "Comment 3",
            "Comment 4"
        ]
    );
    assert_eq!(count, 5);
}

#[tokio::test]
async fn only_the_author_edits_a_comment() {
    let app = TestApp::spawn().await;
    let (owner, author, id) = setup(&app).await;
    let comment_id = comment(&app, &author, &id, "Frist").await;

    let edited = app
        .graphql(
            EDIT,
            json!({ "input": { "commentId": comment_id, "body": " First " } }),
            auth(&author),
        )
        .await;
    let edited = ok(&edited, "editComment");
    assert_eq!(edited["id"], comment_id.as_str());
    assert_eq!(edited["body"], "First");
    assert!(edited["editedAt"].is_string(), "{edited}");

    for token in [auth(&owner), None] {
        let refused = app
            .graphql(
                EDIT,
                json!({ "input": { "commentId": comment_id, "body": "Hijacked" } }),
                token,
            )
            .await;
        let code = if token.is_some() {
            "FORBIDDEN"
        } else {
            "UNAUTHENTICATED"
        };
        assert_code(&refused, code);
    }
    let blank = app
        .graphql(
            EDIT,
            json!({ "input": { "commentId": comment_id, "body": "   " } }),
            auth(&author),
        )
        .await;
    assert_code(&blank, "BAD_USER_INPUT");
    assert_eq!(
        comments(&app, &id).await,
        (vec!["First".to_string()], json!(1))
    );
}

#[tokio::test]
async fn deleting_a_comment_is_soft_and_limited_to_its_author_moderators_and_staff() {
    let app = TestApp::spawn().await;
    let (owner, author, id) = setup(&app).await;
    let community_id =
        read_suggestion(&app, None, &id, "community { id }").await["community"]["id"]
            .as_str()
            .unwrap()
            .to_string();
    let other = member(&app, "other", &community_id).await;
    let staffer = staff(&app, "staffer").await;
    let by_author = comment(&app, &author, &id, "Mine").await;
    let by_other = comment(&app, &other, &id, "Theirs").await;
    let third = comment(&app, &other, &id, "Another").await;

    let refused = app
        .graphql(DELETE, json!({ "id": by_author }), auth(&other))
        .await;
    assert_code(&refused, "FORBIDDEN");
    let (bodies, count) = comments(&app, &id).await;
    assert_eq!(bodies, vec!["Mine", "Theirs", "Another"]);
    assert_eq!(count, 3);

    let deleted = app
        .graphql(DELETE, json!({ "id": by_author }), auth(&author))
        .await;
    assert_eq!(ok(&deleted, "deleteComment"), &json!(true));
    assert_eq!(
        comments(&app, &id).await,
        (vec!["Theirs".to_string(), "Another".to_string()], json!(2))
    );

    let by_owner = app
        .graphql(DELETE, json!({ "id": by_other }), auth(&owner))
        .await;
    assert_eq!(ok(&by_owner, "deleteComment"), &json!(true));
    let by_staff = app
        .graphql(DELETE, json!({ "id": third }), auth(&staffer))
        .await;
    assert_eq!(ok(&by_staff, "deleteComment"), &json!(true));
    assert_eq!(comments(&app, &id).await, (vec![], json!(0)));
    assert_eq!(app.count("comment").await, 3, "deletion is soft");
}

#[tokio::test]
async fn blank_or_oversized_comments_are_bad_user_input() {
    let app = TestApp::spawn().await;
    let (_, author, id) = setup(&app).await;
    let too_long = "c".repeat(10_001);
    for text in ["", "   ", "\n\t  ", too_long.as_str()] {
        let body = try_add(&app, Some(&author), &id, text).await;
        assert_code(&body, "BAD_USER_INPUT");
        assert_eq!(body["errors"][0]["extensions"]["field"], "body", "{body}");
    }
    assert_eq!(app.count("comment").await, 0);
    assert_eq!(comments(&app, &id).await, (vec![], json!(0)));

    let longest = "c".repeat(10_000);
    let body = try_add(&app, Some(&author), &id, &longest).await;
    assert_eq!(ok(&body, "addComment")["body"], longest.as_str());
}

#[tokio::test]
async fn adding_again_with_the_same_client_id_returns_the_same_comment() {
    let app = TestApp::spawn().await;
    let (_, author, id) = setup(&app).await;
    let comment_id = new_id();
    for _ in 0..2 {
        let body = app
            .graphql(
                ADD,
                json!({ "input": { "id": comment_id, "suggestionId": id, "body": "Once" } }),
                auth(&author),
            )
            .await;
        assert_eq!(ok(&body, "addComment")["id"], comment_id.as_str());
    }
    assert_eq!(app.count("comment").await, 1);
    assert_eq!(
        comments(&app, &id).await,
        (vec!["Once".to_string()], json!(1))
    );

    let changed = app
        .graphql(
            ADD,
            json!({ "input": { "id": comment_id, "suggestionId": id, "body": "Twice" } }),
            auth(&author),
        )
        .await;
    assert_code(&changed, "CONFLICT");
    assert_eq!(app.count("comment").await, 1);
    assert_eq!(
        comments(&app, &id).await,
        (vec!["Once".to_string()], json!(1))
    );
}

#[tokio::test]
async fn editing_or_deleting_a_missing_or_deleted_comment_is_not_found() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community_id = create_community(&app, &owner, "fans", "PUBLIC").await;
    let author = member(&app, "author", &community_id).await;
    let suggestion_id = submit(&app, &author, &community_id, "Talk about it").await;
    let gone = comment(&app, &author, &suggestion_id, "Soon gone").await;
    let body = app
        .graphql(DELETE, json!({ "id": gone }), auth(&author))
        .await;
    assert_eq!(body["data"]["deleteComment"], true, "{body}");

    for id in [new_id(), gone] {
        let body = app
            .graphql(
                EDIT,
                json!({ "input": { "commentId": id, "body": "Edited" } }),
                auth(&author),
            )
            .await;
        assert_code(&body, "NOT_FOUND");
        let body = app
            .graphql(DELETE, json!({ "id": id }), auth(&author))
            .await;
        assert_code(&body, "NOT_FOUND");
    }
    let read = read_suggestion(&app, Some(&author), &suggestion_id, "commentCount").await;
    assert_eq!(read["commentCount"], 0);
}
