//! Memberships: joining a community (PUBLIC at once, PRIVATE by invitation or approval),
//! leaving, invitations and requests, member roles, and the role checks other services ask
//! for (`require_member`, `is_moderator`).

use entity::community::{self, Visibility};
use entity::membership::{self, CommunityRole, MembershipStatus};
use sea_orm::ActiveEnum;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    FromQueryResult, QueryFilter, QuerySelect, Set,
};
use uuid::Uuid;

use super::communities::require_visible;
use super::sanctions;
use crate::auth::{UserViewer, Viewer};
use crate::changes::SyncWriter;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

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

/// The caller as an ACTIVE member of `community` who is not muted or banned there — posting,
/// commenting, voting and ballots need it. A signed-in non-member of a PUBLIC community is
/// FORBIDDEN; a sanctioned member is FORBIDDEN with the sanction's end.
pub async fn require_member(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    community: &community::Model,
) -> AppResult<UserViewer> {
    let user = viewer.require_user()?;
    let standing = membership::Entity::find()
        .filter(membership::Column::CommunityId.eq(community.id))
        .filter(membership::Column::UserId.eq(user.id))
        .column_as(
            Expr::exists(sanctions::running(user.id, community.id)),
            "sanctioned",
        )
        .into_model::<Standing>()
        .one(db)
        .await?;
    let (membership, sanctioned) =
        standing.map_or((None, false), |s| (Some(s.membership), s.sanctioned));
    judge_member(db, viewer, community, membership, sanctioned).await
}

/// [`require_member`]'s rule over a membership already read, with whether a sanction runs
/// against its user there (`sanctions::running`), e.g. in the statement that locked what the
/// member acts on. The sanctions themselves are read only when one runs, to word the refusal.
pub async fn judge_member(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    community: &community::Model,
    membership: Option<membership::Model>,
    sanctioned: bool,
) -> AppResult<UserViewer> {
    let user = viewer.require_user()?.clone();
    check_role(viewer, community, membership, CommunityRole::Member)?;
    if sanctioned {
        sanctions::require_unmuted(db, user.id, community.id).await?;
    }
    Ok(user)
}

/// A membership and whether a sanction runs against its user where it is, read in one
/// statement by [`require_member`].
#[derive(FromQueryResult)]
struct Standing {
    #[sea_orm(nested)]
    membership: membership::Model,
    sanctioned: bool,
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

pub async fn require_moderator(
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
    let membership = find_membership(db, community.id, user.id).await?;
    let membership = check_role(viewer, community, membership, role)?;
    Ok((user, membership))
}

/// Whether `membership` (the caller's in `community`, if any) is ACTIVE with at least `role`:
/// FORBIDDEN otherwise, or NOT_FOUND for a PRIVATE community the caller is not in.
fn check_role(
    viewer: &Viewer,
    community: &community::Model,
    membership: Option<membership::Model>,
    role: CommunityRole,
) -> AppResult<membership::Model> {
    match membership.filter(|m| m.status == MembershipStatus::Active) {
        Some(m) if m.role >= role => Ok(m),
        Some(_) => Err(AppError::Forbidden(format!(
            "this needs the {} role in the community",
            role.to_value()
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
    let now = crate::clock::now();
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
    active.joined_at = Set(Some(crate::clock::now()));
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
