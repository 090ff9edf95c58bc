//! Partners and the OAuth2 client-credentials grant.

use canyu_tests::{TestApp, TestUser, assert_code};
use serde_json::{Value, json};

const CREATE: &str = "mutation($input: CreatePartnerInput!) { createPartner(input: $input) { clientId clientSecret partner { id name scopes createdBy { handle } } } }";

struct Credentials {
    id: String,
    client_id: String,
    client_secret: String,
}

async fn create_partner(app: &TestApp, admin: &TestUser, scopes: &[&str]) -> Credentials {
    let body = app
        .graphql(
            CREATE,
            json!({ "input": { "name": "Retail POS", "scopes": scopes } }),
            Some(&admin.access_token),
        )
        .await;
    let payload = &body["data"]["createPartner"];
    assert!(payload.is_object(), "{body}");
    Credentials {
        id: payload["partner"]["id"].as_str().unwrap().to_string(),
        client_id: payload["clientId"].as_str().unwrap().to_string(),
        client_secret: payload["clientSecret"].as_str().unwrap().to_string(),
    }
}

async fn token_request(
    app: &TestApp,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> (u16, Value) {
    let mut request = app
        .client
        .post(format!("{}/oauth/token", app.address))
        .form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    assert_eq!(
        response
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    (status, response.json().await.unwrap())
}

async fn partner_token(app: &TestApp, creds: &Credentials) -> String {
    let (status, body) = token_request(
        app,
        &[("grant_type", "client_credentials")],
        Some((&creds.client_id, &creds.client_secret)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn an_admin_creates_a_partner_whose_secret_is_stored_hashed() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root").await;
    let creds = create_partner(&app, &admin, &["sales:write", "ideas:read"]).await;
    assert!(creds.client_secret.len() >= 43);
    let stored = app.sql_strings("SELECT secret_hash FROM partner").await;
    assert_ne!(stored[0], creds.client_secret);
    assert!(!stored[0].contains(&creds.client_secret));
}

#[tokio::test]
async fn partner_creation_is_admin_only_and_validates_its_input() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root").await;
    let member = app.sign_up("member").await;
    let denied = app
        .graphql(
            CREATE,
            json!({ "input": { "name": "X", "scopes": ["sales:write"] } }),
            Some(&member.access_token),
        )
        .await;
    assert_code(&denied, "FORBIDDEN");
    let anonymous = app
        .graphql(
            CREATE,
            json!({ "input": { "name": "X", "scopes": ["sales:write"] } }),
            None,
        )
        .await;
    assert_code(&anonymous, "UNAUTHENTICATED");
    for (name, scopes, field) in [
        ("X", json!(["sales:delete"]), "scopes"),
        ("X", json!([]), "scopes"),
        ("", json!(["sales:write"]), "name"),
    ] {
        let body = app
            .graphql(
                CREATE,
                json!({ "input": { "name": name, "scopes": scopes } }),
                Some(&admin.access_token),
            )
            .await;
        assert_code(&body, "BAD_USER_INPUT");
        assert_eq!(body["errors"][0]["extensions"]["field"], field);
    }
    assert_eq!(app.count("partner").await, 0);
}

#[tokio::test]
async fn client_credentials_work_with_basic_auth_and_with_form_fields() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root").await;
    let creds = create_partner(&app, &admin, &["sales:write"]).await;

    let (status, body) = token_request(
        &app,
        &[("grant_type", "client_credentials")],
        Some((&creds.client_id, &creds.client_secret)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "sales:write");

    let (status, body) = token_request(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &creds.client_id),
            ("client_secret", &creds.client_secret),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let token = body["access_token"].as_str().unwrap();
    let me = app
        .graphql(
            "{ currentPartner { id name scopes } }",
            json!({}),
            Some(token),
        )
        .await;
    assert_eq!(me["data"]["currentPartner"]["id"], creds.id.as_str());
    assert_eq!(
        me["data"]["currentPartner"]["scopes"],
        json!(["sales:write"])
    );
}

#[tokio::test]
async fn token_endpoint_errors_follow_rfc_6749() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root").await;
    let creds = create_partner(&app, &admin, &["ideas:read"]).await;

    let (status, body) = token_request(
        &app,
        &[("grant_type", "client_credentials")],
        Some((&creds.client_id, "wrong-secret")),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );

    let (status, body) = token_request(
        &app,
        &[("grant_type", "client_credentials")],
        Some(("cp_unknown", "x")),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );

    let (status, body) = token_request(&app, &[("grant_type", "client_credentials")], None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );

    let (status, body) = token_request(
        &app,
        &[("grant_type", "password")],
        Some((&creds.client_id, &creds.client_secret)),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );

    let (status, body) = token_request(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "sales:write"),
        ],
        Some((&creds.client_id, &creds.client_secret)),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );

    let (status, body) =
        token_request(&app, &[], Some((&creds.client_id, &creds.client_secret))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
}

#[tokio::test]
async fn a_requested_scope_narrows_the_token() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root").await;
    let creds = create_partner(&app, &admin, &["sales:write", "ideas:read"]).await;
    let (status, body) = token_request(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "ideas:read"),
        ],
        Some((&creds.client_id, &creds.client_secret)),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["scope"], "ideas:read");
    let token = body["access_token"].as_str().unwrap();
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["scope"], "ideas:read");
    assert_eq!(claims["aud"], "canyu-partner");
    // The partner keeps both grants; only this token is narrowed.
    let me = app
        .graphql("{ currentPartner { scopes } }", json!({}), Some(token))
        .await;
    assert_eq!(
        me["data"]["currentPartner"]["scopes"],
        json!(["sales:write", "ideas:read"])
    );
}

