//! Moderation in GraphQL — the community convention: reports (`reportContent`,
//! `moderationQueue`, `resolveReport`), sanctions (`sanctionUser`), appeals (`appealSanction`,
//! `decideAppeal`, `appeals`) and the public `moderationLog`.
//! (`User.sanctions` is on `User`, in `users.rs`.)

use async_graphql::connection::Connection;
use async_graphql::{
    ComplexObject, Context, Enum, ErrorExtensions, ID, InputObject, Object, ResultExt, SimpleObject,
};
use chrono::{DateTime, Utc};
use entity::{appeal, content_report, moderation_action, sanction};
use uuid::Uuid;

use super::connection::from_page;
use super::users::User;
use super::{loaders, parse_id, parse_optional_id, parts};
use crate::error::AppError;
use crate::pagination::PageRequest;
use crate::services::reports::{self, Resolution};
use crate::services::sanctions::{self, NewSanction};
use crate::services::{appeals, moderation_log};

/// What a sanction stops.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(name = "SanctionKind", remote = "entity::sanction::Kind")]
pub enum SanctionKindValue {
    /// No submitting, commenting, voting or ballots where it applies.
    Mute,
    /// A mute that also takes read access to a private community and its sync scope.
    Ban,
}

/// How long a sanction lasts.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(name = "SanctionDuration", remote = "entity::sanction::Duration")]
pub enum SanctionDurationValue {
    OneDay,
    SevenDays,
    FifteenDays,
    Permanent,
}

/// Where an appeal stands.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(name = "AppealStatus", remote = "entity::appeal::Status")]
pub enum AppealStatusValue {
    Pending,
    /// The sanction was lifted and its points restored.
    Granted,
    Denied,
}

/// What a moderator did.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(
    name = "ModerationAction",
    remote = "entity::moderation_action::Action"
)]
pub enum ModerationActionValue {
    Mute,
    Ban,
    /// A sanction lifted on appeal.
    Lift,
    HideContent,
}

/// What an action or a report is about.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(
    name = "ModerationTarget",
    remote = "entity::moderation_action::TargetType"
)]
pub enum ModerationTargetValue {
    Suggestion,
    Comment,
    User,
}

/// A mute or ban.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Sanction {
    pub id: ID,
    /// Null for a site-wide sanction.
    pub community_id: Option<ID>,
    pub kind: SanctionKindValue,
    pub duration: SanctionDurationValue,
    pub reason: String,
    pub starts_at: DateTime<Utc>,
    /// Null for PERMANENT.
    pub ends_at: Option<DateTime<Utc>>,
    /// Set when an appeal lifted it.
    pub lifted_at: Option<DateTime<Utc>>,
    /// The growth points it took.
    pub points_taken: i32,
    #[graphql(skip)]
    pub model: sanction::Model,
}

impl From<sanction::Model> for Sanction {
    fn from(model: sanction::Model) -> Self {
        Sanction {
            id: ID(model.id.to_string()),
            community_id: model.community_id.map(|id| ID(id.to_string())),
            kind: model.kind.into(),
            duration: model.duration.into(),
            reason: model.reason.clone(),
            starts_at: model.starts_at,
            ends_at: model.ends_at,
            lifted_at: model.lifted_at,
            points_taken: model.points_taken,
            model,
        }
    }
}

#[ComplexObject]
impl Sanction {
    /// Whether it is in force now, by server time.
    async fn active(&self) -> bool {
        sanctions::is_active(&self.model, crate::clock::now())
    }

    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        user(ctx, self.model.user_id).await
    }

    async fn issued_by(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        user(ctx, self.model.issued_by).await
    }

    /// Its appeal, once made.
    async fn appeal(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Appeal>> {
        Ok(loaders(ctx)?
            .appeals
            .load_one(self.model.id)
            .await
            .extend()?
            .map(Appeal::from))
    }
}

async fn user(ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<User> {
    loaders(ctx)?
        .users
        .load_one(id)
        .await
        .extend()?
        .map(User::from)
        .ok_or_else(|| AppError::not_found("user").extend())
}

/// A sanctioned user's appeal.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Appeal {
    pub id: ID,
    pub status: AppealStatusValue,
    pub statement: String,
    /// The decider's note.
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    pub model: appeal::Model,
}

