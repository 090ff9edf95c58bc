//! `growth_event`: points a user earned or lost, append-only. `user.growth_points` is their sum.

use sea_orm::entity::prelude::*;

/// What earned (or cost) the points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum Kind {
    #[sea_orm(string_value = "SUGGESTION_SUBMITTED")]
    SuggestionSubmitted,
    #[sea_orm(string_value = "COMMENT_ADDED")]
    CommentAdded,
    #[sea_orm(string_value = "OFFICIAL_RESPONSE")]
    OfficialResponse,
    #[sea_orm(string_value = "IDEA_ADOPTED")]
    IdeaAdopted,
    #[sea_orm(string_value = "SUGGESTION_SHIPPED")]
    SuggestionShipped,
    #[sea_orm(string_value = "PURCHASE")]
    Purchase,
    #[sea_orm(string_value = "DEVICE_ACTIVITY")]
    DeviceActivity,
    #[sea_orm(string_value = "REVIEW")]
    Review,
    /// A mute or ban (negative).
    #[sea_orm(string_value = "SANCTION")]
    Sanction,
    /// A sanction lifted on appeal: its points back.
    #[sea_orm(string_value = "SANCTION_LIFTED")]
    SanctionLifted,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "growth_event")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// Where the points were earned; None for partner-reported activity.
    pub community_id: Option<Uuid>,
    pub kind: Kind,
    /// The points counted (after the daily cap).
    pub points: i32,
    /// The points the action was worth before the cap.
    pub requested_points: i32,
    /// The suggestion, comment or sanction behind them.
    pub subject_id: Option<Uuid>,
    pub reporter_kind: Option<super::sales_report::ActorKind>,
    pub reporter_id: Option<Uuid>,
    pub external_id: Option<String>,
    pub occurred_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
