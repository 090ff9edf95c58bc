//! Access tokens: EdDSA-signed JWTs for users and for partners.
//!
//! Users' and partners' tokens have different audiences, so one can never pass for the other.
//! Verification pins the algorithm, requires every claim, checks `iss`, `aud` and `typ`, and
//! looks the `kid` up only in our own key set.

use std::time::Duration;

use chrono::Utc;
use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::keys::KeyStore;
use crate::error::{AppError, AppResult};

/// `aud` of tokens issued to users.
pub const USER_AUDIENCE: &str = "canyu-api";
/// `aud` of tokens issued to partners.
pub const PARTNER_AUDIENCE: &str = "canyu-partner";
/// `typ` header of our access tokens (RFC 9068).
pub const TOKEN_TYPE: &str = "at+jwt";
/// Clock skew tolerated on `exp`, in seconds.
const LEEWAY_SECS: u64 = 5;

/// The claims of every access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    /// Users: the account's token version when issued; a bump ends the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ver: Option<i32>,
    /// Partners: granted scopes, space-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Users: the session (refresh-token family) the token was issued for; open sockets end
    /// with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// The claims that differ between user and partner tokens.
struct Extra {
    ver: Option<i32>,
    scope: Option<String>,
    sid: Option<String>,
}

/// Who a verified token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    User {
        id: Uuid,
        token_version: i32,
        session: Option<Uuid>,
    },
    Partner {
        id: Uuid,
        scopes: Vec<String>,
    },
}

/// Issues and verifies access tokens.
pub struct TokenIssuer {
    issuer: String,
    user_ttl: Duration,
    partner_ttl: Duration,
}

impl TokenIssuer {
    pub fn new(issuer: String, user_ttl: Duration, partner_ttl: Duration) -> Self {
        TokenIssuer {
            issuer,
            user_ttl,
            partner_ttl,
        }
    }

    /// Lifetime of a partner token, in seconds (the OAuth2 `expires_in`).
    pub fn partner_ttl_secs(&self) -> u64 {
        self.partner_ttl.as_secs()
    }

    /// A token for user `id` at `token_version`, in `session` (its refresh-token family).
    pub async fn issue_user(
        &self,
        keys: &KeyStore,
        id: Uuid,
        token_version: i32,
        session: Uuid,
    ) -> AppResult<String> {
        let claims = Extra {
            ver: Some(token_version),
            scope: None,
            sid: Some(session.to_string()),
        };
        self.issue(keys, USER_AUDIENCE, id, self.user_ttl, claims)
            .await
    }

    /// A token for partner `id` carrying `scopes`.
    pub async fn issue_partner(
        &self,
        keys: &KeyStore,
        id: Uuid,
        scopes: &[String],
    ) -> AppResult<String> {
        let claims = Extra {
            ver: None,
            scope: Some(scopes.join(" ")),
            sid: None,
        };
        self.issue(keys, PARTNER_AUDIENCE, id, self.partner_ttl, claims)
            .await
    }

    async fn issue(
        &self,
        keys: &KeyStore,
        audience: &str,
        subject: Uuid,
        ttl: Duration,
        extra: Extra,
    ) -> AppResult<String> {
        let (kid, key) = keys.signer().await?;
        let now = Utc::now().timestamp();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: audience.to_string(),
            sub: subject.to_string(),
            iat: now,
            exp: now + i64::try_from(ttl.as_secs()).map_err(AppError::internal)?,
            jti: Uuid::now_v7().to_string(),
            ver: extra.ver,
            scope: extra.scope,
            sid: extra.sid,
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid);
        header.typ = Some(TOKEN_TYPE.to_string());
        jsonwebtoken::encode(&header, &claims, &key).map_err(AppError::internal)
    }

    /// Verifies `token` and says whom it speaks for; every failure is UNAUTHENTICATED.
    pub async fn verify(&self, keys: &KeyStore, token: &str) -> AppResult<Subject> {
        let invalid = || AppError::Unauthenticated("invalid or expired access token".into());
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid())?;
        if header.alg != Algorithm::EdDSA || header.typ.as_deref() != Some(TOKEN_TYPE) {
            return Err(invalid());
        }
        let kid = header.kid.ok_or_else(invalid)?;
        let key = keys.verifier(&kid).await?.ok_or_else(invalid)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = LEEWAY_SECS;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[USER_AUDIENCE, PARTNER_AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data =
            jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|_| invalid())?;
        let claims = data.claims;
        let id = Uuid::parse_str(&claims.sub).map_err(|_| invalid())?;
        let session = claims
            .sid
            .as_deref()
            .map(Uuid::parse_str)
            .transpose()
            .map_err(|_| invalid())?;
        match (claims.aud.as_str(), claims.ver, claims.scope) {
            (USER_AUDIENCE, Some(token_version), None) => Ok(Subject::User {
                id,
                token_version,
                session,
            }),
            (PARTNER_AUDIENCE, None, Some(scope)) => Ok(Subject::Partner {
                id,
                scopes: scope.split_whitespace().map(str::to_string).collect(),
            }),
            _ => Err(invalid()),
        }
    }
}
