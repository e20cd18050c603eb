//! How a SQLite store is opened: durability mode, read pool size, and the database URL
//! forms `rodeo serve --database-url` accepts.

use std::path::PathBuf;
use std::time::Duration;

/// SQLite's `synchronous` setting, the one durability knob that matters in WAL mode.
///
/// - [`Synchronous::Full`] (default): every group commit is flushed to disk (`fdatasync`
///   of the WAL) before it is acknowledged, so an acknowledged write survives a power
///   loss or OS crash. The flush runs beside the writer (see `durable`).
/// - [`Synchronous::Normal`]: the WAL is fsynced only at checkpoints, so a power loss
///   or OS crash may lose the last transactions acknowledged before it (the database
///   stays consistent). Faster on slow disks.
///
/// Either way a process crash (`kill -9`) loses nothing acknowledged: committed pages
/// are in the OS page cache, which outlives the process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Synchronous {
    #[default]
    Full,
    Normal,
}

/// Options for [`crate::SqliteStore::open`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    pub synchronous: Synchronous,
    /// Read-only connections for queries (each read runs on a blocking thread).
    pub readers: usize,
    /// How long a connection waits for a lock before failing (checkpoints, backups,
    /// another process).
    pub busy_timeout: Duration,
    /// At most this many queued write calls share one transaction (group commit).
    pub max_batch: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            synchronous: Synchronous::Full,
            readers: 4,
            busy_timeout: Duration::from_secs(5),
            max_batch: 256,
        }
    }
}

/// The file a database URL names: `sqlite://path`, `sqlite:path` or a bare path.
/// `sqlite:///abs/path` is an absolute path; query strings are not supported.
pub(crate) fn path_of_url(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    (!rest.is_empty() && !rest.contains('?')).then(|| PathBuf::from(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_forms() {
        assert_eq!(path_of_url("sqlite://rodeo.db"), Some("rodeo.db".into()));
        assert_eq!(
            path_of_url("sqlite:///var/lib/rodeo.db"),
            Some("/var/lib/rodeo.db".into())
        );
        assert_eq!(path_of_url("sqlite:data/r.db"), Some("data/r.db".into()));
        assert_eq!(path_of_url("./rodeo.db"), Some("./rodeo.db".into()));
        assert_eq!(path_of_url("sqlite://"), None);
        assert_eq!(path_of_url("sqlite://x.db?mode=ro"), None);
    }
}
