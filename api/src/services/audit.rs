//! The audit log of the money tables: who (a user or a partner) changed what, and when.
//! Entries are written inside the transaction of the change they describe, so a change and
//! its entry commit or roll back together; only ADMINs read them.

use chrono::{DateTime, Utc};
use entity::audit_log::{self, Action, ActorKind, EntityType};
use entity::user::Role;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::Value;
use uuid::Uuid;

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::pagination::{Page, PageRequest, TimeOrder, after_time_key, time_key};
use crate::state::AppState;

/// Who is acting, as the audit log records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: Uuid,
}

impl Actor {
    /// The signed-in user or partner behind `viewer`; anonymous callers never write money rows.
    pub fn of(viewer: &Viewer) -> AppResult<Self> {
        match viewer {
            Viewer::User(user) => Ok(Actor {
                kind: ActorKind::User,
                id: user.id,
            }),
            Viewer::Partner(partner) => Ok(Actor {
                kind: ActorKind::Partner,
                id: partner.id,
            }),
            Viewer::Anonymous => Err(AppError::Unauthenticated("sign in first".into())),
        }
    }
}

/// Appends one entry about `entity_id` at `at`.
pub async fn record(
    db: &impl ConnectionTrait,
    actor: Actor,
    entity_type: EntityType,
    entity_id: Uuid,
    action: Action,
    details: Value,
    at: DateTime<Utc>,
) -> AppResult<()> {
    audit_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        entity_type: Set(entity_type),
        entity_id: Set(entity_id),
        action: Set(action),
        actor_kind: Set(actor.kind),
        actor_id: Set(actor.id),
        details: Set(details.to_string()),
        created_at: Set(at),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The log, oldest first, optionally about one kind of entity or one entity (ADMIN).
pub async fn list(
    state: &AppState,
    viewer: &Viewer,
    entity_type: Option<EntityType>,
    entity_id: Option<Uuid>,
    page: &PageRequest,
) -> AppResult<Page<audit_log::Model>> {
    viewer.require_role(Role::Admin)?;
    let mut query = audit_log::Entity::find();
    if let Some(entity_type) = entity_type {
        query = query.filter(audit_log::Column::EntityType.eq(entity_type));
    }
    if let Some(entity_id) = entity_id {
        query = query.filter(audit_log::Column::EntityId.eq(entity_id));
    }
    if let Some(after) = &page.after {
        query = query.filter(after_time_key(
            after,
            audit_log::Column::CreatedAt,
            audit_log::Column::Id,
            TimeOrder::OldestFirst,
        )?);
    }
    let rows = query
        .order_by_asc(audit_log::Column::CreatedAt)
        .order_by_asc(audit_log::Column::Id)
        .limit(page.limit + 1)
        .all(&state.db)
        .await?;
    Ok(Page::from_rows(rows, page, |row| {
        time_key(row.created_at, row.id)
    }))
}
