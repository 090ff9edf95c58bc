//! Idea dividends in GraphQL: `IdeaReward`, `SalesReport`, `RevenueShareRecord` and statements;
//! adopting ideas and ending rewards, reporting sales, and the payout flow.

use async_graphql::connection::Connection;
use async_graphql::{
    ComplexObject, Context, Enum, ErrorExtensions, ID, InputObject, Object, ResultExt, SimpleObject,
};
use chrono::{DateTime, Utc};
use entity::revenue_share_record::{self as record};
use entity::sales_report;
use rust_decimal::Decimal;

use super::connection::from_page;
use super::money::Money;
use super::suggestions::Suggestion;
use super::users::User;
use super::{loaders, parse_id, parse_optional_id, parts};
use crate::error::AppError;
use crate::pagination::{PageRequest, TimeOrder};
use crate::services::idea_rewards::{self, NewReward, Reward};
use crate::services::revenue_shares::{self, RecordFilter};
use crate::services::sales_reports::{self, NewReport};

/// Whether a reward still accrues on new periods.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum IdeaRewardStatus {
    /// The window is open (no end, or an end in the future).
    Active,
    /// The window has closed; reports for periods inside it still accrue.
    Ended,
}

/// Where a record stands in the payout flow.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(
    name = "RevenueShareStatus",
    remote = "entity::revenue_share_record::Status"
)]
pub enum StatusValue {
    Pending,
    Approved,
    Paid,
    /// Voided, or the reversal of a voided record.
    Voided,
}

/// An adopted idea's share of its product line's net sales.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct IdeaReward {
    pub id: ID,
    pub product_line: String,
    /// Basis points of net sales (100 = 1%).
    pub share_bps: i32,
    pub currency: String,
    pub starts_at: DateTime<Utc>,
    /// Exclusive; null while open-ended.
    pub ends_at: Option<DateTime<Utc>>,
    pub status: IdeaRewardStatus,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub reward: Reward,
}

impl From<Reward> for IdeaReward {
    fn from(reward: Reward) -> Self {
        let model = &reward.model;
        IdeaReward {
            id: ID(model.id.to_string()),
            product_line: model.product_line.clone(),
            share_bps: model.share_bps,
            currency: model.currency.clone(),
            starts_at: model.starts_at,
            ends_at: model.ends_at,
            status: if idea_rewards::is_active(model, Utc::now()) {
                IdeaRewardStatus::Active
            } else {
                IdeaRewardStatus::Ended
            },
            created_at: model.created_at,
            reward,
        }
    }
}

#[ComplexObject]
impl IdeaReward {
    /// The adopted suggestion; null when the viewer may not see its community.
    async fn suggestion(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Suggestion>> {
        let found = loaders(ctx)?
            .suggestions
            .load_one(self.reward.model.suggestion_id)
            .await
            .extend()?;
        Ok(found.map(Suggestion::from))
    }

    /// Who shares the pool, in the order that breaks split ties.
    async fn contributors(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<IdeaRewardContributor>> {
        let ids: Vec<_> = self.reward.contributors.iter().map(|c| c.user_id).collect();
        let users = loaders(ctx)?.users.load_many(ids).await.extend()?;
        self.reward
            .contributors
            .iter()
            .map(|c| {
                let user = users
                    .get(&c.user_id)
                    .cloned()
                    .ok_or_else(|| AppError::not_found("user").extend())?;
                Ok(IdeaRewardContributor {
                    user: user.into(),
                    weight_bps: c.weight_bps,
                })
            })
            .collect()
    }
}

/// A contributor and their weight in basis points (all weights sum to 10000).
#[derive(SimpleObject, Clone, Debug)]
pub struct IdeaRewardContributor {
    pub user: User,
    pub weight_bps: i32,
}

/// Net sales of a product line for a period, as reported.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct SalesReport {
    pub id: ID,
    /// The reporter's own key for this report (idempotency).
    pub external_id: String,
    pub product_line: String,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    /// Negative for returns.
    pub net_sales: Money,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub model: sales_report::Model,
}

impl From<sales_report::Model> for SalesReport {
    fn from(model: sales_report::Model) -> Self {
        SalesReport {
            id: ID(model.id.to_string()),
            external_id: model.external_id.clone(),
            product_line: model.product_line.clone(),
            period_start: model.period_start,
            period_end: model.period_end,
            net_sales: Money::from_minor(model.net_sales_minor, &model.currency),
            created_at: model.created_at,
            model,
        }
    }
}

#[ComplexObject]
impl SalesReport {
    /// How many records the report accrued (reversals not counted).
    async fn record_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        let count = loaders(ctx)?
            .accrued_counts
            .load_one(self.model.id)
            .await
            .extend()?;
        Ok(count.unwrap_or(0))
    }

