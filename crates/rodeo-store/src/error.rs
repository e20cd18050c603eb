//! Storage errors. The server maps each variant to one HTTP status in one place.

use rodeo_domain::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A command refers to something invalid in the current state (an unknown
    /// environment when auto-registration is off, a team that does not exist).
    #[error("invalid request: {0}")]
    Invalid(FieldErrors),
    #[error("{what} {key:?} not found")]
    NotFound { what: &'static str, key: String },
    /// The command conflicts with the current state (already exists, already finished).
    #[error("{0}")]
    Conflict(String),
    /// The idempotency key was used before with a different request.
    #[error("the Idempotency-Key was already used with a different request")]
    IdempotencyMismatch,
    /// The store is shutting down and takes no more writes.
    #[error("the store is closed")]
    Closed,
    #[error("storage not supported by this backend: {0}")]
    Unsupported(&'static str),
    #[error("database error")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub fn database(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Database(Box::new(e))
    }

    pub fn not_found(what: &'static str, key: impl Into<String>) -> Self {
        Self::NotFound {
            what,
            key: key.into(),
        }
    }
}
