//! `vote`: one user's vote on one suggestion (unique per pair; NONE is a retracted vote).

use sea_orm::entity::prelude::*;

/// A vote's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
pub enum Value {
    #[sea_orm(string_value = "UP")]
    Up,
    #[sea_orm(string_value = "DOWN")]
    Down,
    #[sea_orm(string_value = "NONE")]
    None,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "vote")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub suggestion_id: Uuid,
    pub user_id: Uuid,
    pub value: Value,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
