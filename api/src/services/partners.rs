//! Partners: integrations that call with client-credentials tokens limited by scopes.
//!
//! The client secret is shown once at creation and stored as SHA-256.

use chrono::Utc;
use entity::partner;
use entity::user::Role;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use crate::auth::{PARTNER_SCOPES, Viewer, secrets};
use crate::error::{AppError, AppResult};
use crate::pagination::{Page, PageRequest};
use crate::state::AppState;

/// A newly created partner with its one-time credentials.
#[derive(Debug, Clone)]
pub struct NewPartnerCredentials {
    pub partner: partner::Model,
    pub client_id: String,
    pub client_secret: String,
}

/// A token granted with the client-credentials grant.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    pub access_token: String,
    pub expires_in: u64,
    pub scope: String,
}

/// Why a client-credentials request failed, in RFC 6749 §5.2 terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantError {
    InvalidClient,
    InvalidScope(String),
    Unavailable,
}

/// Creates a partner with `scopes` (ADMIN only).
pub async fn create(
    state: &AppState,
    viewer: &Viewer,
    name: &str,
    scopes: Vec<String>,
) -> AppResult<NewPartnerCredentials> {
    let admin = viewer.require_role(Role::Admin)?;
    let name = name.trim().to_string();
    if !(1..=100).contains(&name.chars().count()) || name.chars().any(char::is_control) {
        return Err(AppError::bad_input(
            "name",
            "name must be 1–100 characters without control characters",
        ));
    }
    let scopes = validate_scopes(scopes)?;
    let client_id = format!("cp_{}", Uuid::new_v4().simple());
    let client_secret = secrets::generate();
    let txn = crate::db::begin_write(&state.db).await?;
    let partner = partner::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name),
        client_id: Set(client_id.clone()),
        secret_hash: Set(secrets::digest(&client_secret)),
        scopes: Set(scopes.join(" ")),
        created_by: Set(Some(admin.id)),
        created_at: Set(Utc::now()),
        revoked_at: Set(None),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(NewPartnerCredentials {
        partner,
        client_id,
        client_secret,
    })
}

/// Revokes a partner (ADMIN only): its tokens stop working at once and no new ones are granted.
pub async fn revoke(state: &AppState, viewer: &Viewer, id: Uuid) -> AppResult<partner::Model> {
    viewer.require_role(Role::Admin)?;
    let txn = crate::db::begin_write(&state.db).await?;
    let found = partner::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("partner"))?;
    if found.revoked_at.is_some() {
        txn.commit().await?;
        return Ok(found);
    }
    let mut active: partner::ActiveModel = found.into();
    active.revoked_at = Set(Some(Utc::now()));
    let partner = active.update(&txn).await?;
    txn.commit().await?;
    Ok(partner)
}

/// Partners, oldest first (ADMIN only).
pub async fn list(
    state: &AppState,
    viewer: &Viewer,
    page: PageRequest,
) -> AppResult<Page<partner::Model>> {
    viewer.require_role(Role::Admin)?;
    let mut query = partner::Entity::find().order_by_asc(partner::Column::Id);
    if let Some(after) = &page.after {
        let after =
            Uuid::parse_str(after).map_err(|_| AppError::bad_input("after", "invalid cursor"))?;
        query = query.filter(partner::Column::Id.gt(after));
    }
    let rows = query.limit(page.limit + 1).all(&state.db).await?;
    Ok(Page::from_rows(rows, &page, |p| p.id.to_string()))
}

/// The partner calling with a partner token.
pub async fn current(state: &AppState, viewer: &Viewer) -> AppResult<partner::Model> {
    let me = viewer.require_partner()?;
    find_active(&state.db, me.id)
        .await?
        .ok_or_else(|| AppError::not_found("partner"))
}

/// The partner with `id`, unless revoked.
pub async fn find_active(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<partner::Model>> {
    Ok(partner::Entity::find_by_id(id)
        .filter(partner::Column::RevokedAt.is_null())
        .one(db)
        .await?)
}

/// The client-credentials grant: checks the client and narrows the scopes to `requested`.
pub async fn grant_client_credentials(
    state: &AppState,
    client_id: &str,
    client_secret: &str,
    requested: Option<&str>,
) -> Result<TokenGrant, GrantError> {
    let found = partner::Entity::find()
        .filter(partner::Column::ClientId.eq(client_id))
        .one(&state.db)
        .await
        .map_err(|_| GrantError::Unavailable)?;
    let presented = secrets::digest(client_secret);
    let partner = match found {
        Some(p) if secrets::digests_equal(&p.secret_hash, &presented) && p.revoked_at.is_none() => {
            p
        }
        _ => return Err(GrantError::InvalidClient),
    };
    let granted: Vec<String> = partner
        .scopes
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let scopes = match requested.map(str::trim).filter(|s| !s.is_empty()) {
        None => granted,
        Some(requested) => {
            let asked: Vec<String> = requested.split_whitespace().map(str::to_string).collect();
            if let Some(extra) = asked.iter().find(|s| !granted.contains(s)) {
                return Err(GrantError::InvalidScope(format!(
                    "scope `{extra}` is not granted to this client"
                )));
            }
            asked
        }
    };
    let access_token = state
        .tokens
        .issue_partner(&state.keys, partner.id, &scopes)
        .await
        .map_err(|_| GrantError::Unavailable)?;
    Ok(TokenGrant {
        access_token,
        expires_in: state.tokens.partner_ttl_secs(),
        scope: scopes.join(" "),
    })
}

fn validate_scopes(scopes: Vec<String>) -> AppResult<Vec<String>> {
    let mut valid = Vec::new();
    for scope in scopes {
        let scope = scope.trim().to_string();
        if !PARTNER_SCOPES.iter().any(|(known, _)| *known == scope) {
            return Err(AppError::bad_input(
                "scopes",
                format!("unknown scope `{scope}`"),
            ));
        }
        if !valid.contains(&scope) {
            valid.push(scope);
        }
    }
    if valid.is_empty() {
        return Err(AppError::bad_input(
            "scopes",
            "at least one scope is needed",
        ));
    }
    Ok(valid)
}
