//! `sync_scope_set`: a set of sync scopes a pull cursor refers to by its digest (the hex
//! SHA-256 of the scopes, sorted, one per line). Written once, never changed.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sync_scope_set")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The scopes, sorted, one per line.
    pub scopes: String,
    /// When a pull last handed out a cursor naming this set (kept to the day).
    pub used_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
