//! Offline sync in GraphQL: `push`, `pull` and the `syncPoke` subscription (see `docs/sync.md`).
//! Changes carry the rows as they are now; shared rows reuse the API's types, private ones
//! (votes, ballots, memberships) and comments come as flat synced rows.

use async_graphql::futures_util::Stream;
use async_graphql::{
    ComplexObject, Context, Enum, ErrorExtensions, ID, InputObject, Json, Object, ResultExt,
    SimpleObject, Subscription, Union,
};
use chrono::{DateTime, Utc};
use entity::{comment, membership, pricing_ballot, vote};
use rust_decimal::Decimal;
use serde_json::Value;
use uuid::Uuid;

use super::communities::{Community, CommunityRoleValue, MembershipStatusValue};
use super::growth::GrowthEvent;
use super::moderation::{Appeal, Sanction};
use super::pricing_polls::PricingPoll;
use super::releases::Release;
use super::revenue_shares::RevenueShareRecord;
use super::suggestions::Suggestion;
use super::votes::VoteValue;
use super::{loaders, parse_id, parts};
use crate::error::AppError;
use crate::events::Event;
use crate::services::money::from_minor;
use crate::services::{decision_polls, pricing_ballots, pricing_polls};
use crate::sync::pull::{self, Payload, PullRequest, ScopeEvent as ScopeEventRow};
use crate::sync::push::{self, ClientMutation, PushRequest};
use crate::sync::{self as sync_core};

/// The mutations a device may queue.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(name = "MutationName", remote = "crate::sync::mutations::MutationName")]
pub enum MutationNameValue {
    CreateSuggestion,
    EditSuggestion,
    DeleteSuggestion,
    SetVote,
    SetBallot,
    SetDecisionBallot,
    AddComment,
    JoinCommunity,
    LeaveCommunity,
}

/// One queued mutation: ids run 1, 2, 3… per client, without gaps.
#[derive(InputObject)]
pub struct ClientMutationInput {
    pub id: i32,
    pub name: MutationNameValue,
    /// The fields of the matching GraphQL input (see the README).
    pub args: Json<Value>,
    /// For EDIT_SUGGESTION: the seq of the device's last pull.
    pub base_seq: Option<String>,
    /// Informational: server time decides every deadline.
    pub client_created_at: Option<DateTime<Utc>>,
}

#[derive(InputObject)]
pub struct PushInput {
    pub client_group_id: ID,
    pub client_id: ID,
    pub protocol_version: i32,
    pub schema_version: i32,
    /// At most 100.
    pub mutations: Vec<ClientMutationInput>,
    /// The highest mutation id whose ack this client has seen: the server may then forget
    /// those results (a replay of them still never runs).
    pub acked_through: Option<i32>,
}

