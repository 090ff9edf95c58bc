//! Canyu's server: configuration, HTTP wiring, authentication, the GraphQL API and the rules
//! behind it. `main.rs` only sets up the allocator ([`allocator::configure`]) and calls
//! [`cli::run`].

pub mod allocator;
pub mod auth;
pub mod changes;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod error;
pub mod events;
pub mod exports;
pub mod graphql;
pub mod http;
pub mod pagination;
pub mod rate_limits;
pub mod services;
pub mod state;
pub mod sync;
pub mod tasks;
pub mod telemetry;
