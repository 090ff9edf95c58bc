//! `signing_key`: the Ed25519 keys that sign access tokens, shared by every replica.
//! The newest unretired key signs; retired keys keep verifying until their tokens expire.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "signing_key")]
pub struct Model {
    /// The `kid` header value.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// PKCS#8 DER of the private key, base64 (standard alphabet).
    pub private_key: String,
    /// The raw 32-byte public key, base64url without padding (the JWK `x`).
    pub public_key: String,
    pub created_at: DateTimeUtc,
    pub retired_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
