//! One error type for the core boundary; mapped once to HTTP (`http::ApiError`) and once to CLI
//! messages (its `Display`). Every code an error carries is listed, with its HTTP status and
//! its messages in Chinese and English, in [`catalogue`]; the OpenAPI document lists them too.

pub mod catalogue;

use serde_json::{json, Value};

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
    /// A state change refused without saying why in a code (`conflict`). Kept while the last
    /// callers move to [`Error::Refused`]; new code names its refusal.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A state change refused now, with a stable code a client can act on (`wrong_state`,
    /// `lost_race`, `already_voted` …; see [`catalogue`]). Answered 409 unless the catalogue
    /// says otherwise.
    #[error("conflict: {message}")]
    Refused { code: &'static str, message: String },
    #[error("too many requests: {0}")]
    RateLimited(String),
    #[error("point is outside the jurisdiction")]
    OutsideJurisdiction,
    #[error("storage: {0}")]
    Storage(StorageError),
    #[error("{0}")]
    Internal(String),
}

/// What the database said, as far as callers tell failures apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageKind {
    /// A unique key refused the row: a duplicate, or a race lost to another writer.
    Unique,
    /// The database is busy or unreachable right now (a lock, a pool timed out, a lost link).
    Busy,
    /// A statement expected to return a row returned none.
    NoRow,
    Other,
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct StorageError {
    pub kind: StorageKind,
    pub message: String,
}

impl StorageError {
    /// As an [`Error`], naming the statement when the failure is not one callers tell apart.
    pub(crate) fn in_statement(mut self, sql: &str) -> Error {
        if self.kind == StorageKind::Other {
            self.message = format!("{}\n{sql}", self.message);
        }
        Error::Storage(self)
    }
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
    /// A value outside a closed set (an enum) given where no JSON parser saw it (a form field,
    /// a stored filter): 422 `unknown_value`, with the field and the values it takes.
    pub fn unknown_value(field: &str, value: &str, expected: &[&str]) -> Self {
        Error::invalid_with(
            "unknown_value",
            format!("{field} {value:?} is not one of {}", expected.join(", ")),
            json!({"field": field, "value": value, "expected": expected}),
        )
    }
    pub fn internal(message: impl std::fmt::Display) -> Self {
        Error::Internal(message.to_string())
    }
    /// True when a storage error is a unique-key violation (a lost race or a duplicate).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            Error::Storage(e) => e.kind == StorageKind::Unique,
            _ => false,
        }
    }
    /// The stable code a client sees (one of [`catalogue::CATALOGUE`]).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Invalid { code, .. } | Error::Refused { code, .. } => code,
            Error::NotFound { .. } => "not_found",
            Error::Unauthenticated(_) => "unauthenticated",
            Error::Forbidden(_) => "forbidden",
            Error::Conflict(_) => "conflict",
            Error::RateLimited(_) => "rate_limited",
            Error::OutsideJurisdiction => "outside_jurisdiction",
            Error::Storage(_) | Error::Internal(_) => "internal",
        }
    }
    /// The HTTP status of this error: its code's in the catalogue, else its kind's.
    pub fn status(&self) -> u16 {
        let default = match self {
            Error::Invalid { .. } => 400,
            Error::NotFound { .. } | Error::OutsideJurisdiction => 404,
            Error::Unauthenticated(_) => 401,
            Error::Forbidden(_) => 403,
            Error::Conflict(_) | Error::Refused { .. } => 409,
            Error::RateLimited(_) => 429,
            Error::Storage(_) | Error::Internal(_) => 500,
        };
        catalogue::lookup(self.code()).map_or(default, |e| e.status)
    }
}