    /// The records of this report the viewer may see: all for an ADMIN, their own for a user,
    /// none for a partner (who earns what is private).
    async fn records(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<RevenueShareRecord>> {
        let (state, viewer) = parts(ctx)?;
        let rows = revenue_shares::records_of_report(state, viewer, self.model.id)
            .await
            .extend()?;
        Ok(rows.into_iter().map(RevenueShareRecord::from).collect())
    }
}

/// One contributor's share of one report under one reward. Append-only: only its status moves.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct RevenueShareRecord {
    pub id: ID,
    pub amount: Money,
    pub status: StatusValue,
    pub created_at: DateTime<Utc>,
    pub approved_at: Option<DateTime<Utc>>,
    pub paid_at: Option<DateTime<Utc>>,
    pub payout_reference: Option<String>,
    pub voided_at: Option<DateTime<Utc>>,
    pub void_reason: Option<String>,
    #[graphql(skip)]
    pub model: record::Model,
}

impl From<record::Model> for RevenueShareRecord {
    fn from(model: record::Model) -> Self {
        RevenueShareRecord {
            id: ID(model.id.to_string()),
            amount: Money::from_minor(model.amount_minor, &model.currency),
            status: model.status.into(),
            created_at: model.created_at,
            approved_at: model.approved_at,
            paid_at: model.paid_at,
            payout_reference: model.payout_reference.clone(),
            voided_at: model.voided_at,
            void_reason: model.void_reason.clone(),
            model,
        }
    }
}

#[ComplexObject]
impl RevenueShareRecord {
    async fn reward(&self, ctx: &Context<'_>) -> async_graphql::Result<IdeaReward> {
        let found = loaders(ctx)?
            .idea_rewards
            .load_one(self.model.reward_id)
            .await
            .extend()?;
        found
            .map(IdeaReward::from)
            .ok_or_else(|| AppError::not_found("idea reward").extend())
    }

    async fn sales_report(&self, ctx: &Context<'_>) -> async_graphql::Result<SalesReport> {
        let found = loaders(ctx)?
            .sales_reports
            .load_one(self.model.sales_report_id)
            .await
            .extend()?;
        found
            .map(SalesReport::from)
            .ok_or_else(|| AppError::not_found("sales report").extend())
    }

    async fn beneficiary(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        let found = loaders(ctx)?
            .users
            .load_one(self.model.beneficiary_id)
            .await
            .extend()?;
        found
            .map(User::from)
            .ok_or_else(|| AppError::not_found("user").extend())
    }

    /// On a reversal: the voided record it cancels.
    async fn reversal_of(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<RevenueShareRecord>> {
        let Some(original) = self.model.reversal_of else {
            return Ok(None);
        };
        let found = loaders(ctx)?
            .revenue_share_records
            .load_one(original)
            .await
            .extend()?;
        Ok(found.map(RevenueShareRecord::from))
    }
}

/// The sum of the records in one currency and status.
#[derive(SimpleObject, Clone, Debug)]
pub struct RevenueShareTotal {
    pub currency: String,
    pub status: StatusValue,
    pub amount: Money,
    pub count: i64,
}

/// A beneficiary's records over a period (by creation time), with totals.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct RevenueShareStatement {
    /// Inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub to: Option<DateTime<Utc>>,
    /// One per currency and status present, by currency then status.
    pub totals: Vec<RevenueShareTotal>,
    #[graphql(skip)]
    pub filter: RecordFilter,
}

#[ComplexObject]
impl RevenueShareStatement {
    /// Whose statement this is; null for an ADMIN's statement over every beneficiary.
    async fn beneficiary(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.filter.beneficiary_id else {
            return Ok(None);
        };
        let found = loaders(ctx)?.users.load_one(id).await.extend()?;
        Ok(found.map(User::from))
    }

