//! `AppError`: every failure a caller can see, and the only mapping to `extensions.code` and,
//! for the endpoints that are not GraphQL, to an HTTP status.
//!
//! Codes come from a closed set (the README lists them). Internal errors are logged here with
//! their details and reach the caller only as a generic message.

use async_graphql::ErrorExtensions;
use sea_orm::{DbErr, SqlErr};

/// The result type of every service function.
pub type AppResult<T> = Result<T, AppError>;

/// A failure with a stable, documented code.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    /// No valid credentials: missing, expired, tampered or revoked.
    #[error("{0}")]
    Unauthenticated(String),
    /// Signed in, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// Muted or banned where the caller tried to act: FORBIDDEN, and `SANCTIONED` as a pushed
    /// mutation's result code. The message says until when.
    #[error("{0}")]
    Sanctioned(String),
    /// Missing, or not visible to the viewer (the two are indistinguishable).
    #[error("{0}")]
    NotFound(String),
    /// Invalid input; `field` names the offending input field when there is one.
    #[error("{message}")]
    BadUserInput {
        field: Option<String>,
        message: String,
    },
    /// The request contradicts existing state (a taken handle, a reused id with another payload).
    #[error("{0}")]
    Conflict(String),
    /// The poll does not accept ballots at this server time.
    #[error("{0}")]
    PollClosed(String),
    /// A sync client too old to pull; its pushes still apply.
    #[error("{0}")]
    ClientUpgradeRequired(String),
    /// Too many requests; retry after `retry_after_secs`.
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after_secs: u64,
    },
    /// The document is larger than allowed (bytes or tokens).
    #[error("{0}")]
    QueryTooLarge(String),
    /// The document nests deeper than allowed.
    #[error("{0}")]
    QueryTooDeep(String),
    /// The document would cost more than allowed (complexity, aliases, expanded fields).
    #[error("{0}")]
    QueryTooComplex(String),
    /// The request ran longer than allowed and was stopped; nothing it started was kept.
    #[error("{0}")]
    Timeout(String),
    /// The database or another dependency cannot be reached right now.
    #[error("service temporarily unavailable")]
    Unavailable(String),
    /// A bug or an unexpected failure; details are only logged.
    #[error("internal error")]
    Internal(String),
}

impl AppError {
    /// The `extensions.code` of this error.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated(_) => "UNAUTHENTICATED",
            AppError::Forbidden(_) | AppError::Sanctioned(_) => "FORBIDDEN",
            AppError::NotFound(_) => "NOT_FOUND",
            AppError::BadUserInput { .. } => "BAD_USER_INPUT",
            AppError::Conflict(_) => "CONFLICT",
            AppError::PollClosed(_) => "POLL_CLOSED",
            AppError::ClientUpgradeRequired(_) => "CLIENT_UPGRADE_REQUIRED",
            AppError::RateLimited { .. } => "RATE_LIMITED",
            AppError::QueryTooLarge(_) => "QUERY_TOO_LARGE",
            AppError::QueryTooDeep(_) => "QUERY_TOO_DEEP",
            AppError::QueryTooComplex(_) => "QUERY_TOO_COMPLEX",
            AppError::Timeout(_) => "TIMEOUT",
            AppError::Unavailable(_) => "UNAVAILABLE",
            AppError::Internal(_) => "INTERNAL",
        }
    }

    /// The HTTP status of this error where an endpoint answers with one (everything but
    /// GraphQL, which answers 200 with the error in its body).
    pub fn http_status(&self) -> u16 {
        match self {
            AppError::Unauthenticated(_) => 401,
            AppError::Forbidden(_) | AppError::Sanctioned(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::Conflict(_) | AppError::PollClosed(_) => 409,
            AppError::QueryTooLarge(_) => 413,
            AppError::ClientUpgradeRequired(_) => 426,
            AppError::RateLimited { .. } => 429,
            AppError::Unavailable(_) => 503,
            AppError::Timeout(_) => 504,
            AppError::Internal(_) => 500,
            AppError::BadUserInput { .. }
            | AppError::QueryTooDeep(_)
            | AppError::QueryTooComplex(_) => 400,
        }
    }

    /// Seconds to wait before retrying, for RATE_LIMITED.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            AppError::RateLimited {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        }
    }

    /// Too many requests of one kind: retry after `retry_after_secs` (at least one).
    pub fn rate_limited(message: impl Into<String>, retry_after_secs: u64) -> Self {
        AppError::RateLimited {
            message: message.into(),
            retry_after_secs: retry_after_secs.max(1),
        }
    }

    /// Invalid input in the named field.
    pub fn bad_input(field: &str, message: impl Into<String>) -> Self {
        AppError::BadUserInput {
            field: Some(field.to_string()),
            message: message.into(),
        }
    }

    /// Something the viewer may not see, or that does not exist.
    pub fn not_found(what: &str) -> Self {
        AppError::NotFound(format!("{what} not found"))
    }

    /// A failure whose details must stay in the logs.
    pub fn internal(details: impl std::fmt::Display) -> Self {
        let details = details.to_string();
        tracing::error!(error = %details, "internal error");
        AppError::Internal(details)
    }

    /// Maps a unique-constraint violation to CONFLICT with `message`; anything else as usual.
    pub fn conflict_on_unique(err: DbErr, message: &str) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => AppError::Conflict(message.to_string()),
            _ => err.into(),
        }
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        if database_unreachable(&err) {
            tracing::warn!(error = %err, "database unavailable");
            AppError::Unavailable(err.to_string())
        } else if statement_timed_out(&err) {
            AppError::Timeout("a statement ran longer than the operation's time limit".into())
        } else {
            AppError::internal(err)
        }
    }
}

