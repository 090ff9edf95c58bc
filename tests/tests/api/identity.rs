//! Sign-up, log-in, refresh, log-out, password changes, roles and bans.

use canyu_tests::{PASSWORD, TestApp, assert_code};
use serde_json::json;

const SIGN_UP: &str = "mutation($input: SignUpInput!) { signUp(input: $input) { accessToken refreshToken user { id handle displayName role } } }";
const LOG_IN: &str = "mutation($input: LogInInput!) { logIn(input: $input) { accessToken refreshToken user { id } } }";
const REFRESH: &str = "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken user { id } } }";
const VIEWER: &str = "{ viewer { id handle role } }";

#[tokio::test]
async fn sign_up_returns_a_session_that_reaches_the_viewer() {
    let app = TestApp::spawn().await;
    let body = app
        .graphql(
            SIGN_UP,
            json!({ "input": { "handle": "Fan_One", "password": PASSWORD, "displayName": "  Fan One " } }),
            None,
        )
        .await;
    let payload = &body["data"]["signUp"];
    assert_eq!(
        payload["user"]["handle"], "fan_one",
        "handles are folded to lower case"
    );
    assert_eq!(payload["user"]["displayName"], "Fan One");
    assert_eq!(payload["user"]["role"], "MEMBER");

    let token = payload["accessToken"].as_str().unwrap();
    let viewer = app.graphql(VIEWER, json!({}), Some(token)).await;
    assert_eq!(viewer["data"]["viewer"]["handle"], "fan_one");
    assert_eq!(viewer["data"]["viewer"]["id"], payload["user"]["id"]);
}

#[tokio::test]
async fn anonymous_viewer_is_null() {
    let app = TestApp::spawn().await;
    let body = app.graphql(VIEWER, json!({}), None).await;
    assert!(body["errors"].is_null(), "{body}");
    assert!(body["data"]["viewer"].is_null());
}

#[tokio::test]
async fn a_taken_handle_is_a_conflict_whatever_its_case() {
    let app = TestApp::spawn().await;
    app.sign_up("mira").await;
    let body = app
        .graphql(
            SIGN_UP,
            json!({ "input": { "handle": "MIRA", "password": PASSWORD, "displayName": "Other" } }),
            None,
        )
        .await;
    assert_code(&body, "CONFLICT");
    assert_eq!(app.count("user").await, 1, "nothing else was written");
}

#[tokio::test]
async fn bad_sign_up_input_names_the_field_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let long_handle = "a".repeat(33);
    let long_password = "p".repeat(129);
    let cases = [
        ("ab", PASSWORD, "Name", "handle"),
        (long_handle.as_str(), PASSWORD, "Name", "handle"),
        ("bad-handle", PASSWORD, "Name", "handle"),
        ("hänsel", PASSWORD, "Name", "handle"),
        ("good_handle", "short", "Name", "password"),
        ("good_handle", long_password.as_str(), "Name", "password"),
        ("good_handle", PASSWORD, "   ", "displayName"),
        ("good_handle", PASSWORD, "bell\u{7}", "displayName"),
    ];
    for (handle, password, display_name, field) in cases {
        let body = app
            .graphql(
                SIGN_UP,
                json!({ "input": { "handle": handle, "password": password, "displayName": display_name } }),
                None,
            )
            .await;
        assert_code(&body, "BAD_USER_INPUT");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }
    assert_eq!(app.count("user").await, 0);
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_phc_strings() {
    let app = TestApp::spawn().await;
    app.sign_up("hashy").await;
    let stored = app.sql_strings("SELECT password_hash FROM \"user\"").await;
    assert!(
        stored[0].starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        stored[0]
    );
    assert!(!stored[0].contains(PASSWORD));
}

#[tokio::test]
async fn log_in_works_and_wrong_or_unknown_credentials_look_the_same() {
    let app = TestApp::spawn().await;
    let user = app.sign_up("lina").await;
    let session = app.log_in("LINA", PASSWORD).await;
    assert_eq!(session.id, user.id);

    let wrong = app
        .graphql(
            LOG_IN,
            json!({ "input": { "handle": "lina", "password": "not the password" } }),
            None,
        )
        .await;
    let unknown = app
        .graphql(
            LOG_IN,
            json!({ "input": { "handle": "nobody", "password": PASSWORD } }),
            None,
        )
        .await;
    assert_code(&wrong, "UNAUTHENTICATED");
    assert_code(&unknown, "UNAUTHENTICATED");
    assert_eq!(
        wrong["errors"][0]["message"],
        unknown["errors"][0]["message"]
    );
}

