//! GraphQL over HTTP: `POST /graphql` takes JSON only (415 otherwise), at most
//! [`MAX_BODY_BYTES`] (413, checked before parsing), one operation per request (400 for
//! arrays). `GET /graphql` serves GraphiQL in development and runs queries — never mutations
//! (405). Subscriptions are [`super::ws`].

use std::collections::BTreeMap;
use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::web::{self, Bytes, BytesMut};
use actix_web::{HttpRequest, HttpResponse};
use async_graphql::http::GraphiQLSource;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::answers::{Answer, Answers};
use super::{app_error_response, client_of, graphql_error, viewer_of};
use crate::auth::Viewer;
use crate::graphql::{self, AppSchema, OperationKind};
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
    answers: web::Data<Answers>,
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
    let asked = Asked::Body(&body);
    execute(&req, &state, &schema, &answers, viewer, request, asked).await
}

pub(super) async fn graphql_get(
    req: HttpRequest,
    state: web::Data<AppState>,
    schema: web::Data<AppSchema>,
    answers: web::Data<Answers>,
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
    let asked = Asked::QueryString(req.query_string());
    execute(&req, &state, &schema, &answers, viewer, request, asked).await
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

/// What a request asked, as sent: the key of its kept answer with the media type it accepts.
#[derive(Clone, Copy)]
enum Asked<'a> {
    Body(&'a [u8]),
    QueryString(&'a str),
}

impl Asked<'_> {
    fn key(self, media: Media) -> Bytes {
        let (method, raw) = match self {
            Asked::Body(body) => (b'P', body),
            Asked::QueryString(query) => (b'G', query.as_bytes()),
        };
        let mut key = BytesMut::with_capacity(raw.len() + 2);
        key.extend_from_slice(&[method, media as u8]);
        key.extend_from_slice(raw);
        key.freeze()
    }
}

async fn execute(
    req: &HttpRequest,
    state: &AppState,
    schema: &AppSchema,
    answers: &Answers,
    viewer: Viewer,
    request: async_graphql::Request,
    asked: Asked<'_>,
) -> HttpResponse {
    let started = Instant::now();
    let media = Media::accepted(req);
    let address = client_of(req, state);
    // An anonymous request may be sent the answer kept for it, if the database has not changed
    // since (the token is read first: an answer computed after it is at that state or newer).
    // Only a request asked before reads it: a new or refused one costs no statement more.
    let computed_at = state.clock.now();
    let key = (matches!(viewer, Viewer::Anonymous) && answers.enabled()).then(|| asked.key(media));
    let token = match &key {
        Some(key) if answers.known(key, computed_at) && state.db_health.is_up() => tokio::select! {
            token = answers.token(&state.db) => token,
            () = state.db_health.down() => None,
        },
        _ => None,
    };
    if let (Some(key), Some(token)) = (&key, &token)
        && let Some(answer) = answers.get(key, token, computed_at)
    {
        state.metrics.answer_cache(true);
        state.metrics.observe_request(
            OperationKind::label(Some(OperationKind::Query)),
            true,
            started.elapsed(),
        );
        return HttpResponse::build(answer.status)
            .content_type(answer.content_type)
            .body(answer.body);
    }
    let computing = Instant::now();
    let (response, kind) = graphql::execute(schema, state, viewer, address, request).await;
    let cost = computing.elapsed();
    state.metrics.observe_request(
        OperationKind::label(kind),
        response.errors.is_empty(),
        started.elapsed(),
    );
    // A request error (the document refused before it ran: parse, validation, limits) has no
    // `data`; with `application/graphql-response+json` it is also a 4xx.
    let request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let status = if request_error && media == Media::GraphqlResponse {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let body = Body {
        data: (!request_error).then_some(&response.data),
        errors: &response.errors,
        extensions: &response.extensions,
    };
    let body = match serde_json::to_vec(&body) {
        Ok(body) => Bytes::from(body),
        Err(err) => {
            return app_error_response(&crate::error::AppError::internal(format!(
                "an answer did not serialize: {err}"
            )));
        }
    };
    if let Some(key) = key
        && kind == Some(OperationKind::Query)
    {
        state.metrics.answer_cache(false);
        if response.errors.is_empty() {
            answers.keep(
                key,
                Answer {
                    token,
                    at: computed_at,
                    status,
                    content_type: media.content_type(),
                    body: body.clone(),
                },
                cost,
            );
        }
    }
    HttpResponse::build(status)
        .content_type(media.content_type())
        .body(body)
}

/// A GraphQL response as GraphQL over HTTP has it: no `data` for a request error, no empty
/// `errors` or `extensions`.
#[derive(Serialize)]
struct Body<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a async_graphql::Value>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [async_graphql::ServerError],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    extensions: &'a BTreeMap<String, async_graphql::Value>,
}

/// The media type of the answer: `application/graphql-response+json` when the client accepts
/// it (GraphQL over HTTP), else the legacy `application/json`, under which every answer is 200.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Media {
    GraphqlResponse,
    Json,
}

impl Media {
    fn accepted(req: &HttpRequest) -> Self {
        let accepts = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| {
                accept.split(',').any(|item| {
                    let mut parts = item.split(';');
                    let media = parts.next().unwrap_or("").trim();
                    let refused =
                        parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
                    media.eq_ignore_ascii_case(GRAPHQL_RESPONSE) && !refused
                })
            });
        if accepts {
            Media::GraphqlResponse
        } else {
            Media::Json
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Media::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            Media::Json => "application/json; charset=utf-8",
        }
    }
}

/// GraphQL over HTTP's response media type.
const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
