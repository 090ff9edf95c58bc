//! Identity primitives: who is calling ([`Viewer`]), passwords, signing keys, tokens, secrets.
//!
//! Nothing here knows GraphQL or actix; `http.rs` turns a header into a [`Viewer`] and the
//! services decide what that viewer may do.

pub mod keys;
pub mod passwords;
pub mod secrets;
pub mod tokens;

pub use entity::user::Role;
use sea_orm::ActiveEnum;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// The scopes a partner may be granted, with what each allows.
pub const PARTNER_SCOPES: &[(&str, &str)] = &[
    (
        "sales:write",
        "report net sales of product lines (drives idea dividends)",
    ),
    ("ideas:read", "read adopted ideas and their status"),
    (
        "growth:write",
        "report growth activity of users (purchases, device use, reviews)",
    ),
];

/// A signed-in user, as their access token and current account row say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserViewer {
    pub id: Uuid,
    pub role: Role,
}

/// A partner integration calling with a client-credentials token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerViewer {
    pub id: Uuid,
    pub scopes: Vec<String>,
}

/// Who is making a request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Viewer {
    #[default]
    Anonymous,
    User(UserViewer),
    Partner(PartnerViewer),
}

impl Viewer {
    /// The signed-in user, or UNAUTHENTICATED (FORBIDDEN for a partner token).
    pub fn require_user(&self) -> AppResult<&UserViewer> {
        match self {
            Viewer::User(user) => Ok(user),
            Viewer::Partner(_) => Err(AppError::Forbidden(
                "this operation needs a user's access token, not a partner token".into(),
            )),
            Viewer::Anonymous => Err(AppError::Unauthenticated("sign in first".into())),
        }
    }

    /// A signed-in user with at least `role` (ADMIN ⊇ STAFF ⊇ MEMBER).
    pub fn require_role(&self, role: Role) -> AppResult<&UserViewer> {
        let user = self.require_user()?;
        if rank(user.role) >= rank(role) {
            Ok(user)
        } else {
            Err(AppError::Forbidden(format!(
                "this operation needs the {} role",
                role.to_value()
            )))
        }
    }

    /// A partner whose token carries `scope`, or an ADMIN user when `admin_allowed`.
    pub fn require_scope(&self, scope: &str, admin_allowed: bool) -> AppResult<()> {
        match self {
            Viewer::Partner(partner) if partner.scopes.iter().any(|s| s == scope) => Ok(()),
            Viewer::Partner(_) => Err(AppError::Forbidden(format!(
                "this operation needs the `{scope}` scope"
            ))),
            Viewer::User(user) if admin_allowed && user.role == Role::Admin => Ok(()),
            Viewer::User(_) => Err(AppError::Forbidden(format!(
                "this operation needs a partner token with the `{scope}` scope"
            ))),
            Viewer::Anonymous => Err(AppError::Unauthenticated("sign in first".into())),
        }
    }

    /// The signed-in user's id, if a user is calling.
    pub fn user_id(&self) -> Option<Uuid> {
        match self {
            Viewer::User(user) => Some(user.id),
            _ => None,
        }
    }

    /// Whether a STAFF or ADMIN user is calling: the brand's people see every community.
    pub fn is_staff(&self) -> bool {
        matches!(self, Viewer::User(user) if rank(user.role) >= rank(Role::Staff))
    }

    /// Whether this viewer may do everything `other` may: the same account with at least its
    /// role, or the same partner with at least its scopes.
    pub fn has_every_right_of(&self, other: &Viewer) -> bool {
        match (self, other) {
            (_, Viewer::Anonymous) => true,
            (Viewer::User(me), Viewer::User(them)) => {
                me.id == them.id && rank(me.role) >= rank(them.role)
            }
            (Viewer::Partner(me), Viewer::Partner(them)) => {
                me.id == them.id && them.scopes.iter().all(|s| me.scopes.contains(s))
            }
            _ => false,
        }
    }

    /// The partner calling, or FORBIDDEN for a user token.
    pub fn require_partner(&self) -> AppResult<&PartnerViewer> {
        match self {
            Viewer::Partner(partner) => Ok(partner),
            Viewer::User(_) => Err(AppError::Forbidden(
                "this operation needs a partner token".into(),
            )),
            Viewer::Anonymous => Err(AppError::Unauthenticated("sign in first".into())),
        }
    }
}

fn rank(role: Role) -> u8 {
    match role {
        Role::Member => 0,
        Role::Staff => 1,
        Role::Admin => 2,
    }
}
