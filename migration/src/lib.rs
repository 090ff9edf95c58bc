//! Canyu's schema migrations: one change per file, backend-neutral (SQLite and Postgres run the same set).
//!
//! Rules: string enums, integers for money, no triggers, never depend on `entity`,
//! never edit a migration that has landed — add a new one.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_create_user;
mod m20261123_000002_create_refresh_token;
mod m20261123_000003_create_signing_key;
mod m20261123_000004_create_partner;
mod m20261124_000005_create_community;
mod m20261124_000006_create_membership;
mod m20261124_000007_create_suggestion;
mod m20261124_000008_create_suggestion_search;
mod m20261124_000009_create_suggestion_event;
mod m20261124_000010_create_vote;
mod m20261124_000011_create_comment;
mod m20261124_000012_create_notification;
mod m20261124_000013_create_tally_change;
mod m20261124_000014_create_pricing_poll;
mod m20261124_000015_create_pricing_ballot;
mod m20261124_000016_create_pricing_tally;
mod m20261124_000017_create_pricing_eligibility;
mod m20261129_000018_create_idea_reward;
mod m20261129_000019_create_idea_reward_contributor;
mod m20261129_000020_create_sales_report;
mod m20261129_000021_create_revenue_share_record;
mod m20261129_000022_create_audit_log;
mod m20261129_000023_create_sync_counter;
mod m20261129_000024_create_sync_client;
mod m20261129_000025_create_sync_entity;
mod m20261201_000026_create_rate_limit_window;
mod m20261201_000027_create_notification_fanout;
mod m20261201_000028_index_listing_orders;
mod m20261201_000029_add_user_growth_points;
mod m20261201_000030_create_growth_event;
mod m20261201_000031_create_growth_day;
mod m20261201_000032_create_release;
mod m20261201_000033_create_release_item;
mod m20261201_000034_create_sanction;
mod m20261201_000035_create_appeal;
mod m20261201_000036_create_moderation_action;
mod m20261201_000037_add_suggestion_hidden_at;
mod m20261201_000038_add_comment_hidden_at;
mod m20261201_000039_create_content_report;
mod m20261201_000040_add_pricing_poll_winners;
mod m20261201_000041_add_pricing_ballot_choices;
mod m20261201_000042_create_decision_option;
mod m20261201_000043_create_metric_day;
mod m20261201_000044_add_pricing_poll_tally_version;
mod m20261202_000045_create_sync_scope_set;
mod m20261202_000046_unlogged_rate_limit_window;
mod m20261203_000047_add_sync_counter_xid_order;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_create_user::Migration),
            Box::new(m20261123_000002_create_refresh_token::Migration),
            Box::new(m20261123_000003_create_signing_key::Migration),
            Box::new(m20261123_000004_create_partner::Migration),
            Box::new(m20261124_000005_create_community::Migration),
            Box::new(m20261124_000006_create_membership::Migration),
            Box::new(m20261124_000007_create_suggestion::Migration),
            Box::new(m20261124_000008_create_suggestion_search::Migration),
            Box::new(m20261124_000009_create_suggestion_event::Migration),
            Box::new(m20261124_000010_create_vote::Migration),
            Box::new(m20261124_000011_create_comment::Migration),
            Box::new(m20261124_000012_create_notification::Migration),
            Box::new(m20261124_000013_create_tally_change::Migration),
            Box::new(m20261124_000014_create_pricing_poll::Migration),
            Box::new(m20261124_000015_create_pricing_ballot::Migration),
            Box::new(m20261124_000016_create_pricing_tally::Migration),
            Box::new(m20261124_000017_create_pricing_eligibility::Migration),
            Box::new(m20261129_000018_create_idea_reward::Migration),
            Box::new(m20261129_000019_create_idea_reward_contributor::Migration),
            Box::new(m20261129_000020_create_sales_report::Migration),
            Box::new(m20261129_000021_create_revenue_share_record::Migration),
            Box::new(m20261129_000022_create_audit_log::Migration),
            Box::new(m20261129_000023_create_sync_counter::Migration),
            Box::new(m20261129_000024_create_sync_client::Migration),
            Box::new(m20261129_000025_create_sync_entity::Migration),
            Box::new(m20261201_000026_create_rate_limit_window::Migration),
            Box::new(m20261201_000027_create_notification_fanout::Migration),
            Box::new(m20261201_000028_index_listing_orders::Migration),
            Box::new(m20261201_000029_add_user_growth_points::Migration),
            Box::new(m20261201_000030_create_growth_event::Migration),
            Box::new(m20261201_000031_create_growth_day::Migration),
            Box::new(m20261201_000032_create_release::Migration),
            Box::new(m20261201_000033_create_release_item::Migration),
            Box::new(m20261201_000034_create_sanction::Migration),
            Box::new(m20261201_000035_create_appeal::Migration),
            Box::new(m20261201_000036_create_moderation_action::Migration),
            Box::new(m20261201_000037_add_suggestion_hidden_at::Migration),
            Box::new(m20261201_000038_add_comment_hidden_at::Migration),
            Box::new(m20261201_000039_create_content_report::Migration),
            Box::new(m20261201_000040_add_pricing_poll_winners::Migration),
            Box::new(m20261201_000041_add_pricing_ballot_choices::Migration),
            Box::new(m20261201_000042_create_decision_option::Migration),
            Box::new(m20261201_000043_create_metric_day::Migration),
            Box::new(m20261201_000044_add_pricing_poll_tally_version::Migration),
            Box::new(m20261202_000045_create_sync_scope_set::Migration),
            Box::new(m20261202_000046_unlogged_rate_limit_window::Migration),
            Box::new(m20261203_000047_add_sync_counter_xid_order::Migration),
        ]
    }
}
