//! `suggestion_event`: one entry of a suggestion's timeline — every status it has had.

use sea_orm::entity::prelude::*;

use crate::suggestion::Status;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "suggestion_event")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub suggestion_id: Uuid,
    pub actor_id: Option<Uuid>,
    /// None for the entry written at submission.
    pub from_status: Option<Status>,
    pub to_status: Status,
    pub note: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
