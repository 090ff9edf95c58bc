//! Sanctions: a community's MODERATOR or OWNER (or STAFF/ADMIN) mutes or bans a member there;
//! an ADMIN may do so site-wide. A sanction ends by itself at server time (`ends_at`), or
//! earlier when an appeal lifts it ([`super::appeals`]). While it runs, a MUTE stops the user
//! submitting, commenting, voting and casting ballots where it applies ([`require_unmuted`],
//! asked by `memberships::require_member`); a BAN also takes read access to a private community
//! and its sync scope (the clause [`active_ban_sql`] in the visibility rule and the held
//! scopes). Every sanction takes growth points by severity and is in the moderation log.

use chrono::{DateTime, Utc};
use entity::growth_event::Kind as GrowthKind;
use entity::membership::CommunityRole;
use entity::moderation_action::{Action, TargetType};
use entity::sanction::{self, Duration, Kind};
use entity::user::Role;
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::{communities, growth, input, memberships, moderation_log, users};
use crate::auth::Viewer;
use crate::changes::SyncWriter;
use crate::error::{AppError, AppResult};
use crate::pagination::{Page, PageRequest, TimeOrder, after_time_key, time_key};
use crate::state::AppState;

/// What `sanctionUser` asks for.
#[derive(Debug, Clone)]
pub struct NewSanction {
    /// None: site-wide (ADMIN only).
    pub community_id: Option<Uuid>,
    pub user_id: Uuid,
    pub kind: Kind,
    pub duration: Duration,
    pub reason: String,
}

/// How long a sanction of `duration` runs (None: until lifted).
pub fn length(duration: Duration) -> Option<chrono::Duration> {
    match duration {
        Duration::OneDay => Some(chrono::Duration::days(1)),
        Duration::SevenDays => Some(chrono::Duration::days(7)),
        Duration::FifteenDays => Some(chrono::Duration::days(15)),
        Duration::Permanent => None,
    }
}

/// The growth points a sanction takes: more for longer, twice as many for a BAN.
pub fn points_taken(kind: Kind, duration: Duration) -> i32 {
    let base = match duration {
        Duration::OneDay => 10,
        Duration::SevenDays => 30,
        Duration::FifteenDays => 60,
        Duration::Permanent => 150,
    };
    match kind {
        Kind::Mute => base,
        Kind::Ban => base * 2,
    }
}

/// Whether `row` is in force at `now`.
pub fn is_active(row: &sanction::Model, now: DateTime<Utc>) -> bool {
    row.lifted_at.is_none() && row.starts_at <= now && row.ends_at.is_none_or(|end| end > now)
}

