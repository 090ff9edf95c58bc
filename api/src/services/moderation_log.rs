//! The public moderation log: every mute, ban, lift and hidden piece of content, with the
//! moderator, the target, the reason and the expiry — never who reported it or what the report
//! said. Entries are written in the transaction of the action they describe.

use chrono::{DateTime, Utc};
use entity::moderation_action::{self, Action, TargetType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use super::communities;
use crate::auth::Viewer;
use crate::error::AppResult;
use crate::pagination::{Page, PageRequest, TimeOrder, after_time_key, time_key};
use crate::state::AppState;

/// One action, as the log records it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub community_id: Option<Uuid>,
    pub moderator_id: Uuid,
    pub action: Action,
    pub target_type: TargetType,
    pub target_id: Uuid,
    pub reason: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Appends `entry` at `at`.
pub async fn record(txn: &DatabaseTransaction, entry: Entry, at: DateTime<Utc>) -> AppResult<()> {
    moderation_action::ActiveModel {
        id: Set(Uuid::now_v7()),
        community_id: Set(entry.community_id),
        moderator_id: Set(entry.moderator_id),
        action: Set(entry.action),
        target_type: Set(entry.target_type),
        target_id: Set(entry.target_id),
        reason: Set(entry.reason),
        expires_at: Set(entry.expires_at),
        created_at: Set(at),
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// A community's log (or the site-wide one when `community_id` is None), newest first, for
/// whoever may see the community.
pub async fn list(
    state: &AppState,
    viewer: &Viewer,
    community_id: Option<Uuid>,
    page: PageRequest,
) -> AppResult<Page<moderation_action::Model>> {
    let mut query = moderation_action::Entity::find()
        .order_by_desc(moderation_action::Column::CreatedAt)
        .order_by_desc(moderation_action::Column::Id);
    query = match community_id {
        Some(id) => {
            let community = communities::require_visible(&state.db, viewer, id).await?;
            query.filter(moderation_action::Column::CommunityId.eq(community.id))
        }
        None => query.filter(moderation_action::Column::CommunityId.is_null()),
    };
    if let Some(after) = &page.after {
        query = query.filter(after_time_key(
            after,
            moderation_action::Column::CreatedAt,
            moderation_action::Column::Id,
            TimeOrder::NewestFirst,
        )?);
    }
    let rows = query.limit(page.limit + 1).all(&state.db).await?;
    Ok(Page::from_rows(rows, &page, |e| {
        time_key(e.created_at, e.id)
    }))
}
