//! The GraphQL API: the schema with its limits, request preparation and the error-code pass.
//!
//! Each feature lives in its own module with its types and its `<Feature>Query` /
//! `<Feature>Mutation`, merged into the roots here. Resolvers call one service function and end
//! with `.extend()` so every error keeps its `extensions.code`.

pub mod audit;
pub mod comments;
pub mod communities;
pub mod connection;
pub mod loaders;
pub mod money;
pub mod notifications;
pub mod partners;
pub mod pricing_polls;
pub mod revenue_shares;
pub mod suggestions;
pub mod sync;
pub mod users;
pub mod votes;

use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{
    Context, ErrorExtensions, ID, MergedObject, MergedSubscription, Request, Response, Schema,
};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The executable schema.
pub type AppSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Every query field, merged from the feature modules.
#[derive(MergedObject, Default)]
pub struct QueryRoot(
    users::UsersQuery,
    partners::PartnersQuery,
    communities::CommunitiesQuery,
    suggestions::SuggestionsQuery,
    notifications::NotificationsQuery,
    pricing_polls::PricingPollsQuery,
    revenue_shares::RevenueSharesQuery,
    audit::AuditQuery,
    sync::SyncQuery,
);

/// Every mutation field, merged from the feature modules.
#[derive(MergedObject, Default)]
pub struct MutationRoot(
    users::UsersMutation,
    partners::PartnersMutation,
    communities::CommunitiesMutation,
    suggestions::SuggestionsMutation,
    votes::VotesMutation,
    comments::CommentsMutation,
    notifications::NotificationsMutation,
    pricing_polls::PricingPollsMutation,
    revenue_shares::RevenueSharesMutation,
    sync::SyncMutation,
);

/// Every subscription field, merged from the feature modules.
#[derive(MergedSubscription, Default)]
pub struct SubscriptionRoot(
    suggestions::SuggestionsSubscription,
    pricing_polls::PricingPollsSubscription,
    sync::SyncSubscription,
);

/// Builds the schema with the limits from `config`; `state` is shared by every request.
pub fn build_schema(config: &Config, state: AppState) -> AppSchema {
    let mut builder = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    .limit_depth(config.graphql_max_depth)
    .limit_complexity(config.graphql_max_complexity)
    .limit_directives(config.graphql_max_directives)
    .limit_recursive_depth(config.graphql_max_recursive_depth)
    .data(state);
    if !config.is_development() {
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder.finish()
}

/// The SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    .finish()
    .sdl()
}

/// Attaches the viewer and fresh per-request loaders to a request.
pub fn prepare(request: Request, viewer: Viewer, state: &AppState) -> Request {
    request
        .data(loaders::Loaders::new(state.db.clone(), viewer.clone()))
        .data(viewer)
}

/// The kind of operation a request would run, if its document parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationKind {
    Query,
    Mutation,
    Subscription,
}

impl OperationKind {
    /// The metrics label of this kind.
    pub fn label(kind: Option<Self>) -> &'static str {
        match kind {
            Some(OperationKind::Query) => "query",
            Some(OperationKind::Mutation) => "mutation",
            Some(OperationKind::Subscription) => "subscription",
            None => "unknown",
        }
    }
}

/// The kind of the operation `request` selects (by `operationName`, or its only operation).
pub fn operation_kind(request: &Request) -> Option<OperationKind> {
    let document = async_graphql::parser::parse_query(&request.query).ok()?;
    let operation = match (&document.operations, request.operation_name.as_deref()) {
        (DocumentOperations::Single(op), _) => op,
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name)?,
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next()?,
        _ => return None,
    };
    Some(match operation.node.ty {
        OperationType::Query => OperationKind::Query,
        OperationType::Mutation => OperationKind::Mutation,
        OperationType::Subscription => OperationKind::Subscription,
    })
}

/// Gives every error without a code one from the closed set: the limits' own errors become
/// QUERY_TOO_COMPLEX / QUERY_TOO_DEEP, parse and validation errors BAD_USER_INPUT.
pub fn with_codes(mut response: Response) -> Response {
    for error in &mut response.errors {
        let has_code = error
            .extensions
            .as_ref()
            .is_some_and(|ext| ext.get("code").is_some());
        if has_code {
            continue;
        }
        let code = if error.message.contains("too complex") {
            "QUERY_TOO_COMPLEX"
        } else if error.message.contains("nested too deep") || error.message.contains("recursion") {
            "QUERY_TOO_DEEP"
        } else {
            "BAD_USER_INPUT"
        };
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", code);
    }
    response
}

/// The shared state and the viewer of a resolver's request.
pub(crate) fn parts<'a>(ctx: &Context<'a>) -> async_graphql::Result<(&'a AppState, &'a Viewer)> {
    let state = ctx
        .data::<AppState>()
        .map_err(|_| AppError::internal("schema built without state").extend())?;
    let viewer = ctx
        .data::<Viewer>()
        .map_err(|_| AppError::internal("request prepared without viewer").extend())?;
    Ok((state, viewer))
}

/// A subscription's stream: after each `event` (or a lag, which may have hidden one), the
/// object as `fetch` reads it now; when it is gone or no longer visible, a NOT_FOUND error ends
/// the stream.
pub(crate) fn live_updates<T, F, Fut>(
    receiver: tokio::sync::broadcast::Receiver<crate::events::Event>,
    event: crate::events::Event,
    what: &'static str,
    fetch: F,
) -> impl futures_util::Stream<Item = async_graphql::Result<T>> + use<T, F, Fut>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = AppResult<Option<T>>>,
{
    use tokio::sync::broadcast::error::RecvError;
    futures_util::stream::unfold(
        (receiver, fetch, false),
        move |(mut receiver, fetch, done)| async move {
            if done {
                return None;
            }
            loop {
                match receiver.recv().await {
                    Ok(changed) if changed != event => continue,
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return None,
                }
                return match fetch().await {
                    Ok(Some(found)) => Some((Ok(found), (receiver, fetch, false))),
                    Ok(None) => Some((
                        Err(AppError::not_found(what).extend()),
                        (receiver, fetch, true),
                    )),
                    Err(err) => Some((Err(err.extend()), (receiver, fetch, false))),
                };
            }
        },
    )
}

/// The request's loaders.
pub(crate) fn loaders<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a loaders::Loaders> {
    ctx.data::<loaders::Loaders>()
        .map_err(|_| AppError::internal("request prepared without loaders").extend())
}

/// Parses an optional client-made `ID` of a create input.
pub(crate) fn parse_optional_id(field: &str, id: &Option<ID>) -> AppResult<Option<Uuid>> {
    id.as_ref().map(|id| parse_id(field, id)).transpose()
}

/// Parses an `ID` argument as a UUID; anything else is BAD_USER_INPUT naming `field`.
pub(crate) fn parse_id(field: &str, id: &ID) -> AppResult<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| AppError::bad_input(field, "not a valid ID"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_selected_operation_decides_the_kind() {
        let doc = "query Q { viewer { id } } mutation M { logOut(refreshToken: \"x\") }";
        let named = |name: &str| Request::new(doc).operation_name(name);
        assert_eq!(operation_kind(&named("M")), Some(OperationKind::Mutation));
        assert_eq!(operation_kind(&named("Q")), Some(OperationKind::Query));
        assert_eq!(operation_kind(&Request::new(doc)), None);
        assert_eq!(
            operation_kind(&Request::new("mutation { logOut(refreshToken: \"x\") }")),
            Some(OperationKind::Mutation)
        );
    }
}
