//! Canyu's tables as sea-orm models: columns and relations only.
//!
//! Business rules live in `api/src/services`; GraphQL types live in `api/src/graphql`.
//! Nothing here derives GraphQL output, so no column (a password hash, a key) can leak by accident.
//! (`tally_change` and the SQLite `suggestion_fts` table are written with SQL by the suggestions
//! service, `growth_day` by the growth service; they have no model.)

pub mod appeal;
pub mod audit_log;
pub mod comment;
pub mod community;
pub mod content_report;
pub mod decision_option;
pub mod growth_event;
pub mod idea_reward;
pub mod idea_reward_contributor;
pub mod membership;
pub mod moderation_action;
pub mod notification;
pub mod notification_fanout;
pub mod partner;
pub mod pricing_ballot;
pub mod pricing_eligibility;
pub mod pricing_poll;
pub mod pricing_tally;
pub mod rate_limit_window;
pub mod refresh_token;
pub mod release;
pub mod release_item;
pub mod revenue_share_record;
pub mod sales_report;
pub mod sanction;
pub mod signing_key;
pub mod suggestion;
pub mod suggestion_event;
pub mod sync_client;
pub mod sync_client_group;
pub mod sync_counter;
pub mod sync_entity;
pub mod sync_field_version;
pub mod sync_mutation_ledger;
pub mod sync_scope_set;
pub mod user;
pub mod vote;
