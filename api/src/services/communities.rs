//! Communities and memberships: creating and updating communities, joining (PUBLIC at once,
//! PRIVATE by invitation or approval), leaving, member roles, and the visibility rule every
//! other service relies on — a PRIVATE community and everything in it is NOT_FOUND to anyone
//! who is not an ACTIVE member (STAFF and ADMIN see all).

use chrono::Utc;
use entity::community::{self, Visibility};
use entity::membership::{self, CommunityRole, MembershipStatus};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set,
};
use uuid::Uuid;

use crate::auth::{UserViewer, Viewer};
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
    if let Some(existing) = community::Entity::find_by_id(id).one(&txn).await? {
        txn.commit().await?;
        let same = existing.slug == slug
            && existing.name == name
            && existing.description == description
            && existing.visibility == input.visibility
            && existing.created_by == user.id;
        return if same {
            Ok(existing)
        } else {
            Err(AppError::Conflict(
                "a different community already has this id".into(),
            ))
        };
    }
    let now = Utc::now();
    let created = community::ActiveModel {
        id: Set(id),
        slug: Set(slug),
        name: Set(name),
        description: Set(description),
        visibility: Set(input.visibility),
        member_count: Set(1),
        created_by: Set(user.id),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|e| AppError::conflict_on_unique(e, "this slug is taken"))?;
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

/// The ids of the PRIVATE communities `user_id` is an ACTIVE member of.
pub async fn private_member_of(db: &impl ConnectionTrait, user_id: Uuid) -> AppResult<Vec<Uuid>> {
    let rows = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .filter(membership::Column::Status.eq(MembershipStatus::Active))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|m| m.community_id).collect())
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

/// Joins a community: PUBLIC at once; PRIVATE at once when invited, else as a request that a
/// moderator approves. Joining again returns the membership unchanged.
pub async fn join(
    state: &AppState,
    viewer: &Viewer,
    community_id: Uuid,
) -> AppResult<membership::Model> {
    let txn = crate::db::begin_write(&state.db).await?;
    let mut sync = SyncWriter::new();
    let membership = join_in(&txn, viewer, community_id, &mut sync).await?;
    sync.commit(txn, state).await?;
    Ok(membership)
}

/// [`join`] inside the caller's transaction.
pub async fn join_in(
    txn: &DatabaseTransaction,
    viewer: &Viewer,
    community_id: Uuid,
    sync: &mut SyncWriter,
) -> AppResult<membership::Model> {
    let user = viewer.require_user()?;
    let found = community::Entity::find_by_id(community_id)
        .one(txn)
        .await?
        .ok_or_else(|| AppError::not_found("community"))?;
    let existing = find_membership(txn, community_id, user.id).await?;
    let membership = match (found.visibility, existing) {
        (_, Some(m)) if m.status != MembershipStatus::Invited => return Ok(m),
        (_, Some(invited)) => activate(txn, invited).await?,
        (Visibility::Public, None) => {
            let created =
                insert_membership(txn, community_id, user.id, MembershipStatus::Active).await?;
            add_members(txn, community_id, 1).await?;
            created
        }
        (Visibility::Private, None) => {
            insert_membership(txn, community_id, user.id, MembershipStatus::Requested).await?
        }
    };
    record_membership(txn, sync, &membership, false).await?;
    Ok(membership)
}

/// Records a membership change and its community's (member count) for sync.
async fn record_membership(
    txn: &DatabaseTransaction,
    sync: &mut SyncWriter,
    membership: &membership::Model,
    removed: bool,
) -> AppResult<()> {
    sync.membership(membership, removed);
    if let Some(community) = community::Entity::find_by_id(membership.community_id)
        .one(txn)
        .await?
    {
        sync.community(&community);
    }
    Ok(())
}

/// Invites a user (MODERATOR/OWNER). A pending request becomes an ACTIVE membership.
pub async fn invite(
    state: &AppState,
    viewer: &Viewer,
    community_id: Uuid,
    user_id: Uuid,
) -> AppResult<membership::Model> {
    let txn = crate::db::begin_write(&state.db).await?;
    let found = require_visible(&txn, viewer, community_id).await?;
    require_moderator(&txn, viewer, &found).await?;
    super::users::require(&txn, user_id).await?;
    let membership = match find_membership(&txn, community_id, user_id).await? {
        Some(m) if m.status == MembershipStatus::Active => {
            return Err(AppError::Conflict("already a member".into()));
        }
        Some(m) if m.status == MembershipStatus::Requested => activate(&txn, m).await?,
        Some(invited) => invited,
        None => insert_membership(&txn, community_id, user_id, MembershipStatus::Invited).await?,
    };
    let mut sync = SyncWriter::new();
    record_membership(&txn, &mut sync, &membership, false).await?;
    sync.commit(txn, state).await?;
    Ok(membership)
}

