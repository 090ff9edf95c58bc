//! Suggestions in GraphQL: `Suggestion` with its timeline and comments, submitting, editing,
//! deleting, the status workflow, official responses, duplicates, the listing, and the
//! `suggestionUpdated` subscription.

use async_graphql::connection::Connection;
use async_graphql::futures_util::Stream;
use async_graphql::{
    ComplexObject, Context, Enum, ErrorExtensions, ID, InputObject, Object, ResultExt,
    SimpleObject, Subscription,
};
use chrono::{DateTime, Utc};
use entity::suggestion::{self};
use entity::suggestion_event;
use uuid::Uuid;

use super::comments::Comment;
use super::communities::Community;
use super::connection::from_page;
use super::users::User;
use super::votes::VoteValue;
use super::{live_updates, loaders, parse_id, parse_optional_id, parts};
use crate::error::AppError;
use crate::events::Event;
use crate::pagination::PageRequest;
use crate::services::comments;
use crate::services::suggestion_listing::{self, ListFilter};
use crate::services::suggestion_workflow;
use crate::services::suggestions::{self, NewSuggestion, SuggestionChanges};

/// What a suggestion is.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(name = "SuggestionKind", remote = "entity::suggestion::Kind")]
pub enum KindValue {
    Idea,
    Complaint,
    Bug,
}

/// Where a suggestion is in the closed loop. Moves go forward along OPEN → UNDER_REVIEW →
/// PLANNED → IN_PROGRESS → SHIPPED (skipping allowed), or to DECLINED before SHIPPED;
/// DECLINED and SHIPPED may be reopened to UNDER_REVIEW; DUPLICATE only via `markDuplicate`.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(name = "SuggestionStatus", remote = "entity::suggestion::Status")]
pub enum StatusValue {
    Open,
    UnderReview,
    Planned,
    InProgress,
    Shipped,
    Declined,
    Duplicate,
}

/// How a listing is ordered.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(
    name = "SuggestionSort",
    remote = "crate::services::suggestion_listing::Sort"
)]
pub enum SortValue {
    /// `sign(score)·log10(max(|score|,1)) + (createdAt − 2023-11-14T22:13:20Z)/45000 s`:
    /// ten times the score keeps level with a suggestion 12.5 hours newer.
    Hot,
    /// Highest score first.
    Top,
    /// Newest first.
    New,
    /// Most comments first.
    MostDiscussed,
}

/// An idea, complaint or bug report.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Suggestion {
    pub id: ID,
    pub kind: KindValue,
    pub title: String,
    pub body: String,
    pub product_line: Option<String>,
    pub status: StatusValue,
    pub upvotes: i32,
    pub downvotes: i32,
    /// upvotes − downvotes.
    pub score: i32,
    pub comment_count: i32,
    /// When the first official response was posted.
    pub first_response_at: Option<DateTime<Utc>>,
    /// When it was SHIPPED or DECLINED.
    pub resolved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    pub model: suggestion::Model,
}

impl From<suggestion::Model> for Suggestion {
    fn from(model: suggestion::Model) -> Self {
        Suggestion {
            id: ID(model.id.to_string()),
            kind: model.kind.into(),
            title: model.title.clone(),
            body: model.body.clone(),
            product_line: model.product_line.clone(),
            status: model.status.into(),
            upvotes: model.upvotes,
            downvotes: model.downvotes,
            score: model.score,
            comment_count: model.comment_count,
            first_response_at: model.first_response_at,
            resolved_at: model.resolved_at,
            created_at: model.created_at,
            updated_at: model.updated_at,
            model,
        }
    }
}

#[ComplexObject]
impl Suggestion {
    async fn author(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        let found = loaders(ctx)?
            .users
            .load_one(self.model.author_id)
            .await
            .extend()?;
        found
            .map(User::from)
            .ok_or_else(|| AppError::not_found("user").extend())
    }

    async fn community(&self, ctx: &Context<'_>) -> async_graphql::Result<Community> {
        let found = loaders(ctx)?
            .communities
            .load_one(self.model.community_id)
            .await
            .extend()?;
        found
            .map(Community::from)
            .ok_or_else(|| AppError::not_found("community").extend())
    }

    /// The viewer's vote; NONE when they have not voted (or are not signed in).
    async fn viewer_vote(&self, ctx: &Context<'_>) -> async_graphql::Result<VoteValue> {
        let found = loaders(ctx)?.votes.load_one(self.model.id).await.extend()?;
        Ok(found.map_or(VoteValue::None, |v| v.value.into()))
    }