/// Whether `err` says the database cannot be reached right now (rather than that a statement
/// is wrong): no connection to be had, one that broke, or a server shutting down or starting
/// (SQLSTATE classes 08 and 57P).
fn database_unreachable(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error as Sqlx;
    let runtime = match err {
        DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => return true,
        DbErr::Exec(runtime) | DbErr::Query(runtime) => runtime,
        _ => return false,
    };
    let RuntimeErr::SqlxError(sqlx) = runtime else {
        return false;
    };
    match sqlx.as_ref() {
        Sqlx::Io(_)
        | Sqlx::Tls(_)
        | Sqlx::PoolTimedOut
        | Sqlx::PoolClosed
        | Sqlx::WorkerCrashed
        | Sqlx::Protocol(_) => true,
        Sqlx::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
        _ => false,
    }
}

/// Whether Postgres stopped the statement at `statement_timeout` (SQLSTATE 57014), the
/// database's backstop of the request time limit.
fn statement_timed_out(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error as Sqlx;
    let (DbErr::Exec(RuntimeErr::SqlxError(sqlx)) | DbErr::Query(RuntimeErr::SqlxError(sqlx))) =
        err
    else {
        return false;
    };
    matches!(sqlx.as_ref(), Sqlx::Database(db) if db.code().as_deref() == Some("57014"))
}

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        async_graphql::Error::new(self.to_string()).extend_with(|_, ext| {
            ext.set("code", self.code());
            if let AppError::BadUserInput {
                field: Some(field), ..
            } = self
            {
                ext.set("field", field.as_str());
            }
            if let Some(secs) = self.retry_after_secs() {
                ext.set("retryAfterSeconds", secs);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_that_cannot_be_reached_is_unavailable_not_internal() {
        use std::sync::Arc;

        use sea_orm::RuntimeErr;
        use sea_orm::sqlx::Error as Sqlx;
        let query = |err: Sqlx| DbErr::Query(RuntimeErr::SqlxError(Arc::new(err)));
        for err in [
            query(Sqlx::PoolTimedOut),
            query(Sqlx::PoolClosed),
            query(Sqlx::Io(std::io::Error::from(
                std::io::ErrorKind::ConnectionReset,
            ))),
        ] {
            assert_eq!(AppError::from(err).code(), "UNAVAILABLE");
        }
        assert_eq!(
            AppError::from(query(Sqlx::RowNotFound)).code(),
            "INTERNAL",
            "a statement's own failure stays a bug"
        );
    }

    #[test]
    fn internal_details_never_reach_the_message() {
        let err = AppError::internal("password_hash column missing");
        assert_eq!(err.to_string(), "internal error");
        assert_eq!(err.code(), "INTERNAL");
    }
}
