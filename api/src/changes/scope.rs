//! Scopes: the unit of visibility of the change index. Every synced row lives in one or more:
//! `user:<id>` (a user's private rows), `community:<id>` (a community's shared rows) and
//! `admin:<community id>` (what the brand's admins see of a community). Who holds which is
//! decided above, in `sync::scopes`.

use std::fmt;
use std::str::FromStr;

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
