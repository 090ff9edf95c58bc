//! `idea_reward_contributor`: who shares a reward's pool, by weight (basis points summing to
//! 10000 per reward). `position` is the order given at adoption; it breaks split ties.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idea_reward_contributor")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub reward_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    pub user_id: Uuid,
    pub weight_bps: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
