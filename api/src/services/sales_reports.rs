//! Sales reports (partners with `sales:write`, or ADMINs) and their accrual: each report writes,
//! in its own transaction, one PENDING revenue-share record per contributor of every idea reward
//! active on its product line. What happens to the records afterwards is
//! [`super::revenue_shares`].

use chrono::{DateTime, SubsecRound, Utc};
use entity::audit_log::{Action, EntityType};
use entity::revenue_share_record::{self as record, Status};
use entity::sales_report;
use futures_util::TryFutureExt;
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

use super::audit::{self, Actor};
use super::idempotency::{Created, create_once};
use super::revenue_shares::communities_of;
use super::{dividend_math, idea_rewards, input, money};
use crate::auth::Viewer;
use crate::changes::SyncWriter;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// What `reportSales` asks for.
#[derive(Debug, Clone)]
pub struct NewReport {
    pub external_id: String,
    pub product_line: String,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub net_sales: Decimal,
    pub currency: String,
}

/// Records a sales report and accrues it, in one transaction. Idempotent on (reporter,
/// `externalId`): the same report again returns the stored one and writes nothing; another
/// payload under a used key is CONFLICT.
pub async fn report(
    state: &AppState,
    viewer: &Viewer,
    input: NewReport,
) -> AppResult<sales_report::Model> {
    viewer.require_scope("sales:write", true)?;
    let actor = Actor::of(viewer)?;
    let external_id = input::line("externalId", &input.external_id, 1, 200)?;
    let product_line = input::line("productLine", &input.product_line, 1, 100)?;
    let (currency, digits) = money::currency("currency", &input.currency)?;
    let net_sales_minor = money::input_minor("netSales", input.net_sales, digits)?;
    let period_start = input.period_start.trunc_subsecs(6);
    let period_end = input.period_end.trunc_subsecs(6);
    if period_end <= period_start {
        return Err(AppError::bad_input(
            "periodEnd",
            "periodEnd must be after periodStart",
        ));
    }
    let now = Utc::now();
    let candidate = sales_report::Model {
        id: Uuid::now_v7(),
        reporter_kind: actor.kind,
        reporter_id: actor.id,
        external_id,
        product_line,
        period_start,
        period_end,
        net_sales_minor,
        currency,
        created_at: now,
    };

    let txn = crate::db::begin_write(&state.db).await?;
    let stored = || {
        sales_report::Entity::find()
            .filter(sales_report::Column::ReporterKind.eq(actor.kind))
            .filter(sales_report::Column::ReporterId.eq(actor.id))
            .filter(sales_report::Column::ExternalId.eq(candidate.external_id.as_str()))
            .one(&txn)
            .map_err(AppError::from)
    };
    let same = |found: &sales_report::Model| {
        found.product_line == candidate.product_line
            && found.period_start == candidate.period_start
            && found.period_end == candidate.period_end
            && found.net_sales_minor == candidate.net_sales_minor
            && found.currency == candidate.currency
    };
    let candidate = match create_once::<sales_report::Entity, _, _>(
        &txn,
        sales_report::ActiveModel::from(candidate.clone()),
        [
            sales_report::Column::ReporterKind,
            sales_report::Column::ReporterId,
            sales_report::Column::ExternalId,
        ],
        stored,
        same,
        "this externalId was already reported with other figures",
        None,
    )
    .await?
    {
        Created::New(created) => created,
        Created::Replayed(stored) => return Ok(txn.answer(stored).await?),
    };
    audit::record(
        &txn,
        actor,
        EntityType::SalesReport,
        candidate.id,
        Action::Reported,
        json!({
            "externalId": candidate.external_id,
            "productLine": candidate.product_line,
            "periodStart": candidate.period_start,
            "periodEnd": candidate.period_end,
            "netSales": money::from_minor(candidate.net_sales_minor, digits).to_string(),
            "currency": candidate.currency,
        }),
        now,
    )
    .await?;
    let mut sync = SyncWriter::new();
    accrue(&txn, actor, &candidate, now, &mut sync).await?;
    sync.commit(txn, state).await?;
    Ok(candidate)
}

/// Writes one PENDING record per contributor of every reward accruing on `report`: the pool
/// rounded half-even, split by largest remainder so the records sum to the pool exactly.
async fn accrue(
    txn: &DatabaseTransaction,
    actor: Actor,
    report: &sales_report::Model,
    now: DateTime<Utc>,
    sync: &mut SyncWriter,
) -> AppResult<()> {
    let rewards = idea_rewards::accruing(
        txn,
        &report.product_line,
        &report.currency,
        report.period_start,
    )
    .await?;
    let communities =
        communities_of(txn, &rewards.iter().map(|r| r.model.id).collect::<Vec<_>>()).await?;
    let mut records = Vec::new();
    for reward in rewards {
        let pool = dividend_math::pool(report.net_sales_minor, reward.model.share_bps)
            .ok_or_else(|| AppError::internal("a validated report overflowed its pool"))?;
        let weights: Vec<i32> = reward.contributors.iter().map(|c| c.weight_bps).collect();
        let parts = dividend_math::split(pool, &weights);
        for (contributor, amount) in reward.contributors.iter().zip(parts) {
            let row = record::Model {
                id: Uuid::now_v7(),
                reward_id: reward.model.id,
                sales_report_id: report.id,
                beneficiary_id: contributor.user_id,
                amount_minor: amount,
                currency: report.currency.clone(),
                status: Status::Pending,
                created_at: now,
                approved_at: None,
                paid_at: None,
                payout_reference: None,
                voided_at: None,
                void_reason: None,
                reversal_of: None,
            };
            audit::record(
                txn,
                actor,
                EntityType::RevenueShareRecord,
                row.id,
                Action::Accrued,
                json!({
                    "rewardId": reward.model.id,
                    "salesReportId": report.id,
                    "beneficiaryId": contributor.user_id,
                    "shareBps": reward.model.share_bps,
                    "weightBps": contributor.weight_bps,
                    "poolMinor": pool,
                    "amountMinor": amount,
                    "currency": report.currency,
                }),
                now,
            )
            .await?;
            if let Some(community_id) = communities.get(&row.reward_id) {
                sync.revenue_share(&row, *community_id);
            }
            records.push(record::ActiveModel::from(row));
        }
    }
    if !records.is_empty() {
        record::Entity::insert_many(records)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

/// A report by id, for the records that point at it (no permission check).
pub async fn find_reports(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> AppResult<Vec<sales_report::Model>> {
    Ok(sales_report::Entity::find()
        .filter(sales_report::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}
