//! Recording commits with their generation numbers, including the repair of commits
//! stored earlier whose parents arrive only now.

use std::collections::{HashMap, HashSet};

use rodeo_domain::{to_micros, Commit, ServiceName, Sha, Timestamp};
use rodeo_store::logic::{self, events};
use rusqlite::params;

use super::Call;
use crate::error::Result;
use crate::rows;

/// Generations for `nodes` (sha, parents), where parents inside `nodes` are computed
/// first and others come from `outside` (unknown = 0). Parents are visited iteratively,
/// so deep histories cannot overflow the stack; a cycle (only possible with forged
/// shas) is cut by treating the parent that closes it as unknown.
fn generations(nodes: &[(Sha, Vec<Sha>)], outside: &HashMap<Sha, i64>) -> Vec<i64> {
    let index: HashMap<&Sha, usize> = nodes.iter().enumerate().map(|(i, (s, _))| (s, i)).collect();
    let mut gen: Vec<Option<i64>> = vec![None; nodes.len()];
    let mut visiting = vec![false; nodes.len()];
    for start in 0..nodes.len() {
        let mut stack = vec![(start, false)];
        while let Some((i, expanded)) = stack.pop() {
            if gen[i].is_some() {
                continue;
            }
            if expanded {
                let parents = nodes[i].1.iter().map(|p| match index.get(p) {
                    Some(&j) => gen[j],
                    None => outside.get(p).copied(),
                });
                gen[i] = Some(logic::generation(parents));
                continue;
            }
            if visiting[i] {
                continue;
            }
            visiting[i] = true;
            stack.push((i, true));
            for p in &nodes[i].1 {
                if let Some(&j) = index.get(p) {
                    if gen[j].is_none() && !visiting[j] {
                        stack.push((j, false));
                    }
                }
            }
        }
    }
    gen.into_iter().map(|g| g.unwrap_or(1)).collect()
}

/// A commit inserted by this call, as the shipped-changes fast path needs it.
pub(super) struct Fresh {
    pub(super) generation: i64,
    pub(super) committed_at: Timestamp,
    pub(super) parents: Vec<Sha>,
    pub(super) services: Vec<ServiceName>,
}

/// What recording a list of commits did.
#[derive(Default)]
pub(super) struct Recorded {
    pub(super) recorded: u32,
    pub(super) already_known: u32,
    /// The commits this call inserted, unless one of them was the parent of a commit
    /// stored before. When present, none of them is an ancestor of anything older.
    pub(super) fresh: Option<HashMap<Sha, Fresh>>,
}

