//! Canyu's tables as sea-orm models: columns and relations only.
//!
//! Business rules live in `api/src/services`; GraphQL types live in `api/src/graphql`.
//! Nothing here derives GraphQL output, so no column (a password hash, a key) can leak by accident.

pub mod partner;
pub mod refresh_token;
pub mod signing_key;
pub mod user;
