//! Releases ("Orange Friday"): the brand's release notes for a community, drafted by STAFF or
//! ADMIN with items that may each name the suggestion they ship, then published once: every
//! linked suggestion becomes SHIPPED — with its timeline entry, thanks notifications and growth
//! points — in the publishing transaction. A release's user-sourced share is its linked items
//! over all items.

use std::collections::HashSet;

use chrono::{DateTime, SubsecRound, Utc};
use entity::suggestion::Status;
use entity::user::Role;
use entity::{release, release_item};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use super::{communities, input, notifications, suggestion_workflow, suggestions};
use crate::auth::Viewer;
use crate::changes::SyncWriter;
use crate::error::{AppError, AppResult};
use crate::pagination::{Page, PageRequest, TimeOrder, after_time_key, time_key};
use crate::state::AppState;

/// Most items in one release.
pub const MAX_ITEMS: usize = 100;

/// What `createRelease` asks for.
#[derive(Debug, Clone)]
pub struct NewRelease {
    pub community_id: Uuid,
    pub version: String,
    pub notes: String,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub items: Vec<NewItem>,
}

/// One line of a new release.
#[derive(Debug, Clone)]
pub struct NewItem {
    pub title: String,
    pub suggestion_id: Option<Uuid>,
}

/// A release with its items in order.
#[derive(Debug, Clone)]
pub struct Release {
    pub model: release::Model,
    pub items: Vec<release_item::Model>,
}

impl Release {
    /// Linked items over all items, exactly (None for a release without items).
    pub fn user_sourced_share(&self) -> Option<Decimal> {
        let linked = self
            .items
            .iter()
            .filter(|i| i.suggestion_id.is_some())
            .count();
        super::metrics::ratio(linked as i64, self.items.len() as i64)
    }
}

/// Drafts a release (STAFF/ADMIN). Each linked suggestion must be live in the community and
/// still shippable: a DECLINED or DUPLICATE one is BAD_USER_INPUT, as is linking one twice.
/// A version is used once per community (CONFLICT).
pub async fn create(state: &AppState, viewer: &Viewer, input: NewRelease) -> AppResult<Release> {
    let staff = viewer.require_role(Role::Staff)?.clone();
    let version = input::line("version", &input.version, 1, 40)?;
    let notes = input::text("notes", &input.notes, 0, 20_000)?;
    if input.items.is_empty() || input.items.len() > MAX_ITEMS {
        return Err(AppError::bad_input(
            "items",
            format!("a release has 1 to {MAX_ITEMS} items"),
        ));
    }
    let mut linked = HashSet::new();
    let mut titles = Vec::with_capacity(input.items.len());
    for item in &input.items {
        titles.push(input::line("items.title", &item.title, 1, 200)?);
        if let Some(id) = item.suggestion_id
            && !linked.insert(id)
        {
            return Err(AppError::bad_input(
                "items.suggestionId",
                "a suggestion is linked twice",
            ));
        }
    }
    let txn = crate::db::begin_write(&state.db).await?;
    let community = communities::require_visible(&txn, viewer, input.community_id).await?;
    let ids: Vec<Uuid> = linked.iter().copied().collect();
    let found = suggestions::find_many(&txn, &ids).await?;
    for id in &ids {
        let Some(suggestion) = found.iter().find(|s| s.id == *id) else {
            return Err(AppError::bad_input(
                "items.suggestionId",
                format!("suggestion {id} does not exist"),
            ));
        };
        if suggestion.community_id != community.id {
            return Err(AppError::bad_input(
                "items.suggestionId",
                format!("suggestion {id} is not in this community"),
            ));
        }
        require_shippable(suggestion)?;
    }
    let now = crate::clock::now();
    let model = release::ActiveModel {
        id: Set(Uuid::now_v7()),
        community_id: Set(community.id),
        version: Set(version),
        notes: Set(notes),
        scheduled_at: Set(input.scheduled_at.map(|at| at.trunc_subsecs(6))),
        published_at: Set(None),
        created_by: Set(staff.id),
        created_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|e| {
        AppError::conflict_on_unique(e, "this community already has a release of this version")
    })?;
    let items: Vec<release_item::Model> = input
        .items
        .iter()
        .zip(titles)
        .enumerate()
        .map(|(position, (item, title))| release_item::Model {
            release_id: model.id,
            position: position as i32,
            title,
            suggestion_id: item.suggestion_id,
        })
        .collect();
    release_item::Entity::insert_many(items.iter().cloned().map(release_item::ActiveModel::from))
        .exec_without_returning(&txn)
        .await?;
    // A draft is the brand's own: it reaches devices when it is published.
    txn.commit().await?;
    Ok(Release { model, items })
}

