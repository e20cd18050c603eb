//! Which commits a deployment shipped: git's `exclude..include` over the part of the
//! commit graph rodeo knows, computed without loading the whole history.
//!
//! Every stored commit carries a generation number, `1 + max(generation of parents)`
//! (unknown parents count as 0), so a commit's ancestors all have smaller generations.
//! A store loads the ancestors of both ends down to a generation `floor`, and [`range`]
//! walks them. If the walk would need a commit below the floor, it answers
//! [`Range::NeedLowerFloor`] and the store reloads with a lower one; with floor 0 the
//! answer is always final. For a first deployment there is nothing to exclude, and the
//! walk is bounded by time instead (`not_before`), so that years of history are never
//! swept into one deployment.

use std::collections::{HashMap, HashSet};

use crate::{Sha, Timestamp};

/// A parent edge as loaded: `generation` is `None` when rodeo has never seen the parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentEdge {
    pub sha: Sha,
    pub generation: Option<i64>,
}

/// One loaded commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitNode {
    pub generation: i64,
    pub committed_at: Timestamp,
    pub parents: Vec<ParentEdge>,
}

/// The commits a store loaded for one side of a range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GraphSlice {
    pub nodes: HashMap<Sha, CommitNode>,
}

impl GraphSlice {
    pub fn insert(&mut self, sha: Sha, node: CommitNode) {
        self.nodes.insert(sha, node);
    }
}

/// What to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeRequest<'a> {
    pub include: &'a Sha,
    /// The previously deployed sha; `None` for a first deployment.
    pub exclude: Option<&'a Sha>,
    /// Ancestors with a generation below this were not loaded.
    pub floor: i64,
    /// With no `exclude`: commits committed before this were not loaded and are not
    /// part of the range.
    pub not_before: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Range {
    /// The commits in the range, newest first (generation, then commit time).
    Done { shas: Vec<Sha>, complete: bool },
    /// Reload both slices with a lower floor and call again.
    NeedLowerFloor,
}

/// The floors a store should try in turn: `start` is the smaller generation of the two
/// ends (so both are always loaded), and each retry reaches further down.
pub fn floors(start: i64) -> impl Iterator<Item = i64> {
    [1i64, 16, 256, 4096]
        .into_iter()
        .map(move |gap| (start - gap).max(0))
        .chain(std::iter::once(0))
        .scan(i64::MAX, |last, f| {
            let next = (f < *last).then_some(f);
            *last = f.min(*last);
            Some(next)
        })
        .flatten()
}