/// Sanctions a user. A moderator may not sanction the community's OWNER, another MODERATOR or
/// the brand's people (FORBIDDEN), nor anyone site-wide; nobody sanctions themselves.
pub async fn issue(
    state: &AppState,
    viewer: &Viewer,
    input: NewSanction,
) -> AppResult<sanction::Model> {
    let me = viewer.require_user()?.clone();
    let reason = input::text("reason", &input.reason, 1, 2000)?;
    if input.user_id == me.id {
        return Err(AppError::bad_input(
            "userId",
            "you cannot sanction yourself",
        ));
    }
    let txn = crate::db::begin_write(&state.db).await?;
    let target = users::find(&txn, input.user_id)
        .await?
        .ok_or_else(|| AppError::not_found("user"))?;
    match input.community_id {
        None => {
            viewer
                .require_role(Role::Admin)
                .map_err(|_| AppError::Forbidden("site-wide sanctions are for ADMINs".into()))?;
        }
        Some(community_id) => {
            let community = communities::require_visible(&txn, viewer, community_id).await?;
            memberships::require_moderator(&txn, viewer, &community).await?;
            if !viewer.is_staff() {
                let protected = target.role != Role::Member
                    || memberships::find_membership(&txn, community.id, target.id)
                        .await?
                        .is_some_and(|m| m.role >= CommunityRole::Moderator);
                if protected {
                    return Err(AppError::Forbidden(
                        "a moderator cannot sanction an owner, another moderator or the brand's staff"
                            .into(),
                    ));
                }
            }
        }
    }
    let now = crate::clock::now();
    let row = sanction::ActiveModel {
        id: Set(Uuid::now_v7()),
        community_id: Set(input.community_id),
        user_id: Set(target.id),
        kind: Set(input.kind),
        duration: Set(input.duration),
        reason: Set(reason.clone()),
        starts_at: Set(now),
        ends_at: Set(length(input.duration).map(|d| now + d)),
        lifted_at: Set(None),
        issued_by: Set(me.id),
        points_taken: Set(points_taken(input.kind, input.duration)),
    }
    .insert(&txn)
    .await?;
    let mut sync = SyncWriter::new();
    growth::adjust(
        &txn,
        row.user_id,
        row.community_id,
        GrowthKind::Sanction,
        row.id,
        -row.points_taken,
        &mut sync,
    )
    .await?;
    moderation_log::record(
        &txn,
        moderation_log::Entry {
            community_id: row.community_id,
            moderator_id: me.id,
            action: match row.kind {
                Kind::Mute => Action::Mute,
                Kind::Ban => Action::Ban,
            },
            target_type: TargetType::User,
            target_id: row.user_id,
            reason: Some(reason),
            expires_at: row.ends_at,
        },
        now,
    )
    .await?;
    sync.sanction(&row);
    sync.commit(txn, state).await?;
    Ok(row)
}

/// Lifts `row` now (an appeal granted it), restoring the points it took, inside the caller's
/// transaction.
pub(super) async fn lift(
    txn: &DatabaseTransaction,
    row: sanction::Model,
    moderator_id: Uuid,
    note: Option<String>,
    sync: &mut SyncWriter,
) -> AppResult<sanction::Model> {
    let now = crate::clock::now();
    let mut active: sanction::ActiveModel = row.into();
    active.lifted_at = Set(Some(now));
    let lifted = active.update(txn).await?;
    growth::adjust(
        txn,
        lifted.user_id,
        lifted.community_id,
        GrowthKind::SanctionLifted,
        lifted.id,
        lifted.points_taken,
        sync,
    )
    .await?;
    moderation_log::record(
        txn,
        moderation_log::Entry {
            community_id: lifted.community_id,
            moderator_id,
            action: Action::Lift,
            target_type: TargetType::User,
            target_id: lifted.user_id,
            reason: note,
            expires_at: None,
        },
        now,
    )
    .await?;
    sync.sanction(&lifted);
    Ok(lifted)
}

/// The caller may act in `community_id` unless a MUTE or BAN there (or site-wide) is in force:
/// then FORBIDDEN (`Sanctioned`), saying until when.
pub async fn require_unmuted(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    community_id: Uuid,
) -> AppResult<()> {
    let now = crate::clock::now();
    let running: Vec<sanction::Model> = sanction::Entity::find()
        .filter(running_condition(user_id, community_id.into(), now))
        .all(db)
        .await?;
    if running.is_empty() {
        return Ok(());
    }
    let until = if running.iter().any(|s| s.ends_at.is_none()) {
        "permanently".to_string()
    } else {
        let end = running
            .iter()
            .filter_map(|s| s.ends_at)
            .max()
            .unwrap_or(now);
        format!("until {}", end.to_rfc3339())
    };
    let kind = if running.iter().any(|s| s.kind == Kind::Ban) {
        "banned"
    } else {
        "muted"
    };
    Err(AppError::Sanctioned(format!("you are {kind} here {until}")))
}

