//! Notifications: who hears about responses, status changes, shipping and duplicates; the
//! unread filter and marking as read.

use canyu_tests::{TestApp, TestUser, assert_code};
use serde_json::{Value, json};

use crate::support::{
    auth, create_community, execute, mark_duplicate, member, new_id, ok, respond, set_status,
    staff, submit, vote,
};

const ALL: &str =
    "query { notifications(first: 50) { nodes { id kind readAt suggestion { id } } } }";
const UNREAD: &str = "query { notifications(first: 50, unreadOnly: true) { nodes { id kind readAt suggestion { id } } } }";
const MARK_READ: &str =
    "mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) { id kind readAt } }";

/// `user`'s notifications, newest first.
async fn notifications(app: &TestApp, user: &TestUser, unread_only: bool) -> Vec<Value> {
    let query = if unread_only { UNREAD } else { ALL };
    let body = app.graphql(query, json!({}), auth(user)).await;
    ok(&body, "notifications")["nodes"]
        .as_array()
        .unwrap()
        .clone()
}

/// `(kind, suggestion id)` of each of `user`'s notifications, newest first.
async fn kinds(app: &TestApp, user: &TestUser) -> Vec<(String, String)> {
    notifications(app, user, false)
        .await
        .iter()
        .map(|notification| {
            (
                notification["kind"].as_str().unwrap().to_string(),
                notification["suggestion"]["id"]
                    .as_str()
                    .unwrap_or("none")
                    .to_string(),
            )
        })
        .collect()
}