    /// The latest official response.
    async fn official_response(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Comment>> {
        let Some(id) = self.model.official_response_id else {
            return Ok(None);
        };
        let found = loaders(ctx)?.comments.load_one(id).await.extend()?;
        Ok(found.map(Comment::from))
    }

    /// The original, when this is a DUPLICATE.
    async fn duplicate_of(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Suggestion>> {
        let Some(id) = self.model.duplicate_of_id else {
            return Ok(None);
        };
        let found = loaders(ctx)?.suggestions.load_one(id).await.extend()?;
        Ok(found.map(Suggestion::from))
    }

    /// Every status it has had, oldest first.
    async fn timeline(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<SuggestionEvent>> {
        let events = loaders(ctx)?
            .timelines
            .load_one(self.model.id)
            .await
            .extend()?
            .unwrap_or_default();
        Ok(events.into_iter().map(SuggestionEvent::from).collect())
    }

    /// Comments, oldest first (official responses included).
    #[graphql(complexity = "crate::pagination::page_cost(first, child_complexity)")]
    async fn comments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Comment>> {
        let (state, viewer) = parts(ctx)?;
        let page = PageRequest::new(first, after).extend()?;
        // A first page comes through the loader (one query for every suggestion in the
        // response); later pages are one suggestion's own.
        let page = if page.after.is_none() {
            let rows = loaders(ctx)?
                .comment_pages
                .load_one((self.model.id, page.limit + 1))
                .await
                .extend()?
                .unwrap_or_default();
            comments::first_page(rows, &page)
        } else {
            comments::list(state, viewer, self.model.id, page)
                .await
                .extend()?
        };
        Ok(from_page(page, Comment::from))
    }
}

/// One entry of a suggestion's timeline.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct SuggestionEvent {
    /// Null for the entry written at submission.
    pub from_status: Option<StatusValue>,
    pub to_status: StatusValue,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub actor_id: Option<Uuid>,
}

impl From<suggestion_event::Model> for SuggestionEvent {
    fn from(model: suggestion_event::Model) -> Self {
        SuggestionEvent {
            from_status: model.from_status.map(Into::into),
            to_status: model.to_status.into(),
            note: model.note,
            created_at: model.created_at,
            actor_id: model.actor_id,
        }
    }
}

#[ComplexObject]
impl SuggestionEvent {
    /// Who made the change.
    async fn actor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.actor_id else {
            return Ok(None);
        };
        let found = loaders(ctx)?.users.load_one(id).await.extend()?;
        Ok(found.map(User::from))
    }
}

#[derive(InputObject)]
pub struct SubmitSuggestionInput {
    /// Optional client-made UUID: sending the same input again returns the same suggestion.
    pub id: Option<ID>,
    pub community_id: ID,
    pub kind: KindValue,
    /// 3–200 characters.
    pub title: String,
    /// Up to 20 000 characters.
    #[graphql(default)]
    pub body: String,
    /// Up to 100 characters.
    pub product_line: Option<String>,
}

#[derive(InputObject)]
pub struct EditSuggestionInput {
    pub suggestion_id: ID,
    pub title: Option<String>,
    pub body: Option<String>,
    pub product_line: Option<String>,
}

#[derive(InputObject)]
pub struct SetStatusInput {
    pub suggestion_id: ID,
    pub status: StatusValue,
    /// Shown in the timeline; up to 2 000 characters.
    pub note: Option<String>,
}

#[derive(InputObject)]
pub struct RespondInput {
    pub suggestion_id: ID,
    /// 1–10 000 characters.
    pub body: String,
    /// Optionally moves the suggestion too (same rules as `setSuggestionStatus`).
    pub status: Option<StatusValue>,
}

#[derive(InputObject)]
pub struct MarkDuplicateInput {
    pub suggestion_id: ID,
    pub duplicate_of_id: ID,
}

#[derive(Default)]
pub struct SuggestionsQuery;

#[Object]
impl SuggestionsQuery {
    /// A suggestion; null when missing, deleted or in a community private to the viewer.
    async fn suggestion(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Suggestion>> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id("id", &id).extend()?;
        let found = suggestions::find(&state.db, viewer, id).await.extend()?;
        Ok(found.map(Suggestion::from))
    }

