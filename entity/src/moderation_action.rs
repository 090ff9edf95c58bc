//! `moderation_action`: one entry of the public moderation log.

use sea_orm::entity::prelude::*;

/// What a moderator did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum Action {
    #[sea_orm(string_value = "MUTE")]
    Mute,
    #[sea_orm(string_value = "BAN")]
    Ban,
    /// A sanction lifted on appeal.
    #[sea_orm(string_value = "LIFT")]
    Lift,
    #[sea_orm(string_value = "HIDE_CONTENT")]
    HideContent,
}

/// What an action (or a report) is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum TargetType {
    #[sea_orm(string_value = "SUGGESTION")]
    Suggestion,
    #[sea_orm(string_value = "COMMENT")]
    Comment,
    #[sea_orm(string_value = "USER")]
    User,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "moderation_action")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// None for a site-wide action.
    pub community_id: Option<Uuid>,
    pub moderator_id: Uuid,
    pub action: Action,
    pub target_type: TargetType,
    pub target_id: Uuid,
    pub reason: Option<String>,
    pub expires_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