/// Waits until no fan-out job is left (every voter has been told).
pub async fn wait_for_fan_out(app: &TestApp) {
    for _ in 0..1200 {
        if app.count("notification_fanout").await == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the notification fan-out did not finish");
}

/// Moves every notification so far back to 2000, so the next one is the newest by its time
/// and not by the clock's grain.
async fn backdate_notifications(app: &TestApp) {
    execute(
        app,
        "UPDATE notification SET created_at = '2000-01-01T00:00:00+00:00'",
    )
    .await;
}

/// A PUBLIC community with an author, a staff user and the author's suggestion.
async fn setup(app: &TestApp) -> (String, TestUser, TestUser, String) {
    let owner = app.sign_up("owner").await;
    let community_id = create_community(app, &owner, "fans", "PUBLIC").await;
    let author = member(app, "author", &community_id).await;
    let staffer = staff(app, "staffer").await;
    let id = submit(app, &author, &community_id, "Longer warranty").await;
    (community_id, author, staffer, id)
}

fn pair(kind: &str, id: &str) -> (String, String) {
    (kind.to_string(), id.to_string())
}

#[tokio::test]
async fn the_author_hears_about_responses_and_status_changes() {
    let app = TestApp::spawn().await;
    let (_, author, staffer, id) = setup(&app).await;
    assert!(kinds(&app, &author).await.is_empty());

    respond(&app, &staffer, &id, "We are on it").await;
    backdate_notifications(&app).await;
    set_status(&app, &staffer, &id, "UNDER_REVIEW").await;

    assert_eq!(
        kinds(&app, &author).await,
        vec![pair("STATUS_CHANGED", &id), pair("OFFICIAL_RESPONSE", &id)]
    );
    for notification in notifications(&app, &author, false).await {
        assert!(notification["readAt"].is_null(), "{notification}");
    }
    assert!(
        kinds(&app, &staffer).await.is_empty(),
        "only the author is told"
    );
}

#[tokio::test]
async fn shipping_notifies_every_voter_but_the_author() {
    let app = TestApp::spawn().await;
    let (community_id, author, staffer, id) = setup(&app).await;
    let up = member(&app, "upvoter", &community_id).await;
    let down = member(&app, "downvoter", &community_id).await;
    let retracted = member(&app, "retracted", &community_id).await;
    let bystander = member(&app, "bystander", &community_id).await;
    vote(&app, &up, &id, "UP").await;
    vote(&app, &down, &id, "DOWN").await;
    vote(&app, &retracted, &id, "UP").await;
    vote(&app, &retracted, &id, "NONE").await;
    vote(&app, &author, &id, "UP").await;

    set_status(&app, &staffer, &id, "SHIPPED").await;

    // Voters are told after the status change commits, by the fan-out task.
    wait_for_fan_out(&app).await;
    assert_eq!(kinds(&app, &up).await, vec![pair("SHIPPED", &id)]);
    assert_eq!(kinds(&app, &down).await, vec![pair("SHIPPED", &id)]);
    assert!(kinds(&app, &retracted).await.is_empty());
    assert!(kinds(&app, &bystander).await.is_empty());
    assert_eq!(
        kinds(&app, &author).await,
        vec![pair("STATUS_CHANGED", &id)],
        "the author hears of the status change, once"
    );
}

#[tokio::test]
async fn the_author_hears_when_their_suggestion_is_marked_a_duplicate() {
    let app = TestApp::spawn().await;
    let (community_id, author, staffer, original) = setup(&app).await;
    let copier = member(&app, "copier", &community_id).await;
    let duplicate = submit(&app, &copier, &community_id, "Extended warranty").await;
    mark_duplicate(&app, &staffer, &duplicate, &original).await;

    let heard: Vec<(String, String)> = kinds(&app, &copier)
        .await
        .into_iter()
        .filter(|(kind, _)| kind == "MARKED_DUPLICATE")
        .collect();
    assert_eq!(heard, vec![pair("MARKED_DUPLICATE", &duplicate)]);
    assert!(
        !kinds(&app, &author)
            .await
            .iter()
            .any(|(kind, _)| kind == "MARKED_DUPLICATE"),
        "the original's author is not the one marked"
    );
}

#[tokio::test]
async fn unread_only_and_marking_as_read() {
    let app = TestApp::spawn().await;
    let (_, author, staffer, id) = setup(&app).await;
    respond(&app, &staffer, &id, "Noted").await;
    backdate_notifications(&app).await;
    set_status(&app, &staffer, &id, "PLANNED").await;
    let all = notifications(&app, &author, false).await;
    assert_eq!(all.len(), 2);
    let (newest, oldest) = (all[0]["id"].clone(), all[1]["id"].clone());

    let body = app
        .graphql(MARK_READ, json!({ "ids": [oldest] }), auth(&author))
        .await;
    let marked = ok(&body, "markNotificationsRead");
    assert_eq!(marked.as_array().unwrap().len(), 1);
    assert_eq!(marked[0]["id"], oldest);
    assert_eq!(marked[0]["kind"], "OFFICIAL_RESPONSE");
    assert!(marked[0]["readAt"].is_string(), "{marked}");

    let unread = notifications(&app, &author, true).await;
    assert_eq!(unread.len(), 1);
    assert_eq!(unread[0]["id"], newest);
    assert_eq!(unread[0]["kind"], "STATUS_CHANGED");
    let all = notifications(&app, &author, false).await;
    assert_eq!(all.len(), 2);
    assert!(all[0]["readAt"].is_null(), "{}", all[0]);
    assert!(all[1]["readAt"].is_string(), "{}", all[1]);
}

#[tokio::test]
async fn marking_someone_elses_notification_is_not_found_and_marks_nothing() {
    let app = TestApp::spawn().await;
    let (community_id, author, staffer, id) = setup(&app).await;
    let other = member(&app, "other", &community_id).await;
    let theirs = submit(&app, &other, &community_id, "Their own idea").await;
    respond(&app, &staffer, &id, "For the author").await;
    respond(&app, &staffer, &theirs, "For the other").await;
    let mine = notifications(&app, &author, false).await[0]["id"].clone();
    let foreign = notifications(&app, &other, false).await[0]["id"].clone();

    for ids in [
        json!([mine, foreign]),
        json!([foreign]),
        json!([mine, new_id()]),
    ] {
        let body = app
            .graphql(MARK_READ, json!({ "ids": ids }), auth(&author))
            .await;
        assert_code(&body, "NOT_FOUND");
    }
    assert_eq!(
        notifications(&app, &author, true).await.len(),
        1,
        "still unread"
    );
    assert_eq!(
        notifications(&app, &other, true).await.len(),
        1,
        "still unread"
    );
}

#[tokio::test]
async fn anonymous_callers_have_no_notifications() {
    let app = TestApp::spawn().await;
    let body = app.graphql(ALL, json!({}), None).await;
    assert_code(&body, "UNAUTHENTICATED");
    let body = app
        .graphql(MARK_READ, json!({ "ids": [new_id()] }), None)
        .await;
    assert_code(&body, "UNAUTHENTICATED");
}

#[tokio::test]
async fn marking_more_than_a_hundred_at_once_is_bad_user_input() {
    let app = TestApp::spawn().await;
    let user = app.sign_up("reader").await;
    let ids: Vec<String> = (0..101).map(|_| new_id()).collect();
    let body = app
        .graphql(MARK_READ, json!({ "ids": ids }), auth(&user))
        .await;
    assert_code(&body, "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "ids", "{body}");
}

/// Gives `suggestion_id` `voters` upvotes from as many new accounts, written in bulk (signing
/// thousands of users up one by one would take minutes).
async fn bulk_voters(app: &TestApp, suggestion_id: &str, voters: usize) {
    use entity::{user, vote};
    use sea_orm::{EntityTrait, Set};
    let suggestion = uuid::Uuid::parse_str(suggestion_id).unwrap();
    let now = chrono::Utc::now();
    let ids: Vec<uuid::Uuid> = (0..voters).map(|_| uuid::Uuid::now_v7()).collect();
    for (n, chunk) in ids.chunks(1000).enumerate() {
        user::Entity::insert_many(chunk.iter().enumerate().map(|(i, id)| user::ActiveModel {
            id: Set(*id),
            handle: Set(format!("voter{n}_{i}")),
            display_name: Set("Voter".into()),
            password_hash: Set("not a usable hash".into()),
            role: Set(user::Role::Member),
            token_version: Set(0),
            banned_at: Set(None),
            growth_points: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
        }))
        .exec_without_returning(&app.state.db)
        .await
        .unwrap();
        vote::Entity::insert_many(chunk.iter().map(|id| vote::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            suggestion_id: Set(suggestion),
            user_id: Set(*id),
            value: Set(vote::Value::Up),
            created_at: Set(now),
            updated_at: Set(now),
        }))
        .exec_without_returning(&app.state.db)
        .await
        .unwrap();
    }
    execute(
        app,
        &format!(
            "UPDATE suggestion SET upvotes = {voters}, score = {voters} WHERE id IN \
             (SELECT suggestion_id FROM vote LIMIT 1)"
        ),
    )
    .await;
}

#[tokio::test]
async fn shipping_a_suggestion_with_twenty_thousand_voters_tells_every_one_of_them() {
    let app = TestApp::spawn().await;
    let (_, _, staffer, id) = setup(&app).await;
    bulk_voters(&app, &id, 20_000).await;
    // The status change itself writes one fan-out job, not twenty thousand rows.
    let body = app
        .graphql(
            "mutation($id: ID!) { setSuggestionStatus(input: { suggestionId: $id, status: SHIPPED }) { status } }",
            json!({ "id": id }),
            auth(&staffer),
        )
        .await;
    assert_eq!(ok(&body, "setSuggestionStatus")["status"], "SHIPPED");
    wait_for_fan_out(&app).await;
    let told = app
        .sql_strings("SELECT COUNT(*) FROM notification WHERE kind = 'SHIPPED'")
        .await;
    assert_eq!(told, ["20000"], "every voter is told exactly once");
}
