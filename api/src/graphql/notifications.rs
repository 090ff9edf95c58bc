//! Notifications in GraphQL: the viewer's list and marking them read.

use async_graphql::connection::Connection;
use async_graphql::{ComplexObject, Context, Enum, ID, Object, ResultExt, SimpleObject};
use chrono::{DateTime, Utc};
use entity::notification::{self};
use uuid::Uuid;

use super::connection::from_page;
use super::suggestions::Suggestion;
use super::{loaders, parse_id, parts};
use crate::pagination::PageRequest;
use crate::services::notifications;

/// Why the viewer was notified.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(name = "NotificationKind", remote = "entity::notification::Kind")]
pub enum NotificationKindValue {
    /// The brand answered your suggestion.
    OfficialResponse,
    /// Your suggestion changed status.
    StatusChanged,
    /// A suggestion you voted on shipped.
    Shipped,
    /// Your suggestion was marked a duplicate.
    MarkedDuplicate,
}

#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Notification {
    pub id: ID,
    pub kind: NotificationKindValue,
    pub read_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub suggestion_id: Uuid,
}

impl From<notification::Model> for Notification {
    fn from(model: notification::Model) -> Self {
        Notification {
            id: ID(model.id.to_string()),
            kind: model.kind.into(),
            read_at: model.read_at,
            created_at: model.created_at,
            suggestion_id: model.suggestion_id,
        }
    }
}

#[ComplexObject]
impl Notification {
    /// The suggestion, unless it was deleted or is no longer visible to the viewer.
    async fn suggestion(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Suggestion>> {
        let found = loaders(ctx)?
            .suggestions
            .load_one(self.suggestion_id)
            .await
            .extend()?;
        Ok(found.map(Suggestion::from))
    }
}

#[derive(Default)]
pub struct NotificationsQuery;

#[Object]
impl NotificationsQuery {
    /// The viewer's notifications, newest first.
    #[graphql(complexity = "crate::pagination::page_cost(first, child_complexity)")]
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        #[graphql(default)] unread_only: bool,
    ) -> async_graphql::Result<Connection<String, Notification>> {
        let (state, viewer) = parts(ctx)?;
        let page = PageRequest::new(first, after).extend()?;
        let page = notifications::list(state, viewer, unread_only, page)
            .await
            .extend()?;
        Ok(from_page(page, Notification::from))
    }
}

#[derive(Default)]
pub struct NotificationsMutation;

#[Object]
impl NotificationsMutation {
    /// Marks the viewer's notifications read (at most 100; all or nothing).
    async fn mark_notifications_read(
        &self,
        ctx: &Context<'_>,
        ids: Vec<ID>,
    ) -> async_graphql::Result<Vec<Notification>> {
        let (state, viewer) = parts(ctx)?;
        let ids = ids
            .iter()
            .map(|id| parse_id("ids", id))
            .collect::<Result<Vec<_>, _>>()
            .extend()?;
        let marked = notifications::mark_read(state, viewer, ids)
            .await
            .extend()?;
        Ok(marked.into_iter().map(Notification::from).collect())
    }
}
