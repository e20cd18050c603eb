//! The first-shipment packs (migration 0008, format `rodeo_store::pack`): one row per
//! production deployment holding all its `first_shipments` rows, which the metrics read
//! instead of the rows themselves. Derived data: whatever changes a deployment's first
//! shipments rebuilds its pack in the same transaction.

use rodeo_store::pack::{self, PackEntry, PackPullRequest};
use rusqlite::{params, Connection, Row};

use crate::error::Result;

/// The columns a pack is built from, in this order after any leading ones.
const COLUMNS: &str = "committed_at, author, pr_opened_at, pr_merged_at, pr_first_commit_at, \
                       pr_author";

/// One `first_shipments` row, owned.
struct Entry {
    committed_at: i64,
    author: String,
    pull_request: Option<(i64, i64, Option<i64>, String)>,
}

impl Entry {
    fn read(r: &Row<'_>, at: usize) -> rusqlite::Result<Self> {
        let (opened, merged, pr_author): (Option<i64>, Option<i64>, Option<String>) =
            (r.get(at + 2)?, r.get(at + 3)?, r.get(at + 5)?);
        let pull_request = match (opened, merged, pr_author) {
            (Some(o), Some(m), Some(a)) => Some((o, m, r.get(at + 4)?, a)),
            _ => None,
        };
        Ok(Self {
            committed_at: r.get(at)?,
            author: r.get(at + 1)?,
            pull_request,
        })
    }

    fn packed(&self) -> PackEntry<'_> {
        PackEntry {
            committed_at: self.committed_at,
            author: &self.author,
            pull_request: self
                .pull_request
                .as_ref()
                .map(|(opened, merged, first, author)| PackPullRequest {
                    opened_at: *opened,
                    merged_at: *merged,
                    first_commit_at: *first,
                    author,
                }),
        }
    }
}

/// Rebuilds the packs of these deployments from their first shipments (dropping the
/// pack of one that has none left).
pub(crate) fn repack(conn: &Connection, deployment_ids: &[i64]) -> Result<()> {
    let mut rows = conn.prepare_cached(&format!(
        "SELECT service, deployed_at, {COLUMNS} FROM first_shipments
         WHERE deployment_id = ?1 ORDER BY committed_at, commit_id"
    ))?;
    for &id in deployment_ids {
        let mut head: Option<(String, i64)> = None;
        let mut entries = Vec::new();
        let mut it = rows.query([id])?;
        while let Some(r) = it.next()? {
            if head.is_none() {
                head = Some((r.get(0)?, r.get(1)?));
            }
            entries.push(Entry::read(r, 2)?);
        }
        store(conn, id, head, &entries)?;
    }
    Ok(())
}

/// Rebuilds every pack: after the rollup itself was rebuilt, and at open when the
/// table is empty but the rollup is not (a database from before migration 0008).
pub(crate) fn repack_all(conn: &Connection) -> Result<()> {
    conn.execute("DELETE FROM first_shipment_packs", [])?;
    let mut rows = conn.prepare(&format!(
        "SELECT deployment_id, service, deployed_at, {COLUMNS} FROM first_shipments
         ORDER BY deployment_id, committed_at, commit_id"
    ))?;
    let mut it = rows.query([])?;
    let mut current: Option<(i64, String, i64)> = None;
    let mut entries = Vec::new();
    while let Some(r) = it.next()? {
        let id: i64 = r.get(0)?;
        if current.as_ref().is_some_and(|(c, _, _)| *c != id) {
            if let Some((c, service, at)) = current.take() {
                store(conn, c, Some((service, at)), &entries)?;
            }
            entries.clear();
        }
        if current.is_none() {
            current = Some((id, r.get(1)?, r.get(2)?));
        }
        entries.push(Entry::read(r, 3)?);
    }
    if let Some((c, service, at)) = current {
        store(conn, c, Some((service, at)), &entries)?;
    }
    Ok(())
}

/// Fills the packs of a database whose rollup predates them.
pub(crate) fn fill_if_missing(conn: &mut Connection) -> Result<()> {
    let missing: bool = conn.query_row(
        "SELECT NOT EXISTS (SELECT 1 FROM first_shipment_packs)
                AND EXISTS (SELECT 1 FROM first_shipments)",
        [],
        |r| r.get(0),
    )?;
    if missing {
        tracing::info!("building the first-shipment packs (once, after an upgrade)");
        let tx = conn.transaction()?;
        repack_all(&tx)?;
        tx.commit()?;
    }
    Ok(())
}

fn store(conn: &Connection, id: i64, head: Option<(String, i64)>, entries: &[Entry]) -> Result<()> {
    match head {
        None => {
            conn.prepare_cached("DELETE FROM first_shipment_packs WHERE deployment_id = ?1")?
                .execute([id])?;
        }
        Some((service, deployed_at)) => {
            let bytes = pack::encode(entries.iter().map(Entry::packed));
            conn.prepare_cached(
                "INSERT OR REPLACE INTO first_shipment_packs
                     (deployment_id, service, deployed_at, commits)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![id, service, deployed_at, bytes])?;
        }
    }
    Ok(())
}
