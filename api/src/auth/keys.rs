//! Ed25519 signing keys, stored in the database so every replica signs and verifies alike.
//!
//! The newest unretired key signs. `rotate` retires the current keys and adds a new one;
//! a retired key keeps verifying until every token it signed has expired. Each process caches
//! the key set and reloads it periodically, or at once when it meets a `kid` it does not know
//! but the database does.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::Utc;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use entity::signing_key;
use jsonwebtoken::{DecodingKey, EncodingKey};
use sea_orm::sea_query::ExprTrait;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::Serialize;

use crate::error::{AppError, AppResult};

/// How long a process trusts its cached key set.
const CACHE_TTL: Duration = Duration::from_secs(60);

/// One public key in JWKS form (RFC 8037).
#[derive(Debug, Clone, Serialize)]
pub struct Jwk {
    pub kty: &'static str,
    pub crv: &'static str,
    pub alg: &'static str,
    #[serde(rename = "use")]
    pub use_: &'static str,
    pub kid: String,
    pub x: String,
}

/// The body of `/.well-known/jwks.json`.
#[derive(Debug, Clone, Serialize)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

struct Cached {
    loaded_at: Instant,
    signer: Option<(String, EncodingKey)>,
    verifiers: HashMap<String, DecodingKey>,
    jwks: Vec<Jwk>,
}

/// The process's view of the shared key set.
pub struct KeyStore {
    db: DatabaseConnection,
    /// How long a retired key keeps verifying (the longest token lifetime plus the cache TTL).
    retired_grace: Duration,
    cache: RwLock<Option<Cached>>,
}

impl KeyStore {
    /// A key store over `db`; `longest_token_ttl` bounds how long retired keys verify.
    pub fn new(db: DatabaseConnection, longest_token_ttl: Duration) -> Self {
        KeyStore {
            db,
            retired_grace: longest_token_ttl + CACHE_TTL,
            cache: RwLock::new(None),
        }
    }

    /// Makes sure a signing key exists (the first start of a database creates one).
    pub async fn ensure_key(&self) -> AppResult<()> {
        let active = signing_key::Entity::find()
            .filter(signing_key::Column::RetiredAt.is_null())
            .one(&self.db)
            .await?;
        if active.is_none() {
            insert_new_key(&self.db).await?;
        }
        self.reload().await
    }

    /// Retires the current keys and adds a new one; returns the new `kid`.
    pub async fn rotate(&self) -> AppResult<String> {
        let txn = crate::db::begin_write(&self.db).await?;
        signing_key::Entity::update_many()
            .col_expr(
                signing_key::Column::RetiredAt,
                sea_orm::sea_query::Expr::value(Utc::now()),
            )
            .filter(signing_key::Column::RetiredAt.is_null())
            .exec(&txn)
            .await?;
        let kid = insert_new_key(&txn).await?;
        txn.commit().await?;
        self.reload().await?;
        Ok(kid)
    }

    /// The key to sign new tokens with, and its `kid`.
    pub async fn signer(&self) -> AppResult<(String, EncodingKey)> {
        if self.is_stale(CACHE_TTL) {
            self.reload().await?;
        }
        let cache = self.cache.read().map_err(AppError::internal)?;
        cache
            .as_ref()
            .and_then(|c| c.signer.clone())
            .ok_or_else(|| AppError::internal("no active signing key"))
    }

    /// The verifying key for `kid`, if it is one of ours and still valid.
    pub async fn verifier(&self, kid: &str) -> AppResult<Option<DecodingKey>> {
        // An unknown kid may be a key another replica just added: one primary-key lookup
        // decides whether a reload is worth it (a forged kid costs no more than that).
        if self.is_stale(CACHE_TTL) || (!self.knows(kid) && self.exists_in_database(kid).await?) {
            self.reload().await?;
        }
        let cache = self.cache.read().map_err(AppError::internal)?;
        Ok(cache.as_ref().and_then(|c| c.verifiers.get(kid).cloned()))
    }

    /// The public keys that currently verify tokens.
    pub async fn jwks(&self) -> AppResult<JwkSet> {
        if self.is_stale(CACHE_TTL) {
            self.reload().await?;
        }
        let cache = self.cache.read().map_err(AppError::internal)?;
        Ok(JwkSet {
            keys: cache.as_ref().map(|c| c.jwks.clone()).unwrap_or_default(),
        })
    }

    async fn exists_in_database(&self, kid: &str) -> AppResult<bool> {
        Ok(signing_key::Entity::find_by_id(kid.to_string())
            .one(&self.db)
            .await?
            .is_some())
    }

    fn is_stale(&self, max_age: Duration) -> bool {
        match self.cache.read() {
            Ok(cache) => cache
                .as_ref()
                .is_none_or(|c| c.loaded_at.elapsed() > max_age),
            Err(_) => true,
        }
    }

    fn knows(&self, kid: &str) -> bool {
        match self.cache.read() {
            Ok(cache) => cache
                .as_ref()
                .is_some_and(|c| c.verifiers.contains_key(kid)),
            Err(_) => false,
        }
    }

    async fn reload(&self) -> AppResult<()> {
        let grace = chrono::Duration::from_std(self.retired_grace).map_err(AppError::internal)?;
        let rows = signing_key::Entity::find()
            .filter(
                signing_key::Column::RetiredAt
                    .is_null()
                    .or(signing_key::Column::RetiredAt.gt(Utc::now() - grace)),
            )
            .order_by_desc(signing_key::Column::CreatedAt)
            .all(&self.db)
            .await?;
        let mut signer = None;
        let mut verifiers = HashMap::new();
        let mut jwks = Vec::new();
        for row in rows {
            let public = URL_SAFE_NO_PAD
                .decode(&row.public_key)
                .map_err(AppError::internal)?;
            verifiers.insert(row.id.clone(), DecodingKey::from_ed_der(&public));
            jwks.push(Jwk {
                kty: "OKP",
                crv: "Ed25519",
                alg: "EdDSA",
                use_: "sig",
                kid: row.id.clone(),
                x: row.public_key.clone(),
            });
            if signer.is_none() && row.retired_at.is_none() {
                let der = STANDARD
                    .decode(&row.private_key)
                    .map_err(AppError::internal)?;
                signer = Some((row.id.clone(), EncodingKey::from_ed_der(&der)));
            }
        }
        let mut cache = self.cache.write().map_err(AppError::internal)?;
        *cache = Some(Cached {
            loaded_at: Instant::now(),
            signer,
            verifiers,
            jwks,
        });
        Ok(())
    }
}

async fn insert_new_key(db: &impl sea_orm::ConnectionTrait) -> AppResult<String> {
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let der = key.to_pkcs8_der().map_err(AppError::internal)?;
    let kid = uuid::Uuid::now_v7().to_string();
    signing_key::ActiveModel {
        id: Set(kid.clone()),
        private_key: Set(STANDARD.encode(der.as_bytes())),
        public_key: Set(URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes())),
        created_at: Set(Utc::now()),
        retired_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(kid)
}
