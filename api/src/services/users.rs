//! Accounts: sign-up, log-in, password changes, roles, bans, and turning a verified token into
//! a [`Viewer`].

use chrono::Utc;
use entity::user::{self, Role};
use sea_orm::sea_query::ExprTrait;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::input;
use super::sessions::{self, Session};
use crate::auth::passwords;
use crate::auth::tokens::Subject;
use crate::auth::{PartnerViewer, UserViewer, Viewer};
use crate::error::{AppError, AppResult};
use crate::rate_limits::{ClientAddress, Limit};
use crate::state::AppState;

/// What `signUp` asks for.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub handle: String,
    pub password: String,
    pub display_name: String,
}

const INVALID_CREDENTIALS: &str = "invalid handle or password";

/// Checks and lower-cases a handle: 3–32 characters of `a-z`, `0-9`, `_` (`A-Z` folded). Only
/// ASCII is folded, so no other character can turn into one of these (U+212A KELVIN SIGN
/// lower-cases to `k`): a look-alike is refused, never made into someone else's handle.
pub fn normalize_handle(handle: &str) -> AppResult<String> {
    let handle = handle.trim();
    let valid_chars = handle
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !(3..=32).contains(&handle.len()) || !valid_chars {
        return Err(AppError::bad_input(
            "handle",
            "handle must be 3–32 characters of a-z, 0-9 and _",
        ));
    }
    Ok(handle.to_ascii_lowercase())
}

/// Trims and checks a display name: a single line of 1–64 characters with the Unicode rules of
/// every name ([`input::line`]: no control characters, no bidi overrides, not invisible).
pub fn normalize_display_name(name: &str) -> AppResult<String> {
    input::line("displayName", name, 1, 64)
}

/// Creates a MEMBER account and signs it in (sign-ups per address are limited).
pub async fn sign_up(
    state: &AppState,
    input: NewUser,
    address: &ClientAddress,
) -> AppResult<Session> {
    let handle = normalize_handle(&input.handle)?;
    let display_name = normalize_display_name(&input.display_name)?;
    passwords::validate("password", &input.password)?;
    state
        .rate_limits
        .charge(Limit::SignUpsByAddress, &address.0, 1)
        .await?;
    let password_hash = state.passwords.hash(input.password).await?;

    let txn = crate::db::begin_write(&state.db).await?;
    let user = insert(&txn, handle, display_name, password_hash, Role::Member).await?;
    let session = sessions::start(state, &txn, &user).await?;
    txn.commit().await?;
    Ok(session)
}

/// Checks a handle and password and signs the user in. Unknown handles and wrong passwords
/// take the same time and get the same UNAUTHENTICATED error. Attempts are counted per handle
/// and per address before any hashing, and a successful one is given back, so only failures
/// use up the limit.
pub async fn log_in(
    state: &AppState,
    handle: &str,
    password: String,
    address: &ClientAddress,
) -> AppResult<Session> {
    let key = handle.trim().to_lowercase();
    let limits = &state.rate_limits;
    limits.charge(Limit::LogInsByAddress, &address.0, 1).await?;
    limits.charge(Limit::LogInsByHandle, &key, 1).await?;
    let found = match normalize_handle(handle) {
        Ok(handle) => find_by_handle(&state.db, &handle).await?,
        Err(_) => None,
    };
    let hash = found.as_ref().map(|u| u.password_hash.clone());
    if !state.passwords.verify(password, hash).await? {
        return Err(AppError::Unauthenticated(INVALID_CREDENTIALS.into()));
    }
    let user = found.ok_or_else(|| AppError::Unauthenticated(INVALID_CREDENTIALS.into()))?;
    limits.refund(Limit::LogInsByAddress, &address.0, 1).await?;
    limits.refund(Limit::LogInsByHandle, &key, 1).await?;
    if user.banned_at.is_some() {
        return Err(AppError::Forbidden("this account is suspended".into()));
    }
    let txn = crate::db::begin_write(&state.db).await?;
    let session = sessions::start(state, &txn, &user).await?;
    txn.commit().await?;
    Ok(session)
}

