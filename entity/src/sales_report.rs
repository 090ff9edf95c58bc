//! `sales_report`: net sales of a product line for a period, as reported by a partner or an
//! admin. Unique on (reporter, external id): the idempotency key of `reportSales`.

use sea_orm::entity::prelude::*;

/// Who reported, as recorded with the report and in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ActorKind {
    #[sea_orm(string_value = "USER")]
    User,
    #[sea_orm(string_value = "PARTNER")]
    Partner,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sales_report")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub reporter_kind: ActorKind,
    pub reporter_id: Uuid,
    pub external_id: String,
    pub product_line: String,
    pub period_start: DateTimeUtc,
    pub period_end: DateTimeUtc,
    /// Net sales in the currency's minor unit; negative for returns.
    pub net_sales_minor: i64,
    pub currency: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
