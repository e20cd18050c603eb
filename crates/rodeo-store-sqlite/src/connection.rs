//! Opening connections with rodeo's pragmas: the writer's read-write one, and the read
//! pool's read-only ones.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use crate::error::Result;
use crate::options::{SqliteOptions, Synchronous};

/// Enough cached statements for every query rodeo runs on a connection.
const STATEMENT_CACHE: usize = 256;

/// The writer's connection. Creates the file; sets WAL, which is persistent.
pub(crate) fn open_writer(path: &Path, options: &SqliteOptions) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )?;
    conn.busy_timeout(options.busy_timeout)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL durability on a file is kept by flushing the WAL beside the writer (see
    // `durable`), so SQLite's own COMMIT need not wait for the disk.
    let synchronous = match options.synchronous {
        Synchronous::Full if wal_path(&conn).is_none() => "FULL",
        Synchronous::Full | Synchronous::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", synchronous)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Checkpoints run beside the writer, not inside its commits (see `checkpoint`).
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    // After a busy spell the WAL file is cut back to this size when it starts over.
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    tune(&conn, WRITER_CACHE_KIB)?;
    Ok(conn)
}

/// The `-wal` file of a connection's database, if it has a file.
pub(crate) fn wal_path(conn: &Connection) -> Option<PathBuf> {
    conn.path()
        .filter(|p| !p.is_empty())
        .map(|p| PathBuf::from(format!("{p}-wal")))
}

/// A read-only connection for the read pool.
pub(crate) fn open_reader(path: &Path, options: &SqliteOptions) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(options.busy_timeout)?;
    tune(&conn, READER_CACHE_KIB)?;
    Ok(conn)
}

/// Page cache per connection: the writer keeps the hot part of the commit graph and the
/// indexes it inserts into in memory instead of re-reading them from the OS; readers
/// need less.
const WRITER_CACHE_KIB: i64 = 32 * 1024;
const READER_CACHE_KIB: i64 = 8 * 1024;

/// Settings every connection shares.
fn tune(conn: &Connection, cache_kib: i64) -> Result<()> {
    // Temporary b-trees of the recursive ancestor queries stay in memory.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // Negative means KiB.
    conn.pragma_update(None, "cache_size", -cache_kib)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}