/// Changes the viewer's password, ends every existing session and access token, and starts a
/// new session.
pub async fn change_password(
    state: &AppState,
    viewer: &Viewer,
    current_password: String,
    new_password: String,
) -> AppResult<Session> {
    let me = viewer.require_user()?;
    passwords::validate("newPassword", &new_password)?;
    let user = require(&state.db, me.id).await?;
    // A wrong current password is a password guess: it counts like a failed log-in.
    let limits = &state.rate_limits;
    limits
        .charge(Limit::LogInsByHandle, &user.handle, 1)
        .await?;
    if !state
        .passwords
        .verify(current_password, Some(user.password_hash.clone()))
        .await?
    {
        return Err(AppError::bad_input(
            "currentPassword",
            "current password is wrong",
        ));
    }
    limits
        .refund(Limit::LogInsByHandle, &user.handle, 1)
        .await?;
    let password_hash = state.passwords.hash(new_password).await?;
    let txn = crate::db::begin_write(&state.db).await?;
    let user = bump_token_version(&txn, user, |active| {
        active.password_hash = Set(password_hash);
    })
    .await?;
    sessions::revoke_all(&txn, user.id).await?;
    let session = sessions::start(state, &txn, &user).await?;
    txn.commit().await?;
    account_changed(state, user.id).await;
    Ok(session)
}

/// Tells the account's open sockets (and sync devices) that it changed, so they check their
/// token at once instead of at their next periodic check.
async fn account_changed(state: &AppState, user_id: Uuid) {
    state
        .events
        .sync_poke(&state.db, crate::changes::Scope::User(user_id))
        .await;
}

/// Sets a user's global role (ADMIN only; an admin cannot demote themself).
pub async fn set_role(
    state: &AppState,
    viewer: &Viewer,
    user_id: Uuid,
    role: Role,
) -> AppResult<user::Model> {
    let admin = viewer.require_role(Role::Admin)?;
    if admin.id == user_id && role != Role::Admin {
        return Err(AppError::bad_input(
            "userId",
            "an admin cannot remove their own admin role",
        ));
    }
    let txn = crate::db::begin_write(&state.db).await?;
    let user = require(&txn, user_id).await?;
    let mut active: user::ActiveModel = user.into();
    active.role = Set(role);
    active.updated_at = Set(Utc::now());
    let user = active.update(&txn).await?;
    txn.commit().await?;
    // The role decides `admin:` sync scopes: the user's devices should pull now, and open
    // sockets of a demoted account close.
    account_changed(state, user.id).await;
    Ok(user)
}

/// Suspends (`banned = true`) or reinstates a user (ADMIN only). A ban ends the user's
/// sessions and access tokens at once.
pub async fn set_banned(
    state: &AppState,
    viewer: &Viewer,
    user_id: Uuid,
    banned: bool,
) -> AppResult<user::Model> {
    let admin = viewer.require_role(Role::Admin)?;
    if admin.id == user_id {
        return Err(AppError::bad_input(
            "userId",
            "an admin cannot ban themself",
        ));
    }
    let txn = crate::db::begin_write(&state.db).await?;
    let user = require(&txn, user_id).await?;
    let user = if banned {
        let user = bump_token_version(&txn, user, |active| {
            active.banned_at = Set(Some(Utc::now()));
        })
        .await?;
        sessions::revoke_all(&txn, user.id).await?;
        user
    } else {
        let mut active: user::ActiveModel = user.into();
        active.banned_at = Set(None);
        active.updated_at = Set(Utc::now());
        active.update(&txn).await?
    };
    txn.commit().await?;
    account_changed(state, user.id).await;
    Ok(user)
}

/// Creates `handle` as an ADMIN with `password`, or promotes the existing user (then no password
/// is needed). Returns the user and whether it was created.
pub async fn create_admin(
    state: &AppState,
    handle: &str,
    password: Option<String>,
) -> AppResult<(user::Model, bool)> {
    let handle = normalize_handle(handle)?;
    if let Some(existing) = find_by_handle(&state.db, &handle).await? {
        let mut active: user::ActiveModel = existing.into();
        active.role = Set(Role::Admin);
        active.updated_at = Set(Utc::now());
        return Ok((active.update(&state.db).await?, false));
    }
    let password = password.ok_or_else(|| {
        AppError::bad_input("password", "a password is needed to create a new admin")
    })?;
    passwords::validate("password", &password)?;
    let password_hash = state.passwords.hash(password).await?;
    let txn = crate::db::begin_write(&state.db).await?;
    let user = insert(&txn, handle.clone(), handle, password_hash, Role::Admin).await?;
    txn.commit().await?;
    Ok((user, true))
}