/// Publishes a draft (STAFF/ADMIN): every linked suggestion moves to SHIPPED (one already
/// shipped stays as it is), all in one transaction. Publishing twice is CONFLICT; a linked
/// suggestion that has since been DECLINED or marked DUPLICATE is BAD_USER_INPUT, and nothing
/// changes.
pub async fn publish(state: &AppState, viewer: &Viewer, id: Uuid) -> AppResult<Release> {
    let staff = viewer.require_role(Role::Staff)?.clone();
    let txn = crate::db::begin_write(&state.db).await?;
    let found = release::Entity::find_by_id(id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("release"))?;
    communities::require_visible(&txn, viewer, found.community_id).await?;
    if found.published_at.is_some() {
        return Err(AppError::Conflict(
            "this release is already published".into(),
        ));
    }
    let items = items_of(&txn, &[found.id]).await?;
    let mut sync = SyncWriter::new();
    let mut shipped = Vec::new();
    for suggestion_id in items.iter().filter_map(|i| i.suggestion_id) {
        let locked = suggestions::lock_visible(&txn, viewer, suggestion_id)
            .await
            .map_err(|e| match e {
                AppError::NotFound(_) => AppError::bad_input(
                    "id",
                    format!("linked suggestion {suggestion_id} was deleted"),
                ),
                other => other,
            })?;
        require_shippable(&locked)?;
        if locked.status == Status::Shipped {
            continue;
        }
        let updated = suggestion_workflow::change_status(
            &txn,
            locked,
            Status::Shipped,
            staff.id,
            Some(format!("released in {}", found.version)),
            &mut sync,
        )
        .await?;
        sync.suggestion(&updated);
        shipped.push(updated.id);
    }
    let mut active: release::ActiveModel = found.into();
    active.published_at = Set(Some(crate::clock::now()));
    let model = active.update(&txn).await?;
    sync.release(&model);
    sync.commit(txn, state).await?;
    notifications::wake_fan_out(state);
    for suggestion_id in shipped {
        state
            .events
            .suggestion_updated(&state.db, suggestion_id)
            .await;
    }
    Ok(Release { model, items })
}

/// A release `viewer` may see: published ones for whoever sees the community, drafts for
/// STAFF/ADMIN.
pub async fn find(state: &AppState, viewer: &Viewer, id: Uuid) -> AppResult<Option<Release>> {
    let Some(model) = release::Entity::find_by_id(id).one(&state.db).await? else {
        return Ok(None);
    };
    if (model.published_at.is_none() && !viewer.is_staff())
        || communities::find(&state.db, viewer, model.community_id)
            .await?
            .is_none()
    {
        return Ok(None);
    }
    let items = items_of(&state.db, &[model.id]).await?;
    Ok(Some(Release { model, items }))
}

/// A community's releases, newest first (drafts only for STAFF/ADMIN).
pub async fn list(
    state: &AppState,
    viewer: &Viewer,
    community_id: Uuid,
    page: PageRequest,
) -> AppResult<Page<Release>> {
    let community = communities::require_visible(&state.db, viewer, community_id).await?;
    let mut query = release::Entity::find()
        .filter(release::Column::CommunityId.eq(community.id))
        .order_by_desc(release::Column::CreatedAt)
        .order_by_desc(release::Column::Id);
    if !viewer.is_staff() {
        query = query.filter(release::Column::PublishedAt.is_not_null());
    }
    if let Some(after) = &page.after {
        query = query.filter(after_time_key(
            after,
            release::Column::CreatedAt,
            release::Column::Id,
            TimeOrder::NewestFirst,
        )?);
    }
    let models = query.limit(page.limit + 1).all(&state.db).await?;
    let ids: Vec<Uuid> = models.iter().map(|m| m.id).collect();
    let mut items = items_of(&state.db, &ids).await?;
    let releases = models
        .into_iter()
        .map(|model| {
            let (mine, rest) = items.drain(..).partition(|i| i.release_id == model.id);
            items = rest;
            Release { model, items: mine }
        })
        .collect();
    Ok(Page::from_rows(releases, &page, |r| {
        time_key(r.model.created_at, r.model.id)
    }))
}

/// Releases by id with their items (no visibility check: for the sync pull, whose scopes
/// already decided).
pub async fn find_many(db: &impl ConnectionTrait, ids: &[Uuid]) -> AppResult<Vec<Release>> {
    let models = release::Entity::find()
        .filter(release::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    let mut items = items_of(db, ids).await?;
    Ok(models
        .into_iter()
        .map(|model| {
            let (mine, rest) = items.drain(..).partition(|i| i.release_id == model.id);
            items = rest;
            Release { model, items: mine }
        })
        .collect())
}

async fn items_of(
    db: &impl ConnectionTrait,
    release_ids: &[Uuid],
) -> AppResult<Vec<release_item::Model>> {
    if release_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(release_item::Entity::find()
        .filter(release_item::Column::ReleaseId.is_in(release_ids.iter().copied()))
        .order_by_asc(release_item::Column::ReleaseId)
        .order_by_asc(release_item::Column::Position)
        .all(db)
        .await?)
}

fn require_shippable(suggestion: &entity::suggestion::Model) -> AppResult<()> {
    if matches!(suggestion.status, Status::Declined | Status::Duplicate) {
        return Err(AppError::bad_input(
            "items.suggestionId",
            format!(
                "suggestion {} is {}; a release cannot ship it",
                suggestion.id,
                sea_orm::ActiveEnum::to_value(&suggestion.status)
            ),
        ));
    }
    Ok(())
}