/// Approves a pending request to join (MODERATOR/OWNER).
pub async fn approve(
    state: &AppState,
    viewer: &Viewer,
    community_id: Uuid,
    user_id: Uuid,
) -> AppResult<membership::Model> {
    let txn = crate::db::begin_write(&state.db).await?;
    let found = require_visible(&txn, viewer, community_id).await?;
    require_moderator(&txn, viewer, &found).await?;
    let request = find_membership(&txn, community_id, user_id)
        .await?
        .filter(|m| m.status == MembershipStatus::Requested)
        .ok_or_else(|| AppError::not_found("membership request"))?;
    let membership = activate(&txn, request).await?;
    let mut sync = SyncWriter::new();
    record_membership(&txn, &mut sync, &membership, false).await?;
    sync.commit(txn, state).await?;
    Ok(membership)
}

/// Leaves a community (or withdraws a request or invitation). The last OWNER cannot leave.
pub async fn leave(state: &AppState, viewer: &Viewer, community_id: Uuid) -> AppResult<bool> {
    let txn = crate::db::begin_write(&state.db).await?;
    let mut sync = SyncWriter::new();
    leave_in(&txn, viewer, community_id, &mut sync).await?;
    sync.commit(txn, state).await?;
    Ok(true)
}

/// [`leave`] inside the caller's transaction.
pub async fn leave_in(
    txn: &DatabaseTransaction,
    viewer: &Viewer,
    community_id: Uuid,
    sync: &mut SyncWriter,
) -> AppResult<()> {
    let user = viewer.require_user()?;
    let membership = find_membership(txn, community_id, user.id)
        .await?
        .ok_or_else(|| AppError::not_found("membership"))?;
    if membership.role == CommunityRole::Owner && owner_count(txn, community_id).await? <= 1 {
        return Err(AppError::Conflict(
            "the only owner cannot leave; make someone else OWNER first".into(),
        ));
    }
    let was_active = membership.status == MembershipStatus::Active;
    membership::Entity::delete_by_id(membership.id)
        .exec(txn)
        .await?;
    if was_active {
        add_members(txn, community_id, -1).await?;
    }
    record_membership(txn, sync, &membership, true).await?;
    Ok(())
}

/// Sets an ACTIVE member's role (OWNER only). The last OWNER cannot be demoted.
pub async fn set_member_role(
    state: &AppState,
    viewer: &Viewer,
    community_id: Uuid,
    user_id: Uuid,
    role: CommunityRole,
) -> AppResult<membership::Model> {
    let txn = crate::db::begin_write(&state.db).await?;
    let found = require_visible(&txn, viewer, community_id).await?;
    require_role_in(&txn, viewer, &found, CommunityRole::Owner).await?;
    let target = find_membership(&txn, community_id, user_id)
        .await?
        .filter(|m| m.status == MembershipStatus::Active)
        .ok_or_else(|| AppError::not_found("member"))?;
    if target.role == CommunityRole::Owner
        && role != CommunityRole::Owner
        && owner_count(&txn, community_id).await? <= 1
    {
        return Err(AppError::Conflict(
            "a community needs at least one OWNER".into(),
        ));
    }
    let mut active: membership::ActiveModel = target.into();
    active.role = Set(role);
    let updated = active.update(&txn).await?;
    let mut sync = SyncWriter::new();
    sync.membership(&updated, false);
    sync.commit(txn, state).await?;
    Ok(updated)
}

/// The membership of `user_id` in `community_id`, whatever its status.
pub async fn find_membership(
    db: &impl ConnectionTrait,
    community_id: Uuid,
    user_id: Uuid,
) -> AppResult<Option<membership::Model>> {
    Ok(membership::Entity::find()
        .filter(membership::Column::CommunityId.eq(community_id))
        .filter(membership::Column::UserId.eq(user_id))
        .one(db)
        .await?)
}