    /// The statement's records, oldest first.
    #[graphql(complexity = "crate::pagination::page_cost(first, child_complexity)")]
    async fn records(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, RevenueShareRecord>> {
        let (state, viewer) = parts(ctx)?;
        let page = PageRequest::new(first, after).extend()?;
        let page = revenue_shares::list(
            state,
            viewer,
            self.filter.clone(),
            TimeOrder::OldestFirst,
            &page,
        )
        .await
        .extend()?;
        Ok(from_page(page, RevenueShareRecord::from))
    }
}

/// A contributor of a reward and their weight.
#[derive(InputObject)]
pub struct ContributorInput {
    pub user_id: ID,
    /// Positive; all weights of a reward sum to exactly 10000.
    pub weight_bps: i32,
}

#[derive(InputObject)]
pub struct AdoptSuggestionInput {
    /// Optional client-made id (UUIDv7): a retried adoption returns the same reward.
    pub id: Option<ID>,
    pub suggestion_id: ID,
    pub product_line: String,
    /// 1–10000 basis points of net sales; 100 (1%) when omitted.
    pub share_bps: Option<i32>,
    /// ISO 4217 code of the sales the reward accrues on.
    pub currency: String,
    pub starts_at: DateTime<Utc>,
    /// Exclusive; open-ended when omitted.
    pub ends_at: Option<DateTime<Utc>>,
    /// Who shares the pool, in tie-break order; the author alone when omitted.
    pub contributors: Option<Vec<ContributorInput>>,
}

#[derive(InputObject)]
pub struct ReportSalesInput {
    /// Your own key for this report: resending it is safe.
    pub external_id: String,
    pub product_line: String,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    /// At most the currency's minor digits; negative for returns.
    pub net_sales: Decimal,
    pub currency: String,
}

fn parse_ids(ids: &[ID]) -> Result<Vec<uuid::Uuid>, async_graphql::Error> {
    ids.iter().map(|id| parse_id("ids", id).extend()).collect()
}

#[derive(Default)]
pub struct RevenueSharesQuery;

#[Object]
impl RevenueSharesQuery {
    /// An idea reward (ADMIN, or a partner with `ideas:read`).
    async fn idea_reward(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<IdeaReward>> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id("id", &id).extend()?;
        let found = idea_rewards::find(state, viewer, id).await.extend()?;
        Ok(found.map(IdeaReward::from))
    }

