//! `notification_fanout`: a notification still to be written to every voter of a suggestion,
//! and the last voter it has reached (voters are reached in id order).

use sea_orm::entity::prelude::*;

use crate::notification::Kind;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notification_fanout")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub suggestion_id: Uuid,
    pub kind: Kind,
    /// Voters up to this id have their notification.
    pub after_user_id: Option<Uuid>,
    /// A voter who is told otherwise (the author).
    pub skip_user_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