impl Call<'_> {
    /// Inserts the commits rodeo does not know and appends `commits.recorded` when
    /// something was recorded.
    pub(super) fn record_commits(&mut self, commits: &[Commit]) -> Result<Recorded> {
        if commits.is_empty() {
            return Ok(Recorded::default());
        }
        // One lookup for both questions: which commits are known, and the generations
        // of the parents.
        let lookup = rows::json_array(
            commits
                .iter()
                .flat_map(|c| std::iter::once(&c.sha).chain(&c.parents))
                .map(Sha::as_str),
        );
        let stored = self.generations_of(&lookup)?;
        let mut seen: HashSet<&Sha> = HashSet::with_capacity(commits.len());
        let new: Vec<&Commit> = commits
            .iter()
            .filter(|c| !stored.contains_key(&c.sha) && seen.insert(&c.sha))
            .collect();
        let recorded = new.len() as u32;
        let already_known = commits.len() as u32 - recorded;
        if new.is_empty() {
            return Ok(Recorded {
                recorded,
                already_known,
                fresh: Some(HashMap::new()),
            });
        }

        let nodes: Vec<(Sha, Vec<Sha>)> = new
            .iter()
            .map(|c| (c.sha.clone(), c.parents.clone()))
            .collect();
        let gens = generations(&nodes, &stored);

        let mut insert = self.conn.prepare_cached(
            "INSERT INTO commits (sha, generation, author, author_email, authored_at, committed_at,
                                  message, repository, services)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        let mut insert_parent = self.conn.prepare_cached(
            "INSERT INTO commit_parents (sha, position, parent) VALUES (?1, ?2, ?3)",
        )?;
        for (c, g) in new.iter().zip(&gens) {
            let services = (!c.services.is_empty())
                .then(|| rows::json_array(c.services.iter().map(|s| s.as_str())));
            insert.execute(params![
                c.sha.as_str(),
                g,
                c.author,
                c.author_email,
                to_micros(c.authored_at),
                to_micros(c.committed_at),
                c.message,
                c.repository,
                services,
            ])?;
            for (position, p) in c.parents.iter().enumerate() {
                insert_parent.execute(params![c.sha.as_str(), position as i64, p.as_str()])?;
            }
        }
        let repaired = self.repair_descendants(&new)?;
        self.append(events::commits(commits, recorded, already_known))?;
        let fresh = (!repaired).then(|| {
            new.iter()
                .zip(gens)
                .map(|(c, generation)| {
                    let f = Fresh {
                        generation,
                        committed_at: c.committed_at,
                        parents: c.parents.clone(),
                        services: c.services.clone(),
                    };
                    (c.sha.clone(), f)
                })
                .collect()
        });
        Ok(Recorded {
            recorded,
            already_known,
            fresh,
        })
    }

    fn generations_of(&self, shas_json: &str) -> Result<HashMap<Sha, i64>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT sha, generation FROM commits WHERE sha IN (SELECT value FROM json_each(?1))",
            )?
            .query_map([shas_json], |r| Ok((rows::sha(r, 0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Recomputes the generations of stored commits that descend from the commits just
    /// inserted (`new_json`), so a child's generation is always above its parents'.
    /// Commits usually arrive parents first, so a cheap check per new commit (is any
    /// stored commit other than a new one its child?) almost always ends it here.
    /// Returns whether any stored commit descended from the new ones.
    fn repair_descendants(&mut self, new: &[&Commit]) -> Result<bool> {
        let mut children = self
            .conn
            .prepare_cached("SELECT count(*) FROM commit_parents WHERE parent = ?1")?;
        let mut in_call: HashMap<&Sha, i64> = HashMap::new();
        for p in new.iter().flat_map(|c| &c.parents) {
            *in_call.entry(p).or_default() += 1;
        }
        let mut orphans_found = false;
        for c in new {
            let stored: i64 = children.query_row([c.sha.as_str()], |r| r.get(0))?;
            if stored > in_call.get(&c.sha).copied().unwrap_or(0) {
                orphans_found = true;
                break;
            }
        }
        if !orphans_found {
            return Ok(false);
        }
        let new_json = rows::json_array(new.iter().map(|c| c.sha.as_str()));
        let mut stmt = self.conn.prepare_cached(
            // CROSS JOIN fixes the join order: from the (few) new shas into the index
            // on parent, never a scan of all edges.
            "WITH RECURSIVE d(sha) AS (
                 SELECT p.sha FROM json_each(?1) AS n
                 CROSS JOIN commit_parents p ON p.parent = n.value
                 WHERE p.sha NOT IN (SELECT value FROM json_each(?1))
                 UNION
                 SELECT p.sha FROM d CROSS JOIN commit_parents p ON p.parent = d.sha
             )
             SELECT d.sha, c.generation, p.parent, pc.generation
             FROM d
             CROSS JOIN commits c ON c.sha = d.sha
             CROSS JOIN commit_parents p ON p.sha = d.sha
             LEFT JOIN commits pc ON pc.sha = p.parent
             ORDER BY d.sha, p.position",
        )?;
        let mut rows_ = stmt.query([&new_json])?;
        let mut nodes: Vec<(Sha, Vec<Sha>)> = Vec::new();
        let mut stored: Vec<i64> = Vec::new();
        let mut outside: HashMap<Sha, i64> = HashMap::new();
        while let Some(r) = rows_.next()? {
            let sha = rows::sha(r, 0)?;
            if nodes.last().is_none_or(|(s, _)| *s != sha) {
                nodes.push((sha, Vec::new()));
                stored.push(r.get(1)?);
            }
            let parent = rows::sha(r, 2)?;
            if let Some(g) = r.get::<_, Option<i64>>(3)? {
                outside.insert(parent.clone(), g);
            }
            if let Some((_, parents)) = nodes.last_mut() {
                parents.push(parent);
            }
        }
        drop(rows_);
        if nodes.is_empty() {
            return Ok(false);
        }
        let gens = generations(&nodes, &outside);
        let mut update = self
            .conn
            .prepare_cached("UPDATE commits SET generation = ?2 WHERE sha = ?1")?;
        for (((sha, _), old), new) in nodes.iter().zip(&stored).zip(&gens) {
            if old != new {
                update.execute(params![sha.as_str(), new])?;
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u32) -> Sha {
        Sha::parse(&format!("{n:040x}")).unwrap()
    }

    #[test]
    fn children_before_parents_and_outside_parents() {
        let nodes = vec![
            (s(3), vec![s(2)]),
            (s(2), vec![s(1)]),
            (s(4), vec![s(3), s(9)]),
        ];
        let outside = HashMap::from([(s(1), 5)]);
        assert_eq!(generations(&nodes, &outside), vec![7, 6, 8]);
    }

    #[test]
    fn a_forged_cycle_terminates() {
        let nodes = vec![(s(1), vec![s(2)]), (s(2), vec![s(1)])];
        let g = generations(&nodes, &HashMap::new());
        assert_eq!(g.len(), 2);
    }
}
