//! Identity in GraphQL: `User`, `AuthPayload`, sign-up, log-in, sessions, roles.

use async_graphql::connection::Connection;
use async_graphql::{
    ComplexObject, Context, Enum, ID, InputObject, Object, ResultExt, SimpleObject,
};
use chrono::{DateTime, Utc};
use entity::user;

use super::connection::from_page;
use super::growth::GrowthEvent;
use super::moderation::Sanction;
use super::suggestions::Suggestion;
use super::{client_address, parse_id, parts};
use crate::auth;
use crate::pagination::PageRequest;
use crate::services::sessions::{self, Session};
use crate::services::suggestion_listing::{self, ListFilter, Sort};
use crate::services::users::{self, NewUser};
use crate::services::{growth, sanctions};

/// A global role.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(name = "Role", remote = "entity::user::Role")]
pub enum RoleValue {
    /// A fan.
    Member,
    /// The brand's people: official responses and statuses.
    Staff,
    /// Rewards, payouts, partners and roles.
    Admin,
}

/// A person with an account.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct User {
    pub id: ID,
    /// Unique, lower-case: 3–32 characters of a-z, 0-9 and _.
    pub handle: String,
    pub display_name: String,
    pub role: RoleValue,
    pub created_at: DateTime<Utc>,
    /// The sum of their growth events.
    pub growth_points: i64,
}

impl From<user::Model> for User {
    fn from(model: user::Model) -> Self {
        User {
            id: ID(model.id.to_string()),
            handle: model.handle,
            display_name: model.display_name,
            role: model.role.into(),
            created_at: model.created_at,
            growth_points: model.growth_points,
        }
    }
}

#[ComplexObject]
impl User {
    /// Their level by growth points (the thresholds are in the README).
    async fn level(&self) -> i32 {
        growth::level_of(self.growth_points)
    }

    /// Their sanctions, newest first (themselves, or STAFF/ADMIN).
    #[graphql(complexity = "crate::pagination::page_cost(first, child_complexity)")]
    async fn sanctions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Sanction>> {
        let (state, viewer) = parts(ctx)?;
        let page = PageRequest::new(first, after).extend()?;
        let user_id = parse_id("id", &self.id).extend()?;
        let page = sanctions::list_for_user(state, viewer, user_id, page)
            .await
            .extend()?;
        Ok(from_page(page, Sanction::from))
    }

    /// How they earned their points, newest first (themselves, or STAFF/ADMIN).
    #[graphql(complexity = "crate::pagination::page_cost(first, child_complexity)")]
    async fn growth_events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, GrowthEvent>> {
        let (state, viewer) = parts(ctx)?;
        let page = PageRequest::new(first, after).extend()?;
        let user_id = parse_id("id", &self.id).extend()?;
        let page = growth::list(state, viewer, user_id, page).await.extend()?;
        Ok(from_page(page, GrowthEvent::from))
    }

    /// Their suggestions that the viewer may see, newest first.
    #[graphql(complexity = "crate::pagination::page_cost(first, child_complexity)")]
    async fn suggestions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Suggestion>> {
        let (state, viewer) = parts(ctx)?;
        let page = PageRequest::signed(first, after).extend()?;
        let filter = ListFilter {
            community_id: None,
            author_id: Some(parse_id("id", &self.id).extend()?),
            statuses: Vec::new(),
            kind: None,
            sort: Sort::New,
            search: None,
        };
        let page = suggestion_listing::list(state, viewer, filter, page)
            .await
            .extend()?;
        Ok(from_page(page, Suggestion::from))
    }
}

/// A signed-in session: a 15-minute access token and a single-use refresh token.
#[derive(SimpleObject, Clone, Debug)]
pub struct AuthPayload {
    /// Send as `Authorization: Bearer <accessToken>`.
    pub access_token: String,
    /// Exchange with `refreshSession` for a new pair; each one works once.
    pub refresh_token: String,
    pub user: User,
}

impl From<Session> for AuthPayload {
    fn from(session: Session) -> Self {
        AuthPayload {
            access_token: session.access_token,
            refresh_token: session.refresh_token,
            user: session.user.into(),
        }
    }
}

