//! Password hashing: Argon2id (m = 19 MiB, t = 2, p = 1) as PHC strings.
//!
//! Hashing runs in `spawn_blocking` behind a semaphore so a burst of sign-ins cannot starve the
//! async workers or exhaust memory. Verifying against an unknown user uses a dummy hash, so an
//! unknown handle costs the same as a wrong password. Every Argon2 computation is counted in
//! `canyu_password_hashes_total`.

use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use tokio::sync::Semaphore;

use crate::error::{AppError, AppResult};

/// Shortest accepted password, in characters.
pub const MIN_LEN: usize = 10;
/// Longest accepted password, in characters.
pub const MAX_LEN: usize = 128;

/// Hashes and verifies passwords with bounded concurrency.
#[derive(Clone)]
pub struct PasswordHasherPool {
    permits: Arc<Semaphore>,
    dummy_hash: Arc<String>,
}

fn argon2() -> AppResult<Argon2<'static>> {
    let params = Params::new(19 * 1024, 2, 1, None).map_err(AppError::internal)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_blocking(password: &str) -> AppResult<String> {
    let argon2 = argon2()?;
    crate::telemetry::count_password_hash();
    let hash = argon2
        .hash_password(password.as_bytes())
        .map_err(AppError::internal)?;
    Ok(hash.to_string())
}

fn verify_blocking(password: &str, phc: &str) -> AppResult<bool> {
    let parsed = PasswordHash::new(phc).map_err(AppError::internal)?;
    let argon2 = argon2()?;
    crate::telemetry::count_password_hash();
    Ok(argon2.verify_password(password.as_bytes(), &parsed).is_ok())
}

impl PasswordHasherPool {
    /// A pool computing at most `concurrency` hashes at once.
    pub fn new(concurrency: usize) -> AppResult<Self> {
        let dummy_hash = hash_blocking(&super::secrets::generate())?;
        Ok(PasswordHasherPool {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy_hash: Arc::new(dummy_hash),
        })
    }

    /// Hashes `password` into a PHC string.
    pub async fn hash(&self, password: String) -> AppResult<String> {
        let _permit = self.permits.acquire().await.map_err(AppError::internal)?;
        tokio::task::spawn_blocking(move || hash_blocking(&password))
            .await
            .map_err(AppError::internal)?
    }

    /// Checks `password` against `phc`; with `None` it does the same work and answers `false`.
    pub async fn verify(&self, password: String, phc: Option<String>) -> AppResult<bool> {
        let _permit = self.permits.acquire().await.map_err(AppError::internal)?;
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| self.dummy_hash.as_ref().clone());
        let matches = tokio::task::spawn_blocking(move || verify_blocking(&password, &phc))
            .await
            .map_err(AppError::internal)??;
        Ok(known && matches)
    }
}

/// Checks the length rules for a new password.
pub fn validate(field: &str, password: &str) -> AppResult<()> {
    let len = password.chars().count();
    if !(MIN_LEN..=MAX_LEN).contains(&len) {
        return Err(AppError::bad_input(
            field,
            format!("password must be {MIN_LEN}–{MAX_LEN} characters"),
        ));
    }
    Ok(())
}
