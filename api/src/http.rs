//! The only actix wiring: routes, body limits, CORS, request ids, health, metrics, JWKS and the
//! OAuth2 token endpoint, and the finance export's route.
//!
//! `POST /graphql` takes JSON only (415 otherwise), at most 64 KiB (413, checked before parsing),
//! one operation per request (400 for arrays). `GET /graphql` serves GraphiQL in development and
//! runs queries — never mutations (405). `/graphql/ws` speaks `graphql-transport-ws` with the
//! access token in `connection_init`.

use std::net::TcpListener;
use std::time::Instant;

use actix_cors::Cors;
use actix_web::dev::{Server, Service, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::web::{self, Bytes, BytesMut};
use actix_web::{App, HttpMessage, HttpRequest, HttpResponse, HttpServer};
use async_graphql::Data;
use async_graphql::http::GraphiQLSource;
use async_graphql_actix_web::GraphQLSubscription;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::json;

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::graphql::{self, AppSchema, OperationKind};
use crate::services::{partners, users};
use crate::state::AppState;

/// Largest accepted GraphQL request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Binds `state.config.bind_addr` and prepares the server.
    pub fn build(state: AppState) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&state.config.bind_addr)?;
        let port = listener.local_addr()?.port();
        let schema = graphql::build_schema(&state.config, state.clone());
        let server = serve(listener, state, schema)?;
        Ok(Application { port, server })
    }

    /// The port actually bound (useful with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Runs until the server is stopped.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Returns the id the request is logged under as `x-request-id`, so a caller can quote it.
fn echo_request_id<S, B>(
    req: ServiceRequest,
    service: &S,
) -> impl Future<Output = actix_web::Result<ServiceResponse<B>>> + use<S, B>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    let id = req
        .extensions()
        .get::<tracing_actix_web::RequestId>()
        .map(|id| id.to_string());
    let response = service.call(req);
    async move {
        let mut response = response.await?;
        if let Some(value) = id.and_then(|id| HeaderValue::from_str(&id).ok()) {
            let name = header::HeaderName::from_static("x-request-id");
            response.headers_mut().insert(name, value);
        }
        Ok(response)
    }
}

fn serve(listener: TcpListener, state: AppState, schema: AppSchema) -> std::io::Result<Server> {
    let state = web::Data::new(state);
    let schema = web::Data::new(schema);
    let server = HttpServer::new(move || {
        App::new()
            .wrap(cors(&state.config.cors_allowed_origins))
            .wrap_fn(echo_request_id)
            .wrap(tracing_actix_web::TracingLogger::default())
            .app_data(state.clone())
            .app_data(schema.clone())
            .app_data(
                web::FormConfig::default()
                    .limit(16 * 1024)
                    .error_handler(|err, _| {
                        actix_web::error::InternalError::from_response(
                            err,
                            oauth_error(
                                StatusCode::BAD_REQUEST,
                                "invalid_request",
                                "malformed form body",
                            ),
                        )
                        .into()
                    }),
            )
            .route("/graphql", web::post().to(graphql_post))
            .route("/graphql", web::get().to(graphql_get))
            .route("/graphql/ws", web::get().to(graphql_ws))
            .route("/oauth/token", web::post().to(oauth_token))
            .route("/.well-known/jwks.json", web::get().to(jwks))
            .route("/healthz", web::get().to(healthz))
            .route("/metrics", web::get().to(metrics))
            .route(
                "/exports/revenue-shares.csv",
                web::get().to(revenue_shares_csv),
            )
    })
    .listen(listener)?
    .run();
    Ok(server)
}

fn cors(origins: &[String]) -> Cors {
    let base = Cors::default()
        .allowed_methods(["GET", "POST"])
        .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(3600);
    if origins.iter().any(|o| o == "*") {
        return base.allow_any_origin();
    }
    origins
        .iter()
        .fold(base, |cors, origin| cors.allowed_origin(origin))
}

/// `{"errors":[{"message", "extensions":{"code"}}]}` with `status`.
fn graphql_error(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({
        "errors": [{ "message": message, "extensions": { "code": code } }]
    }))
}