/// The account behind a verified token, as a [`Viewer`]; a stale token version, a ban, a
/// deleted account or a revoked partner is UNAUTHENTICATED.
pub async fn resolve_viewer(state: &AppState, subject: Subject) -> AppResult<Viewer> {
    let ended = || AppError::Unauthenticated("access token is no longer valid".into());
    match subject {
        Subject::User {
            id, token_version, ..
        } => {
            let user = find(&state.db, id).await?.ok_or_else(ended)?;
            if user.token_version != token_version || user.banned_at.is_some() {
                return Err(ended());
            }
            Ok(Viewer::User(UserViewer {
                id: user.id,
                role: user.role,
            }))
        }
        Subject::Partner { id, scopes } => {
            let partner = super::partners::find_active(&state.db, id)
                .await?
                .ok_or_else(ended)?;
            let granted: Vec<&str> = partner.scopes.split_whitespace().collect();
            Ok(Viewer::Partner(PartnerViewer {
                id,
                scopes: scopes
                    .into_iter()
                    .filter(|s| granted.contains(&s.as_str()))
                    .collect(),
            }))
        }
    }
}

/// The user with `id`, if any.
pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<user::Model>> {
    Ok(user::Entity::find_by_id(id).one(db).await?)
}

/// The user with `id`, or NOT_FOUND.
pub async fn require(db: &impl ConnectionTrait, id: Uuid) -> AppResult<user::Model> {
    find(db, id)
        .await?
        .ok_or_else(|| AppError::not_found("user"))
}

/// Users by id, for loaders.
pub async fn find_many(db: &impl ConnectionTrait, ids: &[Uuid]) -> AppResult<Vec<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}

async fn find_by_handle(db: &impl ConnectionTrait, handle: &str) -> AppResult<Option<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::Handle.eq(handle))
        .one(db)
        .await?)
}

async fn insert(
    db: &impl ConnectionTrait,
    handle: String,
    display_name: String,
    password_hash: String,
    role: Role,
) -> AppResult<user::Model> {
    let now = Utc::now();
    user::ActiveModel {
        id: Set(Uuid::now_v7()),
        handle: Set(handle),
        display_name: Set(display_name),
        password_hash: Set(password_hash),
        role: Set(role),
        token_version: Set(0),
        banned_at: Set(None),
        growth_points: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .map_err(|e| AppError::conflict_on_unique(e, "this handle is taken"))
}

/// Applies `change` and bumps the token version atomically (`token_version + 1` in SQL).
async fn bump_token_version(
    db: &impl ConnectionTrait,
    user: user::Model,
    change: impl FnOnce(&mut user::ActiveModel),
) -> AppResult<user::Model> {
    let id = user.id;
    let mut active: user::ActiveModel = user.into();
    change(&mut active);
    active.updated_at = Set(Utc::now());
    active.update(db).await?;
    user::Entity::update_many()
        .col_expr(
            user::Column::TokenVersion,
            sea_orm::sea_query::Expr::col(user::Column::TokenVersion).add(1),
        )
        .filter(user::Column::Id.eq(id))
        .exec(db)
        .await?;
    require(db, id).await
}

/// Verifies an access token and resolves its viewer; every failure is UNAUTHENTICATED.
pub async fn authenticate(state: &AppState, token: &str) -> AppResult<Viewer> {
    let subject = state.tokens.verify(&state.keys, token).await?;
    resolve_viewer(state, subject).await
}

/// Like [`authenticate`], and also UNAUTHENTICATED once the token's session has been logged
/// out: for connections that outlive a request (websockets), which must end with their session.
pub async fn authenticate_session(state: &AppState, token: &str) -> AppResult<Viewer> {
    let subject = state.tokens.verify(&state.keys, token).await?;
    if let Subject::User {
        session: Some(family),
        ..
    } = &subject
        && !sessions::is_live(&state.db, *family).await?
    {
        return Err(AppError::Unauthenticated(
            "this session has been logged out".into(),
        ));
    }
    resolve_viewer(state, subject).await
}
