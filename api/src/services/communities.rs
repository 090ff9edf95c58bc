//! Communities: creating and updating them, finding and listing them, and the visibility rule
//! every other service relies on — a PRIVATE community and everything in it is NOT_FOUND to
//! anyone who is not an ACTIVE member (STAFF and ADMIN see all). Who belongs to a community is
//! [`super::memberships`].

use chrono::Utc;
use entity::community::{self, Visibility};
use entity::membership::{self, CommunityRole, MembershipStatus};
use futures_util::TryFutureExt;
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, SimpleExpr};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::idempotency::{Created, create_once};
use super::input::{escape_like, line, text};
use super::memberships::require_moderator;
use super::sanctions;
use crate::auth::Viewer;
use crate::changes::SyncWriter;
use crate::error::{AppError, AppResult};
use crate::pagination::{Page, PageRequest};
use crate::state::AppState;

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
        Created::Replayed(stored) => return Ok(txn.answer(stored).await?),
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
    let mut query = community::Entity::find_by_id(id);
    if let Some(visible) = visible_condition(db, viewer, community::Column::Id) {
        query = query.filter(visible);
    }
    Ok(query.one(db).await?)
}

/// The community with `slug` as `viewer` may see it.
pub async fn find_by_slug(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    slug: &str,
) -> AppResult<Option<community::Model>> {
    let mut query =
        community::Entity::find().filter(community::Column::Slug.eq(slug.trim().to_lowercase()));
    if let Some(visible) = visible_condition(db, viewer, community::Column::Id) {
        query = query.filter(visible);
    }
    Ok(query.one(db).await?)
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

/// The visibility rule, written once: `column` (SQL text naming a community id) is a community
/// `viewer` may see — a PUBLIC one, or one they are an ACTIVE member of and not banned from
/// now; STAFF and ADMIN see all (`None`: no condition). Values are bound through `bind`, which returns each one's
/// placeholder. Every read that hides communities uses it: the listing and search as text, the
/// rest through [`visible_condition`].
pub fn visible_sql(
    viewer: &Viewer,
    column: &str,
    bind: &mut dyn FnMut(sea_orm::Value) -> String,
) -> Option<String> {
    if viewer.is_staff() {
        return None;
    }
    let public = bind(Visibility::Public.to_value().into());
    let mut sql = format!("{column} IN (SELECT id FROM community WHERE visibility = {public})");
    if let Some(user_id) = viewer.user_id() {
        let user = bind(user_id.into());
        let active = bind(MembershipStatus::Active.to_value().into());
        let banned_user = bind(user_id.into());
        let banned = sanctions::active_ban_sql(&banned_user, "m.community_id", bind);
        sql = format!(
            "({sql} OR {column} IN (SELECT m.community_id FROM membership m \
             WHERE m.user_id = {user} AND m.status = {active} AND NOT {banned}))"
        );
    }
    Some(sql)
}

/// [`visible_sql`] as a filter on an entity's community-id `column`.
pub fn visible_condition(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    column: impl ColumnTrait,
) -> Option<SimpleExpr> {
    let postgres = db.get_database_backend() == DatabaseBackend::Postgres;
    let column = format!("\"{}\".\"{}\"", column.entity_name(), column.as_str());
    let mut values = Vec::new();
    let sql = visible_sql(viewer, &column, &mut |value| {
        values.push(value);
        // sea-query numbers `$n` on Postgres and takes `?` in order on SQLite.
        if postgres {
            format!("${}", values.len())
        } else {
            "?".to_string()
        }
    })?;
    Some(Expr::cust_with_values(sql, values))
}

/// Communities `viewer` may see, oldest first; `search` matches name or slug literally.
pub async fn list(
    state: &AppState,
    viewer: &Viewer,
    search: Option<String>,
    page: PageRequest,
) -> AppResult<Page<community::Model>> {
    let mut query = community::Entity::find().order_by_asc(community::Column::Id);
    if let Some(visible) = visible_condition(&state.db, viewer, community::Column::Id) {
        query = query.filter(visible);
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
