//! Scopes: the server's unit of visibility for sync. A user holds `user:<their id>`,
//! `community:<id>` for every community where they are an ACTIVE member not banned now, and — as an ADMIN —
//! `admin:<id>` for those communities too. Every synced row lives in one or more scopes.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use entity::membership::{self, MembershipStatus};
use entity::user::{self, Role};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// One scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// A user's private rows: their votes, ballots, memberships, revenue shares.
    User(Uuid),
    /// A community's shared rows: the community, its suggestions, comments and polls.
    Community(Uuid),
    /// What the brand's admins see of a community: its revenue-share records.
    Admin(Uuid),
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::User(id) => write!(f, "user:{id}"),
            Scope::Community(id) => write!(f, "community:{id}"),
            Scope::Admin(id) => write!(f, "admin:{id}"),
        }
    }
}

impl FromStr for Scope {
    type Err = AppError;

    fn from_str(text: &str) -> AppResult<Self> {
        let invalid = || AppError::internal(format!("not a scope: {text}"));
        let (kind, id) = text.split_once(':').ok_or_else(invalid)?;
        let id = Uuid::parse_str(id).map_err(|_| invalid())?;
        match kind {
            "user" => Ok(Scope::User(id)),
            "community" => Ok(Scope::Community(id)),
            "admin" => Ok(Scope::Admin(id)),
            _ => Err(invalid()),
        }
    }
}

/// The scopes `user_id` holds now, as `db` (a pull's snapshot) sees them.
pub async fn held_by(db: &impl ConnectionTrait, user_id: Uuid) -> AppResult<BTreeSet<Scope>> {
    let mut scopes = BTreeSet::from([Scope::User(user_id)]);
    let role = user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .map(|u| u.role)
        .ok_or_else(|| AppError::Unauthenticated("this account no longer exists".into()))?;
    let communities = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .filter(membership::Column::Status.eq(MembershipStatus::Active))
        .all(db)
        .await?;
    let (banned_everywhere, banned_from) =
        crate::services::sanctions::banned_from(db, user_id).await?;
    for member in communities {
        if banned_everywhere || banned_from.contains(&member.community_id) {
            continue;
        }
        scopes.insert(Scope::Community(member.community_id));
        if role == Role::Admin {
            scopes.insert(Scope::Admin(member.community_id));
        }
    }
    Ok(scopes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_through_text() {
        let id = Uuid::now_v7();
        for scope in [Scope::User(id), Scope::Community(id), Scope::Admin(id)] {
            assert_eq!(scope.to_string().parse::<Scope>().unwrap(), scope);
        }
        assert!("team:x".parse::<Scope>().is_err());
    }
}
