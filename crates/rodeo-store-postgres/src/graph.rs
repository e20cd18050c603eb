//! Reading the commit graph: which commits lie in `exclude..include`.
//!
//! The walk itself is [`rodeo_domain::range`]; this module only loads the part of the
//! graph it needs. Each side is one recursive query that follows parent edges down to
//! a generation floor (or, for a first deployment, a commit-time horizon) and returns
//! every loaded commit with its parent edges and the parents' generations. When the
//! walk asks for more, the floor is lowered along [`rodeo_domain::floors`].

use std::collections::HashMap;

use rodeo_domain::{
    floors, range, to_micros, CommitNode, GraphSlice, ParentEdge, Range, RangeRequest, Sha,
    Timestamp,
};
use rodeo_store::StoreError;
use sqlx::{PgConnection, Row};

use crate::rows::{self, DbResult};

/// The commits of a range, newest first, and whether the known graph was enough to be sure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Walked {
    pub(crate) shas: Vec<Sha>,
    pub(crate) complete: bool,
}

impl Walked {
    /// Nothing, and not complete: the start of the walk is not a known commit.
    pub(crate) fn unknown() -> Self {
        Self {
            shas: Vec::new(),
            complete: false,
        }
    }
}

/// How far down one side is loaded.
#[derive(Debug, Clone, Copy)]
enum Bound {
    Generation(i64),
    CommittedSince(Timestamp),
}

/// Ancestors of `$1` (itself included) down to a bound, one row per parent edge.
///
/// Every step is a lookup by primary key, fenced with `OFFSET 0` laterals and a scalar
/// subquery so that the planner cannot turn a walk of a few hundred commits into as
/// many scans of the whole table (which it prefers while the tables are small or not
/// yet analyzed).
macro_rules! ancestors_sql {
    ($cond:literal) => {
        concat!(
            "WITH RECURSIVE anc(sha, generation, committed_at) AS (
                SELECT c.sha, c.generation, c.committed_at FROM commits c
                WHERE c.sha = $1 AND ",
            $cond,
            "
              UNION
                SELECT c.sha, c.generation, c.committed_at FROM anc
                CROSS JOIN LATERAL (
                    SELECT p.parent FROM commit_parents p WHERE p.sha = anc.sha OFFSET 0
                ) p
                CROSS JOIN LATERAL (
                    SELECT c.sha, c.generation, c.committed_at FROM commits c
                    WHERE c.sha = p.parent AND ",
            $cond,
            " OFFSET 0
                ) c
            )
            SELECT anc.sha, anc.generation, anc.committed_at, e.parent, e.parent_generation
            FROM anc
            LEFT JOIN LATERAL (
                SELECT p.position, p.parent,
                    (SELECT pc.generation FROM commits pc WHERE pc.sha = p.parent) AS parent_generation
                FROM commit_parents p WHERE p.sha = anc.sha OFFSET 0
            ) e ON true
            ORDER BY anc.sha, e.position"
        )
    };
}

const BY_GENERATION: &str = ancestors_sql!("c.generation >= $2");
const BY_TIME: &str = ancestors_sql!("c.committed_at >= $2");

async fn load(conn: &mut PgConnection, from: &Sha, bound: Bound) -> Result<GraphSlice, StoreError> {
    let (sql, arg) = match bound {
        Bound::Generation(g) => (BY_GENERATION, g),
        Bound::CommittedSince(t) => (BY_TIME, to_micros(t)),
    };
    let rows = sqlx::query(sql)
        .bind(from.as_str())
        .bind(arg)
        .fetch_all(conn)
        .await
        .db()?;
    let mut slice = GraphSlice::default();
    for row in rows {
        let sha = rows::sha("sha", &row.try_get::<String, _>("sha").db()?)?;
        let parent: Option<String> = row.try_get("parent").db()?;
        let node = match slice.nodes.get_mut(&sha) {
            Some(node) => node,
            None => slice.nodes.entry(sha).or_insert(CommitNode {
                generation: row.try_get("generation").db()?,
                committed_at: rodeo_domain::from_micros(row.try_get("committed_at").db()?),
                parents: Vec::new(),
            }),
        };
        if let Some(parent) = parent {
            node.parents.push(ParentEdge {
                sha: rows::sha("parent", &parent)?,
                generation: row.try_get("parent_generation").db()?,
            });
        }
    }
    Ok(slice)
}

/// The generations of those of `shas` that are known commits.
pub(crate) async fn generations(
    conn: &mut PgConnection,
    shas: &[&Sha],
) -> Result<HashMap<Sha, i64>, StoreError> {
    let keys: Vec<&str> = shas.iter().map(|s| s.as_str()).collect();
    let rows = sqlx::query("SELECT sha, generation FROM commits WHERE sha = ANY($1)")
        .bind(&keys)
        .fetch_all(conn)
        .await
        .db()?;
    rows.iter()
        .map(|r| {
            Ok((
                rows::sha("sha", &r.try_get::<String, _>("sha").db()?)?,
                r.try_get("generation").db()?,
            ))
        })
        .collect()
}

/// `exclude..include` where both ends are known commits with these generations.
pub(crate) async fn between(
    conn: &mut PgConnection,
    include: (&Sha, i64),
    exclude: (&Sha, i64),
) -> Result<Walked, StoreError> {
    for floor in floors(include.1.min(exclude.1)) {
        let included = load(conn, include.0, Bound::Generation(floor)).await?;
        let excluded = load(conn, exclude.0, Bound::Generation(floor)).await?;
        let req = RangeRequest {
            include: include.0,
            exclude: Some(exclude.0),
            floor,
            not_before: None,
        };
        if let Range::Done { shas, complete } = range(req, &included, &excluded) {
            return Ok(Walked { shas, complete });
        }
    }
    // The last floor is 0, where the walk always finishes; kept total for safety.
    Ok(Walked::unknown())
}

/// The ancestors of `include` committed at or after `not_before` (all of them without
/// a horizon): what a first deployment ships.
pub(crate) async fn since(
    conn: &mut PgConnection,
    include: &Sha,
    not_before: Option<Timestamp>,
) -> Result<Walked, StoreError> {
    let bound = not_before.map_or(Bound::Generation(0), Bound::CommittedSince);
    let included = load(conn, include, bound).await?;
    let req = RangeRequest {
        include,
        exclude: None,
        floor: 0,
        not_before,
    };
    Ok(match range(req, &included, &GraphSlice::default()) {
        Range::Done { shas, complete } => Walked { shas, complete },
        Range::NeedLowerFloor => Walked::unknown(),
    })
}

/// Commits reachable from `include` and not from `exclude`, newest first. An unknown
/// `include` gives nothing; an unknown `exclude` falls back to the horizon walk and is
/// never complete, since rodeo cannot tell what that revision contained.
pub(crate) async fn changes(
    conn: &mut PgConnection,
    include: &Sha,
    exclude: Option<&Sha>,
    not_before: Option<Timestamp>,
) -> Result<Walked, StoreError> {
    let ends: Vec<&Sha> = std::iter::once(include).chain(exclude).collect();
    let gens = generations(&mut *conn, &ends).await?;
    let Some(&gi) = gens.get(include) else {
        return Ok(Walked::unknown());
    };
    match exclude {
        Some(e) => match gens.get(e) {
            Some(&ge) => between(conn, (include, gi), (e, ge)).await,
            None => {
                let walked = since(conn, include, not_before).await?;
                Ok(Walked {
                    complete: false,
                    ..walked
                })
            }
        },
        None => since(conn, include, not_before).await,
    }
}
