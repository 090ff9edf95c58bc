//! Canyu's schema migrations: one change per file, backend-neutral (SQLite and Postgres run the same set).
//!
//! Rules: string enums, integers for money, no triggers, never depend on `entity`,
//! never edit a migration that has landed — add a new one.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_create_user;
mod m20261123_000002_create_refresh_token;
mod m20261123_000003_create_signing_key;
mod m20261123_000004_create_partner;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_create_user::Migration),
            Box::new(m20261123_000002_create_refresh_token::Migration),
            Box::new(m20261123_000003_create_signing_key::Migration),
            Box::new(m20261123_000004_create_partner::Migration),
        ]
    }
}
