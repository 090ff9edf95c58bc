//! Communities: creating and updating them, finding and listing them, and the visibility rule
//! every other service relies on — a PRIVATE community and everything in it is NOT_FOUND to
//! anyone who is not an ACTIVE member (STAFF and ADMIN see all). Who belongs to a community is
//! [`super::memberships`].

use chrono::Utc;
use entity::community::{self, Visibility};
use entity::membership::{self, CommunityRole, MembershipStatus};
use futures_util::TryFutureExt;
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Set,
};
use uuid::Uuid;

use super::idempotency::{Created, create_once};
use super::input::{escape_like, line, text};
use super::memberships::{find_membership, private_member_of, require_moderator};
use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::pagination::{Page, PageRequest};
use crate::state::AppState;
use crate::sync::SyncWriter;

/// What `createCommunity` asks for.
#[derive(Debug, Clone)]
pub struct NewCommunity {
    pub id: Option<Uuid>,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub visibility: Visibility,
}

/// What `updateCommunity` may change.
#[derive(Debug, Clone, Default)]
pub struct CommunityChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub visibility: Option<Visibility>,
}

/// Creates a community; the creator becomes its OWNER. Replaying the same id with the same
/// payload returns the stored community; another payload under that id is CONFLICT.
pub async fn create(
    state: &AppState,
    viewer: &Viewer,
    input: NewCommunity,
) -> AppResult<community::Model> {
    let user = viewer.require_user()?;
    let slug = normalize_slug(&input.slug)?;
    let name = line("name", &input.name, 1, 100)?;
    let description = text("description", &input.description, 0, 2000)?;
    let id = input.id.unwrap_or_else(Uuid::now_v7);
    let txn = crate::db::begin_write(&state.db).await?;
    let now = Utc::now();
    let row = community::ActiveModel {
        id: Set(id),
        slug: Set(slug.clone()),
        name: Set(name.clone()),
        description: Set(description.clone()),
        visibility: Set(input.visibility),
        member_count: Set(1),
        created_by: Set(user.id),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let created = match create_once::<community::Entity, _, _>(
        &txn,
        row,
        [community::Column::Id],
        || {
            community::Entity::find_by_id(id)
                .one(&txn)
                .map_err(AppError::from)
        },
        |found| {
            found.slug == slug
                && found.name == name
                && found.description == description
                && found.visibility == input.visibility
                && found.created_by == user.id
        },
        "a different community already has this id",
        Some("this slug is taken"),
    )
    .await?
    {
        Created::New(created) => created,
        Created::Replayed(stored) => return Ok(stored),
    };
    let owner = membership::ActiveModel {
        id: Set(Uuid::now_v7()),
        community_id: Set(id),
        user_id: Set(user.id),
        role: Set(CommunityRole::Owner),
        status: Set(MembershipStatus::Active),
        joined_at: Set(Some(now)),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let mut sync = SyncWriter::new();
    sync.community(&created);
    sync.membership(&owner, false);
    sync.commit(txn, state).await?;
    Ok(created)
}

/// Changes a community's name, description or visibility (its MODERATORs and OWNERs).
pub async fn update(
    state: &AppState,
    viewer: &Viewer,
    community_id: Uuid,
    changes: CommunityChanges,
) -> AppResult<community::Model> {
    let txn = crate::db::begin_write(&state.db).await?;
    let found = require_visible(&txn, viewer, community_id).await?;
    require_moderator(&txn, viewer, &found).await?;
    let mut active: community::ActiveModel = found.into();
    if let Some(name) = changes.name {
        active.name = Set(line("name", &name, 1, 100)?);
    }
    if let Some(description) = changes.description {
        active.description = Set(text("description", &description, 0, 2000)?);
    }
    if let Some(visibility) = changes.visibility {
        active.visibility = Set(visibility);
    }
    active.updated_at = Set(Utc::now());
    let updated = active.update(&txn).await?;
    let mut sync = SyncWriter::new();
    sync.community(&updated);
    sync.commit(txn, state).await?;
    Ok(updated)
}

/// The community with `id` as `viewer` may see it.
pub async fn find(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: Uuid,
) -> AppResult<Option<community::Model>> {
    let Some(found) = community::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    Ok(can_see(db, viewer, &found).await?.then_some(found))
}

/// The community with `slug` as `viewer` may see it.
pub async fn find_by_slug(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    slug: &str,
) -> AppResult<Option<community::Model>> {
    let Some(found) = community::Entity::find()
        .filter(community::Column::Slug.eq(slug.trim().to_lowercase()))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(can_see(db, viewer, &found).await?.then_some(found))
}

/// The community with `id`, or NOT_FOUND when it is missing or hidden from `viewer`.
pub async fn require_visible(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: Uuid,
) -> AppResult<community::Model> {
    find(db, viewer, id)
        .await?
        .ok_or_else(|| AppError::not_found("community"))
}

/// Whether `viewer` may see `community`.
pub async fn can_see(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    community: &community::Model,
) -> AppResult<bool> {
    if community.visibility == Visibility::Public || viewer.is_staff() {
        return Ok(true);
    }
    let Some(user_id) = viewer.user_id() else {
        return Ok(false);
    };
    Ok(find_membership(db, community.id, user_id)
        .await?
        .is_some_and(|m| m.status == MembershipStatus::Active))
}

/// A filter on a community-id column that keeps only communities `viewer` may see.
pub async fn visible_condition(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    community_column: impl ColumnTrait,
) -> AppResult<Option<Condition>> {
    if viewer.is_staff() {
        return Ok(None);
    }
    let public = community::Entity::find()
        .select_only()
        .column(community::Column::Id)
        .filter(community::Column::Visibility.eq(Visibility::Public))
        .into_query();
    let mut condition = Condition::any().add(community_column.in_subquery(public));
    if let Some(user_id) = viewer.user_id() {
        let mine = private_member_of(db, user_id).await?;
        if !mine.is_empty() {
            condition = condition.add(community_column.is_in(mine));
        }
    }
    Ok(Some(condition))
}

/// Communities `viewer` may see, oldest first; `search` matches name or slug literally.
pub async fn list(
    state: &AppState,
    viewer: &Viewer,
    search: Option<String>,
    page: PageRequest,
) -> AppResult<Page<community::Model>> {
    let mut query = community::Entity::find().order_by_asc(community::Column::Id);
    if let Some(condition) = visible_condition(&state.db, viewer, community::Column::Id).await? {
        query = query.filter(condition);
    }
    if let Some(search) = search
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
    {
        let pattern = format!("%{}%", escape_like(&search));
        query = query.filter(
            Condition::any()
                .add(
                    Expr::expr(Func::lower(Expr::col(community::Column::Name)))
                        .like(LikeExpr::new(pattern.clone()).escape('\\')),
                )
                .add(Expr::col(community::Column::Slug).like(LikeExpr::new(pattern).escape('\\'))),
        );
    }
    if let Some(after) = &page.after {
        let after =
            Uuid::parse_str(after).map_err(|_| AppError::bad_input("after", "invalid cursor"))?;
        query = query.filter(community::Column::Id.gt(after));
    }
    let rows = query.limit(page.limit + 1).all(&state.db).await?;
    Ok(Page::from_rows(rows, &page, |c| c.id.to_string()))
}

/// Communities by id (no visibility check), for loaders that already filtered.
pub async fn find_many(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> AppResult<Vec<community::Model>> {
    Ok(community::Entity::find()
        .filter(community::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}

/// Lower-cases and checks a slug: 3–40 characters of `a-z`, `0-9`, `-`.
fn normalize_slug(slug: &str) -> AppResult<String> {
    let slug = slug.trim().to_lowercase();
    let valid = slug
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !(3..=40).contains(&slug.len()) || !valid {
        return Err(AppError::bad_input(
            "slug",
            "slug must be 3–40 characters of a-z, 0-9 and -",
        ));
    }
    Ok(slug)
}
