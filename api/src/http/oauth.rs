//! Partner tokens and our public keys: `POST /oauth/token` (OAuth 2.0 client credentials,
//! RFC 6749 §4.4, with the client in HTTP Basic or the form) and `/.well-known/jwks.json`.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::web;
use actix_web::{HttpRequest, HttpResponse};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::json;

use super::app_error_response;
use crate::rate_limits::Limit;
use crate::services::partners;
use crate::state::AppState;

#[derive(Deserialize)]
pub(super) struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
}

pub(super) fn oauth_error(status: StatusCode, error: &str, description: &str) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
    if status == StatusCode::UNAUTHORIZED {
        response.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"canyu\""));
    }
    response.json(json!({ "error": error, "error_description": description }))
}

/// Client id and secret from HTTP Basic (RFC 6749 §2.3.1), if the header is present.
fn basic_credentials(req: &HttpRequest) -> Option<(String, String)> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

pub(super) async fn oauth_token(
    req: HttpRequest,
    form: web::Form<TokenForm>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let form = form.into_inner();
    match form.grant_type.as_deref() {
        Some("client_credentials") => {}
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only client_credentials is supported",
            );
        }
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            );
        }
    }
    let credentials = basic_credentials(&req).or(match (form.client_id, form.client_secret) {
        (Some(id), Some(secret)) => Some((id, secret)),
        _ => None,
    });
    let Some((client_id, client_secret)) = credentials else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication is required",
        );
    };
    // Counted per client id before the secret is checked, so guessing a secret is limited too.
    let charged = state
        .rate_limits
        .charge(Limit::TokenRequestsByClient, &client_id, 1)
        .await;
    if let Err(err) = charged {
        if err.retry_after_secs().is_none() {
            return oauth_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "try again later",
            );
        }
        let mut response = oauth_error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            &err.to_string(),
        );
        if let Some(value) = err
            .retry_after_secs()
            .and_then(|secs| header::HeaderValue::from_str(&secs.to_string()).ok())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    match partners::grant_client_credentials(
        &state,
        &client_id,
        &client_secret,
        form.scope.as_deref(),
    )
    .await
    {
        Ok(grant) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"))
            .json(json!({
                "access_token": grant.access_token,
                "token_type": "Bearer",
                "expires_in": grant.expires_in,
                "scope": grant.scope,
            })),
        Err(partners::GrantError::InvalidClient) => oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client or wrong secret",
        ),
        Err(partners::GrantError::InvalidScope(description)) => {
            oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", &description)
        }
        Err(partners::GrantError::Unavailable) => oauth_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "try again later",
        ),
    }
}

pub(super) async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    match state.keys.jwks().await {
        Ok(set) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
            .json(set),
        Err(err) => app_error_response(&err),
    }
}
