//! `idea_reward`: an adopted suggestion's share of its product line's sales, with its window.
//! The contributors and their weights are in `idea_reward_contributor`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idea_reward")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub suggestion_id: Uuid,
    pub product_line: String,
    /// Share of net sales in basis points (100 = 1%).
    pub share_bps: i32,
    pub currency: String,
    pub starts_at: DateTimeUtc,
    /// Exclusive end of the window; open-ended when absent.
    pub ends_at: Option<DateTimeUtc>,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
