//! Communities in GraphQL: `Community`, `Membership`, creating, updating, joining, inviting,
//! approving, leaving and member roles.

use async_graphql::connection::Connection;
use async_graphql::{
    ComplexObject, Context, Enum, ErrorExtensions, ID, InputObject, Object, ResultExt, SimpleObject,
};
use chrono::{DateTime, Utc};
use entity::community::{self};
use entity::membership::{self};
use uuid::Uuid;

use super::connection::from_page;
use super::users::User;
use super::{loaders, parse_id, parse_optional_id, parts};
use crate::error::AppError;
use crate::pagination::PageRequest;
use crate::services::communities::{self, CommunityChanges, NewCommunity};
use crate::services::memberships;

/// Who can see a community.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(name = "CommunityVisibility", remote = "entity::community::Visibility")]
pub enum VisibilityValue {
    /// Anyone can see it and join.
    Public,
    /// Only members see it; joining takes an invitation or approval.
    Private,
}

/// A member's role in one community.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(name = "CommunityRole", remote = "entity::membership::CommunityRole")]
pub enum CommunityRoleValue {
    Member,
    /// Approves members, deletes posts.
    Moderator,
    /// Everything a moderator does, and sets roles.
    Owner,
}

/// Where a membership stands.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(
    name = "MembershipStatus",
    remote = "entity::membership::MembershipStatus"
)]
pub enum MembershipStatusValue {
    Active,
    Invited,
    Requested,
}

/// A community of a brand and its fans.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Community {
    pub id: ID,
    /// Unique, lower-case: 3–40 characters of a-z, 0-9 and -.
    pub slug: String,
    pub name: String,
    pub description: String,
    pub visibility: VisibilityValue,
    /// ACTIVE members.
    pub member_count: i32,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub uuid: Uuid,
}

impl From<community::Model> for Community {
    fn from(model: community::Model) -> Self {
        Community {
            id: ID(model.id.to_string()),
            slug: model.slug,
            name: model.name,
            description: model.description,
            visibility: model.visibility.into(),
            member_count: model.member_count,
            created_at: model.created_at,
            uuid: model.id,
        }
    }
}

#[ComplexObject]
impl Community {
    /// The viewer's membership (also a pending invitation or request), if any.
    async fn viewer_membership(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Membership>> {
        let found = loaders(ctx)?
            .memberships
            .load_one(self.uuid)
            .await
            .extend()?;
        Ok(found.map(Membership::from))
    }
}

/// A user's place in a community.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Membership {
    pub role: CommunityRoleValue,
    pub status: MembershipStatusValue,
    /// When it became ACTIVE.
    pub joined_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    pub community_id: Uuid,
    #[graphql(skip)]
    pub user_id: Uuid,
}

impl From<membership::Model> for Membership {
    fn from(model: membership::Model) -> Self {
        Membership {
            role: model.role.into(),
            status: model.status.into(),
            joined_at: model.joined_at,
            community_id: model.community_id,
            user_id: model.user_id,
        }
    }
}

#[ComplexObject]
impl Membership {
    async fn community(&self, ctx: &Context<'_>) -> async_graphql::Result<Community> {
        let found = loaders(ctx)?
            .communities
            .load_one(self.community_id)
            .await
            .extend()?;
        found
            .map(Community::from)
            .ok_or_else(|| AppError::not_found("community").extend())
    }

    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        let found = loaders(ctx)?.users.load_one(self.user_id).await.extend()?;
        found
            .map(User::from)
            .ok_or_else(|| AppError::not_found("user").extend())
    }
}

#[derive(InputObject)]
pub struct CreateCommunityInput {
    /// Optional client-made UUID: sending the same input again returns the same community.
    pub id: Option<ID>,
    /// 3–40 characters of a-z, 0-9 and - (upper case is folded).
    pub slug: String,
    /// 1–100 characters.
    pub name: String,
    /// Up to 2 000 characters.
    #[graphql(default)]
    pub description: String,
    #[graphql(default_with = "VisibilityValue::Public")]
    pub visibility: VisibilityValue,
}

#[derive(InputObject)]
pub struct UpdateCommunityInput {
    pub community_id: ID,
    pub name: Option<String>,
    pub description: Option<String>,
    pub visibility: Option<VisibilityValue>,
}

#[derive(Default)]
pub struct CommunitiesQuery;

