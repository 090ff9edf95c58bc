//! `sanction`: a MUTE or BAN of a user in a community, or site-wide (`community_id` None).

use sea_orm::entity::prelude::*;

/// What a sanction stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Kind {
    /// No posting, commenting, voting or ballots.
    #[sea_orm(string_value = "MUTE")]
    Mute,
    /// A mute that also takes read access to a private community and its sync scope.
    #[sea_orm(string_value = "BAN")]
    Ban,
}

/// How long a sanction lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Duration {
    #[sea_orm(string_value = "ONE_DAY")]
    OneDay,
    #[sea_orm(string_value = "SEVEN_DAYS")]
    SevenDays,
    #[sea_orm(string_value = "FIFTEEN_DAYS")]
    FifteenDays,
    #[sea_orm(string_value = "PERMANENT")]
    Permanent,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sanction")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub community_id: Option<Uuid>,
    pub user_id: Uuid,
    pub kind: Kind,
    pub duration: Duration,
    pub reason: String,
    pub starts_at: DateTimeUtc,
    /// None for PERMANENT.
    pub ends_at: Option<DateTimeUtc>,
    pub lifted_at: Option<DateTimeUtc>,
    pub issued_by: Uuid,
    /// The growth points it took (restored if an appeal lifts it).
    pub points_taken: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
