//! `audit_log`: every change to the money tables (adoptions, reports, accruals, status moves),
//! with its actor and time. Written in the same transaction as the change; never updated.

use sea_orm::entity::prelude::*;

pub use super::sales_report::ActorKind;

/// The kind of row an entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum EntityType {
    #[sea_orm(string_value = "IDEA_REWARD")]
    IdeaReward,
    #[sea_orm(string_value = "SALES_REPORT")]
    SalesReport,
    #[sea_orm(string_value = "REVENUE_SHARE_RECORD")]
    RevenueShareRecord,
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum Action {
    #[sea_orm(string_value = "ADOPTED")]
    Adopted,
    #[sea_orm(string_value = "ENDED")]
    Ended,
    #[sea_orm(string_value = "REPORTED")]
    Reported,
    #[sea_orm(string_value = "ACCRUED")]
    Accrued,
    #[sea_orm(string_value = "APPROVED")]
    Approved,
    #[sea_orm(string_value = "PAID")]
    Paid,
    #[sea_orm(string_value = "VOIDED")]
    Voided,
    #[sea_orm(string_value = "REVERSAL")]
    Reversal,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub entity_type: EntityType,
    pub entity_id: Uuid,
    pub action: Action,
    pub actor_kind: ActorKind,
    pub actor_id: Uuid,
    /// A JSON object with what changed.
    pub details: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