#[Object]
impl CommunitiesQuery {
    /// A community by id or slug; null when missing or private to the viewer.
    async fn community(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        slug: Option<String>,
    ) -> async_graphql::Result<Option<Community>> {
        let (state, viewer) = parts(ctx)?;
        let found = match (id, slug) {
            (Some(id), _) => {
                let id = parse_id("id", &id).extend()?;
                communities::find(&state.db, viewer, id).await.extend()?
            }
            (None, Some(slug)) => communities::find_by_slug(&state.db, viewer, &slug)
                .await
                .extend()?,
            (None, None) => {
                return Err(AppError::bad_input("id", "give an id or a slug").extend());
            }
        };
        Ok(found.map(Community::from))
    }

    /// The communities the viewer may see, oldest first; `search` matches name or slug.
    #[graphql(complexity = "crate::pagination::page_cost(first, child_complexity)")]
    async fn communities(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        search: Option<String>,
    ) -> async_graphql::Result<Connection<String, Community>> {
        let (state, viewer) = parts(ctx)?;
        let page = PageRequest::new(first, after).extend()?;
        let page = communities::list(state, viewer, search, page)
            .await
            .extend()?;
        Ok(from_page(page, Community::from))
    }
}

#[derive(Default)]
pub struct CommunitiesMutation;

#[Object]
impl CommunitiesMutation {
    /// Creates a community; the creator becomes its OWNER.
    async fn create_community(
        &self,
        ctx: &Context<'_>,
        input: CreateCommunityInput,
    ) -> async_graphql::Result<Community> {
        let (state, viewer) = parts(ctx)?;
        let input = NewCommunity {
            id: parse_optional_id("id", &input.id).extend()?,
            slug: input.slug,
            name: input.name,
            description: input.description,
            visibility: input.visibility.into(),
        };
        Ok(communities::create(state, viewer, input)
            .await
            .extend()?
            .into())
    }

    /// Changes name, description or visibility (MODERATOR or OWNER).
    async fn update_community(
        &self,
        ctx: &Context<'_>,
        input: UpdateCommunityInput,
    ) -> async_graphql::Result<Community> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id("communityId", &input.community_id).extend()?;
        let changes = CommunityChanges {
            name: input.name,
            description: input.description,
            visibility: input.visibility.map(Into::into),
        };
        Ok(communities::update(state, viewer, id, changes)
            .await
            .extend()?
            .into())
    }

    /// Joins: PUBLIC at once; PRIVATE at once when invited, else a request to approve.
    async fn join_community(
        &self,
        ctx: &Context<'_>,
        community_id: ID,
    ) -> async_graphql::Result<Membership> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id("communityId", &community_id).extend()?;
        Ok(memberships::join(state, viewer, id).await.extend()?.into())
    }

    /// Invites a user (MODERATOR or OWNER); a pending request is approved at once.
    async fn invite_to_community(
        &self,
        ctx: &Context<'_>,
        community_id: ID,
        user_id: ID,
    ) -> async_graphql::Result<Membership> {
        let (state, viewer) = parts(ctx)?;
        let community_id = parse_id("communityId", &community_id).extend()?;
        let user_id = parse_id("userId", &user_id).extend()?;
        Ok(memberships::invite(state, viewer, community_id, user_id)
            .await
            .extend()?
            .into())
    }

    /// Approves a request to join (MODERATOR or OWNER).
    async fn approve_membership(
        &self,
        ctx: &Context<'_>,
        community_id: ID,
        user_id: ID,
    ) -> async_graphql::Result<Membership> {
        let (state, viewer) = parts(ctx)?;
        let community_id = parse_id("communityId", &community_id).extend()?;
        let user_id = parse_id("userId", &user_id).extend()?;
        Ok(memberships::approve(state, viewer, community_id, user_id)
            .await
            .extend()?
            .into())
    }

    /// Leaves a community (or withdraws a request). The only OWNER cannot leave.
    async fn leave_community(
        &self,
        ctx: &Context<'_>,
        community_id: ID,
    ) -> async_graphql::Result<bool> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id("communityId", &community_id).extend()?;
        memberships::leave(state, viewer, id).await.extend()
    }

    /// Sets an ACTIVE member's role (OWNER only).
    async fn set_member_role(
        &self,
        ctx: &Context<'_>,
        community_id: ID,
        user_id: ID,
        role: CommunityRoleValue,
    ) -> async_graphql::Result<Membership> {
        let (state, viewer) = parts(ctx)?;
        let community_id = parse_id("communityId", &community_id).extend()?;
        let user_id = parse_id("userId", &user_id).extend()?;
        Ok(
            memberships::set_member_role(state, viewer, community_id, user_id, role.into())
                .await
                .extend()?
                .into(),
        )
    }
}
