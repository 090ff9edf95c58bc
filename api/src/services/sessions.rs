//! Sessions: an access token plus a rotating refresh token.
//!
//! Refresh tokens are opaque 256-bit secrets stored as SHA-256. Each use rotates the token within
//! its family; presenting a token that was already rotated revokes the whole family (the token was
//! stolen, or the client is confused — either way everyone signs in again).

use chrono::Utc;
use entity::{refresh_token, user};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::auth::secrets;
use crate::error::{AppError, AppResult};
use crate::rate_limits::{ClientAddress, Limit};
use crate::state::AppState;

/// What signing in (or refreshing) gives the client.
#[derive(Debug, Clone)]
pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
    pub user: user::Model,
}

/// Starts a new refresh-token family for `user` inside the caller's transaction.
pub async fn start(
    state: &AppState,
    txn: &impl ConnectionTrait,
    user: &user::Model,
) -> AppResult<Session> {
    let family = Uuid::now_v7();
    let refresh_token = insert_token(state, txn, user.id, family).await?;
    let access_token = state
        .tokens
        .issue_user(&state.keys, user.id, user.token_version, family)
        .await?;
    Ok(Session {
        access_token,
        refresh_token,
        user: user.clone(),
    })
}

/// Exchanges a refresh token for a new session in the same family (refreshes per address are
/// limited).
pub async fn refresh(
    state: &AppState,
    presented: &str,
    address: &ClientAddress,
) -> AppResult<Session> {
    let invalid = || AppError::Unauthenticated("invalid or expired refresh token".into());
    state
        .rate_limits
        .charge(Limit::RefreshesByAddress, &address.0, 1)
        .await?;
    let txn = crate::db::begin_write(&state.db).await?;
    let row = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(secrets::digest(presented)))
        .one(&txn)
        .await?
        .ok_or_else(invalid)?;
    let now = Utc::now();
    if row.revoked_at.is_some() || row.expires_at <= now {
        return Err(invalid());
    }
    let claimed = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(row.id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?
        .rows_affected;
    if claimed == 0 {
        revoke_family(&txn, row.family_id).await?;
        txn.commit().await?;
        tracing::warn!(family = %row.family_id, "refresh token reused; family revoked");
        return Err(AppError::Unauthenticated(
            "refresh token was already used; sign in again".into(),
        ));
    }
    let user = super::users::require(&txn, row.user_id).await?;
    if user.banned_at.is_some() {
        return Err(invalid());
    }
    let refresh_token = insert_token(state, &txn, user.id, row.family_id).await?;
    txn.commit().await?;
    let access_token = state
        .tokens
        .issue_user(&state.keys, user.id, user.token_version, row.family_id)
        .await?;
    Ok(Session {
        access_token,
        refresh_token,
        user,
    })
}

/// Ends the session `presented` belongs to (its whole family). Unknown tokens are ignored, so
/// logging out twice is harmless.
pub async fn log_out(state: &AppState, presented: &str) -> AppResult<()> {
    let txn = crate::db::begin_write(&state.db).await?;
    let row = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(secrets::digest(presented)))
        .one(&txn)
        .await?;
    if let Some(row) = &row {
        revoke_family(&txn, row.family_id).await?;
    }
    txn.commit().await?;
    if let Some(row) = row {
        // Open sockets of this session end now rather than at their next check.
        state
            .events
            .sync_poke(&state.db, crate::changes::Scope::User(row.user_id))
            .await;
    }
    Ok(())
}

/// Whether the session (refresh-token family) `family_id` still has a token that is not
/// revoked: false once it was logged out, or revoked as a whole.
pub async fn is_live(db: &impl ConnectionTrait, family_id: Uuid) -> AppResult<bool> {
    Ok(refresh_token::Entity::find()
        .filter(refresh_token::Column::FamilyId.eq(family_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .one(db)
        .await?
        .is_some())
}

/// Revokes every refresh token of `user_id`.
pub async fn revoke_all(db: &impl ConnectionTrait, user_id: Uuid) -> AppResult<()> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(refresh_token::Column::UserId.eq(user_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

async fn revoke_family(db: &impl ConnectionTrait, family_id: Uuid) -> AppResult<()> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(refresh_token::Column::FamilyId.eq(family_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

async fn insert_token(
    state: &AppState,
    db: &impl ConnectionTrait,
    user_id: Uuid,
    family_id: Uuid,
) -> AppResult<String> {
    let secret = secrets::generate();
    let now = Utc::now();
    let ttl =
        chrono::Duration::from_std(state.config.refresh_token_ttl).map_err(AppError::internal)?;
    refresh_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        family_id: Set(family_id),
        token_hash: Set(secrets::digest(&secret)),
        created_at: Set(now),
        expires_at: Set(now + ttl),
        used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(secret)
}
