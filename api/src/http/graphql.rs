//! GraphQL over HTTP: `POST /graphql` takes JSON only (415 otherwise), at most
//! [`MAX_BODY_BYTES`] (413, checked before parsing), one operation per request (400 for
//! arrays). `GET /graphql` serves GraphiQL in development and runs queries — never mutations
//! (405). Subscriptions are [`super::ws`].

use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::web::{self, Bytes, BytesMut};
use actix_web::{HttpRequest, HttpResponse};
use async_graphql::http::GraphiQLSource;
use futures_util::StreamExt;
use serde::Deserialize;

use super::{app_error_response, client_of, graphql_error, viewer_of};
use crate::auth::Viewer;
use crate::graphql::{self, AppSchema, OperationKind};
use crate::rate_limits::ClientAddress;
use crate::state::AppState;

/// Largest accepted GraphQL request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

async fn read_body(req: &HttpRequest, mut payload: web::Payload) -> Result<Bytes, HttpResponse> {
    let too_large = || {
        graphql_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "QUERY_TOO_LARGE",
            &format!("request body exceeds {MAX_BODY_BYTES} bytes"),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES) {
        return Err(too_large());
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            graphql_error(
                StatusCode::BAD_REQUEST,
                "BAD_USER_INPUT",
                "unreadable request body",
            )
        })?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

pub(super) async fn graphql_post(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    schema: web::Data<AppSchema>,
) -> HttpResponse {
    if !is_json(&req) {
        return graphql_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "BAD_USER_INPUT",
            "POST /graphql takes `Content-Type: application/json`",
        );
    }
    let body = match read_body(&req, payload).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let value: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(_) => {
            return graphql_error(
                StatusCode::BAD_REQUEST,
                "BAD_USER_INPUT",
                "body is not valid JSON",
            );
        }
    };
    if !value["query"].is_string() && !value.is_array() {
        return graphql_error(
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            "expected {\"query\", \"variables\", \"operationName\"}",
        );
    }
    if value.is_array() {
        return graphql_error(
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            "batched requests are not supported; send one operation per request",
        );
    }
    let request: async_graphql::Request = match serde_json::from_value(value) {
        Ok(request) => request,
        Err(_) => {
            return graphql_error(
                StatusCode::BAD_REQUEST,
                "BAD_USER_INPUT",
                "expected {\"query\", \"variables\", \"operationName\"}",
            );
        }
    };
    let viewer = match viewer_of(&state, &req).await {
        Ok(viewer) => viewer,
        Err(err) => return app_error_response(&err),
    };
    execute(&state, &schema, viewer, client_of(&req, &state), request).await
}

pub(super) async fn graphql_get(
    req: HttpRequest,
    state: web::Data<AppState>,
    schema: web::Data<AppSchema>,
) -> HttpResponse {
    if req.query_string().is_empty() {
        if state.config.is_development() {
            let page = GraphiQLSource::build()
                .endpoint("/graphql")
                .subscription_endpoint("/graphql/ws")
                .finish();
            return HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .body(page);
        }
        return graphql_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "GraphiQL is off in production",
        );
    }
    let request = match get_request(req.query_string()) {
        Some(request) => request,
        None => {
            return graphql_error(
                StatusCode::BAD_REQUEST,
                "BAD_USER_INPUT",
                "expected ?query=…[&operationName=…][&variables=<JSON>]",
            );
        }
    };
    if matches!(
        graphql::operation_kind(&request),
        Some(OperationKind::Mutation | OperationKind::Subscription)
    ) {
        let mut response = graphql_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "BAD_USER_INPUT",
            "mutations and subscriptions are not allowed over GET; use POST",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let viewer = match viewer_of(&state, &req).await {
        Ok(viewer) => viewer,
        Err(err) => return app_error_response(&err),
    };
    execute(&state, &schema, viewer, client_of(&req, &state), request).await
}

/// The parameters of a GraphQL GET request (GraphQL over HTTP: `operationName`, JSON `variables`).
#[derive(Deserialize)]
struct GetParams {
    query: String,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
    variables: Option<String>,
}

fn get_request(query_string: &str) -> Option<async_graphql::Request> {
    let params = web::Query::<GetParams>::from_query(query_string)
        .ok()?
        .into_inner();
    let mut request = async_graphql::Request::new(params.query);
    if let Some(name) = params.operation_name.filter(|n| !n.is_empty()) {
        request = request.operation_name(name);
    }
    if let Some(variables) = params.variables.filter(|v| !v.is_empty()) {
        request = request.variables(serde_json::from_str(&variables).ok()?);
    }
    Some(request)
}

async fn execute(
    state: &AppState,
    schema: &AppSchema,
    viewer: Viewer,
    address: ClientAddress,
    request: async_graphql::Request,
) -> HttpResponse {
    let started = Instant::now();
    let (response, kind) = graphql::execute(schema, state, viewer, address, request).await;
    state.metrics.observe_request(
        OperationKind::label(kind),
        response.errors.is_empty(),
        started.elapsed(),
    );
    HttpResponse::Ok().json(response)
}