/// How a pushed mutation ended.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(name = "MutationOutcome", remote = "crate::sync::push::Outcome")]
pub enum OutcomeValue {
    Applied,
    /// Permanently refused (see `code`); the queue moves on.
    Rejected,
    /// Applied except the fields in `serverValues`, which another device changed.
    Conflict,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct MutationResult {
    pub id: i32,
    pub outcome: OutcomeValue,
    /// Already applied earlier: this is the stored result; nothing ran again.
    pub replayed: bool,
    pub code: Option<String>,
    pub message: Option<String>,
    pub server_values: Option<Json<Value>>,
    pub seq: Option<String>,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct PushPayload {
    pub last_mutation_id: i32,
    pub results: Vec<MutationResult>,
    /// Set when a transient failure stopped the batch: resend after this many milliseconds.
    pub retry_after_ms: Option<i32>,
}

#[derive(InputObject)]
pub struct PullInput {
    pub client_group_id: ID,
    pub protocol_version: i32,
    pub schema_version: i32,
    /// Null for a first sync.
    pub cursor: Option<String>,
    /// 1–1000 changes per page.
    #[graphql(default = 500)]
    pub limit: i32,
}

#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "crate::changes::Op")]
pub enum ChangeOp {
    Upsert,
    Delete,
}

#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum ScopeEventKind {
    /// Now visible: its rows follow (backfilled).
    Added,
    /// No longer visible: drop every row received under it.
    Removed,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct ScopeEvent {
    pub scope: String,
    pub kind: ScopeEventKind,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct ClientAck {
    pub client_id: ID,
    pub last_mutation_id: i32,
}

/// A user's vote, as synced to their devices.
#[derive(SimpleObject, Clone, Debug)]
pub struct SyncedVote {
    pub id: ID,
    pub suggestion_id: ID,
    pub user_id: ID,
    pub value: VoteValue,
    pub updated_at: DateTime<Utc>,
}

impl From<vote::Model> for SyncedVote {
    fn from(model: vote::Model) -> Self {
        SyncedVote {
            id: ID(model.id.to_string()),
            suggestion_id: ID(model.suggestion_id.to_string()),
            user_id: ID(model.user_id.to_string()),
            value: model.value.into(),
            updated_at: model.updated_at,
        }
    }
}

/// A user's pricing ballot, as synced to their devices.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct SyncedBallot {
    pub id: ID,
    pub poll_id: ID,
    pub user_id: ID,
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    pub model: pricing_ballot::Model,
}

impl From<pricing_ballot::Model> for SyncedBallot {
    fn from(model: pricing_ballot::Model) -> Self {
        SyncedBallot {
            id: ID(model.id.to_string()),
            poll_id: ID(model.poll_id.to_string()),
            user_id: ID(model.user_id.to_string()),
            updated_at: model.updated_at,
            model,
        }
    }
}

#[ComplexObject]
impl SyncedBallot {
    /// CHOICE polls: the chosen price.
    async fn choice(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Decimal>> {
        let Some(choice) = self.model.choice else {
            return Ok(None);
        };
        let poll = loaders(ctx)?
            .pricing_polls
            .load_one(self.model.poll_id)
            .await
            .extend()?
            .ok_or_else(|| AppError::not_found("pricing poll").extend())?;
        Ok(Some(from_minor(choice, pricing_polls::digits_of(&poll))))
    }

    /// DECISION polls: the chosen options (empty for a pricing poll).
    async fn option_ids(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ID>> {
        if pricing_ballots::choices(&self.model).is_empty() {
            return Ok(Vec::new());
        }
        let standings = loaders(ctx)?
            .decision_standings
            .load_one(self.model.poll_id)
            .await
            .extend()?
            .unwrap_or_default();
        let mut options: Vec<_> = decision_polls::chosen(&self.model, &standings).collect();
        options.sort_by_key(|option| option.position);
        Ok(options
            .into_iter()
            .map(|option| ID(option.id.to_string()))
            .collect())
    }
}

/// A comment, as synced.
#[derive(SimpleObject, Clone, Debug)]
pub struct SyncedComment {
    pub id: ID,
    pub suggestion_id: ID,
    pub author_id: ID,
    pub body: String,
    pub official: bool,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
}

impl From<comment::Model> for SyncedComment {
    fn from(model: comment::Model) -> Self {
        SyncedComment {
            id: ID(model.id.to_string()),
            suggestion_id: ID(model.suggestion_id.to_string()),
            author_id: ID(model.author_id.to_string()),
            body: model.body,
            official: model.official,
            created_at: model.created_at,
            edited_at: model.edited_at,
        }
    }
}

/// A user's membership, as synced to their devices.
#[derive(SimpleObject, Clone, Debug)]
pub struct SyncedMembership {
    pub id: ID,
    pub community_id: ID,
    pub user_id: ID,
    pub role: CommunityRoleValue,
    pub status: MembershipStatusValue,
    pub joined_at: Option<DateTime<Utc>>,
}

impl From<membership::Model> for SyncedMembership {
    fn from(model: membership::Model) -> Self {
        SyncedMembership {
            id: ID(model.id.to_string()),
            community_id: ID(model.community_id.to_string()),
            user_id: ID(model.user_id.to_string()),
            role: model.role.into(),
            status: model.status.into(),
            joined_at: model.joined_at,
        }
    }
}

/// What every change says about itself.
#[derive(Clone, Debug)]
pub struct ChangeHeader {
    pub seq: String,
    pub op: ChangeOp,
    pub scope: String,
    pub entity_id: ID,
    /// How many times this row has changed in this scope.
    pub version: i32,
}

macro_rules! change_type {
    ($name:ident, $field:ident, $ty:ty) => {
        #[derive(SimpleObject, Clone, Debug)]
        pub struct $name {
            pub seq: String,
            pub op: ChangeOp,
            pub scope: String,
            pub entity_id: ID,
            pub version: i32,
            /// Null on DELETE.
            pub $field: Option<$ty>,
        }

        impl $name {
            fn new(header: ChangeHeader, $field: Option<$ty>) -> Self {
                $name {
                    seq: header.seq,
                    op: header.op,
                    scope: header.scope,
                    entity_id: header.entity_id,
                    version: header.version,
                    $field,
                }
            }
        }
    };
}

change_type!(SuggestionChange, suggestion, Suggestion);
change_type!(VoteChange, vote, SyncedVote);
change_type!(BallotChange, ballot, SyncedBallot);
change_type!(PollChange, poll, PricingPoll);
change_type!(CommentChange, comment, SyncedComment);
change_type!(MembershipChange, membership, SyncedMembership);
change_type!(CommunityChange, community, Community);
change_type!(RevenueShareChange, record, RevenueShareRecord);
change_type!(GrowthEventChange, event, GrowthEvent);
change_type!(ReleaseChange, release, Release);
change_type!(SanctionChange, sanction, Sanction);
change_type!(AppealChange, appeal, Appeal);

/// One changed row.
#[derive(Union, Clone, Debug)]
pub enum Change {
    Suggestion(SuggestionChange),
    Vote(VoteChange),
    Ballot(BallotChange),
    Poll(PollChange),
    Comment(CommentChange),
    Membership(MembershipChange),
    Community(CommunityChange),
    RevenueShare(RevenueShareChange),
    GrowthEvent(GrowthEventChange),
    Release(ReleaseChange),
    Sanction(SanctionChange),
    Appeal(AppealChange),
}

impl From<pull::Change> for Change {
    fn from(change: pull::Change) -> Self {
        let header = ChangeHeader {
            seq: change.seq.to_string(),
            op: change.op.into(),
            scope: change.scope,
            entity_id: ID(change.entity_id.to_string()),
            version: change.version,
        };
        use crate::changes::EntityKind as K;
        // The change type of each kind, with its entity when the payload is of that kind.
        macro_rules! change {
            ($variant:ident, $change:ident, $payload:ident, $convert:expr) => {
                Change::$variant($change::new(
                    header,
                    match change.payload {
                        Some(Payload::$payload(m)) => Some($convert(m)),
                        _ => None,
                    },
                ))
            };
        }
        match change.kind {
            K::Suggestion => change!(Suggestion, SuggestionChange, Suggestion, Suggestion::from),
            K::Vote => change!(Vote, VoteChange, Vote, SyncedVote::from),
            K::Ballot => change!(Ballot, BallotChange, Ballot, SyncedBallot::from),
            K::Poll => change!(Poll, PollChange, Poll, PricingPoll::from),
            K::Comment => change!(Comment, CommentChange, Comment, SyncedComment::from),
            K::Membership => {
                change!(
                    Membership,
                    MembershipChange,
                    Membership,
                    SyncedMembership::from
                )
            }
            K::Community => change!(Community, CommunityChange, Community, Community::from),
            K::RevenueShare => change!(
                RevenueShare,
                RevenueShareChange,
                RevenueShare,
                RevenueShareRecord::from
            ),
            K::GrowthEvent => change!(
                GrowthEvent,
                GrowthEventChange,
                GrowthEvent,
                GrowthEvent::from
            ),
            K::Release => change!(Release, ReleaseChange, Release, Release::from),
            K::Sanction => change!(Sanction, SanctionChange, Sanction, Sanction::from),
            K::Appeal => change!(Appeal, AppealChange, Appeal, Appeal::from),
        }
    }
}

#[derive(SimpleObject, Clone, Debug)]
pub struct PullPayload {
    /// Clear the synced layer (never the outbox) before applying this page.
    pub reset: bool,
    pub scope_events: Vec<ScopeEvent>,
    pub changes: Vec<Change>,
    /// This group's clients whose mutations are now fully reflected in the pulled data.
    pub acks: Vec<ClientAck>,
    pub cursor: String,
    pub has_more: bool,
    pub user_id: ID,
}

fn small_int(field: &str, value: i64) -> async_graphql::Result<i32> {
    i32::try_from(value).map_err(|_| AppError::internal(format!("{field} out of range")).extend())
}

#[derive(Default)]
pub struct SyncQuery;

#[Object]
impl SyncQuery {
    /// One page of what changed for this device since `cursor` (signed-in users).
    async fn pull(
        &self,
        ctx: &Context<'_>,
        input: PullInput,
    ) -> async_graphql::Result<PullPayload> {
        let (state, viewer) = parts(ctx)?;
        let request = PullRequest {
            client_group_id: parse_id("clientGroupId", &input.client_group_id).extend()?,
            protocol_version: input.protocol_version,
            schema_version: input.schema_version,
            cursor: input.cursor,
            limit: Some(input.limit),
        };
        let result = pull::pull(state, viewer, request).await.extend()?;
        let acks = result
            .acks
            .into_iter()
            .map(|(client, last)| {
                Ok(ClientAck {
                    client_id: ID(client.to_string()),
                    last_mutation_id: small_int("lastMutationId", last)?,
                })
            })
            .collect::<async_graphql::Result<Vec<_>>>()?;
        Ok(PullPayload {
            reset: result.reset,
            scope_events: result
                .scope_events
                .into_iter()
                .map(|event| match event {
                    ScopeEventRow::Added(scope) => ScopeEvent {
                        scope: scope.to_string(),
                        kind: ScopeEventKind::Added,
                    },
                    ScopeEventRow::Removed(scope) => ScopeEvent {
                        scope: scope.to_string(),
                        kind: ScopeEventKind::Removed,
                    },
                })
                .collect(),
            changes: result.changes.into_iter().map(Change::from).collect(),
            acks,
            cursor: result.cursor,
            has_more: result.has_more,
            user_id: ID(result.user_id.to_string()),
        })
    }
}

#[derive(Default)]
pub struct SyncMutation;

#[Object]
impl SyncMutation {
    /// Applies a device's queued mutations, each at most once (signed-in users).
    async fn push(
        &self,
        ctx: &Context<'_>,
        input: PushInput,
    ) -> async_graphql::Result<PushPayload> {
        let (state, viewer) = parts(ctx)?;
        let request = PushRequest {
            client_group_id: parse_id("clientGroupId", &input.client_group_id).extend()?,
            client_id: parse_id("clientId", &input.client_id).extend()?,
            protocol_version: input.protocol_version,
            schema_version: input.schema_version,
            acked_through: input.acked_through.map(i64::from),
            mutations: input
                .mutations
                .into_iter()
                .map(|m| ClientMutation {
                    id: i64::from(m.id),
                    name: m.name.into(),
                    args: m.args.0,
                    base_seq: m.base_seq,
                    client_created_at: m.client_created_at,
                })
                .collect(),
        };
        let result = push::push(state, viewer, request).await.extend()?;
        let results = result
            .results
            .into_iter()
            .map(|r| {
                Ok(MutationResult {
                    id: small_int("id", r.id)?,
                    outcome: r.outcome.into(),
                    replayed: r.replayed,
                    code: r.code,
                    message: r.message,
                    server_values: r.server_values.map(Json),
                    seq: r.seq.map(|s| s.to_string()),
                })
            })
            .collect::<async_graphql::Result<Vec<_>>>()?;
        Ok(PushPayload {
            last_mutation_id: small_int("lastMutationId", result.last_mutation_id)?,
            results,
            retry_after_ms: result.retry_after_ms,
        })
    }
}

#[derive(Default)]
pub struct SyncSubscription;

#[Subscription]
impl SyncSubscription {
    /// `true` after a commit that touched a scope this group's user holds: time to pull. A
    /// hint only; it carries no data.
    async fn sync_poke(
        &self,
        ctx: &Context<'_>,
        client_group_id: ID,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<bool>> + use<>> {
        let (state, viewer) = parts(ctx)?;
        let user = viewer.require_user().extend()?.id;
        let group: Uuid = parse_id("clientGroupId", &client_group_id).extend()?;
        let receiver = state.events.subscribe();
        sync_core::ensure_group(state, user, group).await.extend()?;
        let held = sync_core::scopes::held_by(&state.db, user).await.extend()?;
        let state = state.clone();
        // The scopes are read once and again only when the user's own scope changes (a
        // membership came or went) or events were missed — not on every event.
        Ok(async_graphql::futures_util::stream::unfold(
            (receiver, state, held),
            move |(mut receiver, state, mut held)| async move {
                use tokio::sync::broadcast::error::RecvError;
                loop {
                    let refresh = match receiver.recv().await {
                        Ok(Event::Sync(scope)) if scope == crate::changes::Scope::User(user) => {
                            true
                        }
                        Ok(Event::Sync(scope)) if held.contains(&scope) => false,
                        Ok(_) => continue,
                        // A lag may have hidden a poke: read the scopes again and poke anyway.
                        Err(RecvError::Lagged(_)) => true,
                        Err(RecvError::Closed) => return None,
                    };
                    if refresh {
                        match sync_core::scopes::held_by(&state.db, user).await {
                            Ok(now) => held = now,
                            Err(err) => return Some((Err(err.extend()), (receiver, state, held))),
                        }
                    }
                    return Some((Ok(true), (receiver, state, held)));
                }
            },
        ))
    }
}