fn app_error_response(err: &AppError) -> HttpResponse {
    let status = match err {
        AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    let mut response = graphql_error(status, err.code(), &err.to_string());
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
    }
    response
}

/// No header: anonymous. A valid bearer token: its viewer. Anything else: UNAUTHENTICATED.
async fn viewer_of(state: &AppState, req: &HttpRequest) -> AppResult<Viewer> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(Viewer::Anonymous);
    };
    let token = value.to_str().ok().and_then(bearer_token).ok_or_else(|| {
        AppError::Unauthenticated("expected `Authorization: Bearer <token>`".into())
    })?;
    users::authenticate(state, token).await
}

fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

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

async fn graphql_post(
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
    execute(&state, &schema, viewer, request).await
}

async fn graphql_get(
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
    execute(&state, &schema, viewer, request).await
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
    request: async_graphql::Request,
) -> HttpResponse {
    let kind = graphql::operation_kind(&request);
    let started = Instant::now();
    let response = schema
        .execute(graphql::prepare(request, viewer, state))
        .await;
    let response = graphql::with_codes(response);
    state.metrics.observe_request(
        OperationKind::label(kind),
        response.errors.is_empty(),
        started.elapsed(),
    );
    HttpResponse::Ok().json(response)
}

async fn graphql_ws(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    schema: web::Data<AppSchema>,
) -> actix_web::Result<HttpResponse> {
    let state = state.get_ref().clone();
    GraphQLSubscription::new(schema.get_ref().clone())
        .on_connection_init(move |init| async move {
            let token = ["authorization", "Authorization", "accessToken"]
                .iter()
                .find_map(|key| init.get(*key).and_then(|v| v.as_str()))
                .map(|value| bearer_token(value).unwrap_or(value).to_string());
            let viewer = match token {
                None => Viewer::Anonymous,
                Some(token) => users::authenticate(&state, &token)
                    .await
                    .map_err(|e| async_graphql::Error::new(e.to_string()))?,
            };
            let mut data = Data::default();
            data.insert(graphql::loaders::Loaders::new(
                state.db.clone(),
                viewer.clone(),
            ));
            data.insert(viewer);
            Ok(data)
        })
        .start(&req, payload)
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> HttpResponse {
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

async fn oauth_token(
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

async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    match state.keys.jwks().await {
        Ok(set) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
            .json(set),
        Err(err) => app_error_response(&err),
    }
}

async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    match crate::db::ping(&state.db).await {
        Ok(()) => HttpResponse::Ok().json(json!({ "status": "ok", "database": "ok" })),
        Err(err) => {
            tracing::warn!(error = %err, "health check: database unreachable");
            HttpResponse::ServiceUnavailable()
                .json(json!({ "status": "unavailable", "database": "unreachable" }))
        }
    }
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let (size, idle) = crate::db::pool_usage(&state.db);
    match state.metrics.render(size, idle) {
        Ok(text) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(text),
        Err(err) => app_error_response(&err),
    }
}

/// `GET /exports/revenue-shares.csv?from=&to=&status=` for an ADMIN bearer token.
async fn revenue_shares_csv(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let viewer = match viewer_of(&state, &req).await {
        Ok(viewer) => viewer,
        Err(err) => return app_error_response(&err),
    };
    let query = web::Query::<crate::exports::ExportParams>::from_query(req.query_string());
    let Ok(params) = query else {
        return graphql_error(
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            "expected ?from=&to=&status=",
        );
    };
    let filter = match crate::exports::revenue_share_filter(params.into_inner()) {
        Ok(filter) => filter,
        Err(err) => return app_error_response(&err),
    };
    let state = state.get_ref().clone();
    match crate::exports::revenue_shares_csv(state, viewer, filter).await {
        Ok(body) => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"revenue-shares.csv\"",
            ))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .streaming(body.map(|chunk| chunk.map(Bytes::from))),
        Err(err) => app_error_response(&err),
    }
}
