//! The rules of Canyu, one module per feature: validate, open a transaction, check permission,
//! write, commit. Services know sea-orm and `AppError`, never GraphQL or actix.

pub mod partners;
pub mod sessions;
pub mod users;
