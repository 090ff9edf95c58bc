//! `pricing_ballot`: one user's current answer to a pricing poll (minor units). `would_buy` is
//! the Gabor-Granger ladder as `price:0|1` pairs, comma-separated.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pricing_ballot")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub poll_id: Uuid,
    pub user_id: Uuid,
    pub choice: Option<i64>,
    pub too_cheap: Option<i64>,
    pub cheap: Option<i64>,
    pub expensive: Option<i64>,
    pub too_expensive: Option<i64>,
    pub would_buy: Option<String>,
    /// DECISION ballots: the chosen option positions, comma-separated.
    pub choices: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
