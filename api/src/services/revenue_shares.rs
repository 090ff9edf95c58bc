//! The revenue-share ledger: the payout flow (PENDING → APPROVED → PAID, or VOIDED with a
//! reversal), and reading records, statements and the finance export. Records are written by
//! the accrual of [`super::sales_reports`].
//!
//! Nothing else writes these tables. Records are append-only: only their status columns move,
//! under a row lock, all-or-nothing per call, each move in the audit log.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::audit_log::{Action, EntityType};
use entity::revenue_share_record::{self as record, Status};
use entity::sales_report;
use entity::user::Role;
use entity::{idea_reward, suggestion, user};
use sea_orm::ActiveEnum;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::audit::{self, Actor};
use super::input;
use super::sales_reports::find_reports;
use crate::auth::Viewer;
use crate::changes::SyncWriter;
use crate::error::{AppError, AppResult};
use crate::pagination::{Page, PageRequest, TimeOrder, after_time_key, time_key};
use crate::state::AppState;

/// Most records one approve or pay call may move.
pub const MAX_IDS: usize = 100;

/// Which records a read covers.
#[derive(Debug, Clone, Default)]
pub struct RecordFilter {
    pub beneficiary_id: Option<Uuid>,
    pub status: Option<Status>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// The sum of a beneficiary's records in one currency and status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Total {
    pub currency: String,
    pub status: Status,
    pub amount_minor: i64,
    pub count: i64,
}

/// A statement: which records it covers (to page through them with [`list`]) and their
/// totals.
#[derive(Debug, Clone)]
pub struct Statement {
    pub filter: RecordFilter,
    pub totals: Vec<Total>,
}

/// A record with what the finance export prints beside it.
#[derive(Debug, Clone)]
pub struct ExportRow {
    pub record: record::Model,
    pub beneficiary_handle: String,
    pub reward: Option<idea_reward::Model>,
    pub report: Option<sales_report::Model>,
}

/// The records a report accrued that `viewer` may see (ADMIN: all; a user: their own;
/// a partner: none — who earns what is private), oldest first.
pub async fn records_of_report(
    state: &AppState,
    viewer: &Viewer,
    report_id: Uuid,
) -> AppResult<Vec<record::Model>> {
    let query = record::Entity::find().filter(record::Column::SalesReportId.eq(report_id));
    let query = match viewer {
        Viewer::User(user) if user.role == Role::Admin => query,
        Viewer::User(user) => query.filter(record::Column::BeneficiaryId.eq(user.id)),
        _ => return Ok(Vec::new()),
    };
    Ok(query
        .order_by_asc(record::Column::CreatedAt)
        .order_by_asc(record::Column::Id)
        .all(&state.db)
        .await?)
}

