//! `revenue_share_record`: one contributor's share of one report under one reward, in minor
//! units. Append-only: only the status columns move (PENDING → APPROVED → PAID, or VOIDED with
//! a reversal record of the opposite amount whose `reversal_of` names the original).

use sea_orm::entity::prelude::*;

/// Where a record stands in the payout flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Status {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "APPROVED")]
    Approved,
    #[sea_orm(string_value = "PAID")]
    Paid,
    #[sea_orm(string_value = "VOIDED")]
    Voided,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "revenue_share_record")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub reward_id: Uuid,
    pub sales_report_id: Uuid,
    pub beneficiary_id: Uuid,
    pub amount_minor: i64,
    pub currency: String,
    pub status: Status,
    pub created_at: DateTimeUtc,
    pub approved_at: Option<DateTimeUtc>,
    pub paid_at: Option<DateTimeUtc>,
    pub payout_reference: Option<String>,
    pub voided_at: Option<DateTimeUtc>,
    pub void_reason: Option<String>,
    /// On a reversal record: the record it cancels.
    pub reversal_of: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
