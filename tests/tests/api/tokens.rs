//! Access-token verification: every forged, altered or expired token is UNAUTHENTICATED, user
//! and partner tokens never pass for each other, and key rotation keeps old tokens valid.
//!
//! Some cases need a token that is *validly signed* but has bad claims; they sign with the
//! server's own key, read from the test database, as an attacker holding the key could not
//! otherwise get past the signature check.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use canyu_tests::{TestApp, TestUser, assert_code};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

const VIEWER: &str = "{ viewer { id } }";

fn parts(token: &str) -> (Value, Value) {
    let mut it = token.split('.');
    let header =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(it.next().unwrap()).unwrap()).unwrap();
    let claims =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(it.next().unwrap()).unwrap()).unwrap();
    (header, claims)
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

async fn server_key(app: &TestApp) -> (String, EncodingKey) {
    let kid = app
        .sql_strings("SELECT id FROM signing_key WHERE retired_at IS NULL")
        .await
        .remove(0);
    let der = app
        .sql_strings("SELECT private_key FROM signing_key WHERE retired_at IS NULL")
        .await
        .remove(0);
    (
        kid,
        EncodingKey::from_ed_der(&STANDARD.decode(der).unwrap()),
    )
}

async fn sign_with_server_key(app: &TestApp, claims: &Value) -> String {
    let (kid, key) = server_key(app).await;
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid);
    header.typ = Some("at+jwt".into());
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

async fn assert_rejected(app: &TestApp, token: &str) {
    let (status, body) = app.graphql_status(VIEWER, json!({}), Some(token)).await;
    assert_eq!(status, 401, "{body}");
    assert_code(&body, "UNAUTHENTICATED");
}

async fn user(app: &TestApp) -> TestUser {
    app.sign_up("target").await
}

#[tokio::test]
async fn a_valid_token_carries_every_claim_and_our_header() {
    let app = TestApp::spawn().await;
    let u = user(&app).await;
    let (header, claims) = parts(&u.access_token);
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["typ"], "at+jwt");
    assert!(header["kid"].is_string());
    for claim in ["iss", "aud", "sub", "exp", "iat", "jti"] {
        assert!(!claims[claim].is_null(), "missing {claim}");
    }
    assert_eq!(claims["sub"], u.id.as_str());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        900
    );
}

#[tokio::test]
async fn alg_none_is_rejected() {
    let app = TestApp::spawn().await;
    let u = user(&app).await;
    let (mut header, claims) = parts(&u.access_token);
    header["alg"] = json!("none");
    assert_rejected(&app, &format!("{}.{}.", b64(&header), b64(&claims))).await;
}

#[tokio::test]
async fn a_token_signed_by_a_foreign_key_is_rejected() {
    let app = TestApp::spawn().await;
    let u = user(&app).await;
    let (header, claims) = parts(&u.access_token);
    let foreign = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let der = ed25519_dalek::pkcs8::EncodePrivateKey::to_pkcs8_der(&foreign).unwrap();
    let mut forged = Header::new(Algorithm::EdDSA);
    forged.kid = header["kid"].as_str().map(str::to_string);
    forged.typ = Some("at+jwt".into());
    let token =
        jsonwebtoken::encode(&forged, &claims, &EncodingKey::from_ed_der(der.as_bytes())).unwrap();
    assert_rejected(&app, &token).await;
}

#[tokio::test]
async fn a_tampered_payload_is_rejected() {
    let app = TestApp::spawn().await;
    let admin = app.admin("boss").await;
    let u = user(&app).await;
    let mut segments: Vec<String> = u.access_token.split('.').map(str::to_string).collect();
    let (_, mut claims) = parts(&u.access_token);
    claims["sub"] = json!(admin.id);
    segments[1] = b64(&claims);
    assert_rejected(&app, &segments.join(".")).await;
}

#[tokio::test]
async fn an_unknown_kid_is_rejected() {
    let app = TestApp::spawn().await;
    let u = user(&app).await;
    let (mut header, claims) = parts(&u.access_token);
    header["kid"] = json!("someone-elses-key");
    let signature = u.access_token.rsplit('.').next().unwrap();
    assert_rejected(
        &app,
        &format!("{}.{}.{signature}", b64(&header), b64(&claims)),
    )
    .await;
}

