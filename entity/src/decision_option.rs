//! `decision_option`: one candidate of a DECISION poll — a suggestion or a free-text label.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "decision_option")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub poll_id: Uuid,
    /// The option's place; the poll's tallies count ballots by it.
    pub position: i32,
    pub suggestion_id: Option<Uuid>,
    /// The suggestion's title when it was put to the vote, or the free text.
    pub label: String,
    /// When the suggestion was submitted (earlier wins a tie); None for a label.
    pub submitted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
