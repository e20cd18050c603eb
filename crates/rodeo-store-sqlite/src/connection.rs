//! Opening connections with rodeo's pragmas: the writer's read-write one, and the read
//! pool's read-only ones.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::error::Result;
use crate::options::SqliteOptions;

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
    conn.pragma_update(None, "synchronous", options.synchronous.pragma())?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Checkpoints run beside the writer, not inside its commits (see `checkpoint`).
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    // After a busy spell the WAL file is cut back to this size when it starts over.
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    tune(&conn)?;
    Ok(conn)
}

/// A read-only connection for the read pool.
pub(crate) fn open_reader(path: &Path, options: &SqliteOptions) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(options.busy_timeout)?;
    tune(&conn)?;
    Ok(conn)
}

/// Settings every connection shares.
fn tune(conn: &Connection) -> Result<()> {
    // Temporary b-trees of the recursive ancestor queries stay in memory.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // 32 MiB of page cache per connection (negative = KiB): the hot part of the commit
    // graph and the indexes stay in memory instead of being re-read from the OS.
    conn.pragma_update(None, "cache_size", -32_768)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}
