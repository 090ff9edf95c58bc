//! `sync_mutation_ledger`: the stored result of every pushed mutation, by (client, mutation
//! id), so a replay returns it instead of running again.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sync_mutation_ledger")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub client_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub mutation_id: i64,
    pub name: String,
    /// SHA-256 of the canonical args JSON.
    pub args_hash: String,
    pub outcome: String,
    /// The `MutationResult` as JSON.
    pub result: String,
    pub seq: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
