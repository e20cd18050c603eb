//! Recording commits with their generation numbers, including the repair of commits
//! stored earlier whose parents arrive only now.

use std::collections::{HashMap, HashSet};

use rodeo_domain::{to_micros, Commit, ServiceName, Sha, Timestamp};
use rodeo_store::logic::{self, events};
use rusqlite::{params, OptionalExtension};

use super::Call;
use crate::error::Result;
use crate::rows;

/// Generations for `nodes` (sha, parents), where parents inside `nodes` are computed
/// first and others come from `outside` (unknown = 0). Parents are visited iteratively,
/// so deep histories cannot overflow the stack; a cycle (only possible with forged
/// shas) is cut by treating the parent that closes it as unknown.
fn generations(nodes: &[(Sha, Vec<Sha>)], outside: impl Fn(&Sha) -> Option<i64>) -> Vec<i64> {
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
                    None => outside(p),
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

/// A stored commit as recording needs it: its row id and generation.
#[derive(Clone, Copy)]
struct Known {
    id: i64,
    generation: i64,
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
        // One lookup for both questions: which commits are known, and the ids and
        // generations of parents from outside this call.
        let sent: HashSet<&Sha> = commits.iter().map(|c| &c.sha).collect();
        let outside = commits
            .iter()
            .flat_map(|c| &c.parents)
            .filter(|p| !sent.contains(p));
        let mut known = self.known(sent.iter().copied().chain(outside))?;
        let mut seen: HashSet<&Sha> = HashSet::with_capacity(commits.len());
        let new: Vec<&Commit> = commits
            .iter()
            .filter(|c| !known.contains_key(&c.sha) && seen.insert(&c.sha))
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
        let gens = generations(&nodes, |p| known.get(p).map(|k| k.generation));
        // Parents before children (a parent's generation is lower), so each edge to a
        // commit of this call can name its parent's row id.
        let mut order: Vec<usize> = (0..new.len()).collect();
        order.sort_by_key(|&i| gens[i]);

        let mut insert = self.conn.prepare_cached(
            "INSERT INTO commits (sha, generation, author, author_email, authored_at, committed_at,
                                  message, repository, services)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        let mut insert_parent = self.conn.prepare_cached(
            "INSERT INTO commit_parents (commit_id, position, parent, parent_id)
             VALUES (?1, ?2, ?3, ?4)",
        )?;
        let mut unresolved = self.conn.prepare_cached(
            "INSERT INTO unresolved_parents (parent, commit_id, position) VALUES (?1, ?2, ?3)",
        )?;
        let mut inserted: HashSet<i64> = HashSet::with_capacity(new.len());
        for &i in &order {
            let (c, generation) = (new[i], gens[i]);
            let services = (!c.services.is_empty())
                .then(|| rows::json_array(c.services.iter().map(|s| s.as_str())));
            insert.execute(params![
                c.sha.as_str(),
                generation,
                c.author,
                c.author_email,
                to_micros(c.authored_at),
                to_micros(c.committed_at),
                c.message,
                c.repository,
                services,
            ])?;
            let id = self.conn.last_insert_rowid();
            inserted.insert(id);
            known.insert(c.sha.clone(), Known { id, generation });
            for (position, p) in c.parents.iter().enumerate() {
                let parent_id = known.get(p).map(|k| k.id);
                insert_parent.execute(params![id, position as i64, p.as_str(), parent_id])?;
                if parent_id.is_none() {
                    unresolved.execute(params![p.as_str(), id, position as i64])?;
                }
            }
        }
        let orphans = self.resolve_parents(&new, &known, &inserted)?;
        let repaired = !orphans.is_empty();
        if repaired {
            self.repair_descendants(&orphans)?;
        }
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

    /// The stored commits among `shas`: one indexed probe each, which for the dozen
    /// shas of a typical call is cheaper than any set-based query.
    fn known<'s>(&self, shas: impl Iterator<Item = &'s Sha>) -> Result<HashMap<Sha, Known>> {
        let mut probe = self
            .conn
            .prepare_cached("SELECT id, generation FROM commits WHERE sha = ?1")?;
        let mut known = HashMap::new();
        for sha in shas {
            if known.contains_key(sha) {
                continue;
            }
            let found = probe
                .query_row([sha.as_str()], |r| {
                    Ok(Known {
                        id: r.get(0)?,
                        generation: r.get(1)?,
                    })
                })
                .optional()?;
            if let Some(k) = found {
                known.insert(sha.clone(), k);
            }
        }
        Ok(known)
    }

    /// Points the edges that waited for one of the `new` commits at it. Returns the
    /// stored commits (not `inserted` by this call) that turned out to be children of
    /// a new commit: their generations, and their descendants', need repair.
    fn resolve_parents(
        &mut self,
        new: &[&Commit],
        known: &HashMap<Sha, Known>,
        inserted: &HashSet<i64>,
    ) -> Result<Vec<i64>> {
        let new_json = rows::json_array(new.iter().map(|c| c.sha.as_str()));
        let waiting: Vec<(String, i64, i64)> = self
            .conn
            .prepare_cached(
                "SELECT u.parent, u.commit_id, u.position FROM json_each(?1) AS n
                 CROSS JOIN unresolved_parents u ON u.parent = n.value",
            )?
            .query_map([&new_json], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        if waiting.is_empty() {
            return Ok(Vec::new());
        }
        let mut point = self.conn.prepare_cached(
            "UPDATE commit_parents SET parent_id = ?3 WHERE commit_id = ?1 AND position = ?2",
        )?;
        let mut resolved = self.conn.prepare_cached(
            "DELETE FROM unresolved_parents WHERE parent = ?1 AND commit_id = ?2 AND position = ?3",
        )?;
        let mut orphans = Vec::new();
        for (parent, child, position) in waiting {
            let Some(parent_id) = Sha::parse(&parent).ok().and_then(|s| known.get(&s)) else {
                continue;
            };
            point.execute(params![child, position, parent_id.id])?;
            resolved.execute(params![parent, child, position])?;
            if !inserted.contains(&child) {
                orphans.push(child);
            }
        }
        orphans.sort_unstable();
        orphans.dedup();
        Ok(orphans)
    }

    /// Recomputes the generations of `children` (stored commits whose parent arrived
    /// only now) and of their descendants, so a child's generation is always above its
    /// parents'.
    fn repair_descendants(&mut self, children: &[i64]) -> Result<()> {
        let ids = format!(
            "[{}]",
            children
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        );
        let mut stmt = self.conn.prepare_cached(
            // CROSS JOIN fixes the join order: from the (few) children into the index
            // on parent_id, never a scan of all edges.
            "WITH RECURSIVE d(id) AS (
                 SELECT value FROM json_each(?1)
                 UNION
                 SELECT p.commit_id FROM d
                 CROSS JOIN commit_parents p ON p.parent_id = d.id
             )
             SELECT c.sha, c.generation, p.parent, pc.generation
             FROM d
             CROSS JOIN commits c ON c.id = d.id
             CROSS JOIN commit_parents p ON p.commit_id = d.id
             LEFT JOIN commits pc ON pc.id = p.parent_id
             ORDER BY c.id, p.position",
        )?;
        let mut rows_ = stmt.query([&ids])?;
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
        let gens = generations(&nodes, |p| outside.get(p).copied());
        let mut update = self
            .conn
            .prepare_cached("UPDATE commits SET generation = ?2 WHERE sha = ?1")?;
        for (((sha, _), old), new) in nodes.iter().zip(&stored).zip(&gens) {
            if old != new {
                update.execute(params![sha.as_str(), new])?;
            }
        }
        Ok(())
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
        assert_eq!(
            generations(&nodes, |p| outside.get(p).copied()),
            vec![7, 6, 8]
        );
    }

    #[test]
    fn a_forged_cycle_terminates() {
        let nodes = vec![(s(1), vec![s(2)]), (s(2), vec![s(1)])];
        let g = generations(&nodes, |_| None);
        assert_eq!(g.len(), 2);
    }
}
