//! `appeal`: a sanctioned user's one appeal of a sanction.

use sea_orm::entity::prelude::*;

/// Where an appeal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Status {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// The sanction was lifted and its points restored.
    #[sea_orm(string_value = "GRANTED")]
    Granted,
    #[sea_orm(string_value = "DENIED")]
    Denied,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "appeal")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub sanction_id: Uuid,
    pub user_id: Uuid,
    pub statement: String,
    pub status: Status,
    pub decided_by: Option<Uuid>,
    pub note: Option<String>,
    pub created_at: DateTimeUtc,
    pub decided_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