#[tokio::test]
async fn bad_claims_under_a_valid_signature_are_rejected() {
    let app = TestApp::spawn().await;
    let u = user(&app).await;
    let (_, good) = parts(&u.access_token);
    let now = chrono::Utc::now().timestamp();

    // The control: our own key with untouched claims passes.
    let control = sign_with_server_key(&app, &good).await;
    let ok = app.graphql(VIEWER, json!({}), Some(&control)).await;
    assert_eq!(ok["data"]["viewer"]["id"], u.id.as_str(), "{ok}");

    let mut cases = Vec::new();
    let mut expired = good.clone();
    expired["iat"] = json!(now - 3600);
    expired["exp"] = json!(now - 120);
    cases.push(("expired exp", expired));
    let mut string_exp = good.clone();
    string_exp["exp"] = json!((now + 600).to_string());
    cases.push(("string exp", string_exp));
    let mut wrong_aud = good.clone();
    wrong_aud["aud"] = json!("somebody-else");
    cases.push(("wrong aud", wrong_aud));
    let mut wrong_iss = good.clone();
    wrong_iss["iss"] = json!("https://evil.example");
    cases.push(("wrong iss", wrong_iss));
    let mut partner_aud = good.clone();
    partner_aud["aud"] = json!("canyu-partner");
    cases.push(("user claims under the partner audience", partner_aud));
    for claim in ["exp", "iat", "jti", "sub", "aud", "iss"] {
        let mut missing = good.clone();
        missing.as_object_mut().unwrap().remove(claim);
        cases.push(("missing claim", missing));
    }
    for (what, claims) in cases {
        let token = sign_with_server_key(&app, &claims).await;
        let (status, body) = app.graphql_status(VIEWER, json!({}), Some(&token)).await;
        assert_eq!(status, 401, "{what}: {body}");
        assert_code(&body, "UNAUTHENTICATED");
    }
}

#[tokio::test]
async fn a_token_without_our_typ_is_rejected() {
    let app = TestApp::spawn().await;
    let u = user(&app).await;
    let (_, claims) = parts(&u.access_token);
    let (kid, key) = server_key(&app).await;
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid);
    header.typ = Some("JWT".into());
    let token = jsonwebtoken::encode(&header, &claims, &key).unwrap();
    assert_rejected(&app, &token).await;
}

#[tokio::test]
async fn malformed_authorization_headers_are_rejected_not_ignored() {
    let app = TestApp::spawn().await;
    for value in [
        "Bearer",
        "Bearer not.a.jwt",
        "Basic dXNlcjpwdw==",
        "garbage",
    ] {
        let response = app
            .client
            .post(format!("{}/graphql", app.address))
            .header("authorization", value)
            .json(&json!({ "query": VIEWER }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401, "{value}");
        let body: Value = response.json().await.unwrap();
        assert_code(&body, "UNAUTHENTICATED");
    }
}

#[tokio::test]
async fn a_token_from_another_issuer_is_rejected_even_with_our_key() {
    let app = TestApp::spawn().await;
    // A replica configured with another issuer shares the keys but not the `iss`.
    let other = app.replica(&[("JWT_ISSUER", "not-canyu")]).await;
    let u = other.sign_up("wanderer").await;
    assert_rejected(&app, &u.access_token).await;
}

#[tokio::test]
async fn rotation_keeps_old_tokens_valid_and_signs_new_ones_with_the_new_key() {
    let app = TestApp::spawn().await;
    let u = user(&app).await;
    let (old_header, _) = parts(&u.access_token);

    let new_kid = app.state.keys.rotate().await.unwrap();
    let still = app.graphql(VIEWER, json!({}), Some(&u.access_token)).await;
    assert_eq!(still["data"]["viewer"]["id"], u.id.as_str(), "{still}");

    let fresh = app.log_in("target", canyu_tests::PASSWORD).await;
    let (new_header, _) = parts(&fresh.access_token);
    assert_eq!(new_header["kid"], new_kid.as_str());
    assert_ne!(new_header["kid"], old_header["kid"]);

    let (status, jwks) = app.get("/.well-known/jwks.json").await;
    assert_eq!(status, 200);
    let jwks: Value = serde_json::from_str(&jwks).unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(kids.contains(&new_kid.as_str()));
    assert!(kids.contains(&old_header["kid"].as_str().unwrap()));
}

#[tokio::test]
async fn another_replica_verifies_tokens_and_picks_up_a_rotated_key() {
    let app = TestApp::spawn().await;
    let replica = app.replica(&[]).await;
    let u = user(&app).await;
    let seen = replica
        .graphql(VIEWER, json!({}), Some(&u.access_token))
        .await;
    assert_eq!(seen["data"]["viewer"]["id"], u.id.as_str());

    app.state.keys.rotate().await.unwrap();
    let fresh = app.log_in("target", canyu_tests::PASSWORD).await;
    let seen = replica
        .graphql(VIEWER, json!({}), Some(&fresh.access_token))
        .await;
    assert_eq!(seen["data"]["viewer"]["id"], u.id.as_str(), "{seen}");
}

#[tokio::test]
async fn jwks_publishes_ed25519_public_keys_only() {
    let app = TestApp::spawn().await;
    let (status, body) = app.get("/.well-known/jwks.json").await;
    assert_eq!(status, 200);
    let jwks: Value = serde_json::from_str(&body).unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["alg"], "EdDSA");
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(key["x"].as_str().unwrap())
            .unwrap()
            .len(),
        32
    );
    assert!(key["d"].is_null(), "no private part");
}
