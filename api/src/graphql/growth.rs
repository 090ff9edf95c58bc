//! Growth in GraphQL: `GrowthEvent`, `reportGrowth` for partners, and the `leaderboard`.
//! (`User.growthPoints`, `level` and `growthEvents` are on `User`, in `users.rs`.)

use async_graphql::{
    ComplexObject, Context, Enum, ErrorExtensions, ID, InputObject, Object, ResultExt, SimpleObject,
};
use chrono::{DateTime, Utc};
use entity::growth_event;
use uuid::Uuid;

use super::communities::Community;
use super::users::User;
use super::{loaders, parse_id, parts};
use crate::error::AppError;
use crate::services::growth::{self, NewReport, Standing};

/// What earned (or cost) growth points.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(name = "GrowthKind", remote = "entity::growth_event::Kind")]
pub enum GrowthKindValue {
    /// Submitting a suggestion: 2 points, at most 5 counted a day.
    SuggestionSubmitted,
    /// A comment: 1 point, at most 20 counted a day.
    CommentAdded,
    /// An official response to your suggestion: 3 points, once per suggestion.
    OfficialResponse,
    /// Your idea adopted: 50 points.
    IdeaAdopted,
    /// Your suggestion shipped: 100 points.
    SuggestionShipped,
    /// A purchase, reported by a partner (at most 500 points a day).
    Purchase,
    /// Device activity, reported by a partner (at most 50 points a day).
    DeviceActivity,
    /// A review, reported by a partner (at most 100 points a day).
    Review,
    /// A mute or ban: negative, by severity.
    Sanction,
    /// A sanction lifted on appeal: its points back.
    SanctionLifted,
}

/// Points a user earned or lost; append-only.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct GrowthEvent {
    pub id: ID,
    pub kind: GrowthKindValue,
    /// The points counted.
    pub points: i32,
    /// What the daily cap held back (0 when nothing was).
    pub capped_points: i32,
    /// The suggestion or comment that earned the points, when one did.
    pub subject_id: Option<ID>,
    /// The reporter's key, for partner-reported events.
    pub external_id: Option<String>,
    /// When it happened (as reported; for earned events, when it was recorded).
    pub occurred_at: DateTime<Utc>,
    /// When the server counted it: the UTC day of the daily caps.
    pub recorded_at: DateTime<Utc>,
    #[graphql(skip)]
    pub user_id: Uuid,
    #[graphql(skip)]
    pub community_id: Option<Uuid>,
}

impl From<growth_event::Model> for GrowthEvent {
    fn from(model: growth_event::Model) -> Self {
        GrowthEvent {
            id: ID(model.id.to_string()),
            kind: model.kind.into(),
            points: model.points,
            capped_points: model.requested_points - model.points,
            subject_id: model.subject_id.map(|id| ID(id.to_string())),
            external_id: model.external_id,
            occurred_at: model.occurred_at,
            recorded_at: model.created_at,
            user_id: model.user_id,
            community_id: model.community_id,
        }
    }
}

#[ComplexObject]
impl GrowthEvent {
    async fn user_id(&self) -> ID {
        ID(self.user_id.to_string())
    }

    /// Where the points were earned; null for partner-reported activity.
    async fn community(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Community>> {
        let Some(id) = self.community_id else {
            return Ok(None);
        };
        Ok(loaders(ctx)?
            .communities
            .load_one(id)
            .await
            .extend()?
            .map(Community::from))
    }
}

/// One place on a leaderboard.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct LeaderboardEntry {
    /// 1 for the most points; equal points rank by who reached them first.
    pub rank: i32,
    /// Points earned in the community over the window.
    pub points: i64,
    /// Their ideas adopted in the window.
    pub adopted_count: i64,
    /// Their suggestions shipped in the window.
    pub shipped_count: i64,
    #[graphql(skip)]
    pub user_id: Uuid,
}

#[ComplexObject]
impl LeaderboardEntry {
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        loaders(ctx)?
            .users
            .load_one(self.user_id)
            .await
            .extend()?
            .map(User::from)
            .ok_or_else(|| AppError::not_found("user").extend())
    }
}

#[derive(InputObject)]
pub struct ReportGrowthInput {
    /// Your own key for this event: resending it is safe.
    pub external_id: String,
    pub user_id: ID,
    /// PURCHASE, DEVICE_ACTIVITY or REVIEW.
    pub kind: GrowthKindValue,
    /// 1–1000; the kind's daily cap may count fewer.
    pub points: i32,
    /// When it happened, as your system saw it (not in the future).
    pub occurred_at: DateTime<Utc>,
}

#[derive(Default)]
pub struct GrowthQuery;

#[Object]
impl GrowthQuery {
    /// The popcorn award: a community's contributors by the points they earned there in
    /// `[from, to)` (all time by default), best first. Private communities: members only.
    async fn leaderboard(
        &self,
        ctx: &Context<'_>,
        community_id: ID,
        #[graphql(default = 100)] first: Option<i32>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> async_graphql::Result<Vec<LeaderboardEntry>> {
        let (state, viewer) = parts(ctx)?;
        let community_id = parse_id("communityId", &community_id).extend()?;
        let standings = growth::leaderboard(state, viewer, community_id, first, from, to)
            .await
            .extend()?;
        Ok(standings
            .into_iter()
            .zip(1..)
            .map(|(standing, rank): (Standing, i32)| LeaderboardEntry {
                rank,
                points: standing.points,
                adopted_count: standing.adopted_count,
                shipped_count: standing.shipped_count,
                user_id: standing.user_id,
            })
            .collect())
    }
}

#[derive(Default)]
pub struct GrowthMutation;

#[Object]
impl GrowthMutation {
    /// Records a user's activity in the brand's own systems (a partner with `growth:write`, or
    /// an ADMIN). Idempotent on `externalId`: the same event again returns the stored one;
    /// other figures under a used key are CONFLICT.
    async fn report_growth(
        &self,
        ctx: &Context<'_>,
        input: ReportGrowthInput,
    ) -> async_graphql::Result<GrowthEvent> {
        let (state, viewer) = parts(ctx)?;
        let input = NewReport {
            external_id: input.external_id,
            user_id: parse_id("userId", &input.user_id).extend()?,
            kind: input.kind.into(),
            points: input.points,
            occurred_at: input.occurred_at,
        };
        Ok(growth::report(state, viewer, input).await.extend()?.into())
    }
}
