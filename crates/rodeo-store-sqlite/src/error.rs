//! The backend's internal error, so `?` works on SQLite, JSON and store errors alike;
//! it becomes a [`StoreError`] at the trait boundary, keeping its source.

use rodeo_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("sqlite")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored JSON")]
    Json(#[from] serde_json::Error),
    /// The file was migrated by a newer rodeo; this binary must not touch it.
    #[error("the database schema is at version {found}, newer than this rodeo knows ({known}); upgrade rodeo")]
    SchemaTooNew { found: i64, known: i64 },
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for StoreError {
    fn from(e: Error) -> Self {
        match e {
            Error::Store(e) => e,
            other => StoreError::database(other),
        }
    }
}