#[derive(InputObject)]
pub struct SignUpInput {
    /// 3–32 characters of a-z, 0-9 and _ (upper case is folded to lower case).
    pub handle: String,
    /// 10–128 characters.
    pub password: String,
    /// 1–64 characters.
    pub display_name: String,
}

#[derive(InputObject)]
pub struct LogInInput {
    pub handle: String,
    pub password: String,
}

#[derive(InputObject)]
pub struct ChangePasswordInput {
    pub current_password: String,
    /// 10–128 characters.
    pub new_password: String,
}

#[derive(Default)]
pub struct UsersQuery;

#[Object]
impl UsersQuery {
    /// The signed-in user; null when anonymous or calling with a partner token.
    async fn viewer(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let (state, viewer) = parts(ctx)?;
        match viewer {
            auth::Viewer::User(me) => Ok(users::find(&state.db, me.id)
                .await
                .extend()?
                .map(User::from)),
            _ => Ok(None),
        }
    }

    /// A user by id.
    async fn user(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<User>> {
        let (state, _) = parts(ctx)?;
        let id = parse_id("id", &id).extend()?;
        Ok(users::find(&state.db, id).await.extend()?.map(User::from))
    }
}

#[derive(Default)]
pub struct UsersMutation;

#[Object]
impl UsersMutation {
    /// Creates an account and signs it in. A taken handle is CONFLICT.
    async fn sign_up(
        &self,
        ctx: &Context<'_>,
        input: SignUpInput,
    ) -> async_graphql::Result<AuthPayload> {
        let (state, _) = parts(ctx)?;
        let address = client_address(ctx)?;
        let new_user = NewUser {
            handle: input.handle,
            password: input.password,
            display_name: input.display_name,
        };
        Ok(users::sign_up(state, new_user, address)
            .await
            .extend()?
            .into())
    }

    /// Signs in with a handle and password.
    async fn log_in(
        &self,
        ctx: &Context<'_>,
        input: LogInInput,
    ) -> async_graphql::Result<AuthPayload> {
        let (state, _) = parts(ctx)?;
        let address = client_address(ctx)?;
        Ok(users::log_in(state, &input.handle, input.password, address)
            .await
            .extend()?
            .into())
    }

    /// Exchanges a refresh token for a new session. A token used twice revokes its whole family.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> async_graphql::Result<AuthPayload> {
        let (state, _) = parts(ctx)?;
        let address = client_address(ctx)?;
        Ok(sessions::refresh(state, &refresh_token, address)
            .await
            .extend()?
            .into())
    }

    /// Ends the session the refresh token belongs to. Always true, even for an unknown token.
    async fn log_out(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> async_graphql::Result<bool> {
        let (state, _) = parts(ctx)?;
        sessions::log_out(state, &refresh_token).await.extend()?;
        Ok(true)
    }

    /// Changes the viewer's password; every other session and access token ends.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        input: ChangePasswordInput,
    ) -> async_graphql::Result<AuthPayload> {
        let (state, viewer) = parts(ctx)?;
        Ok(
            users::change_password(state, viewer, input.current_password, input.new_password)
                .await
                .extend()?
                .into(),
        )
    }

    /// Sets a user's global role (ADMIN).
    async fn set_user_role(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        role: RoleValue,
    ) -> async_graphql::Result<User> {
        let (state, viewer) = parts(ctx)?;
        let user_id = parse_id("userId", &user_id).extend()?;
        Ok(users::set_role(state, viewer, user_id, role.into())
            .await
            .extend()?
            .into())
    }

    /// Suspends or reinstates a user (ADMIN). A ban ends the user's sessions at once.
    async fn set_user_banned(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        banned: bool,
    ) -> async_graphql::Result<User> {
        let (state, viewer) = parts(ctx)?;
        let user_id = parse_id("userId", &user_id).extend()?;
        Ok(users::set_banned(state, viewer, user_id, banned)
            .await
            .extend()?
            .into())
    }
}
