//! `pricing_poll`: a fan-council vote or pricing study on a product's price. Prices are stored in
//! the currency's minor unit; `price_points` is a comma-separated ascending list of them.

use sea_orm::entity::prelude::*;

/// How fans answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Method {
    #[sea_orm(string_value = "CHOICE")]
    Choice,
    #[sea_orm(string_value = "VAN_WESTENDORP")]
    VanWestendorp,
    #[sea_orm(string_value = "GABOR_GRANGER")]
    GaborGranger,
    /// A feature decision vote: options instead of prices (see `decision_option`).
    #[sea_orm(string_value = "DECISION")]
    Decision,
}

/// How a binding poll ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Outcome {
    #[sea_orm(string_value = "RATIFIED")]
    Ratified,
    #[sea_orm(string_value = "NO_QUORUM")]
    NoQuorum,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pricing_poll")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub community_id: Uuid,
    pub product_name: String,
    pub description: String,
    pub currency: String,
    pub method: Method,
    pub price_points: String,
    pub opens_at: DateTimeUtc,
    pub closes_at: DateTimeUtc,
    /// Set by an early close.
    pub closed_at: Option<DateTimeUtc>,
    pub binding: bool,
    pub quorum: Option<i32>,
    /// Current ballots, maintained with the ballot rows.
    pub ballot_count: i32,
    /// Whether the eligibility snapshot of a binding poll has been written.
    pub eligibility_taken: bool,
    pub eligible_count: Option<i32>,
    pub outcome: Option<Outcome>,
    pub ratified_price: Option<i64>,
    pub outcome_at: Option<DateTimeUtc>,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    /// DECISION polls: how many options win (and each ballot may choose).
    pub winners: Option<i32>,
    /// Bumped by every ballot that changes the tallies (computed results are reused until then).
    pub tally_version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::community::Entity",
        from = "Column::CommunityId",
        to = "super::community::Column::Id"
    )]
    Community,
}

impl Related<super::community::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Community.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
