//! `pricing_tally`: how many current ballots of a poll gave `answer` at `price` (minor units;
//! −1 for a Gabor-Granger ballot that would buy at no price).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pricing_tally")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub poll_id: Uuid,
    /// CHOICE, TOO_CHEAP, CHEAP, EXPENSIVE, TOO_EXPENSIVE or GG_HIGHEST.
    #[sea_orm(primary_key, auto_increment = false)]
    pub answer: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub price: i64,
    pub ballots: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