impl From<appeal::Model> for Appeal {
    fn from(model: appeal::Model) -> Self {
        Appeal {
            id: ID(model.id.to_string()),
            status: model.status.into(),
            statement: model.statement.clone(),
            note: model.note.clone(),
            created_at: model.created_at,
            decided_at: model.decided_at,
            model,
        }
    }
}

#[ComplexObject]
impl Appeal {
    async fn sanction(&self, ctx: &Context<'_>) -> async_graphql::Result<Sanction> {
        loaders(ctx)?
            .sanctions
            .load_one(self.model.sanction_id)
            .await
            .extend()?
            .map(Sanction::from)
            .ok_or_else(|| AppError::not_found("sanction").extend())
    }

    async fn decided_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        match self.model.decided_by {
            Some(id) => user(ctx, id).await.map(Some),
            None => Ok(None),
        }
    }
}

/// One entry of the public moderation log (never who reported, nor what they wrote).
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct ModerationLogEntry {
    pub id: ID,
    pub action: ModerationActionValue,
    pub target_type: ModerationTargetValue,
    pub target_id: ID,
    pub reason: Option<String>,
    /// When the sanction ends (null for other actions and PERMANENT sanctions).
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub moderator_id: Uuid,
}

impl From<moderation_action::Model> for ModerationLogEntry {
    fn from(model: moderation_action::Model) -> Self {
        ModerationLogEntry {
            id: ID(model.id.to_string()),
            action: model.action.into(),
            target_type: model.target_type.into(),
            target_id: ID(model.target_id.to_string()),
            reason: model.reason,
            expires_at: model.expires_at,
            created_at: model.created_at,
            moderator_id: model.moderator_id,
        }
    }
}

#[ComplexObject]
impl ModerationLogEntry {
    async fn moderator(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        user(ctx, self.moderator_id).await
    }
}

/// Where a report stands.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(name = "ReportStatus", remote = "entity::content_report::Status")]
pub enum ReportStatusValue {
    Open,
    Dismissed,
    /// The content was hidden.
    Actioned,
}

/// What a moderator does with a report.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum ReportResolution {
    /// Close it; nothing changes.
    Dismiss,
    /// Hide the suggestion or comment from all but its author and the moderators.
    HideContent,
}

/// A member's report, as the community's moderators see it.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct ContentReport {
    pub id: ID,
    pub community_id: ID,
    pub target_type: ModerationTargetValue,
    pub target_id: ID,
    pub reason: String,
    pub status: ReportStatusValue,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    pub reporter_id: Uuid,
}

impl From<content_report::Model> for ContentReport {
    fn from(model: content_report::Model) -> Self {
        ContentReport {
            id: ID(model.id.to_string()),
            community_id: ID(model.community_id.to_string()),
            target_type: model.target_type.into(),
            target_id: ID(model.target_id.to_string()),
            reason: model.reason,
            status: model.status.into(),
            created_at: model.created_at,
            resolved_at: model.resolved_at,
            reporter_id: model.reporter_id,
        }
    }
}

#[ComplexObject]
impl ContentReport {
    async fn reporter(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        user(ctx, self.reporter_id).await
    }
}

#[derive(InputObject)]
pub struct ReportContentInput {
    pub target_type: ModerationTargetValue,
    pub target_id: ID,
    /// Required when reporting a USER: the community where it happened.
    pub community_id: Option<ID>,
    /// 1–2 000 characters; only the community's moderators read it.
    pub reason: String,
}

#[derive(InputObject)]
pub struct SanctionUserInput {
    /// Null: site-wide (ADMIN only).
    pub community_id: Option<ID>,
    pub user_id: ID,
    pub kind: SanctionKindValue,
    pub duration: SanctionDurationValue,
    /// 1–2 000 characters; public in the moderation log.
    pub reason: String,
}

#[derive(Default)]
pub struct ModerationQuery;