/// The sanctions of `user_id` running now where they apply to `community` (there or
/// site-wide; an id, or a column naming one in the enclosing statement), as a subquery: the
/// statements that read a membership ask whether there is one.
pub fn running(user_id: Uuid, community: impl Into<Expr>) -> SelectStatement {
    Query::select()
        .expr(Expr::val(1))
        .from(sanction::Entity)
        .cond_where(running_condition(
            user_id,
            community.into(),
            crate::clock::now(),
        ))
        .to_owned()
}

/// What [`is_active`] says of a row, for the sanctions of `user_id` that apply to
/// `community`, in SQL.
fn running_condition(user_id: Uuid, community: Expr, now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(sanction::Column::UserId.eq(user_id))
        .add(sanction::Column::LiftedAt.is_null())
        .add(sanction::Column::StartsAt.lte(now))
        .add(
            Condition::any()
                .add(sanction::Column::EndsAt.is_null())
                .add(sanction::Column::EndsAt.gt(now)),
        )
        .add(
            Condition::any()
                .add(sanction::Column::CommunityId.is_null())
                .add(Expr::col((sanction::Entity, sanction::Column::CommunityId)).eq(community)),
        )
}

/// SQL that is true while `user` (a placeholder) is banned where `community` (SQL naming a
/// community id) is, at `now` (a placeholder): the clause the visibility rule and the held
/// scopes add for members.
pub fn active_ban_sql(
    user: &str,
    community: &str,
    bind: &mut dyn FnMut(sea_orm::Value) -> String,
) -> String {
    let ban = bind(Kind::Ban.to_value().into());
    let now = crate::clock::now();
    let starts = bind(now.into());
    let ends = bind(now.into());
    format!(
        "EXISTS (SELECT 1 FROM sanction b WHERE b.user_id = {user} AND b.kind = {ban} \
         AND b.lifted_at IS NULL AND b.starts_at <= {starts} \
         AND (b.ends_at IS NULL OR b.ends_at > {ends}) \
         AND (b.community_id IS NULL OR b.community_id = {community}))"
    )
}

/// The communities `user_id` is banned from now, and whether a site-wide ban is in force.
pub async fn banned_from(db: &impl ConnectionTrait, user_id: Uuid) -> AppResult<(bool, Vec<Uuid>)> {
    let now = crate::clock::now();
    let bans: Vec<sanction::Model> = sanction::Entity::find()
        .filter(sanction::Column::UserId.eq(user_id))
        .filter(sanction::Column::Kind.eq(Kind::Ban))
        .filter(sanction::Column::LiftedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .filter(|s| is_active(s, now))
        .collect();
    let site_wide = bans.iter().any(|s| s.community_id.is_none());
    Ok((
        site_wide,
        bans.iter().filter_map(|s| s.community_id).collect(),
    ))
}

/// A user's sanctions, newest first: their own, or anyone's for STAFF/ADMIN.
pub async fn list_for_user(
    state: &AppState,
    viewer: &Viewer,
    user_id: Uuid,
    page: PageRequest,
) -> AppResult<Page<sanction::Model>> {
    let me = viewer.require_user()?;
    if me.id != user_id && !viewer.is_staff() {
        return Err(AppError::Forbidden(
            "sanctions are visible to their user only".into(),
        ));
    }
    let mut query = sanction::Entity::find()
        .filter(sanction::Column::UserId.eq(user_id))
        .order_by_desc(sanction::Column::StartsAt)
        .order_by_desc(sanction::Column::Id);
    if let Some(after) = &page.after {
        query = query.filter(after_time_key(
            after,
            sanction::Column::StartsAt,
            sanction::Column::Id,
            TimeOrder::NewestFirst,
        )?);
    }
    let rows = query.limit(page.limit + 1).all(&state.db).await?;
    Ok(Page::from_rows(rows, &page, |s| {
        time_key(s.starts_at, s.id)
    }))
}

/// Sanctions by id (no visibility check).
pub async fn find_many(db: &impl ConnectionTrait, ids: &[Uuid]) -> AppResult<Vec<sanction::Model>> {
    Ok(sanction::Entity::find()
        .filter(sanction::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}
