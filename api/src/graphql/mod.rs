//! The GraphQL API: the schema with its limits, running one operation ([`execute`]: the
//! document limits, a time limit, panics caught) and the error-code pass.
//!
//! Each feature lives in its own module with its types and its `<Feature>Query` /
//! `<Feature>Mutation`, merged into the roots here. Resolvers call one service function and end
//! with `.extend()` so every error keeps its `extensions.code`.

pub mod absent_variables;
pub mod audit;
pub mod comments;
pub mod communities;
pub mod connection;
pub mod decision_polls;
pub mod growth;
pub mod limits;
pub mod loaders;
pub mod metrics;
pub mod moderation;
pub mod money;
pub mod notifications;
pub mod partners;
pub mod pricing_polls;
pub mod releases;
pub mod response_order;
pub mod revenue_shares;
pub mod suggestions;
pub mod sync;
pub mod users;
pub mod votes;

use std::panic::AssertUnwindSafe;

use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{
    Context, ErrorExtensions, ID, MergedObject, MergedSubscription, Request, Response, Schema,
};
use futures_util::FutureExt;
use uuid::Uuid;

use crate::auth::Viewer;
use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::rate_limits::{ClientAddress, Limit};
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
    decision_polls::DecisionPollsQuery,
    revenue_shares::RevenueSharesQuery,
    growth::GrowthQuery,
    metrics::MetricsQuery,
    releases::ReleasesQuery,
    moderation::ModerationQuery,
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
    decision_polls::DecisionPollsMutation,
    revenue_shares::RevenueSharesMutation,
    growth::GrowthMutation,
    releases::ReleasesMutation,
    moderation::ModerationMutation,
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
    let mut builder = builder()
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

/// What an `ID` is, for introspection and atop the SDL (built-in scalars are not printed there).
pub const ID_DESCRIPTION: &str = "A UUID (RFC 9562) in its hyphenated text form. Ids a client \
     makes for idempotent creates are UUIDv7; anything else is BAD_USER_INPUT naming the field.";

fn builder() -> async_graphql::SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    .override_input_type_description::<ID>(ID_DESCRIPTION)
    .override_output_type_description::<ID>(ID_DESCRIPTION)
}

/// The SDL of the schema, as committed in `schema.graphql`, with a note on `ID` first.
pub fn sdl() -> String {
    format!("# ID: {ID_DESCRIPTION}\n\n{}", builder().finish().sdl())
}

/// Attaches the viewer, the client's address and fresh per-request loaders to a request.
pub fn prepare(
    request: Request,
    viewer: Viewer,
    address: ClientAddress,
    state: &AppState,
) -> Request {
    request
        .data(loaders::Loaders::new(
            state.db.clone(),
            viewer.clone(),
            &state.clock,
            state.poll_results.clone(),
        ))
        .data(viewer)
        .data(address)
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

/// Runs one operation for `viewer`: the document limits first ([`limits::check`]; a refusal
/// executes nothing), then the schema under the time limit, with a panic anywhere in it
/// answered as INTERNAL (a write in progress rolls back with its dropped transaction). Returns
/// the response with every error coded, and the operation's kind when it could be told.
pub async fn execute<Q, M, S>(
    schema: &Schema<Q, M, S>,
    state: &AppState,
    viewer: Viewer,
    address: ClientAddress,
    mut request: Request,
) -> (Response, Option<OperationKind>)
where
    Q: async_graphql::ObjectType + 'static,
    M: async_graphql::ObjectType + 'static,
    S: async_graphql::SubscriptionType + 'static,
{
    let limits = limits::DocumentLimits::from_config(&state.config);
    let checked = match limits::check(&mut request, &limits) {
        Ok(checked) => checked,
        Err(err) => return (refused(&err), None),
    };
    let kind = checked.as_ref().map(|c| c.kind);
    absent_variables::drop_usages(&mut request);
    // Kept to put the answer's fields back in selection order (the document passed its limits,
    // so it is small).
    let document = request.parsed_query().ok().cloned();
    let operation_name = request.operation_name.clone();
    let unavailable = || {
        refused(&AppError::Unavailable(
            "the database does not answer".into(),
        ))
    };
    if !state.db_health.is_up() {
        return (unavailable(), kind);
    }
    // Counting mutations against the rate limit writes to the database too: it stops with the
    // database like the operation itself.
    if let Some(checked) = &checked {
        let charged = tokio::select! {
            charged = charge_mutations(state, &viewer, checked) => charged,
            () = state.db_health.down() => return (unavailable(), kind),
        };
        if let Err(err) = charged {
            return (refused(&err), kind);
        }
    }
    let run = state
        .clock
        .scope(schema.execute(prepare(request, viewer, address, state)));
    let bounded = tokio::time::timeout(
        state.config.request_timeout,
        AssertUnwindSafe(run).catch_unwind(),
    );
    // When the database goes away mid-request, the request stops and says so (its
    // transaction, never committed, rolls back with it).
    let outcome = tokio::select! {
        outcome = bounded => outcome,
        () = state.db_health.down() => return (unavailable(), kind),
    };
    let response = match outcome {
        Ok(Ok(response)) => response,
        Ok(Err(panic)) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            refused(&AppError::internal(format!("a request panicked: {what}")))
        }
        Err(_) => refused(&AppError::Timeout(format!(
            "the operation ran longer than {} ms and was stopped",
            state.config.request_timeout.as_millis()
        ))),
    };
    let mut response = with_codes(response);
    if let Some(document) = &document {
        response_order::reorder(&mut response.data, document, operation_name.as_deref());
    }
    (response, kind)
}