    /// Suggestions the viewer may see. Cursors are stable: a listing pages through the order
    /// as it stood at its first page (for 24 hours), whatever votes arrive meanwhile.
    /// `search` matches words of title and body, literally.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::pagination::page_cost(first, child_complexity)")]
    async fn suggestions(
        &self,
        ctx: &Context<'_>,
        community_id: Option<ID>,
        status: Option<Vec<StatusValue>>,
        kind: Option<KindValue>,
        #[graphql(default_with = "SortValue::Hot")] sort: SortValue,
        search: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Suggestion>> {
        let (state, viewer) = parts(ctx)?;
        let page = PageRequest::signed(first, after).extend()?;
        let filter = ListFilter {
            community_id: community_id
                .map(|id| parse_id("communityId", &id))
                .transpose()
                .extend()?,
            author_id: None,
            statuses: status
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            kind: kind.map(Into::into),
            sort: sort.into(),
            search,
        };
        let page = suggestion_listing::list(state, viewer, filter, page)
            .await
            .extend()?;
        Ok(from_page(page, Suggestion::from))
    }
}

#[derive(Default)]
pub struct SuggestionsMutation;

#[Object]
impl SuggestionsMutation {
    /// Submits a suggestion to a community (ACTIVE members).
    async fn submit_suggestion(
        &self,
        ctx: &Context<'_>,
        input: SubmitSuggestionInput,
    ) -> async_graphql::Result<Suggestion> {
        let (state, viewer) = parts(ctx)?;
        let input = NewSuggestion {
            id: parse_optional_id("id", &input.id).extend()?,
            community_id: parse_id("communityId", &input.community_id).extend()?,
            kind: input.kind.into(),
            title: input.title,
            body: input.body,
            product_line: input.product_line,
        };
        Ok(suggestions::submit(state, viewer, input)
            .await
            .extend()?
            .into())
    }

    /// Edits title, body or product line (the author, while OPEN).
    async fn edit_suggestion(
        &self,
        ctx: &Context<'_>,
        input: EditSuggestionInput,
    ) -> async_graphql::Result<Suggestion> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id("suggestionId", &input.suggestion_id).extend()?;
        let changes = SuggestionChanges {
            title: input.title,
            body: input.body,
            product_line: input.product_line,
        };
        Ok(suggestions::edit(state, viewer, id, changes)
            .await
            .extend()?
            .into())
    }

    /// Deletes a suggestion (author, community moderator, STAFF/ADMIN); it disappears from
    /// every read.
    async fn delete_suggestion(
        &self,
        ctx: &Context<'_>,
        suggestion_id: ID,
    ) -> async_graphql::Result<bool> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id("suggestionId", &suggestion_id).extend()?;
        suggestions::delete(state, viewer, id).await.extend()
    }

    /// Moves a suggestion along the workflow (STAFF/ADMIN).
    async fn set_suggestion_status(
        &self,
        ctx: &Context<'_>,
        input: SetStatusInput,
    ) -> async_graphql::Result<Suggestion> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id("suggestionId", &input.suggestion_id).extend()?;
        Ok(
            suggestion_workflow::set_status(state, viewer, id, input.status.into(), input.note)
                .await
                .extend()?
                .into(),
        )
    }

    /// Posts the brand's official response (STAFF/ADMIN).
    async fn respond_to_suggestion(
        &self,
        ctx: &Context<'_>,
        input: RespondInput,
    ) -> async_graphql::Result<Suggestion> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id("suggestionId", &input.suggestion_id).extend()?;
        Ok(suggestion_workflow::respond(
            state,
            viewer,
            id,
            &input.body,
            input.status.map(Into::into),
        )
        .await
        .extend()?
        .into())
    }

    /// Marks a duplicate (STAFF/ADMIN); its votes move to the original once per voter.
    async fn mark_duplicate(
        &self,
        ctx: &Context<'_>,
        input: MarkDuplicateInput,
    ) -> async_graphql::Result<Suggestion> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id("suggestionId", &input.suggestion_id).extend()?;
        let original = parse_id("duplicateOfId", &input.duplicate_of_id).extend()?;
        Ok(
            suggestion_workflow::mark_duplicate(state, viewer, id, original)
                .await
                .extend()?
                .into(),
        )
    }
}

#[derive(Default)]
pub struct SuggestionsSubscription;

#[Subscription]
impl SuggestionsSubscription {
    /// The suggestion after every committed vote, status change, response or comment.
    async fn suggestion_updated(
        &self,
        ctx: &Context<'_>,
        suggestion_id: ID,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Suggestion>> + use<>> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id("suggestionId", &suggestion_id).extend()?;
        let receiver = state.events.subscribe();
        suggestions::require_visible(&state.db, viewer, id)
            .await
            .extend()?;
        let (state, viewer) = (state.clone(), viewer.clone());
        Ok(live_updates(
            receiver,
            Event::Suggestion(id),
            "suggestion",
            move || {
                let (state, viewer) = (state.clone(), viewer.clone());
                async move {
                    let found = suggestions::find(&state.db, &viewer, id).await?;
                    Ok(found.map(Suggestion::from))
                }
            },
        ))
    }
}