#[Object]
impl ModerationQuery {
    /// A community's OPEN reports, oldest first (its moderators and STAFF/ADMIN).
    #[graphql(complexity = "crate::pagination::page_cost(first, child_complexity)")]
    async fn moderation_queue(
        &self,
        ctx: &Context<'_>,
        community_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, ContentReport>> {
        let (state, viewer) = parts(ctx)?;
        let community_id = parse_id("communityId", &community_id).extend()?;
        let page = PageRequest::new(first, after).extend()?;
        let page = reports::queue(state, viewer, community_id, page)
            .await
            .extend()?;
        Ok(from_page(page, ContentReport::from))
    }

    /// A community's moderation log (null `communityId`: the site-wide one), newest first,
    /// for whoever may see the community.
    #[graphql(complexity = "crate::pagination::page_cost(first, child_complexity)")]
    async fn moderation_log(
        &self,
        ctx: &Context<'_>,
        community_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, ModerationLogEntry>> {
        let (state, viewer) = parts(ctx)?;
        let community_id = parse_optional_id("communityId", &community_id).extend()?;
        let page = PageRequest::new(first, after).extend()?;
        let page = moderation_log::list(state, viewer, community_id, page)
            .await
            .extend()?;
        Ok(from_page(page, ModerationLogEntry::from))
    }

    /// PENDING appeals of a community's sanctions (null: site-wide ones, ADMIN), oldest first,
    /// for those who decide them.
    #[graphql(complexity = "crate::pagination::page_cost(first, child_complexity)")]
    async fn appeals(
        &self,
        ctx: &Context<'_>,
        community_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Appeal>> {
        let (state, viewer) = parts(ctx)?;
        let community_id = parse_optional_id("communityId", &community_id).extend()?;
        let page = PageRequest::new(first, after).extend()?;
        let page = appeals::list_pending(state, viewer, community_id, page)
            .await
            .extend()?;
        Ok(from_page(page, Appeal::from))
    }
}

#[derive(Default)]
pub struct ModerationMutation;

#[Object]
impl ModerationMutation {
    /// Reports a suggestion, comment or user to the community's moderators (ACTIVE members;
    /// one open report per target).
    async fn report_content(
        &self,
        ctx: &Context<'_>,
        input: ReportContentInput,
    ) -> async_graphql::Result<ContentReport> {
        let (state, viewer) = parts(ctx)?;
        let input = reports::NewReport {
            target_type: input.target_type.into(),
            target_id: parse_id("targetId", &input.target_id).extend()?,
            community_id: parse_optional_id("communityId", &input.community_id).extend()?,
            reason: input.reason,
        };
        Ok(reports::report(state, viewer, input).await.extend()?.into())
    }

    /// Dismisses a report or hides its content (the community's moderators).
    async fn resolve_report(
        &self,
        ctx: &Context<'_>,
        report_id: ID,
        action: ReportResolution,
    ) -> async_graphql::Result<ContentReport> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id("reportId", &report_id).extend()?;
        let resolution = match action {
            ReportResolution::Dismiss => Resolution::Dismiss,
            ReportResolution::HideContent => Resolution::HideContent,
        };
        Ok(reports::resolve(state, viewer, id, resolution)
            .await
            .extend()?
            .into())
    }

    /// Mutes or bans a user: in a community by its MODERATOR/OWNER or STAFF/ADMIN, site-wide
    /// (`communityId: null`) by an ADMIN. Ends by itself at server time.
    async fn sanction_user(
        &self,
        ctx: &Context<'_>,
        input: SanctionUserInput,
    ) -> async_graphql::Result<Sanction> {
        let (state, viewer) = parts(ctx)?;
        let input = NewSanction {
            community_id: parse_optional_id("communityId", &input.community_id).extend()?,
            user_id: parse_id("userId", &input.user_id).extend()?,
            kind: input.kind.into(),
            duration: input.duration.into(),
            reason: input.reason,
        };
        Ok(sanctions::issue(state, viewer, input)
            .await
            .extend()?
            .into())
    }

    /// Appeals one of your sanctions, once.
    async fn appeal_sanction(
        &self,
        ctx: &Context<'_>,
        sanction_id: ID,
        statement: String,
    ) -> async_graphql::Result<Appeal> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id("sanctionId", &sanction_id).extend()?;
        Ok(appeals::appeal(state, viewer, id, &statement)
            .await
            .extend()?
            .into())
    }

    /// Decides an appeal (a moderator of the community or an ADMIN, never the issuer):
    /// `grant: true` lifts the sanction and restores its points.
    async fn decide_appeal(
        &self,
        ctx: &Context<'_>,
        appeal_id: ID,
        grant: bool,
        note: Option<String>,
    ) -> async_graphql::Result<Appeal> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id("appealId", &appeal_id).extend()?;
        let (appeal, _) = appeals::decide(state, viewer, id, grant, note)
            .await
            .extend()?;
        Ok(appeal.into())
    }
}