/// Counts a mutation document's root fields (aliases one by one) against its signed-in
/// caller's budget; anonymous callers can only sign in, and those mutations have limits of
/// their own.
async fn charge_mutations(
    state: &AppState,
    viewer: &Viewer,
    checked: &limits::Checked,
) -> AppResult<()> {
    if checked.kind != OperationKind::Mutation {
        return Ok(());
    }
    let actor = match viewer {
        Viewer::User(user) => format!("user:{}", user.id),
        Viewer::Partner(partner) => format!("partner:{}", partner.id),
        Viewer::Anonymous => return Ok(()),
    };
    let fields = u32::try_from(checked.root_fields.len()).unwrap_or(u32::MAX);
    state
        .rate_limits
        .charge(Limit::MutationsByActor, &actor, fields)
        .await
}

/// A response carrying only `err`, which belongs to no place in the document.
pub fn refused(err: &AppError) -> Response {
    let mut error = err
        .extend()
        .into_server_error(async_graphql::Pos::default());
    error.locations.clear();
    Response::from_errors(vec![error])
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

/// Gives every error without a code one from the closed set. Errors of the document itself
/// (parse and validation, which have no path) are the caller's: async-graphql's own limits
/// become QUERY_TOO_COMPLEX / QUERY_TOO_DEEP, the rest BAD_USER_INPUT, as do arguments that do
/// not parse. An error a resolver raised without a code is a bug: INTERNAL, logged.
pub fn with_codes(mut response: Response) -> Response {
    for error in &mut response.errors {
        let has_code = error
            .extensions
            .as_ref()
            .is_some_and(|ext| ext.get("code").is_some());
        if has_code {
            continue;
        }
        let message = error.message.as_str();
        let from_input = message.starts_with("Failed to parse")
            || message.starts_with("Invalid value")
            || message.starts_with("Expected input type");
        let code = if message.contains("too complex") {
            "QUERY_TOO_COMPLEX"
        } else if message.contains("nested too deep") || message.contains("recursion") {
            "QUERY_TOO_DEEP"
        } else if error.path.is_empty() || from_input {
            "BAD_USER_INPUT"
        } else {
            tracing::error!(error = %error.message, path = ?error.path, "an error left a resolver without a code");
            error.message = "internal error".to_string();
            "INTERNAL"
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

/// The address the request came from (for per-address rate limits).
pub(crate) fn client_address<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a ClientAddress> {
    ctx.data::<ClientAddress>()
        .map_err(|_| AppError::internal("request prepared without a client address").extend())
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
    use async_graphql::{EmptyMutation, EmptySubscription, Object};

    use super::*;

    struct Panicking;

    #[Object]
    impl Panicking {
        async fn boom(&self) -> i32 {
            let digits: Vec<i32> = Vec::new();
            digits[3]
        }
    }

    #[test]
    fn an_error_a_resolver_left_without_a_code_is_internal_not_the_callers_fault() {
        use async_graphql::{PathSegment, Pos, ServerError};
        let at_field = |message: &str| {
            let mut error = ServerError::new(message, Some(Pos::default()));
            error.path = vec![PathSegment::Field("viewer".into())];
            error
        };
        let response = Response::from_errors(vec![
            at_field("connection reset by peer"),
            at_field("Failed to parse \"Int\": out of range"),
            ServerError::new("Unknown field \"x\" on type \"QueryRoot\".", None),
            ServerError::new("Query is too complex.", None),
        ]);
        let codes: Vec<String> = with_codes(response)
            .errors
            .iter()
            .map(|e| {
                e.extensions
                    .as_ref()
                    .and_then(|x| x.get("code"))
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(
            codes,
            [
                "\"INTERNAL\"",
                "\"BAD_USER_INPUT\"",
                "\"BAD_USER_INPUT\"",
                "\"QUERY_TOO_COMPLEX\""
            ]
        );
    }

    #[tokio::test]
    async fn a_panic_in_a_resolver_is_an_internal_error_not_a_dropped_request() {
        let url = "sqlite::memory:";
        let db = sea_orm::Database::connect(url).await.unwrap();
        let config = Config::from_lookup(|_| None).unwrap();
        let state = AppState::from_parts(db, config, "key".into()).unwrap();
        let schema = Schema::new(Panicking, EmptyMutation, EmptySubscription);
        let address = ClientAddress("127.0.0.1".into());
        let (response, kind) = execute(
            &schema,
            &state,
            Viewer::Anonymous,
            address,
            Request::new("{ boom }"),
        )
        .await;
        assert_eq!(kind, Some(OperationKind::Query));
        let codes: Vec<_> = response
            .errors
            .iter()
            .map(|e| e.extensions.as_ref().and_then(|x| x.get("code")).cloned())
            .collect();
        assert_eq!(codes, [Some(async_graphql::Value::from("INTERNAL"))]);
        assert_eq!(response.errors[0].message, "internal error");
    }

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
