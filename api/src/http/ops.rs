//! What operators poll: `/healthz` (the database reachable or 503) and `/metrics`
//! (Prometheus text).

use std::time::Duration;

use actix_web::HttpResponse;
use actix_web::web;
use serde_json::json;

use super::app_error_response;
use crate::state::AppState;

/// 503 while the database does not answer: as the health probe last found, or as this check's
/// own query (waiting at most half a second) finds.
pub(super) async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let unreachable = || {
        HttpResponse::ServiceUnavailable()
            .json(json!({ "status": "unavailable", "database": "unreachable" }))
    };
    if !state.db_health.is_up() {
        return unreachable();
    }
    match tokio::time::timeout(Duration::from_millis(500), crate::db::ping(&state.db)).await {
        Ok(Ok(())) => HttpResponse::Ok().json(json!({ "status": "ok", "database": "ok" })),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "health check: database unreachable");
            unreachable()
        }
        Err(_) => unreachable(),
    }
}

pub(super) async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let (size, idle) = crate::db::pool_usage(&state.db);
    match state
        .metrics
        .render(size, idle, crate::db::commit_counts(&state.db))
    {
        Ok(text) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(text),
        Err(err) => app_error_response(&err),
    }
}
