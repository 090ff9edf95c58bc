//! `rate_limit_window`: how many requests of one limit a key (a handle, an address, an account)
//! made in one minute-long window, shared by every replica on Postgres.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rate_limit_window")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub bucket: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    /// The window's first second, in Unix seconds.
    #[sea_orm(primary_key, auto_increment = false)]
    pub window_start: i64,
    pub count: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