/// Walks `include`'s ancestors, stopping at `exclude`'s.
///
/// `included` holds the ancestors of `include` (itself too) with generation >= floor
/// (or committed at or after `not_before`); `excluded` the ancestors of `exclude` with
/// generation >= floor.
pub fn range(req: RangeRequest<'_>, included: &GraphSlice, excluded: &GraphSlice) -> Range {
    let old: HashSet<&Sha> = excluded.nodes.keys().chain(req.exclude).collect();
    let mut complete = true;
    let mut seen: HashSet<&Sha> = HashSet::new();
    let mut stack: Vec<&Sha> = vec![req.include];
    let mut out: Vec<(&Sha, &CommitNode)> = Vec::new();

    while let Some(sha) = stack.pop() {
        if old.contains(sha) || !seen.insert(sha) {
            continue;
        }
        let Some(node) = included.nodes.get(sha) else {
            // Only the start can be missing here: parents are checked before pushing.
            complete = false;
            continue;
        };
        out.push((sha, node));
        for p in &node.parents {
            if old.contains(&p.sha) || seen.contains(&p.sha) {
                continue;
            }
            if included.nodes.contains_key(&p.sha) {
                stack.push(&p.sha);
                continue;
            }
            match p.generation {
                None => complete = false,
                // Known but not loaded: older than the time horizon of a first deployment.
                Some(_) if req.exclude.is_none() && req.not_before.is_some() => {}
                Some(_) if req.floor > 0 => return Range::NeedLowerFloor,
                // Floor 0 loads every ancestor, so this parent is inconsistent data;
                // report the range as incomplete rather than guessing.
                Some(_) => complete = false,
            }
        }
    }

    out.sort_by(|(sa, a), (sb, b)| {
        b.generation
            .cmp(&a.generation)
            .then(b.committed_at.cmp(&a.committed_at))
            .then(sa.cmp(sb))
    });
    Range::Done {
        shas: out.into_iter().map(|(s, _)| s.clone()).collect(),
        complete,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};

    use super::*;

    /// A little graph: name -> (parents). Generations follow from the parents.
    fn graph(
        edges: &[(&str, &[&str])],
        unknown: &[&str],
    ) -> (GraphSlice, HashMap<&'static str, Sha>) {
        let _ = unknown;
        let mut names: HashMap<&'static str, Sha> = HashMap::new();
        let sha = |n: &str| Sha::parse(&format!("{:0>40}", hexify(n))).unwrap();
        let mut gens: HashMap<String, i64> = HashMap::new();
        let mut slice = GraphSlice::default();
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        for (i, (name, parents)) in edges.iter().enumerate() {
            let gen = 1 + parents
                .iter()
                .map(|p| gens.get(*p).copied().unwrap_or(0))
                .max()
                .unwrap_or(0);
            gens.insert((*name).to_owned(), gen);
            let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
            names.insert(leaked, sha(name));
            slice.insert(
                sha(name),
                CommitNode {
                    generation: gen,
                    committed_at: t0 + Duration::hours(i as i64),
                    parents: parents
                        .iter()
                        .map(|p| ParentEdge {
                            sha: sha(p),
                            generation: gens.get(*p).copied(),
                        })
                        .collect(),
                },
            );
        }
        (slice, names)
    }

    fn hexify(n: &str) -> String {
        n.bytes().map(|b| format!("{b:02x}")).collect()
    }

    /// Restricts a slice to the ancestors of `from` with generation >= floor.
    fn ancestors(all: &GraphSlice, from: &Sha, floor: i64) -> GraphSlice {
        let mut out = GraphSlice::default();
        let mut stack = vec![from.clone()];
        while let Some(s) = stack.pop() {
            if let Some(n) = all.nodes.get(&s) {
                if n.generation >= floor && !out.nodes.contains_key(&s) {
                    stack.extend(n.parents.iter().map(|p| p.sha.clone()));
                    out.insert(s, n.clone());
                }
            }
        }
        out
    }

    /// Runs the floor loop the way a store does.
    fn run(all: &GraphSlice, include: &Sha, exclude: Option<&Sha>) -> (Vec<Sha>, bool) {
        let gen = |s: &Sha| all.nodes.get(s).map_or(0, |n| n.generation);
        let start = exclude.map_or(0, |e| gen(e).min(gen(include)));
        for floor in floors(start) {
            let inc = ancestors(all, include, floor);
            let exc = exclude
                .map(|e| ancestors(all, e, floor))
                .unwrap_or_default();
            let req = RangeRequest {
                include,
                exclude,
                floor,
                not_before: None,
            };
            if let Range::Done { shas, complete } = range(req, &inc, &exc) {
                return (shas, complete);
            }
        }
        unreachable!("floor 0 always finishes")
    }

    fn names_of(shas: &[Sha], names: &HashMap<&'static str, Sha>) -> Vec<&'static str> {
        shas.iter()
            .map(|s| *names.iter().find(|(_, v)| *v == s).unwrap().0)
            .collect()
    }

    #[test]
    fn linear_history_ships_what_is_new() {
        let (g, n) = graph(
            &[("a", &[]), ("b", &["a"]), ("c", &["b"]), ("d", &["c"])],
            &[],
        );
        let (shas, complete) = run(&g, &n["d"], Some(&n["b"]));
        assert_eq!(names_of(&shas, &n), ["d", "c"]);
        assert!(complete);
    }

    #[test]
    fn merged_branch_forked_long_ago_is_found_with_a_lower_floor() {
        // a - b - ... - main20 (deployed), branch x1 x2 forked at b, merged into m.
        let mut edges: Vec<(String, Vec<String>)> =
            vec![("a".into(), vec![]), ("b".into(), vec!["a".into()])];
        let mut prev = "b".to_string();
        for i in 0..20 {
            let name = format!("m{i}");
            edges.push((name.clone(), vec![prev.clone()]));
            prev = name;
        }
        edges.push(("x1".into(), vec!["b".into()]));
        edges.push(("x2".into(), vec!["x1".into()]));
        edges.push(("merge".into(), vec![prev.clone(), "x2".into()]));
        let e: Vec<(&str, Vec<&str>)> = edges
            .iter()
            .map(|(a, b)| (a.as_str(), b.iter().map(|s| s.as_str()).collect()))
            .collect();
        let e2: Vec<(&str, &[&str])> = e.iter().map(|(a, b)| (*a, b.as_slice())).collect();
        let (g, n) = graph(&e2, &[]);
        let (shas, complete) = run(&g, &n["merge"], Some(&n["m19"]));
        let mut got = names_of(&shas, &n);
        got.sort();
        assert_eq!(got, ["merge", "x1", "x2"]);
        assert!(complete);
    }

    #[test]
    fn unknown_parent_makes_the_range_incomplete() {
        let (mut g, n) = graph(&[("b", &[]), ("c", &["b"])], &[]);
        let ghost = Sha::parse(&"f".repeat(40)).unwrap();
        g.nodes.get_mut(&n["b"]).unwrap().parents.push(ParentEdge {
            sha: ghost,
            generation: None,
        });
        let (shas, complete) = run(&g, &n["c"], None);
        assert_eq!(names_of(&shas, &n), ["c", "b"]);
        assert!(!complete);
    }

    #[test]
    fn rollback_to_an_ancestor_ships_nothing() {
        let (g, n) = graph(&[("a", &[]), ("b", &["a"]), ("c", &["b"])], &[]);
        let (shas, complete) = run(&g, &n["a"], Some(&n["c"]));
        assert!(shas.is_empty());
        assert!(complete);
    }

    #[test]
    fn unknown_include_is_empty_and_incomplete() {
        let (g, _) = graph(&[("a", &[])], &[]);
        let ghost = Sha::parse(&"e".repeat(40)).unwrap();
        assert_eq!(run(&g, &ghost, None), (vec![], false));
    }

    #[test]
    fn first_deployment_stops_at_the_horizon() {
        let (g, n) = graph(&[("a", &[]), ("b", &["a"]), ("c", &["b"])], &[]);
        // Pretend the store loaded only commits at or after b's time.
        let mut inc = g.clone();
        inc.nodes.remove(&n["a"]);
        let req = RangeRequest {
            include: &n["c"],
            exclude: None,
            floor: 0,
            not_before: Some(g.nodes[&n["b"]].committed_at),
        };
        assert_eq!(
            range(req, &inc, &GraphSlice::default()),
            Range::Done {
                shas: vec![n["c"].clone(), n["b"].clone()],
                complete: true
            }
        );
    }

    #[test]
    fn floors_descend_to_zero_without_repeats() {
        assert_eq!(floors(20).collect::<Vec<_>>(), vec![19, 4, 0]);
        assert_eq!(floors(0).collect::<Vec<_>>(), vec![0]);
        assert_eq!(
            floors(5000).collect::<Vec<_>>(),
            vec![4999, 4984, 4744, 904, 0]
        );
    }
}
