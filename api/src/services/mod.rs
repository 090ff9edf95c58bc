//! The rules of Canyu, one module per feature: validate, open a transaction, check permission,
//! write, commit. Services know sea-orm and `AppError`, never GraphQL or actix.

pub mod comments;
pub mod communities;
pub mod demo;
pub mod notifications;
pub mod partners;
pub mod pricing_math;
pub mod pricing_polls;
pub mod sessions;
pub mod suggestions;
pub mod users;
pub mod votes;
