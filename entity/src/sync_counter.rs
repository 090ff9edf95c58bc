//! `sync_counter`: the single row (id 1) holding the sync sequence (SQLite) or the offset that
//! makes transaction ids seqs (Postgres), the database's epoch, the key that signs pull cursors,
//! and the horizon below which tombstones have been purged.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sync_counter")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    /// SQLite: the last `seq` handed out, taken last in each write transaction under this row's
    /// lock. Postgres: the head before the transaction-id order began (it no longer moves).
    pub seq: i64,
    /// Made when the database was created: a cursor from another database is recognised.
    pub epoch: String,
    /// Hex HMAC key of pull cursors.
    pub cursor_key: String,
    /// Changes at or below this seq may have lost their tombstones.
    pub horizon_seq: i64,
    /// Postgres: a write's seq is its transaction id plus this offset.
    pub xid_offset: Option<i64>,
    /// Postgres: where `xid_offset` was set, as `<cluster system identifier>/<database oid>`.
    pub xid_origin: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
