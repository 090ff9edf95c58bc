//! Appeals: the sanctioned user appeals a sanction once; a moderator of its community (an ADMIN
//! for a site-wide one) other than the one who issued it decides. Granting lifts the sanction
//! and restores the points it took.

use entity::appeal::{self, Status};
use entity::sanction;
use entity::user::Role;
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use super::{communities, input, memberships, sanctions};
use crate::auth::Viewer;
use crate::changes::SyncWriter;
use crate::error::{AppError, AppResult};
use crate::pagination::{Page, PageRequest, TimeOrder, after_time_key, time_key};
use crate::state::AppState;

/// Appeals a sanction of the caller's own (another's is NOT_FOUND). Once per sanction
/// (CONFLICT after); a lifted sanction has nothing left to appeal (CONFLICT).
pub async fn appeal(
    state: &AppState,
    viewer: &Viewer,
    sanction_id: Uuid,
    statement: &str,
) -> AppResult<appeal::Model> {
    let me = viewer.require_user()?.clone();
    let statement = input::text("statement", statement, 1, 2000)?;
    let txn = crate::db::begin_write(&state.db).await?;
    let sanction = sanction::Entity::find_by_id(sanction_id)
        .one(&txn)
        .await?
        .filter(|s| s.user_id == me.id)
        .ok_or_else(|| AppError::not_found("sanction"))?;
    if sanction.lifted_at.is_some() {
        return Err(AppError::Conflict(
            "this sanction was already lifted".into(),
        ));
    }
    let row = appeal::ActiveModel {
        id: Set(Uuid::now_v7()),
        sanction_id: Set(sanction.id),
        user_id: Set(me.id),
        statement: Set(statement),
        status: Set(Status::Pending),
        decided_by: Set(None),
        note: Set(None),
        created_at: Set(crate::clock::now()),
        decided_at: Set(None),
    }
    .insert(&txn)
    .await
    .map_err(|e| AppError::conflict_on_unique(e, "this sanction was already appealed"))?;
    let mut sync = SyncWriter::new();
    sync.appeal(&row);
    sync.commit(txn, state).await?;
    Ok(row)
}

/// Decides a PENDING appeal (CONFLICT once decided): a moderator of the sanction's community or
/// an ADMIN (ADMINs only for site-wide sanctions), never the one who issued the sanction
/// (FORBIDDEN). `grant` lifts the sanction and restores its points.
pub async fn decide(
    state: &AppState,
    viewer: &Viewer,
    appeal_id: Uuid,
    grant: bool,
    note: Option<String>,
) -> AppResult<(appeal::Model, sanction::Model)> {
    let me = viewer.require_user()?.clone();
    let note = note
        .map(|n| input::text("note", &n, 0, 2000))
        .transpose()?
        .filter(|n| !n.is_empty());
    let txn = crate::db::begin_write(&state.db).await?;
    let found = appeal::Entity::find_by_id(appeal_id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("appeal"))?;
    let sanction = sanction::Entity::find_by_id(found.sanction_id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::internal("an appeal without its sanction"))?;
    require_decider(&txn, viewer, &sanction).await?;
    if sanction.issued_by == me.id {
        return Err(AppError::Forbidden(
            "the moderator who issued a sanction cannot decide its appeal".into(),
        ));
    }
    if found.status != Status::Pending {
        return Err(AppError::Conflict("this appeal was already decided".into()));
    }
    let mut sync = SyncWriter::new();
    let sanction = if grant && sanction.lifted_at.is_none() {
        sanctions::lift(&txn, sanction, me.id, note.clone(), &mut sync).await?
    } else {
        sanction
    };
    let mut active: appeal::ActiveModel = found.into();
    active.status = Set(if grant {
        Status::Granted
    } else {
        Status::Denied
    });
    active.decided_by = Set(Some(me.id));
    active.note = Set(note);
    active.decided_at = Set(Some(crate::clock::now()));
    let decided = active.update(&txn).await?;
    sync.appeal(&decided);
    sync.commit(txn, state).await?;
    Ok((decided, sanction))
}

/// Who may decide appeals of `sanction`: a moderator of its community, or an ADMIN for a
/// site-wide one; hidden communities are NOT_FOUND.
async fn require_decider(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    sanction: &sanction::Model,
) -> AppResult<()> {
    match sanction.community_id {
        None => viewer
            .require_role(Role::Admin)
            .map(drop)
            .map_err(|_| AppError::Forbidden("site-wide appeals are for ADMINs".into())),
        Some(id) => {
            let community = communities::require_visible(db, viewer, id)
                .await
                .map_err(|_| AppError::not_found("appeal"))?;
            memberships::require_moderator(db, viewer, &community).await
        }
    }
}

/// PENDING appeals of a community's sanctions (or site-wide ones when `community_id` is None),
/// oldest first, for those who decide them.
pub async fn list_pending(
    state: &AppState,
    viewer: &Viewer,
    community_id: Option<Uuid>,
    page: PageRequest,
) -> AppResult<Page<appeal::Model>> {
    viewer.require_user()?;
    let mut sanctions = Query::select();
    sanctions
        .column(sanction::Column::Id)
        .from(sanction::Entity);
    match community_id {
        None => {
            viewer
                .require_role(Role::Admin)
                .map_err(|_| AppError::Forbidden("site-wide appeals are for ADMINs".into()))?;
            sanctions.and_where(sanction::Column::CommunityId.is_null());
        }
        Some(id) => {
            let community = communities::require_visible(&state.db, viewer, id).await?;
            memberships::require_moderator(&state.db, viewer, &community).await?;
            sanctions.and_where(sanction::Column::CommunityId.eq(community.id));
        }
    }
    let mut query = appeal::Entity::find()
        .filter(appeal::Column::Status.eq(Status::Pending))
        .filter(appeal::Column::SanctionId.in_subquery(sanctions.to_owned()))
        .order_by_asc(appeal::Column::CreatedAt)
        .order_by_asc(appeal::Column::Id);
    if let Some(after) = &page.after {
        query = query.filter(after_time_key(
            after,
            appeal::Column::CreatedAt,
            appeal::Column::Id,
            TimeOrder::OldestFirst,
        )?);
    }
    let rows = query.limit(page.limit + 1).all(&state.db).await?;
    Ok(Page::from_rows(rows, &page, |a| {
        time_key(a.created_at, a.id)
    }))
}

/// The appeals of `sanction_ids`, for loaders.
pub async fn for_sanctions(
    db: &impl ConnectionTrait,
    sanction_ids: &[Uuid],
) -> AppResult<Vec<appeal::Model>> {
    Ok(appeal::Entity::find()
        .filter(appeal::Column::SanctionId.is_in(sanction_ids.iter().copied()))
        .all(db)
        .await?)
}

/// Appeals by id (no visibility check).
pub async fn find_many(db: &impl ConnectionTrait, ids: &[Uuid]) -> AppResult<Vec<appeal::Model>> {
    Ok(appeal::Entity::find()
        .filter(appeal::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}