#[tokio::test]
async fn refresh_rotates_the_token_and_the_old_one_stops_working() {
    let app = TestApp::spawn().await;
    let user = app.sign_up("rota").await;
    let first = app
        .graphql(REFRESH, json!({ "t": user.refresh_token }), None)
        .await;
    let next = &first["data"]["refreshSession"];
    assert_eq!(next["user"]["id"], user.id.as_str());
    let new_refresh = next["refreshToken"].as_str().unwrap();
    assert_ne!(new_refresh, user.refresh_token);
    let viewer = app
        .graphql(VIEWER, json!({}), next["accessToken"].as_str())
        .await;
    assert_eq!(viewer["data"]["viewer"]["id"], user.id.as_str());

    let again = app
        .graphql(REFRESH, json!({ "t": new_refresh }), None)
        .await;
    assert!(again["data"]["refreshSession"].is_object(), "{again}");
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_revokes_the_whole_family() {
    let app = TestApp::spawn().await;
    let user = app.sign_up("victim").await;
    let rotated = app
        .graphql(REFRESH, json!({ "t": user.refresh_token }), None)
        .await;
    let current = rotated["data"]["refreshSession"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();

    // Someone replays the old token: refused, and the family is revoked.
    let replay = app
        .graphql(REFRESH, json!({ "t": user.refresh_token }), None)
        .await;
    assert_code(&replay, "UNAUTHENTICATED");
    // So the legitimate holder's newest token no longer works either.
    let after = app.graphql(REFRESH, json!({ "t": current }), None).await;
    assert_code(&after, "UNAUTHENTICATED");

    // Another sign-in (another family) is unaffected.
    let other = app.log_in("victim", PASSWORD).await;
    let fine = app
        .graphql(REFRESH, json!({ "t": other.refresh_token }), None)
        .await;
    assert!(fine["data"]["refreshSession"].is_object(), "{fine}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_of_one_token_let_exactly_one_through() {
    let app = TestApp::spawn().await;
    let user = app.sign_up("racer").await;
    let attempts = (0..6).map(|_| app.graphql(REFRESH, json!({ "t": user.refresh_token }), None));
    let results = futures_util::future::join_all(attempts).await;
    let ok = results
        .iter()
        .filter(|b| b["data"]["refreshSession"].is_object())
        .count();
    assert_eq!(ok, 1, "{results:?}");
    for body in results
        .iter()
        .filter(|b| b["data"]["refreshSession"].is_null())
    {
        assert_code(body, "UNAUTHENTICATED");
    }
}

#[tokio::test]
async fn garbage_refresh_tokens_are_unauthenticated() {
    let app = TestApp::spawn().await;
    for token in ["", "nope", &"x".repeat(500)] {
        let body = app.graphql(REFRESH, json!({ "t": token }), None).await;
        assert_code(&body, "UNAUTHENTICATED");
    }
}

#[tokio::test]
async fn log_out_ends_the_session_and_is_idempotent() {
    let app = TestApp::spawn().await;
    let user = app.sign_up("leaver").await;
    let out = "mutation($t: String!) { logOut(refreshToken: $t) }";
    let body = app
        .graphql(out, json!({ "t": user.refresh_token }), None)
        .await;
    assert_eq!(body["data"]["logOut"], true);
    let again = app
        .graphql(out, json!({ "t": user.refresh_token }), None)
        .await;
    assert_eq!(again["data"]["logOut"], true);
    let refresh = app
        .graphql(REFRESH, json!({ "t": user.refresh_token }), None)
        .await;
    assert_code(&refresh, "UNAUTHENTICATED");
}

#[tokio::test]
async fn changing_the_password_ends_old_tokens_and_sessions() {
    let app = TestApp::spawn().await;
    let user = app.sign_up("changer").await;
    let change = "mutation($input: ChangePasswordInput!) { changePassword(input: $input) { accessToken refreshToken } }";

    let wrong = app
        .graphql(
            change,
            json!({ "input": { "currentPassword": "wrong password", "newPassword": "a brand new secret" } }),
            Some(&user.access_token),
        )
        .await;
    assert_code(&wrong, "BAD_USER_INPUT");
    assert_eq!(wrong["errors"][0]["extensions"]["field"], "currentPassword");

    let body = app
        .graphql(
            change,
            json!({ "input": { "currentPassword": PASSWORD, "newPassword": "a brand new secret" } }),
            Some(&user.access_token),
        )
        .await;
    let fresh = body["data"]["changePassword"]["accessToken"]
        .as_str()
        .unwrap();

    let old = app
        .graphql(VIEWER, json!({}), Some(&user.access_token))
        .await;
    assert_code(&old, "UNAUTHENTICATED");
    let old_refresh = app
        .graphql(REFRESH, json!({ "t": user.refresh_token }), None)
        .await;
    assert_code(&old_refresh, "UNAUTHENTICATED");
    let new = app.graphql(VIEWER, json!({}), Some(fresh)).await;
    assert_eq!(new["data"]["viewer"]["handle"], "changer");
    app.log_in("changer", "a brand new secret").await;
}

#[tokio::test]
async fn operations_for_signed_in_users_refuse_anonymous_callers() {
    let app = TestApp::spawn().await;
    let body = app
        .graphql(
            "mutation { changePassword(input: { currentPassword: \"x\", newPassword: \"yyyyyyyyyyyy\" }) { accessToken } }",
            json!({}),
            None,
        )
        .await;
    assert_code(&body, "UNAUTHENTICATED");
}

#[tokio::test]
async fn only_admins_set_roles_and_the_role_shows_on_the_viewer() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root").await;
    let member = app.sign_up("worker").await;
    let set_role =
        "mutation($id: ID!, $role: Role!) { setUserRole(userId: $id, role: $role) { id role } }";

    let denied = app
        .graphql(
            set_role,
            json!({ "id": member.id, "role": "ADMIN" }),
            Some(&member.access_token),
        )
        .await;
    assert_code(&denied, "FORBIDDEN");

    let body = app
        .graphql(
            set_role,
            json!({ "id": member.id, "role": "STAFF" }),
            Some(&admin.access_token),
        )
        .await;
    assert_eq!(body["data"]["setUserRole"]["role"], "STAFF");
    let viewer = app
        .graphql(VIEWER, json!({}), Some(&member.access_token))
        .await;
    assert_eq!(viewer["data"]["viewer"]["role"], "STAFF");

    let missing = app
        .graphql(
            set_role,
            json!({ "id": "01935f3e-0000-7000-8000-000000000000", "role": "STAFF" }),
            Some(&admin.access_token),
        )
        .await;
    assert_code(&missing, "NOT_FOUND");
    let garbage = app
        .graphql(
            set_role,
            json!({ "id": "not-a-uuid", "role": "STAFF" }),
            Some(&admin.access_token),
        )
        .await;
    assert_code(&garbage, "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_ban_ends_access_at_once_and_blocks_log_in() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root").await;
    let member = app.sign_up("troll").await;
    let ban = "mutation($id: ID!, $b: Boolean!) { setUserBanned(userId: $id, banned: $b) { id } }";
    let body = app
        .graphql(
            ban,
            json!({ "id": member.id, "b": true }),
            Some(&admin.access_token),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");

    let viewer = app
        .graphql(VIEWER, json!({}), Some(&member.access_token))
        .await;
    assert_code(&viewer, "UNAUTHENTICATED");
    let refresh = app
        .graphql(REFRESH, json!({ "t": member.refresh_token }), None)
        .await;
    assert_code(&refresh, "UNAUTHENTICATED");
    let log_in = app
        .graphql(
            LOG_IN,
            json!({ "input": { "handle": "troll", "password": PASSWORD } }),
            None,
        )
        .await;
    assert_code(&log_in, "FORBIDDEN");

    app.graphql(
        ban,
        json!({ "id": member.id, "b": false }),
        Some(&admin.access_token),
    )
    .await;
    app.log_in("troll", PASSWORD).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sign_ups_never_hit_a_locked_database() {
    let app = TestApp::spawn().await;
    let sign_ups = (0..16).map(|i| {
        app.graphql(
            SIGN_UP,
            json!({ "input": { "handle": format!("crowd_{i}"), "password": PASSWORD, "displayName": "x" } }),
            None,
        )
    });
    let results = futures_util::future::join_all(sign_ups).await;
    for body in &results {
        assert!(body["data"]["signUp"].is_object(), "{body}");
    }
    assert_eq!(app.count("user").await, 16);
    assert_eq!(app.count("refresh_token").await, 16);
}
