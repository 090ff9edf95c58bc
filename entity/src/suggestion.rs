//! `suggestion`: an idea, complaint or bug report in a community, with its vote and comment
//! counters (kept equal to the `vote` and `comment` rows by the services).

use sea_orm::entity::prelude::*;

/// What a suggestion is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Kind {
    #[sea_orm(string_value = "IDEA")]
    Idea,
    #[sea_orm(string_value = "COMPLAINT")]
    Complaint,
    #[sea_orm(string_value = "BUG")]
    Bug,
}

/// Where a suggestion is in the closed loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Status {
    #[sea_orm(string_value = "OPEN")]
    Open,
    #[sea_orm(string_value = "UNDER_REVIEW")]
    UnderReview,
    #[sea_orm(string_value = "PLANNED")]
    Planned,
    #[sea_orm(string_value = "IN_PROGRESS")]
    InProgress,
    #[sea_orm(string_value = "SHIPPED")]
    Shipped,
    #[sea_orm(string_value = "DECLINED")]
    Declined,
    #[sea_orm(string_value = "DUPLICATE")]
    Duplicate,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "suggestion")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub community_id: Uuid,
    pub author_id: Uuid,
    pub kind: Kind,
    pub title: String,
    pub body: String,
    pub product_line: Option<String>,
    pub status: Status,
    pub upvotes: i32,
    pub downvotes: i32,
    pub score: i32,
    pub comment_count: i32,
    /// The HOT sort key (see `services::suggestions::hot_rank`), kept in step with `score`.
    pub hot_rank: i64,
    /// The latest official response (a `comment` flagged official).
    pub official_response_id: Option<Uuid>,
    pub first_response_at: Option<DateTimeUtc>,
    pub resolved_at: Option<DateTimeUtc>,
    pub duplicate_of_id: Option<Uuid>,
    pub deleted_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Set when a moderator hid it on a report (seen only by its author and moderators).
    pub hidden_at: Option<DateTimeUtc>,
    /// Whole milliseconds from creation to `first_response_at` (what the loop metrics average).
    pub first_response_ms: Option<i64>,
    /// Whole milliseconds from creation to `resolved_at`.
    pub resolution_ms: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
