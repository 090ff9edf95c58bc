//! What operators poll: `/healthz` (the database reachable or 503) and `/metrics`
//! (Prometheus text).

use actix_web::HttpResponse;
use actix_web::web;
use serde_json::json;

use super::app_error_response;
use crate::state::AppState;

pub(super) async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    match crate::db::ping(&state.db).await {
        Ok(()) => HttpResponse::Ok().json(json!({ "status": "ok", "database": "ok" })),
        Err(err) => {
            tracing::warn!(error = %err, "health check: database unreachable");
            HttpResponse::ServiceUnavailable()
                .json(json!({ "status": "unavailable", "database": "unreachable" }))
        }
    }
}

pub(super) async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let (size, idle) = crate::db::pool_usage(&state.db);
    match state.metrics.render(size, idle) {
        Ok(text) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(text),
        Err(err) => app_error_response(&err),
    }
}
