//! The finance export's route: `GET /exports/revenue-shares.csv?from=&to=&status=` for an ADMIN
//! bearer token, streamed as CSV (the rows come from [`crate::exports`]).

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use futures_util::StreamExt;

use super::{app_error_response, graphql_error, viewer_of};
use crate::state::AppState;

/// `GET /exports/revenue-shares.csv?from=&to=&status=` for an ADMIN bearer token.
pub(super) async fn revenue_shares_csv(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> HttpResponse {
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
