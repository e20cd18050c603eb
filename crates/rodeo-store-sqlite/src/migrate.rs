//! Embedded, forward-only schema migrations. Each file under `migrations/` is
//! `NNNN_name.sql`; those not yet recorded in `schema_migrations` run in order at open,
//! all in one transaction, so an upgrade applies completely or not at all. A database
//! already at a version this binary does not know is refused rather than guessed at.

use rusqlite::{params, Connection, TransactionBehavior};

use crate::error::{Error, Result};

struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "ledger",
        sql: include_str!("../migrations/0001_ledger.sql"),
    },
    Migration {
        version: 2,
        name: "commits_by_rowid",
        sql: include_str!("../migrations/0002_commits_by_rowid.sql"),
    },
    Migration {
        version: 3,
        name: "parent_ids",
        sql: include_str!("../migrations/0003_parent_ids.sql"),
    },
    Migration {
        version: 4,
        name: "incidents",
        sql: include_str!("../migrations/0004_incidents.sql"),
    },
    Migration {
        version: 5,
        name: "first_shipments",
        sql: include_str!("../migrations/0005_first_shipments.sql"),
    },
    Migration {
        version: 6,
        name: "pull_request_stages",
        sql: include_str!("../migrations/0006_pull_request_stages.sql"),
    },
    Migration {
        version: 7,
        name: "flags",
        sql: include_str!("../migrations/0007_flags.sql"),
    },
    Migration {
        version: 8,
        name: "first_shipment_packs",
        sql: include_str!("../migrations/0008_first_shipment_packs.sql"),
    },
];

/// The newest schema version this binary knows.
pub(crate) fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Brings the schema up to date; returns the version it is at.
pub(crate) fn run(conn: &mut Connection, now_micros: i64) -> Result<i64> {
    run_to(conn, now_micros, latest())
}

fn run_to(conn: &mut Connection, now_micros: i64, target: i64) -> Result<i64> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    INTEGER PRIMARY KEY,
             name       TEXT NOT NULL,
             applied_at INTEGER NOT NULL
         )",
    )?;
    let current: i64 = tx.query_row(
        "SELECT coalesce(max(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?;
    if current > latest() {
        return Err(Error::SchemaTooNew {
            found: current,
            known: latest(),
        });
    }
    for m in MIGRATIONS
        .iter()
        .filter(|m| m.version > current && m.version <= target)
    {
        tracing::info!(
            version = m.version,
            name = m.name,
            "applying SQLite migration"
        );
        tx.execute_batch(m.sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            params![m.version, m.name, now_micros],
        )?;
    }
    tx.commit()?;
    Ok(target.max(current))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_increase_and_match_file_names() {
        assert!(MIGRATIONS.windows(2).all(|w| w[0].version < w[1].version));
        assert_eq!(latest(), MIGRATIONS.len() as i64);
    }

    #[test]
    fn commits_keep_their_parents_across_the_moves_to_row_ids() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        assert_eq!(run_to(&mut conn, 0, 1).unwrap(), 1);
        let (a, b) = ("a".repeat(40), "b".repeat(40));
        conn.execute_batch(&format!(
            "INSERT INTO commits VALUES ('{a}', 1, 'ada', NULL, 0, 0, 'first', NULL, NULL);
             INSERT INTO commits VALUES ('{b}', 2, 'ada', NULL, 0, 0, 'second', 'acme/api', '[\"api\"]');
             INSERT INTO commit_parents VALUES ('{b}', 0, '{a}'), ('{b}', 1, '{}');",
            "c".repeat(40)
        ))
        .unwrap();
        assert_eq!(run(&mut conn, 0).unwrap(), latest());
        let parents: Vec<(String, i64, String)> = conn
            .prepare(
                "SELECT c.sha, p.position, p.parent FROM commit_parents p
                 JOIN commits c ON c.id = p.commit_id ORDER BY p.position",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(
            parents,
            vec![(b.clone(), 0, a.clone()), (b.clone(), 1, "c".repeat(40))]
        );
        let (message, services): (String, String) = conn
            .query_row(
                "SELECT message, services FROM commits WHERE sha = ?1",
                [&b],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(
            (message.as_str(), services.as_str()),
            ("second", "[\"api\"]")
        );
        // 0003: the known parent is pointed at by id; the unknown one waits for it.
        let edges: Vec<(i64, Option<String>)> = conn
            .prepare(
                "SELECT p.position, pc.sha FROM commit_parents p
                 LEFT JOIN commits pc ON pc.id = p.parent_id ORDER BY p.position",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(edges, vec![(0, Some(a.clone())), (1, None)]);
        let waiting: Vec<(String, i64)> = conn
            .prepare("SELECT parent, position FROM unresolved_parents")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(waiting, vec![("c".repeat(40), 1)]);
        let fk: i64 = conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(fk, 0);
    }

    #[test]
    fn migrating_twice_is_a_no_op_and_newer_schemas_are_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(run(&mut conn, 0).unwrap(), latest());
        assert_eq!(run(&mut conn, 0).unwrap(), latest());
        let count: i64 = conn
            .query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, latest());
        conn.execute(
            "INSERT INTO schema_migrations VALUES (?1, 'future', 0)",
            [latest() + 1],
        )
        .unwrap();
        assert!(matches!(run(&mut conn, 0), Err(Error::SchemaTooNew { .. })));
    }
}
