//! The black-box suite: the real server over HTTP, one module per feature. Runs on SQLite, and
//! on Postgres when `TEST_DATABASE_URL` is set; the few tests that need Postgres (replicas,
//! overlapping write transactions) are reported as ignored without it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod answers;
mod comments;
mod communities;
mod decision_polls;
mod demo;
mod extreme_inputs;
mod growth;
mod hostile;
mod http_surface;
mod idempotency;
mod identity;
mod metrics;
mod moderation;
mod notifications;
mod partners;
mod pricing_polls;
mod rate_limits;
mod readme;
mod releases;
mod resilience;
mod revenue_invariants;
mod revenue_shares;
mod schema;
mod subscriptions;
mod suggestions;
mod support;
mod sync;
mod sync_client;
mod sync_index;
mod sync_properties;
mod tokens;
mod votes;
mod websockets;
