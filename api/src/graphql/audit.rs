//! The audit log in GraphQL: `auditLog` (ADMIN), every change to the money tables with its
//! actor and time.

use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, ID, Json, Object, ResultExt, SimpleObject};
use chrono::{DateTime, Utc};
use entity::audit_log::{self};
use sea_orm::ActiveEnum;

use super::connection::from_page;
use super::{parse_optional_id, parts};
use crate::pagination::PageRequest;
use crate::services::audit;

/// What an audit entry is about.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(name = "AuditEntityType", remote = "entity::audit_log::EntityType")]
pub enum EntityTypeValue {
    IdeaReward,
    SalesReport,
    RevenueShareRecord,
}

/// Who acted: a user (an admin) or a partner integration.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(name = "ActorKind", remote = "entity::audit_log::ActorKind")]
pub enum ActorKindValue {
    User,
    Partner,
}

/// One change, as it was written in the same transaction.
#[derive(SimpleObject, Clone, Debug)]
pub struct AuditEntry {
    pub id: ID,
    pub entity_type: EntityTypeValue,
    pub entity_id: ID,
    /// ADOPTED, ENDED (rewards); REPORTED (reports); ACCRUED, APPROVED, PAID, VOIDED, REVERSAL
    /// (records).
    pub action: String,
    pub actor_kind: ActorKindValue,
    /// The user's or the partner's id.
    pub actor_id: ID,
    /// What changed, as a JSON object.
    pub details: Json<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

impl From<audit_log::Model> for AuditEntry {
    fn from(model: audit_log::Model) -> Self {
        AuditEntry {
            id: ID(model.id.to_string()),
            entity_type: model.entity_type.into(),
            entity_id: ID(model.entity_id.to_string()),
            action: model.action.to_value(),
            actor_kind: model.actor_kind.into(),
            actor_id: ID(model.actor_id.to_string()),
            details: Json(serde_json::from_str(&model.details).unwrap_or_default()),
            created_at: model.created_at,
        }
    }
}

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The audit log of rewards, reports and records, oldest first (ADMIN).
    #[graphql(complexity = "crate::pagination::page_cost(first, child_complexity)")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        entity_type: Option<EntityTypeValue>,
        entity_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, AuditEntry>> {
        let (state, viewer) = parts(ctx)?;
        let entity_id = parse_optional_id("entityId", &entity_id).extend()?;
        let page = PageRequest::new(first, after).extend()?;
        let page = audit::list(state, viewer, entity_type.map(Into::into), entity_id, &page)
            .await
            .extend()?;
        Ok(from_page(page, AuditEntry::from))
    }
}
