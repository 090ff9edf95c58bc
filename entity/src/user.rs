//! `user`: a person with an account. Handles are stored lower-cased.

use sea_orm::entity::prelude::*;

/// Global role of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Role {
    #[sea_orm(string_value = "MEMBER")]
    Member,
    #[sea_orm(string_value = "STAFF")]
    Staff,
    #[sea_orm(string_value = "ADMIN")]
    Admin,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub handle: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: Role,
    /// Bumped to end every access token issued before (password change, ban).
    pub token_version: i32,
    pub banned_at: Option<DateTimeUtc>,
    /// The sum of their growth events.
    pub growth_points: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::refresh_token::Entity")]
    RefreshToken,
}

impl Related<super::refresh_token::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RefreshToken.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
