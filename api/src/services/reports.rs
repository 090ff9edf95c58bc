//! Reports: an ACTIVE member reports a suggestion, a comment or a user of a community (one open
//! report per reporter and target); the community's moderators work the queue and dismiss a
//! report or hide the content. Hidden content disappears from listings, search, comment pages,
//! subscriptions and sync for everyone but its author and the community's moderators (and the
//! brand's STAFF/ADMIN); the moderation log says it was hidden, never who reported it.

use entity::content_report::{self, Status, TargetType};
use entity::moderation_action::Action;
use entity::{comment, suggestion};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use super::{communities, input, memberships, moderation_log, users};
use crate::auth::Viewer;
use crate::changes::{EntityKind, Op, Scope, SyncWriter};
use crate::error::{AppError, AppResult};
use crate::pagination::{Page, PageRequest, TimeOrder, after_time_key, time_key};
use crate::state::AppState;

/// What `reportContent` asks for.
#[derive(Debug, Clone)]
pub struct NewReport {
    pub target_type: TargetType,
    pub target_id: Uuid,
    /// Required for a USER target: the community where they misbehaved.
    pub community_id: Option<Uuid>,
    pub reason: String,
}

/// What a moderator does with a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    Dismiss,
    HideContent,
}

/// Reports content or a user. The reporter must be an ACTIVE member of its community; one's
/// own content is not reported (BAD_USER_INPUT), and a second open report of the same target
/// by the same reporter is CONFLICT.
pub async fn report(
    state: &AppState,
    viewer: &Viewer,
    input: NewReport,
) -> AppResult<content_report::Model> {
    let me = viewer.require_user()?.clone();
    let reason = input::text("reason", &input.reason, 1, 2000)?;
    let txn = crate::db::begin_write(&state.db).await?;
    let (community_id, owner_id) = match input.target_type {
        TargetType::Suggestion => {
            let found = super::suggestions::require_visible(&txn, viewer, input.target_id).await?;
            (found.community_id, found.author_id)
        }
        TargetType::Comment => {
            let found = comment::Entity::find_by_id(input.target_id)
                .filter(comment::Column::DeletedAt.is_null())
                .one(&txn)
                .await?
                .ok_or_else(|| AppError::not_found("comment"))?;
            let parent = super::suggestions::require_visible(&txn, viewer, found.suggestion_id)
                .await
                .map_err(|_| AppError::not_found("comment"))?;
            (parent.community_id, found.author_id)
        }
        TargetType::User => {
            let community_id = input.community_id.ok_or_else(|| {
                AppError::bad_input("communityId", "a report of a user names the community")
            })?;
            let user = users::find(&txn, input.target_id)
                .await?
                .ok_or_else(|| AppError::not_found("user"))?;
            (community_id, user.id)
        }
    };
    if owner_id == me.id {
        return Err(AppError::bad_input(
            "targetId",
            "you cannot report yourself",
        ));
    }
    let community = communities::require_visible(&txn, viewer, community_id).await?;
    memberships::require_member(&txn, viewer, &community).await?;
    let target = sea_orm::ActiveEnum::to_value(&input.target_type);
    let row = content_report::ActiveModel {
        id: Set(Uuid::now_v7()),
        community_id: Set(community.id),
        reporter_id: Set(me.id),
        target_type: Set(input.target_type),
        target_id: Set(input.target_id),
        reason: Set(reason),
        status: Set(Status::Open),
        open_key: Set(Some(format!("{}:{target}:{}", me.id, input.target_id))),
        resolved_by: Set(None),
        resolved_at: Set(None),
        created_at: Set(crate::clock::now()),
    }
    .insert(&txn)
    .await
    .map_err(|e| AppError::conflict_on_unique(e, "you already reported this"))?;
    txn.commit().await?;
    Ok(row)
}

/// A community's OPEN reports, oldest first (its moderators and STAFF/ADMIN).
pub async fn queue(
    state: &AppState,
    viewer: &Viewer,
    community_id: Uuid,
    page: PageRequest,
) -> AppResult<Page<content_report::Model>> {
    let community = communities::require_visible(&state.db, viewer, community_id).await?;
    memberships::require_moderator(&state.db, viewer, &community).await?;
    let mut query = content_report::Entity::find()
        .filter(content_report::Column::CommunityId.eq(community.id))
        .filter(content_report::Column::Status.eq(Status::Open))
        .order_by_asc(content_report::Column::CreatedAt)
        .order_by_asc(content_report::Column::Id);
    if let Some(after) = &page.after {
        query = query.filter(after_time_key(
            after,
            content_report::Column::CreatedAt,
            content_report::Column::Id,
            TimeOrder::OldestFirst,
        )?);
    }
    let rows = query.limit(page.limit + 1).all(&state.db).await?;
    Ok(Page::from_rows(rows, &page, |r| {
        time_key(r.created_at, r.id)
    }))
}