#[tokio::test]
async fn user_and_partner_tokens_never_pass_for_each_other() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root").await;
    let creds = create_partner(&app, &admin, &["sales:write"]).await;
    let token = partner_token(&app, &creds).await;

    // A user token at a partner-only operation.
    let body = app
        .graphql(
            "{ currentPartner { id } }",
            json!({}),
            Some(&admin.access_token),
        )
        .await;
    assert_code(&body, "FORBIDDEN");
    // A partner token at user-only operations.
    let body = app
        .graphql(
            "mutation { changePassword(input: { currentPassword: \"x\", newPassword: \"yyyyyyyyyyyy\" }) { accessToken } }",
            json!({}),
            Some(&token),
        )
        .await;
    assert_code(&body, "FORBIDDEN");
    let body = app
        .graphql("mutation { createPartner(input: { name: \"y\", scopes: [\"sales:write\"] }) { clientId } }", json!({}), Some(&token))
        .await;
    assert_code(&body, "FORBIDDEN");
    // And a partner is nobody's viewer.
    let body = app
        .graphql("{ viewer { id } }", json!({}), Some(&token))
        .await;
    assert!(body["data"]["viewer"].is_null(), "{body}");
    // Anonymous callers are unauthenticated, not forbidden.
    let body = app
        .graphql("{ currentPartner { id } }", json!({}), None)
        .await;
    assert_code(&body, "UNAUTHENTICATED");
}

#[tokio::test]
async fn revoking_a_partner_ends_its_tokens_and_its_grants() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root").await;
    let creds = create_partner(&app, &admin, &["sales:write"]).await;
    let token = partner_token(&app, &creds).await;
    let body = app
        .graphql(
            "mutation($id: ID!) { revokePartner(id: $id) { revokedAt } }",
            json!({ "id": creds.id }),
            Some(&admin.access_token),
        )
        .await;
    assert!(
        body["data"]["revokePartner"]["revokedAt"].is_string(),
        "{body}"
    );

    let (status, body) = app
        .graphql_status("{ currentPartner { id } }", json!({}), Some(&token))
        .await;
    assert_eq!(status, 401);
    assert_code(&body, "UNAUTHENTICATED");
    let (status, body) = token_request(
        &app,
        &[("grant_type", "client_credentials")],
        Some((&creds.client_id, &creds.client_secret)),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );

    let missing = app
        .graphql(
            "mutation($id: ID!) { revokePartner(id: $id) { id } }",
            json!({ "id": "01935f3e-0000-7000-8000-000000000000" }),
            Some(&admin.access_token),
        )
        .await;
    assert_code(&missing, "NOT_FOUND");
}

#[tokio::test]
async fn partners_are_listed_in_pages_for_admins_only() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root").await;
    let member = app.sign_up("member").await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(create_partner(&app, &admin, &["ideas:read"]).await.id);
    }
    let list = "query($after: String) { partners(first: 2, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }";
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let body = app
            .graphql(list, json!({ "after": after }), Some(&admin.access_token))
            .await;
        let connection = &body["data"]["partners"];
        for edge in connection["edges"].as_array().unwrap() {
            seen.push(edge["node"]["id"].as_str().unwrap().to_string());
        }
        if !connection["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = connection["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen, ids, "every partner once, oldest first");

    let denied = app
        .graphql(list, json!({ "after": null }), Some(&member.access_token))
        .await;
    assert_code(&denied, "FORBIDDEN");
    let bad_cursor = app
        .graphql(
            list,
            json!({ "after": "garbage" }),
            Some(&admin.access_token),
        )
        .await;
    assert_code(&bad_cursor, "BAD_USER_INPUT");
    let too_many = app
        .graphql(
            "{ partners(first: 101) { edges { cursor } } }",
            json!({}),
            Some(&admin.access_token),
        )
        .await;
    assert_code(&too_many, "BAD_USER_INPUT");
}

#[tokio::test]
async fn the_scope_catalogue_is_public() {
    let app = TestApp::spawn().await;
    let body = app
        .graphql("{ partnerScopes { name description } }", json!({}), None)
        .await;
    let names: Vec<&str> = body["data"]["partnerScopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"sales:write") && names.contains(&"ideas:read"));
}
