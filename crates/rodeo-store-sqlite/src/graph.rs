//! Commit-graph queries: ancestors down to a generation floor (or back to a time), and
//! `exclude..include` computed with the floor loop of [`rodeo_domain::range`]. Used by
//! the writer (shipped changes, drift) and by reads (compare), on whichever connection
//! the caller holds.

use std::collections::hash_map::Entry;
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

/// One side of a range as loaded: the graph, plus the monorepo service lists (JSON)
/// of the loaded commits that have one, so filtering shipped commits by service needs
/// no further query.
#[derive(Default)]
struct Slice {
    graph: GraphSlice,
    services: HashMap<Sha, String>,
}

/// The ancestors of `from` (itself included) with generation >= `floor` and committed
/// at or after `not_before`, each with its parent edges. One recursive query; the
/// CROSS JOINs pin the join order to "from the few ancestors into the indexes", which
/// SQLite's planner does not always find on its own for a recursive CTE of unknown size.
/// No ORDER BY: rows are merged per commit in memory, which is cheaper than a sort.
fn slice(conn: &Connection, from: &Sha, floor: i64, not_before: i64) -> Result<Slice> {
    let mut stmt = conn.prepare_cached(
        "WITH RECURSIVE anc(id) AS (
             SELECT id FROM commits WHERE sha = ?1 AND generation >= ?2 AND committed_at >= ?3
             UNION
             SELECT c.id FROM anc
             CROSS JOIN commit_parents p ON p.commit_id = anc.id
             CROSS JOIN commits c ON c.id = p.parent_id
             WHERE c.generation >= ?2 AND c.committed_at >= ?3
         )
         SELECT c.sha, c.generation, c.committed_at, c.services, p.parent, pc.generation
         FROM anc
         CROSS JOIN commits c ON c.id = anc.id
         LEFT JOIN commit_parents p ON p.commit_id = c.id
         LEFT JOIN commits pc ON pc.id = p.parent_id",
    )?;
    let mut rows = stmt.query(params![from.as_str(), floor, not_before])?;
    let mut out = Slice::default();
    while let Some(row) = rows.next()? {
        let sha = rows::sha(row, 0)?;
        let parent = match row.get::<_, Option<String>>(4)? {
            Some(p) => Some(ParentEdge {
                sha: Sha::parse(&p).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        4,
                        rusqlite::types::Type::Text,
                        Box::new(e),
                    )
                })?,
                generation: row.get(5)?,
            }),
            None => None,
        };
        if let Some(services) = row.get::<_, Option<String>>(3)? {
            out.services.insert(sha.clone(), services);
        }
        let node = match out.graph.nodes.entry(sha) {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(v) => v.insert(CommitNode {
                generation: row.get(1)?,
                committed_at: rows::time(row, 2)?,
                parents: Vec::new(),
            }),
        };
        node.parents.extend(parent);
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
    /// Monorepo service lists (JSON arrays) of the commits in `shas` that have one.
    services: HashMap<Sha, String>,
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
            services: HashMap::new(),
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
            if let Range::Done { shas, complete } = range(req, &included.graph, &excluded.graph) {
                return Ok(Between {
                    shas,
                    complete,
                    bounded_by_time: false,
                    services: included.services,
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
    let (shas, complete) = match range(req, &included.graph, &GraphSlice::default()) {
        Range::Done { shas, complete } => (shas, complete && exclude.is_none()),
        // Floor 0 never asks for a lower one.
        Range::NeedLowerFloor => (Vec::new(), false),
    };
    Ok(Between {
        shas,
        complete,
        bounded_by_time: true,
        services: included.services,
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

impl Between {
    /// A complete range known without a walk (see the writer's fast path).
    pub(crate) fn only(shas: Vec<Sha>, services: HashMap<Sha, String>) -> Self {
        Self {
            shas,
            complete: true,
            bounded_by_time: false,
            services,
        }
    }

    /// Drops commits mapped by monorepo paths to services other than `service`.
    /// `extra` are shas added to the walk's answer (commits sent with a first
    /// deployment), whose service lists are looked up.
    pub(crate) fn keep_only_service(
        &mut self,
        conn: &Connection,
        service: &str,
        extra: &[Sha],
    ) -> Result<()> {
        if !extra.is_empty() {
            let list = rows::json_array(extra.iter().map(Sha::as_str));
            let mut stmt = conn.prepare_cached(
                "SELECT sha, services FROM commits
                 WHERE sha IN (SELECT value FROM json_each(?1)) AND services IS NOT NULL",
            )?;
            for row in
                stmt.query_map([&list], |r| Ok((rows::sha(r, 0)?, r.get::<_, String>(1)?)))?
            {
                let (sha, services) = row?;
                self.services.insert(sha, services);
            }
        }
        if self.services.is_empty() {
            return Ok(());
        }
        let mut foreign = Vec::new();
        for (sha, json) in &self.services {
            let names: Vec<String> = serde_json::from_str(json)?;
            if !names.is_empty() && !names.iter().any(|n| n == service) {
                foreign.push(sha.clone());
            }
        }
        self.shas.retain(|s| !foreign.contains(s));
        Ok(())
    }
}