/// Resolves an OPEN report (CONFLICT otherwise) as a moderator of its community. HIDE_CONTENT
/// hides the suggestion or comment (a USER report is resolved with `sanctionUser`, so hiding
/// one is BAD_USER_INPUT) and closes every open report of the same target with it.
pub async fn resolve(
    state: &AppState,
    viewer: &Viewer,
    report_id: Uuid,
    resolution: Resolution,
) -> AppResult<content_report::Model> {
    let me = viewer.require_user()?.clone();
    let txn = crate::db::begin_write(&state.db).await?;
    let found = content_report::Entity::find_by_id(report_id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("report"))?;
    let community = communities::require_visible(&txn, viewer, found.community_id)
        .await
        .map_err(|_| AppError::not_found("report"))?;
    memberships::require_moderator(&txn, viewer, &community).await?;
    if found.status != Status::Open {
        return Err(AppError::Conflict(
            "this report was already resolved".into(),
        ));
    }
    let now = crate::clock::now();
    let mut sync = SyncWriter::new();
    let status = match resolution {
        Resolution::Dismiss => Status::Dismissed,
        Resolution::HideContent => {
            hide(&txn, &found, &mut sync).await?;
            moderation_log::record(
                &txn,
                moderation_log::Entry {
                    community_id: Some(community.id),
                    moderator_id: me.id,
                    action: Action::HideContent,
                    target_type: found.target_type,
                    target_id: found.target_id,
                    reason: None,
                    expires_at: None,
                },
                now,
            )
            .await?;
            Status::Actioned
        }
    };
    let mut closing = content_report::Entity::update_many()
        .col_expr(
            content_report::Column::Status,
            sea_orm::sea_query::Expr::value(sea_orm::ActiveEnum::to_value(&status)),
        )
        .col_expr(
            content_report::Column::OpenKey,
            sea_orm::sea_query::Expr::value(Option::<String>::None),
        )
        .col_expr(
            content_report::Column::ResolvedBy,
            sea_orm::sea_query::Expr::value(me.id),
        )
        .col_expr(
            content_report::Column::ResolvedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(content_report::Column::Status.eq(Status::Open));
    closing = if status == Status::Actioned {
        closing
            .filter(content_report::Column::TargetType.eq(found.target_type))
            .filter(content_report::Column::TargetId.eq(found.target_id))
    } else {
        closing.filter(content_report::Column::Id.eq(found.id))
    };
    closing.exec(&txn).await?;
    let resolved = content_report::Entity::find_by_id(found.id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::internal("a resolved report vanished"))?;
    sync.commit(txn, state).await?;
    if found.target_type == TargetType::Suggestion && status == Status::Actioned {
        state
            .events
            .suggestion_updated(&state.db, found.target_id)
            .await;
    }
    Ok(resolved)
}

/// Hides the reported suggestion or comment: gone from every device of the community (a
/// tombstone in its scope) and from every read but its author's and the moderators'.
async fn hide(
    db: &impl ConnectionTrait,
    report: &content_report::Model,
    sync: &mut SyncWriter,
) -> AppResult<()> {
    let now = crate::clock::now();
    let scope = Scope::Community(report.community_id);
    match report.target_type {
        TargetType::Suggestion => {
            suggestion::Entity::update_many()
                .col_expr(
                    suggestion::Column::HiddenAt,
                    sea_orm::sea_query::Expr::value(now),
                )
                .filter(suggestion::Column::Id.eq(report.target_id))
                .filter(suggestion::Column::HiddenAt.is_null())
                .exec(db)
                .await?;
            sync.record(scope, EntityKind::Suggestion, report.target_id, Op::Delete);
        }
        TargetType::Comment => {
            comment::Entity::update_many()
                .col_expr(
                    comment::Column::HiddenAt,
                    sea_orm::sea_query::Expr::value(now),
                )
                .filter(comment::Column::Id.eq(report.target_id))
                .filter(comment::Column::HiddenAt.is_null())
                .exec(db)
                .await?;
            sync.record(scope, EntityKind::Comment, report.target_id, Op::Delete);
        }
        TargetType::User => {
            return Err(AppError::bad_input(
                "action",
                "a user is not hidden: sanction them with sanctionUser",
            ));
        }
    }
    Ok(())
}

/// [`visible_unless_hidden_sql`] as a filter on an entity's rows: `table` is the entity's table
/// name, `community` SQL naming the row's community id.
pub fn visible_unless_hidden_condition(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    table: &str,
    community: &str,
) -> Option<sea_orm::sea_query::SimpleExpr> {
    let postgres = db.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
    let mut values = Vec::new();
    let sql = visible_unless_hidden_sql(viewer, table, community, &mut |value| {
        values.push(value);
        // sea-query numbers `$n` on Postgres and takes `?` in order on SQLite.
        if postgres {
            format!("${}", values.len())
        } else {
            "?".to_string()
        }
    })?;
    Some(sea_orm::sea_query::Expr::cust_with_values(sql, values))
}

/// The rule for hidden content, written once: SQL that is true when `viewer` may see a row of
/// `table` (an alias with `hidden_at`, `author_id` and a community id in `community`) — it is
/// not hidden, or the viewer wrote it or moderates its community. None: STAFF/ADMIN see all.
pub fn visible_unless_hidden_sql(
    viewer: &Viewer,
    table: &str,
    community: &str,
    bind: &mut dyn FnMut(sea_orm::Value) -> String,
) -> Option<String> {
    if viewer.is_staff() {
        return None;
    }
    let Some(user_id) = viewer.user_id() else {
        return Some(format!("{table}.hidden_at IS NULL"));
    };
    let author = bind(user_id.into());
    let moderator = bind(user_id.into());
    let active =
        bind(sea_orm::ActiveEnum::to_value(&entity::membership::MembershipStatus::Active).into());
    let member =
        bind(sea_orm::ActiveEnum::to_value(&entity::membership::CommunityRole::Member).into());
    Some(format!(
        "({table}.hidden_at IS NULL OR {table}.author_id = {author} OR {community} IN \
         (SELECT hm.community_id FROM membership hm WHERE hm.user_id = {moderator} \
         AND hm.status = {active} AND hm.role <> {member}))"
    ))
}
