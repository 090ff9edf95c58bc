//! `sync_entity`: the self-compacting change index. One row per (scope, entity, entity id),
//! moved to a new `seq` on every change; `op` DELETE rows are tombstones until compaction.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sync_entity")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub scope: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub entity: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub entity_id: Uuid,
    pub seq: i64,
    /// Position within the transaction's changes.
    pub op_index: i32,
    /// `UPSERT` or `DELETE`.
    pub op: String,
    /// Times this row has changed.
    pub version: i32,
    pub changed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
