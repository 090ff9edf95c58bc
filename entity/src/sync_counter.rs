//! `sync_counter`: the single row (id 1) holding the sync sequence, the database's epoch, the
//! key that signs pull cursors, and the horizon below which tombstones have been purged.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sync_counter")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    /// The last `seq` handed out; taken last in each write transaction, under this row's lock.
    pub seq: i64,
    /// Made when the database was created: a cursor from another database is recognised.
    pub epoch: String,
    /// Hex HMAC key of pull cursors.
    pub cursor_key: String,
    /// Changes at or below this seq may have lost their tombstones.
    pub horizon_seq: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
