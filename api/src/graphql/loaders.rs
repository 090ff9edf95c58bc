//! Every DataLoader, built fresh for each request by [`Loaders::new`]: one query per batch,
//! never one per row, and nothing cached across requests.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};
use entity::user;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::error::AppError;

/// The loaders of one request.
pub struct Loaders {
    pub users: DataLoader<UserLoader>,
}

impl Loaders {
    pub fn new(db: DatabaseConnection) -> Self {
        Loaders {
            users: DataLoader::new(UserLoader { db }, tokio::spawn),
        }
    }
}

/// Users by id.
pub struct UserLoader {
    db: DatabaseConnection,
}

impl Loader<Uuid> for UserLoader {
    type Value = user::Model;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, user::Model>, AppError> {
        let users = crate::services::users::find_many(&self.db, keys).await?;
        Ok(users.into_iter().map(|u| (u.id, u)).collect())
    }
}
