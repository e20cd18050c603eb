//! Commit-graph queries: ancestors down to a generation floor (or back to a time), and
//! `exclude..include` computed with the floor loop of [`rodeo_domain::range`]. Used by
//! the writer (shipped changes, drift) and by reads (compare), on whichever connection
//! the caller holds.

use std::collections::HashMap;

use rodeo_domain::{
    floors, range, to_micros, CommitNode, GraphSlice, ParentEdge, Range, RangeRequest, Sha,
    Timestamp,
};
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::Result;
use crate::rows;

/// The generation of one commit, if rodeo knows it.
pub(crate) fn generation(conn: &Connection, sha: &Sha) -> Result<Option<i64>> {
    let mut stmt = conn.prepare_cached("SELECT generation FROM commits WHERE sha = ?1")?;
    Ok(stmt.query_row([sha.as_str()], |r| r.get(0)).optional()?)
}

/// The ancestors of `from` (itself included) with generation >= `floor` and committed
/// at or after `not_before`, each with its parent edges. One recursive query.
fn slice(conn: &Connection, from: &Sha, floor: i64, not_before: i64) -> Result<GraphSlice> {
    let mut stmt = conn.prepare_cached(
        "WITH RECURSIVE anc(sha) AS (
             SELECT sha FROM commits WHERE sha = ?1 AND generation >= ?2 AND committed_at >= ?3
             UNION
             SELECT c.sha FROM anc
             JOIN commit_parents p ON p.sha = anc.sha
             JOIN commits c ON c.sha = p.parent
             WHERE c.generation >= ?2 AND c.committed_at >= ?3
         )
         SELECT c.sha, c.generation, c.committed_at, p.parent, pc.generation
         FROM anc
         JOIN commits c ON c.sha = anc.sha
         LEFT JOIN commit_parents p ON p.sha = c.sha
         LEFT JOIN commits pc ON pc.sha = p.parent
         ORDER BY c.sha, p.position",
    )?;
    let mut rows = stmt.query(params![from.as_str(), floor, not_before])?;
    let mut out = GraphSlice::default();
    let mut current: Option<(Sha, CommitNode)> = None;
    while let Some(row) = rows.next()? {
        let sha = rows::sha(row, 0)?;
        if current.as_ref().is_none_or(|(s, _)| *s != sha) {
            if let Some((s, n)) = current.take() {
                out.insert(s, n);
            }
            let node = CommitNode {
                generation: row.get(1)?,
                committed_at: rows::time(row, 2)?,
                parents: Vec::new(),
            };
            current = Some((sha, node));
        }
        let parent: Option<String> = row.get(3)?;
        if let (Some(parent), Some((_, node))) = (parent, current.as_mut()) {
            node.parents.push(ParentEdge {
                sha: Sha::parse(&parent).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        3,
                        rusqlite::types::Type::Text,
                        Box::new(e),
                    )
                })?,
                generation: row.get(4)?,
            });
        }
    }
    if let Some((s, n)) = current {
        out.insert(s, n);
    }
    Ok(out)
}

/// The answer of [`range_between`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Between {
    /// Newest first.
    pub(crate) shas: Vec<Sha>,
    pub(crate) complete: bool,
    /// True when the walk was bounded by time rather than by `exclude` (there was none,
    /// or rodeo does not know it).
    pub(crate) bounded_by_time: bool,
}

/// Commits reachable from `include` and not from `exclude`, and whether the list is
/// complete. With no `exclude` (or one rodeo does not know, which makes the list
/// incomplete), only commits committed at or after `not_before` count.
pub(crate) fn range_between(
    conn: &Connection,
    include: &Sha,
    exclude: Option<&Sha>,
    not_before: Option<Timestamp>,
) -> Result<Between> {
    let Some(include_gen) = generation(conn, include)? else {
        return Ok(Between {
            shas: Vec::new(),
            complete: false,
            bounded_by_time: false,
        });
    };
    let exclude_gen = match exclude {
        Some(e) => generation(conn, e)?.map(|g| (e, g)),
        None => None,
    };
    if let Some((exclude, exclude_gen)) = exclude_gen {
        for floor in floors(include_gen.min(exclude_gen)) {
            let included = slice(conn, include, floor, i64::MIN)?;
            let excluded = slice(conn, exclude, floor, i64::MIN)?;
            let req = RangeRequest {
                include,
                exclude: Some(exclude),
                floor,
                not_before: None,
            };
            if let Range::Done { shas, complete } = range(req, &included, &excluded) {
                return Ok(Between {
                    shas,
                    complete,
                    bounded_by_time: false,
                });
            }
        }
    }
    let bound = not_before.map_or(i64::MIN, to_micros);
    let included = slice(conn, include, 0, bound)?;
    let req = RangeRequest {
        include,
        exclude: None,
        floor: 0,
        not_before,
    };
    let (shas, complete) = match range(req, &included, &GraphSlice::default()) {
        Range::Done { shas, complete } => (shas, complete && exclude.is_none()),
        // Floor 0 never asks for a lower one.
        Range::NeedLowerFloor => (Vec::new(), false),
    };
    Ok(Between {
        shas,
        complete,
        bounded_by_time: true,
    })
}

/// Sorts shas newest first (generation, then commit time, then sha) the way
/// [`rodeo_domain::range`] orders its answer; unknown shas go last.
pub(crate) fn sort_newest_first(conn: &Connection, shas: &mut [Sha]) -> Result<()> {
    let list = rows::json_array(shas.iter().map(Sha::as_str));
    let mut stmt = conn.prepare_cached(
        "SELECT sha, generation, committed_at FROM commits
         WHERE sha IN (SELECT value FROM json_each(?1))",
    )?;
    let keys: HashMap<Sha, (i64, i64)> = stmt
        .query_map([&list], |r| Ok((rows::sha(r, 0)?, (r.get(1)?, r.get(2)?))))?
        .collect::<rusqlite::Result<_>>()?;
    shas.sort_by(|a, b| {
        let ka = keys.get(a).copied().unwrap_or((i64::MIN, i64::MIN));
        let kb = keys.get(b).copied().unwrap_or((i64::MIN, i64::MIN));
        kb.cmp(&ka).then(a.cmp(b))
    });
    Ok(())
}

/// Drops commits mapped to services by monorepo paths that do not include `service`.
pub(crate) fn only_for_service(
    conn: &Connection,
    service: &str,
    shas: &mut Vec<Sha>,
) -> Result<()> {
    if shas.is_empty() {
        return Ok(());
    }
    let list = rows::json_array(shas.iter().map(Sha::as_str));
    let mut stmt = conn.prepare_cached(
        "SELECT c.sha FROM commits c
         WHERE c.sha IN (SELECT value FROM json_each(?1)) AND c.services IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM json_each(c.services) s WHERE s.value = ?2)",
    )?;
    let foreign: Vec<Sha> = stmt
        .query_map(params![list, service], |r| rows::sha(r, 0))?
        .collect::<rusqlite::Result<_>>()?;
    if !foreign.is_empty() {
        shas.retain(|s| !foreign.contains(s));
    }
    Ok(())
}
