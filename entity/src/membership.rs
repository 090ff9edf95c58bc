//! `membership`: a user's place in a community — an invitation, a request, or an active member.

use sea_orm::entity::prelude::*;

/// A member's role within one community.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum CommunityRole {
    #[sea_orm(string_value = "MEMBER")]
    Member,
    #[sea_orm(string_value = "MODERATOR")]
    Moderator,
    #[sea_orm(string_value = "OWNER")]
    Owner,
}

/// Where a membership stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum MembershipStatus {
    /// A member: sees the community and may post, comment and vote.
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    /// Invited by a moderator; becomes ACTIVE when the user joins.
    #[sea_orm(string_value = "INVITED")]
    Invited,
    /// Asked to join a private community; becomes ACTIVE when a moderator approves.
    #[sea_orm(string_value = "REQUESTED")]
    Requested,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "membership")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub community_id: Uuid,
    pub user_id: Uuid,
    pub role: CommunityRole,
    pub status: MembershipStatus,
    pub joined_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
