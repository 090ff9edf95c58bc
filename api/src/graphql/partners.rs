//! Partners in GraphQL: creating and revoking integrations and listing them (ADMIN), and
//! `currentPartner` for a partner token.

use async_graphql::connection::Connection;
use async_graphql::{
    ComplexObject, Context, ErrorExtensions, ID, InputObject, Object, ResultExt, SimpleObject,
};
use chrono::{DateTime, Utc};
use entity::partner;
use uuid::Uuid;

use super::connection::from_page;
use super::loaders::Loaders;
use super::users::User;
use super::{parse_id, parts};
use crate::auth::PARTNER_SCOPES;
use crate::error::AppError;
use crate::pagination::PageRequest;
use crate::services::partners;

/// An integration (a retail or sales system) calling with client-credentials tokens.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Partner {
    pub id: ID,
    pub name: String,
    /// Granted scopes, e.g. `sales:write`, `ideas:read`.
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    /// Set once revoked: its tokens no longer work.
    pub revoked_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    pub created_by_id: Option<Uuid>,
}

#[ComplexObject]
impl Partner {
    /// The admin who created it.
    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.created_by_id else {
            return Ok(None);
        };
        let loaders = ctx
            .data::<Loaders>()
            .map_err(|_| AppError::internal("request prepared without loaders").extend())?;
        Ok(loaders.users.load_one(id).await.extend()?.map(User::from))
    }
}

impl From<partner::Model> for Partner {
    fn from(model: partner::Model) -> Self {
        Partner {
            id: ID(model.id.to_string()),
            name: model.name,
            scopes: model
                .scopes
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            created_at: model.created_at,
            revoked_at: model.revoked_at,
            created_by_id: model.created_by,
        }
    }
}

/// A scope a partner can be granted.
#[derive(SimpleObject, Clone, Debug)]
pub struct PartnerScope {
    pub name: String,
    pub description: String,
}

#[derive(InputObject)]
pub struct CreatePartnerInput {
    /// 1–100 characters.
    pub name: String,
    /// At least one of `partnerScopes`.
    pub scopes: Vec<String>,
}

/// A new partner and its credentials. The secret is shown only here, once.
#[derive(SimpleObject)]
pub struct CreatePartnerPayload {
    pub partner: Partner,
    pub client_id: String,
    pub client_secret: String,
}

#[derive(Default)]
pub struct PartnersQuery;

#[Object]
impl PartnersQuery {
    /// Every partner, oldest first (ADMIN).
    #[graphql(complexity = "crate::pagination::page_cost(first, child_complexity)")]
    async fn partners(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Partner>> {
        let (state, viewer) = parts(ctx)?;
        let page = PageRequest::new(first, after).extend()?;
        let page = partners::list(state, viewer, page).await.extend()?;
        Ok(from_page(page, Partner::from))
    }

    /// The partner calling with a partner token (FORBIDDEN for user tokens).
    async fn current_partner(&self, ctx: &Context<'_>) -> async_graphql::Result<Partner> {
        let (state, viewer) = parts(ctx)?;
        Ok(partners::current(state, viewer).await.extend()?.into())
    }

    /// The scopes a partner can be granted.
    async fn partner_scopes(&self) -> Vec<PartnerScope> {
        PARTNER_SCOPES
            .iter()
            .map(|(name, description)| PartnerScope {
                name: name.to_string(),
                description: description.to_string(),
            })
            .collect()
    }
}

#[derive(Default)]
pub struct PartnersMutation;

#[Object]
impl PartnersMutation {
    /// Creates a partner (ADMIN). An unknown scope is BAD_USER_INPUT.
    async fn create_partner(
        &self,
        ctx: &Context<'_>,
        input: CreatePartnerInput,
    ) -> async_graphql::Result<CreatePartnerPayload> {
        let (state, viewer) = parts(ctx)?;
        let created = partners::create(state, viewer, &input.name, input.scopes)
            .await
            .extend()?;
        Ok(CreatePartnerPayload {
            partner: created.partner.into(),
            client_id: created.client_id,
            client_secret: created.client_secret,
        })
    }

    /// Revokes a partner (ADMIN): its tokens stop working at once.
    async fn revoke_partner(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Partner> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id("id", &id).extend()?;
        Ok(partners::revoke(state, viewer, id).await.extend()?.into())
    }
}
