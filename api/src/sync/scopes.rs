//! Who holds which scopes ([`Scope`], the unit of visibility of the change index): a user holds `user:<their id>`,
//! `community:<id>` for every community where they are an ACTIVE member not banned now, and — as an ADMIN —
//! `admin:<id>` for those communities too. Every synced row lives in one or more scopes.
//!
//! A pull cursor names the scopes its device holds by a digest of the set ([`ScopeSet`]), kept
//! once in `sync_scope_set`, so a cursor has the same size for one community or ten thousand.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use entity::membership::{self, MembershipStatus};
use entity::sync_scope_set;
use entity::user::{self, Role};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::changes::Scope;
use crate::error::{AppError, AppResult};

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

/// A set of scopes as cursors refer to it: the scopes, sorted, and their digest (the hex SHA-256
/// of the scopes one per line), which is the set's `sync_scope_set` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeSet {
    pub digest: String,
    pub scopes: Vec<Scope>,
}

impl ScopeSet {
    /// A pull that names a set last marked used longer ago than this marks it again; a set
    /// in use is so never marked older than this.
    pub const MARK_AFTER: chrono::TimeDelta = chrono::TimeDelta::days(1);

    pub fn new(scopes: impl IntoIterator<Item = Scope>) -> Self {
        let scopes: Vec<Scope> = scopes
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        ScopeSet {
            digest: crate::auth::secrets::digest(&Self::text(&scopes)),
            scopes,
        }
    }

    fn text(scopes: &[Scope]) -> String {
        scopes
            .iter()
            .map(Scope::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The stored set `digest` names, with when a cursor last named it; none when unknown.
    pub async fn find(
        db: &impl ConnectionTrait,
        digest: &str,
    ) -> AppResult<Option<(ScopeSet, DateTime<Utc>)>> {
        let Some(row) = sync_scope_set::Entity::find_by_id(digest.to_string())
            .one(db)
            .await?
        else {
            return Ok(None);
        };
        let scopes = row
            .scopes
            .lines()
            .map(str::parse)
            .collect::<AppResult<Vec<Scope>>>()?;
        Ok(Some((ScopeSet::new(scopes), row.used_at)))
    }

    /// Stores the set (once: the same scopes always have the same digest) and marks it used
    /// at `now`.
    pub async fn keep(&self, db: &impl ConnectionTrait, now: DateTime<Utc>) -> AppResult<()> {
        sync_scope_set::Entity::insert(sync_scope_set::ActiveModel {
            id: Set(self.digest.clone()),
            scopes: Set(Self::text(&self.scopes)),
            used_at: Set(now),
        })
        .on_conflict(
            OnConflict::column(sync_scope_set::Column::Id)
                .update_column(sync_scope_set::Column::UsedAt)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
        Ok(())
    }

    /// Forgets the sets no pull has named since `cutoff` (a cursor naming one is reset); a set
    /// marked up to [`Self::MARK_AFTER`] before `cutoff` may have been named since, and stays.
    pub async fn forget_unused(db: &impl ConnectionTrait, cutoff: DateTime<Utc>) -> AppResult<u64> {
        Ok(sync_scope_set::Entity::delete_many()
            .filter(sync_scope_set::Column::UsedAt.lt(cutoff - Self::MARK_AFTER))
            .exec(db)
            .await?
            .rows_affected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_set_has_one_digest_whatever_the_order() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let one = ScopeSet::new([Scope::Community(a), Scope::User(b), Scope::Community(a)]);
        let other = ScopeSet::new([Scope::User(b), Scope::Community(a)]);
        assert_eq!(one, other);
        assert_eq!(one.scopes.len(), 2);
        assert_eq!(one.digest.len(), 64);
        assert_ne!(one.digest, ScopeSet::new([Scope::User(b)]).digest);
    }
}