    /// Idea rewards, newest first (ADMIN, or a partner with `ideas:read`).
    #[graphql(complexity = "crate::pagination::page_cost(first, child_complexity)")]
    async fn idea_rewards(
        &self,
        ctx: &Context<'_>,
        product_line: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, IdeaReward>> {
        let (state, viewer) = parts(ctx)?;
        let page = PageRequest::new(first, after).extend()?;
        let page = idea_rewards::list(state, viewer, product_line, &page)
            .await
            .extend()?;
        Ok(from_page(page, IdeaReward::from))
    }

    /// Revenue-share records, newest first. A member sees only their own (another
    /// `beneficiaryId` is FORBIDDEN); an ADMIN sees everyone's, or one beneficiary's.
    #[graphql(complexity = "crate::pagination::page_cost(first, child_complexity)")]
    async fn revenue_share_records(
        &self,
        ctx: &Context<'_>,
        beneficiary_id: Option<ID>,
        status: Option<StatusValue>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, RevenueShareRecord>> {
        let (state, viewer) = parts(ctx)?;
        let filter = RecordFilter {
            beneficiary_id: parse_optional_id("beneficiaryId", &beneficiary_id).extend()?,
            status: status.map(Into::into),
            ..RecordFilter::default()
        };
        let page = PageRequest::new(first, after).extend()?;
        let page = revenue_shares::list(state, viewer, filter, TimeOrder::NewestFirst, &page)
            .await
            .extend()?;
        Ok(from_page(page, RevenueShareRecord::from))
    }

    /// Totals per currency and status and the records of a beneficiary created in
    /// `[from, to)`; same access as `revenueShareRecords`.
    async fn revenue_share_statement(
        &self,
        ctx: &Context<'_>,
        beneficiary_id: Option<ID>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> async_graphql::Result<RevenueShareStatement> {
        let (state, viewer) = parts(ctx)?;
        let beneficiary_id = parse_optional_id("beneficiaryId", &beneficiary_id).extend()?;
        let statement = revenue_shares::statement(state, viewer, beneficiary_id, from, to)
            .await
            .extend()?;
        Ok(RevenueShareStatement {
            from,
            to,
            totals: statement
                .totals
                .into_iter()
                .map(|t| RevenueShareTotal {
                    amount: Money::from_minor(t.amount_minor, &t.currency),
                    currency: t.currency,
                    status: t.status.into(),
                    count: t.count,
                })
                .collect(),
            filter: statement.filter,
        })
    }
}

#[derive(Default)]
pub struct RevenueSharesMutation;

#[Object]
impl RevenueSharesMutation {
    /// Adopts a suggestion (ADMIN): its contributors earn `shareBps` of the product line's net
    /// sales in the window. An OPEN or UNDER_REVIEW suggestion becomes PLANNED.
    async fn adopt_suggestion(
        &self,
        ctx: &Context<'_>,
        input: AdoptSuggestionInput,
    ) -> async_graphql::Result<IdeaReward> {
        let (state, viewer) = parts(ctx)?;
        let contributors = input
            .contributors
            .map(|list| {
                list.iter()
                    .map(|c| Ok((parse_id("contributors", &c.user_id)?, c.weight_bps)))
                    .collect::<Result<Vec<_>, AppError>>()
            })
            .transpose()
            .extend()?;
        let input = NewReward {
            id: parse_optional_id("id", &input.id).extend()?,
            suggestion_id: parse_id("suggestionId", &input.suggestion_id).extend()?,
            product_line: input.product_line,
            share_bps: input.share_bps,
            currency: input.currency,
            starts_at: input.starts_at,
            ends_at: input.ends_at,
            contributors,
        };
        Ok(idea_rewards::adopt(state, viewer, input)
            .await
            .extend()?
            .into())
    }

    /// Closes a reward's window at `endsAt` (ADMIN); a window is never reopened.
    async fn end_idea_reward(
        &self,
        ctx: &Context<'_>,
        id: ID,
        ends_at: DateTime<Utc>,
    ) -> async_graphql::Result<IdeaReward> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id("id", &id).extend()?;
        Ok(idea_rewards::end(state, viewer, id, ends_at)
            .await
            .extend()?
            .into())
    }

    /// Reports net sales (a partner with `sales:write`, or ADMIN) and accrues the revenue
    /// shares. Safe to resend: the same `externalId` and figures return the same report.
    async fn report_sales(
        &self,
        ctx: &Context<'_>,
        input: ReportSalesInput,
    ) -> async_graphql::Result<SalesReport> {
        let (state, viewer) = parts(ctx)?;
        let input = NewReport {
            external_id: input.external_id,
            product_line: input.product_line,
            period_start: input.period_start,
            period_end: input.period_end,
            net_sales: input.net_sales,
            currency: input.currency,
        };
        Ok(sales_reports::report(state, viewer, input)
            .await
            .extend()?
            .into())
    }

    /// PENDING → APPROVED for every listed record, or none (ADMIN).
    async fn approve_revenue_shares(
        &self,
        ctx: &Context<'_>,
        ids: Vec<ID>,
    ) -> async_graphql::Result<Vec<RevenueShareRecord>> {
        let (state, viewer) = parts(ctx)?;
        let ids = parse_ids(&ids)?;
        let rows = revenue_shares::approve(state, viewer, &ids)
            .await
            .extend()?;
        Ok(rows.into_iter().map(RevenueShareRecord::from).collect())
    }

    /// APPROVED → PAID for every listed record, or none (ADMIN).
    async fn mark_revenue_shares_paid(
        &self,
        ctx: &Context<'_>,
        ids: Vec<ID>,
        payout_reference: String,
    ) -> async_graphql::Result<Vec<RevenueShareRecord>> {
        let (state, viewer) = parts(ctx)?;
        let ids = parse_ids(&ids)?;
        let rows = revenue_shares::mark_paid(state, viewer, &ids, &payout_reference)
            .await
            .extend()?;
        Ok(rows.into_iter().map(RevenueShareRecord::from).collect())
    }

    /// Voids a PENDING or APPROVED record (ADMIN); returns its reversal record.
    async fn void_revenue_share(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
    ) -> async_graphql::Result<RevenueShareRecord> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id("id", &id).extend()?;
        Ok(revenue_shares::void(state, viewer, id, &reason)
            .await
            .extend()?
            .into())
    }
}
