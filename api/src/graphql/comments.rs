//! Comments in GraphQL: `Comment`, adding, editing and deleting.

use async_graphql::{
    ComplexObject, Context, ErrorExtensions, ID, InputObject, Object, ResultExt, SimpleObject,
};
use chrono::{DateTime, Utc};
use entity::comment;
use uuid::Uuid;

use super::suggestions::Suggestion;
use super::users::User;
use super::{loaders, parse_id, parse_optional_id, parts};
use crate::error::AppError;
use crate::services::comments;

/// A reply on a suggestion; `official` marks the brand's responses.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Comment {
    pub id: ID,
    pub body: String,
    pub official: bool,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    pub suggestion_id: Uuid,
    #[graphql(skip)]
    pub author_id: Uuid,
}

impl From<comment::Model> for Comment {
    fn from(model: comment::Model) -> Self {
        Comment {
            id: ID(model.id.to_string()),
            body: model.body,
            official: model.official,
            created_at: model.created_at,
            edited_at: model.edited_at,
            suggestion_id: model.suggestion_id,
            author_id: model.author_id,
        }
    }
}

#[ComplexObject]
impl Comment {
    async fn author(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        let found = loaders(ctx)?
            .users
            .load_one(self.author_id)
            .await
            .extend()?;
        found
            .map(User::from)
            .ok_or_else(|| AppError::not_found("user").extend())
    }

    async fn suggestion(&self, ctx: &Context<'_>) -> async_graphql::Result<Suggestion> {
        let found = loaders(ctx)?
            .suggestions
            .load_one(self.suggestion_id)
            .await
            .extend()?;
        found
            .map(Suggestion::from)
            .ok_or_else(|| AppError::not_found("suggestion").extend())
    }
}

#[derive(InputObject)]
pub struct AddCommentInput {
    /// Optional client-made UUID: sending the same input again returns the same comment.
    pub id: Option<ID>,
    pub suggestion_id: ID,
    /// 1–10 000 characters.
    pub body: String,
}

#[derive(InputObject)]
pub struct EditCommentInput {
    pub comment_id: ID,
    /// 1–10 000 characters.
    pub body: String,
}

#[derive(Default)]
pub struct CommentsMutation;

#[Object]
impl CommentsMutation {
    /// Comments on a suggestion (ACTIVE members).
    async fn add_comment(
        &self,
        ctx: &Context<'_>,
        input: AddCommentInput,
    ) -> async_graphql::Result<Comment> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_optional_id("id", &input.id).extend()?;
        let suggestion_id = parse_id("suggestionId", &input.suggestion_id).extend()?;
        Ok(comments::add(state, viewer, id, suggestion_id, &input.body)
            .await
            .extend()?
            .into())
    }

    /// Edits a comment (its author).
    async fn edit_comment(
        &self,
        ctx: &Context<'_>,
        input: EditCommentInput,
    ) -> async_graphql::Result<Comment> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id("commentId", &input.comment_id).extend()?;
        Ok(comments::edit(state, viewer, id, &input.body)
            .await
            .extend()?
            .into())
    }

    /// Deletes a comment (author, community moderator, STAFF/ADMIN).
    async fn delete_comment(
        &self,
        ctx: &Context<'_>,
        comment_id: ID,
    ) -> async_graphql::Result<bool> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id("commentId", &comment_id).extend()?;
        comments::delete(state, viewer, id).await.extend()
    }
}
