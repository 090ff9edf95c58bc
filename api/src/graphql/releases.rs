//! Releases in GraphQL: `Release`, `releases`, `createRelease` and `publishRelease`.

use async_graphql::connection::Connection;
use async_graphql::{ComplexObject, Context, ID, InputObject, Object, ResultExt, SimpleObject};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::connection::from_page;
use super::suggestions::Suggestion;
use super::{loaders, parse_id, parse_optional_id, parts};
use crate::pagination::PageRequest;
use crate::services::releases::{self, NewItem, NewRelease};

/// Release notes of a community: a draft until published, when every linked suggestion ships.
#[derive(SimpleObject, Clone, Debug)]
pub struct Release {
    pub id: ID,
    pub community_id: ID,
    pub version: String,
    pub notes: String,
    pub scheduled_at: Option<DateTime<Utc>>,
    /// Null for a draft.
    pub published_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub items: Vec<ReleaseItem>,
    /// Items that ship a user's suggestion over all items (6 places, half-even).
    pub user_sourced_share: Option<Decimal>,
}

impl From<releases::Release> for Release {
    fn from(release: releases::Release) -> Self {
        let user_sourced_share = release.user_sourced_share();
        Release {
            id: ID(release.model.id.to_string()),
            community_id: ID(release.model.community_id.to_string()),
            version: release.model.version,
            notes: release.model.notes,
            scheduled_at: release.model.scheduled_at,
            published_at: release.model.published_at,
            created_at: release.model.created_at,
            items: release
                .items
                .into_iter()
                .map(|item| ReleaseItem {
                    position: item.position,
                    title: item.title,
                    suggestion_id: item.suggestion_id,
                })
                .collect(),
            user_sourced_share,
        }
    }
}

/// One line of a release.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct ReleaseItem {
    pub position: i32,
    pub title: String,
    #[graphql(skip)]
    pub suggestion_id: Option<Uuid>,
}

#[ComplexObject]
impl ReleaseItem {
    /// The suggestion this item ships, when it names one the viewer may see.
    async fn suggestion(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Suggestion>> {
        let Some(id) = self.suggestion_id else {
            return Ok(None);
        };
        Ok(loaders(ctx)?
            .suggestions
            .load_one(id)
            .await
            .extend()?
            .map(Suggestion::from))
    }
}

#[derive(InputObject)]
pub struct ReleaseItemInput {
    /// 1–200 characters.
    pub title: String,
    /// The suggestion this item ships (same community; not DECLINED or DUPLICATE).
    pub suggestion_id: Option<ID>,
}

#[derive(InputObject)]
pub struct CreateReleaseInput {
    pub community_id: ID,
    /// 1–40 characters, once per community.
    pub version: String,
    /// Up to 20 000 characters.
    pub notes: String,
    pub scheduled_at: Option<DateTime<Utc>>,
    /// 1–100 items, in order.
    pub items: Vec<ReleaseItemInput>,
}

#[derive(Default)]
pub struct ReleasesQuery;

#[Object]
impl ReleasesQuery {
    /// A release; null when missing, hidden, or a draft (drafts are for STAFF/ADMIN).
    async fn release(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Release>> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id("id", &id).extend()?;
        Ok(releases::find(state, viewer, id)
            .await
            .extend()?
            .map(Release::from))
    }

    /// A community's releases, newest first (drafts too for STAFF/ADMIN).
    #[graphql(complexity = "crate::pagination::page_cost(first, child_complexity)")]
    async fn releases(
        &self,
        ctx: &Context<'_>,
        community_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Release>> {
        let (state, viewer) = parts(ctx)?;
        let community_id = parse_id("communityId", &community_id).extend()?;
        let page = PageRequest::new(first, after).extend()?;
        let page = releases::list(state, viewer, community_id, page)
            .await
            .extend()?;
        Ok(from_page(page, Release::from))
    }
}

#[derive(Default)]
pub struct ReleasesMutation;

#[Object]
impl ReleasesMutation {
    /// Drafts a release (STAFF/ADMIN).
    async fn create_release(
        &self,
        ctx: &Context<'_>,
        input: CreateReleaseInput,
    ) -> async_graphql::Result<Release> {
        let (state, viewer) = parts(ctx)?;
        let mut items = Vec::with_capacity(input.items.len());
        for item in input.items {
            items.push(NewItem {
                title: item.title,
                suggestion_id: parse_optional_id("items.suggestionId", &item.suggestion_id)
                    .extend()?,
            });
        }
        let input = NewRelease {
            community_id: parse_id("communityId", &input.community_id).extend()?,
            version: input.version,
            notes: input.notes,
            scheduled_at: input.scheduled_at,
            items,
        };
        Ok(releases::create(state, viewer, input)
            .await
            .extend()?
            .into())
    }

    /// Publishes a draft (STAFF/ADMIN): every linked suggestion becomes SHIPPED, with its
    /// thanks notifications and points, in one transaction. Twice is CONFLICT.
    async fn publish_release(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Release> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id("id", &id).extend()?;
        Ok(releases::publish(state, viewer, id).await.extend()?.into())
    }
}
