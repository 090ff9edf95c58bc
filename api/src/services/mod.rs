//! The rules of Canyu, one module per feature: validate, open a transaction, check permission,
//! write, commit. Services know sea-orm and `AppError`, never GraphQL or actix.

pub mod appeals;
pub mod audit;
pub mod comments;
pub mod communities;
pub mod decision_polls;
pub mod dividend_math;
pub mod growth;
pub mod idea_rewards;
pub mod idempotency;
pub mod input;
pub mod memberships;
pub mod metrics;
pub mod moderation_log;
pub mod money;
pub mod notifications;
pub mod partners;
pub mod pricing_ballots;
pub mod pricing_math;
pub mod pricing_polls;
pub mod releases;
pub mod reports;
pub mod revenue_shares;
pub mod sales_reports;
pub mod sanctions;
pub mod sessions;
pub mod suggestion_listing;
pub mod suggestion_workflow;
pub mod suggestions;
pub mod users;
pub mod votes;
