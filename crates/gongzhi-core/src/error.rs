//! One error type for the core boundary; mapped once to HTTP (`http::ApiError`) and once to CLI
//! messages (its `Display`).

use serde_json::Value;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input that fails validation; `code` is a stable machine-readable identifier.
    #[error("{message}")]
    Invalid {
        code: &'static str,
        message: String,
        details: Option<Value>,
    },
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("not authenticated: {0}")]
    Unauthenticated(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// A state change that is not allowed now, or a lost race.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The same, with a stable code a client can act on (`already_voted`, `wrong_state`).
    #[error("conflict: {message}")]
    Refused { code: &'static str, message: String },
    #[error("too many requests: {0}")]
    RateLimited(String),
    #[error("point is outside the jurisdiction")]
    OutsideJurisdiction,
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid {
            code,
            message: message.into(),
            details: None,
        }
    }
    pub fn invalid_with(code: &'static str, message: impl Into<String>, details: Value) -> Self {
        Error::Invalid {
            code,
            message: message.into(),
            details: Some(details),
        }
    }
    pub fn not_found(what: impl Into<String>) -> Self {
        Error::NotFound { what: what.into() }
    }
    pub fn refused(code: &'static str, message: impl Into<String>) -> Self {
        Error::Refused {
            code,
            message: message.into(),
        }
    }
    pub fn internal(message: impl std::fmt::Display) -> Self {
        Error::Internal(message.to_string())
    }
    /// True when a storage error is a unique-key violation (a lost race or a duplicate).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            Error::Storage(sqlx::Error::Database(e)) => {
                e.is_unique_violation() || e.message().contains("UNIQUE constraint")
            }
            _ => false,
        }
    }
}