/// How many records each report accrued (reversals excluded), for a loader; a report with
/// none is absent.
pub async fn accrued_counts(
    db: &impl ConnectionTrait,
    report_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, i64>> {
    let rows: Vec<(Uuid, i64)> = record::Entity::find()
        .select_only()
        .column(record::Column::SalesReportId)
        .column_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "count")
        .filter(record::Column::SalesReportId.is_in(report_ids.iter().copied()))
        .filter(record::Column::ReversalOf.is_null())
        .group_by(record::Column::SalesReportId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// PENDING → APPROVED for every record in `ids` (ADMIN), or nothing.
pub async fn approve(
    state: &AppState,
    viewer: &Viewer,
    ids: &[Uuid],
) -> AppResult<Vec<record::Model>> {
    transition(state, viewer, ids, Status::Pending, |row, now| {
        row.status = Set(Status::Approved);
        row.approved_at = Set(Some(now));
        (
            Action::Approved,
            json!({ "from": "PENDING", "to": "APPROVED" }),
        )
    })
    .await
}

/// APPROVED → PAID for every record in `ids` with the payout's reference (ADMIN), or nothing.
pub async fn mark_paid(
    state: &AppState,
    viewer: &Viewer,
    ids: &[Uuid],
    payout_reference: &str,
) -> AppResult<Vec<record::Model>> {
    let reference = input::line("payoutReference", payout_reference, 1, 200)?;
    transition(state, viewer, ids, Status::Approved, |row, now| {
        row.status = Set(Status::Paid);
        row.paid_at = Set(Some(now));
        row.payout_reference = Set(Some(reference.clone()));
        (
            Action::Paid,
            json!({ "from": "APPROVED", "to": "PAID", "payoutReference": reference }),
        )
    })
    .await
}

/// Voids a PENDING or APPROVED record (ADMIN) and writes its reversal: a VOIDED record of the
/// opposite amount pointing at it. Returns the reversal.
pub async fn void(
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
    reason: &str,
) -> AppResult<record::Model> {
    viewer.require_role(Role::Admin)?;
    let actor = Actor::of(viewer)?;
    let reason = input::text("reason", reason, 1, 500)?;
    let txn = crate::db::begin_write(&state.db).await?;
    let original = lock(&txn, &[id])
        .await?
        .pop()
        .ok_or_else(|| AppError::not_found("revenue share record"))?;
    if !matches!(original.status, Status::Pending | Status::Approved) {
        return Err(AppError::Conflict(format!(
            "record {id} is {}; only PENDING or APPROVED records can be voided",
            original.status.to_value()
        )));
    }
    let now = Utc::now();
    let from = original.status;
    let reversal = record::Model {
        id: Uuid::now_v7(),
        amount_minor: -original.amount_minor,
        status: Status::Voided,
        created_at: now,
        approved_at: None,
        paid_at: None,
        payout_reference: None,
        voided_at: Some(now),
        void_reason: Some(reason.clone()),
        reversal_of: Some(original.id),
        ..original.clone()
    };
    let mut active: record::ActiveModel = original.into();
    active.status = Set(Status::Voided);
    active.voided_at = Set(Some(now));
    active.void_reason = Set(Some(reason.clone()));
    active.update(&txn).await?;
    let reversal = record::ActiveModel::from(reversal).insert(&txn).await?;
    audit::record(
        &txn,
        actor,
        EntityType::RevenueShareRecord,
        id,
        Action::Voided,
        json!({
            "from": from.to_value(),
            "to": "VOIDED",
            "reason": reason,
            "reversalId": reversal.id,
        }),
        now,
    )
    .await?;
    audit::record(
        &txn,
        actor,
        EntityType::RevenueShareRecord,
        reversal.id,
        Action::Reversal,
        json!({ "reversalOf": id, "amountMinor": reversal.amount_minor, "reason": reason }),
        now,
    )
    .await?;
    let mut sync = SyncWriter::new();
    for row in record::Entity::find()
        .filter(record::Column::Id.is_in([id, reversal.id]))
        .all(&txn)
        .await?
    {
        record_for_sync(&txn, &mut sync, &row).await?;
    }
    sync.commit(txn, state).await?;
    Ok(reversal)
}

/// Moves every record of `ids` out of `from` with `apply`, or none: a missing id is NOT_FOUND,
/// a record in another status CONFLICT. The rows are locked first, so of two admins moving the
/// same records at once, the second sees the first's result.
async fn transition(
    state: &AppState,
    viewer: &Viewer,
    ids: &[Uuid],
    from: Status,
    apply: impl Fn(&mut record::ActiveModel, DateTime<Utc>) -> (Action, serde_json::Value),
) -> AppResult<Vec<record::Model>> {
    viewer.require_role(Role::Admin)?;
    let actor = Actor::of(viewer)?;
    if ids.is_empty() || ids.len() > MAX_IDS {
        return Err(AppError::bad_input("ids", "give 1–100 record ids"));
    }
    for (index, id) in ids.iter().enumerate() {
        if ids[..index].contains(id) {
            return Err(AppError::bad_input("ids", format!("{id} is listed twice")));
        }
    }
    let txn = crate::db::begin_write(&state.db).await?;
    let rows = lock(&txn, ids).await?;
    let wrong: Vec<String> = rows
        .iter()
        .filter(|row| row.status != from)
        .map(|row| format!("{} is {}", row.id, row.status.to_value()))
        .collect();
    if !wrong.is_empty() {
        return Err(AppError::Conflict(format!(
            "only {} records can move; nothing changed: {}",
            from.to_value(),
            wrong.join(", ")
        )));
    }
    let now = Utc::now();
    let mut moved = HashMap::new();
    let mut sync = SyncWriter::new();
    for row in rows {
        let id = row.id;
        let mut active: record::ActiveModel = row.into();
        let (action, details) = apply(&mut active, now);
        let updated = active.update(&txn).await?;
        record_for_sync(&txn, &mut sync, &updated).await?;
        moved.insert(id, updated);
        audit::record(
            &txn,
            actor,
            EntityType::RevenueShareRecord,
            id,
            action,
            details,
            now,
        )
        .await?;
    }
    sync.commit(txn, state).await?;
    Ok(ids.iter().filter_map(|id| moved.remove(id)).collect())
}

/// The community of each reward's suggestion (the `admin:` scope of its records).
pub(super) async fn communities_of(
    txn: &DatabaseTransaction,
    reward_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Uuid>> {
    let rewards = idea_reward::Entity::find()
        .filter(idea_reward::Column::Id.is_in(reward_ids.iter().copied()))
        .all(txn)
        .await?;
    let suggestions: HashMap<Uuid, Uuid> = suggestion::Entity::find()
        .filter(suggestion::Column::Id.is_in(rewards.iter().map(|r| r.suggestion_id)))
        .all(txn)
        .await?
        .into_iter()
        .map(|s| (s.id, s.community_id))
        .collect();
    Ok(rewards
        .into_iter()
        .filter_map(|r| suggestions.get(&r.suggestion_id).map(|c| (r.id, *c)))
        .collect())
}

async fn record_for_sync(
    txn: &DatabaseTransaction,
    sync: &mut SyncWriter,
    row: &record::Model,
) -> AppResult<()> {
    if let Some(community_id) = communities_of(txn, &[row.reward_id])
        .await?
        .get(&row.reward_id)
    {
        sync.revenue_share(row, *community_id);
    }
    Ok(())
}

/// Locks the records of `ids` in id order (so two callers never deadlock); NOT_FOUND names
/// any id that does not exist.
async fn lock(txn: &DatabaseTransaction, ids: &[Uuid]) -> AppResult<Vec<record::Model>> {
    let rows = record::Entity::find()
        .filter(record::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(record::Column::Id)
        .lock_exclusive()
        .all(txn)
        .await?;
    if let Some(missing) = ids.iter().find(|id| !rows.iter().any(|r| r.id == **id)) {
        return Err(AppError::NotFound(format!(
            "revenue share record {missing} not found"
        )));
    }
    Ok(rows)
}

/// Which beneficiary `viewer` may read: an ADMIN anyone (or everyone, with no id); a user only
/// themself (no id means themself; another id is FORBIDDEN); partners no one.
pub fn readable_beneficiary(viewer: &Viewer, requested: Option<Uuid>) -> AppResult<Option<Uuid>> {
    let user = viewer.require_user()?;
    if user.role == Role::Admin {
        return Ok(requested);
    }
    match requested {
        None => Ok(Some(user.id)),
        Some(id) if id == user.id => Ok(Some(id)),
        Some(_) => Err(AppError::Forbidden(
            "members see only their own revenue shares".into(),
        )),
    }
}

/// A page of records, newest first (`order`) or oldest first, as `filter` and the viewer's
/// rights allow.
pub async fn list(
    state: &AppState,
    viewer: &Viewer,
    mut filter: RecordFilter,
    order: TimeOrder,
    page: &PageRequest,
) -> AppResult<Page<record::Model>> {
    filter.beneficiary_id = readable_beneficiary(viewer, filter.beneficiary_id)?;
    let mut query = filtered(&filter);
    if let Some(after) = &page.after {
        query = query.filter(after_time_key(
            after,
            record::Column::CreatedAt,
            record::Column::Id,
            order,
        )?);
    }
    let query = match order {
        TimeOrder::NewestFirst => query
            .order_by_desc(record::Column::CreatedAt)
            .order_by_desc(record::Column::Id),
        TimeOrder::OldestFirst => query
            .order_by_asc(record::Column::CreatedAt)
            .order_by_asc(record::Column::Id),
    };
    let rows = query.limit(page.limit + 1).all(&state.db).await?;
    Ok(Page::from_rows(rows, page, |row| {
        time_key(row.created_at, row.id)
    }))
}

/// A beneficiary's records created in `[from, to)` and their totals per currency and status
/// (same access as [`list`]; no beneficiary means the viewer, or everyone for an ADMIN).
pub async fn statement(
    state: &AppState,
    viewer: &Viewer,
    beneficiary_id: Option<Uuid>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> AppResult<Statement> {
    if let (Some(from), Some(to)) = (from, to)
        && to <= from
    {
        return Err(AppError::bad_input("to", "to must be after from"));
    }
    let filter = RecordFilter {
        beneficiary_id: readable_beneficiary(viewer, beneficiary_id)?,
        status: None,
        from,
        to,
    };
    let rows: Vec<(String, Status, i64, i64)> = filtered(&filter)
        .select_only()
        .column(record::Column::Currency)
        .column(record::Column::Status)
        .column_as(
            Expr::cust("CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT)"),
            "amount",
        )
        .column_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "count")
        .group_by(record::Column::Currency)
        .group_by(record::Column::Status)
        .into_tuple()
        .all(&state.db)
        .await?;
    let mut totals: Vec<Total> = rows
        .into_iter()
        .map(|(currency, status, amount_minor, count)| Total {
            currency,
            status,
            amount_minor,
            count,
        })
        .collect();
    totals.sort_by(|a, b| a.currency.cmp(&b.currency).then(a.status.cmp(&b.status)));
    Ok(Statement { filter, totals })
}

/// Records by id, for a reversal's original (no permission check: reached from a visible
/// record of the same beneficiary).
pub async fn find_records(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> AppResult<Vec<record::Model>> {
    Ok(record::Entity::find()
        .filter(record::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}

/// One page of the finance export (ADMIN), oldest first, with each record's beneficiary
/// handle, reward and report.
pub async fn export_page(
    state: &AppState,
    viewer: &Viewer,
    filter: RecordFilter,
    page: &PageRequest,
) -> AppResult<Page<ExportRow>> {
    viewer.require_role(Role::Admin)?;
    let records = list(state, viewer, filter, TimeOrder::OldestFirst, page).await?;
    let distinct = |ids: Vec<Uuid>| {
        let mut ids = ids;
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    let rows = || records.items.iter().map(|(_, r)| r);
    let users: HashMap<Uuid, String> = user::Entity::find()
        .filter(user::Column::Id.is_in(distinct(rows().map(|r| r.beneficiary_id).collect())))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.handle))
        .collect();
    let rewards: HashMap<Uuid, idea_reward::Model> = idea_reward::Entity::find()
        .filter(idea_reward::Column::Id.is_in(distinct(rows().map(|r| r.reward_id).collect())))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    let reports: HashMap<Uuid, sales_report::Model> = find_reports(
        &state.db,
        &distinct(rows().map(|r| r.sales_report_id).collect()),
    )
    .await?
    .into_iter()
    .map(|r| (r.id, r))
    .collect();
    Ok(Page {
        has_next_page: records.has_next_page,
        has_previous_page: records.has_previous_page,
        items: records
            .items
            .into_iter()
            .map(|(cursor, record)| {
                let row = ExportRow {
                    beneficiary_handle: users
                        .get(&record.beneficiary_id)
                        .cloned()
                        .unwrap_or_default(),
                    reward: rewards.get(&record.reward_id).cloned(),
                    report: reports.get(&record.sales_report_id).cloned(),
                    record,
                };
                (cursor, row)
            })
            .collect(),
    })
}

fn filtered(filter: &RecordFilter) -> Select<record::Entity> {
    let mut query = record::Entity::find();
    if let Some(beneficiary) = filter.beneficiary_id {
        query = query.filter(record::Column::BeneficiaryId.eq(beneficiary));
    }
    if let Some(status) = filter.status {
        query = query.filter(record::Column::Status.eq(status));
    }
    if let Some(from) = filter.from {
        query = query.filter(record::Column::CreatedAt.gte(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(record::Column::CreatedAt.lt(to));
    }
    query
}
