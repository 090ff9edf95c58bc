//! `partner`: an integration that gets tokens with the client-credentials grant.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "partner")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    #[sea_orm(unique)]
    pub client_id: String,
    /// SHA-256 (hex) of the 256-bit random client secret.
    pub secret_hash: String,
    /// Granted scopes, space-separated (OAuth2 form).
    pub scopes: String,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
