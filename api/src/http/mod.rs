//! The only actix wiring: the server, its routes and middleware (CORS, request ids), and the
//! answers every endpoint shares (error bodies, the bearer token). Each endpoint family has its
//! file:
//!
//! - [`graphql`]: `POST /graphql` (JSON only, at most 64 KiB, one operation), `GET /graphql`
//!   (GraphiQL in development; queries only), and `/graphql/ws` (`graphql-transport-ws`).
//! - [`oauth`]: the OAuth2 client-credentials token endpoint and the JWKS.
//! - [`ops`]: health and metrics.
//! - [`exports`]: the finance export's route.
//! - [`answers`]: anonymous query answers kept and sent again while the database is unchanged.

mod answers;
mod exports;
mod graphql;
mod oauth;
mod ops;
mod ws;

pub use graphql::MAX_BODY_BYTES;

use std::net::TcpListener;

use actix_cors::Cors;
use actix_web::dev::{Server, Service, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::web;
use actix_web::{App, HttpMessage, HttpRequest, HttpResponse, HttpServer};
use serde_json::json;

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::graphql::AppSchema;
use crate::rate_limits::{self, ClientAddress};
use crate::services::users;
use crate::state::AppState;

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
        let schema = crate::graphql::build_schema(&state.config, state.clone());
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

/// The span every request is logged under: method, route, path and request id — never the
/// query string, which may carry a GraphQL document with a password in it (a refused
/// `GET /graphql?query=mutation{logIn…}` included).
struct RequestSpan;

impl tracing_actix_web::RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> tracing::Span {
        let request_id = request
            .extensions()
            .get::<tracing_actix_web::RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %request.match_pattern().unwrap_or_default(),
            http.target = %request.path(),
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
            request_id = %request_id,
        )
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: tracing::Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        tracing_actix_web::DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

fn serve(listener: TcpListener, state: AppState, schema: AppSchema) -> std::io::Result<Server> {
    let state = web::Data::new(state);
    let schema = web::Data::new(schema);
    let sockets = web::Data::new(std::sync::Arc::new(ws::SocketCounts::default()));
    let answers = web::Data::new(answers::Answers::new(&state.config));
    let server = HttpServer::new(move || {
        App::new()
            .wrap(cors(&state.config.cors_allowed_origins))
            .wrap_fn(echo_request_id)
            .wrap(tracing_actix_web::TracingLogger::<RequestSpan>::new())
            .app_data(state.clone())
            .app_data(sockets.clone())
            .app_data(schema.clone())
            .app_data(answers.clone())
            .app_data(
                web::FormConfig::default()
                    .limit(16 * 1024)
                    .error_handler(|err, _| {
                        actix_web::error::InternalError::from_response(
                            err,
                            oauth::oauth_error(
                                StatusCode::BAD_REQUEST,
                                "invalid_request",
                                "malformed form body",
                            ),
                        )
                        .into()
                    }),
            )
            .route("/graphql", web::post().to(graphql::graphql_post))
            .route("/graphql", web::get().to(graphql::graphql_get))
            .route("/graphql/ws", web::get().to(ws::graphql_ws))
            .route("/oauth/token", web::post().to(oauth::oauth_token))
            .route("/.well-known/jwks.json", web::get().to(oauth::jwks))
            .route("/healthz", web::get().to(ops::healthz))
            .route("/metrics", web::get().to(ops::metrics))
            .route(
                "/exports/revenue-shares.csv",
                web::get().to(exports::revenue_shares_csv),
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
pub(super) fn graphql_error(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({
        "errors": [{ "message": message, "extensions": { "code": code } }]
    }))
}

/// `err` as a GraphQL-shaped error body with the status [`AppError::http_status`] gives it,
/// and `Retry-After` / `WWW-Authenticate` where they apply.
pub(super) fn app_error_response(err: &AppError) -> HttpResponse {
    let status =
        StatusCode::from_u16(err.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut body = json!({ "message": err.to_string(), "extensions": { "code": err.code() } });
    if let Some(secs) = err.retry_after_secs() {
        body["extensions"]["retryAfterSeconds"] = json!(secs);
    }
    let mut response = HttpResponse::build(status).json(json!({ "errors": [body] }));
    if let Some(secs) = err.retry_after_secs()
        && let Ok(value) = HeaderValue::from_str(&secs.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
    }
    response
}

/// Where `req` came from: the socket's peer, unless `TRUSTED_PROXY_HEADER` names a header the
/// proxy in front sets.
pub(super) fn client_of(req: &HttpRequest, state: &AppState) -> ClientAddress {
    let forwarded = state
        .config
        .trusted_proxy_header
        .as_deref()
        .and_then(|name| req.headers().get(name))
        .and_then(|value| value.to_str().ok());
    rate_limits::client_address(req.peer_addr(), forwarded)
}

/// No header: anonymous. A valid bearer token: its viewer. Anything else: UNAUTHENTICATED.
pub(super) async fn viewer_of(state: &AppState, req: &HttpRequest) -> AppResult<Viewer> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(Viewer::Anonymous);
    };
    let token = value.to_str().ok().and_then(bearer_token).ok_or_else(|| {
        AppError::Unauthenticated("expected `Authorization: Bearer <token>`".into())
    })?;
    // Authenticating reads the user's row: it stops with the database like the operation.
    let unavailable = || AppError::Unavailable("the database does not answer".into());
    if !state.db_health.is_up() {
        return Err(unavailable());
    }
    tokio::select! {
        viewer = users::authenticate(state, token) => viewer,
        () = state.db_health.down() => Err(unavailable()),
    }
}

pub(super) fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}