/// Memberships of one user in many communities, for loaders.
pub async fn memberships_of(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    community_ids: &[Uuid],
) -> AppResult<Vec<membership::Model>> {
    Ok(membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .filter(membership::Column::CommunityId.is_in(community_ids.iter().copied()))
        .all(db)
        .await?)
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

/// The caller as an ACTIVE member of `community` — posting, commenting and voting need it.
/// A signed-in non-member of a PUBLIC community is FORBIDDEN.
pub async fn require_member(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    community: &community::Model,
) -> AppResult<UserViewer> {
    require_role_in(db, viewer, community, CommunityRole::Member)
        .await
        .map(|(user, _)| user)
}

/// Whether the caller moderates `community` (MODERATOR, OWNER, or global STAFF/ADMIN).
pub async fn is_moderator(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    community_id: Uuid,
) -> AppResult<bool> {
    if viewer.is_staff() {
        return Ok(true);
    }
    let Some(user_id) = viewer.user_id() else {
        return Ok(false);
    };
    Ok(find_membership(db, community_id, user_id)
        .await?
        .is_some_and(|m| {
            m.status == MembershipStatus::Active && m.role >= CommunityRole::Moderator
        }))
}

async fn require_moderator(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    community: &community::Model,
) -> AppResult<()> {
    viewer.require_user()?;
    if viewer.is_staff() {
        return Ok(());
    }
    require_role_in(db, viewer, community, CommunityRole::Moderator)
        .await
        .map(|_| ())
}

async fn require_role_in(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    community: &community::Model,
    role: CommunityRole,
) -> AppResult<(UserViewer, membership::Model)> {
    let user = viewer.require_user()?.clone();
    let membership = find_membership(db, community.id, user.id)
        .await?
        .filter(|m| m.status == MembershipStatus::Active);
    match membership {
        Some(m) if m.role >= role => Ok((user, m)),
        Some(_) => Err(AppError::Forbidden(format!(
            "this needs the {} role in the community",
            role_name(role)
        ))),
        None if community.visibility == Visibility::Private && !viewer.is_staff() => {
            Err(AppError::not_found("community"))
        }
        None => Err(AppError::Forbidden("join the community first".into())),
    }
}

async fn insert_membership(
    db: &impl ConnectionTrait,
    community_id: Uuid,
    user_id: Uuid,
    status: MembershipStatus,
) -> AppResult<membership::Model> {
    let now = Utc::now();
    membership::ActiveModel {
        id: Set(Uuid::now_v7()),
        community_id: Set(community_id),
        user_id: Set(user_id),
        role: Set(CommunityRole::Member),
        status: Set(status),
        joined_at: Set((status == MembershipStatus::Active).then_some(now)),
        created_at: Set(now),
    }
    .insert(db)
    .await
    .map_err(|e| AppError::conflict_on_unique(e, "a membership already exists"))
}

async fn activate(
    db: &impl ConnectionTrait,
    membership: membership::Model,
) -> AppResult<membership::Model> {
    let community_id = membership.community_id;
    let mut active: membership::ActiveModel = membership.into();
    active.status = Set(MembershipStatus::Active);
    active.joined_at = Set(Some(Utc::now()));
    let updated = active.update(db).await?;
    add_members(db, community_id, 1).await?;
    Ok(updated)
}

async fn add_members(db: &impl ConnectionTrait, community_id: Uuid, delta: i32) -> AppResult<()> {
    community::Entity::update_many()
        .col_expr(
            community::Column::MemberCount,
            Expr::col(community::Column::MemberCount).add(delta),
        )
        .filter(community::Column::Id.eq(community_id))
        .exec(db)
        .await?;
    Ok(())
}

async fn owner_count(db: &impl ConnectionTrait, community_id: Uuid) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(membership::Entity::find()
        .filter(membership::Column::CommunityId.eq(community_id))
        .filter(membership::Column::Role.eq(CommunityRole::Owner))
        .filter(membership::Column::Status.eq(MembershipStatus::Active))
        .count(db)
        .await?)
}

fn role_name(role: CommunityRole) -> &'static str {
    match role {
        CommunityRole::Member => "MEMBER",
        CommunityRole::Moderator => "MODERATOR",
        CommunityRole::Owner => "OWNER",
    }
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

/// Trims `value` and checks its length in characters and that it has no control characters
/// but line breaks and tabs. Shared by every service that takes user text.
pub fn text(field: &str, value: &str, min: usize, max: usize) -> AppResult<String> {
    checked(field, value, min, max, true)
}

/// Like [`text`], for a single line (titles, names): no line breaks either.
pub fn line(field: &str, value: &str, min: usize, max: usize) -> AppResult<String> {
    checked(field, value, min, max, false)
}

fn checked(field: &str, value: &str, min: usize, max: usize, multiline: bool) -> AppResult<String> {
    let value = value.trim().to_string();
    let len = value.chars().count();
    if len < min || len > max {
        return Err(AppError::bad_input(
            field,
            format!("{field} must be {min}–{max} characters"),
        ));
    }
    let allowed = |c: char| multiline && matches!(c, '\n' | '\t' | '\r');
    if value.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(AppError::bad_input(
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(value)
}

/// Escapes `%`, `_` and `\` so user input in a LIKE pattern matches literally.
fn escape_like(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
