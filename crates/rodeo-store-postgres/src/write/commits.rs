//! Recording commits and pull requests, and keeping generation numbers consistent.
//!
//! A commit's generation is 1 + the largest generation of its known parents. Commits of
//! one call are inserted with generations computed in memory (children may come before
//! parents); when a new commit turns out to be the parent of commits stored earlier,
//! their generations are raised level by level, one statement per level.

use std::collections::{HashMap, HashSet};

use rodeo_domain::{to_micros, Commit, PullRequest, PullRequestState, ServiceName, Sha};
use rodeo_store::logic::{self, events};
use rodeo_store::StoreError;
use sqlx::Row;

use super::Writer;
use crate::rows::DbResult;

/// Repair stops after this many levels: only a parent cycle (impossible in git, but
/// the input is not trusted) can need more, and then generations stay as they are.
const MAX_REPAIR_LEVELS: usize = 100_000;

/// Generations of `new` commits given the generations of their parents stored before.
/// A parent cycle among the new commits is cut by counting the closing edge as unknown.
fn generations(new: &[&Commit], stored: &HashMap<String, i64>) -> HashMap<String, i64> {
    let by_sha: HashMap<&str, &Commit> = new.iter().map(|c| (c.sha.as_str(), *c)).collect();
    let mut done: HashMap<String, i64> = HashMap::new();
    let mut visiting: HashSet<&str> = HashSet::new();
    for start in new {
        // Iterative post-order walk: a long history sent in one call must not overflow
        // the stack.
        let mut stack: Vec<(&str, bool)> = vec![(start.sha.as_str(), false)];
        while let Some((sha, expanded)) = stack.pop() {
            if done.contains_key(sha) {
                continue;
            }
            let commit = by_sha[sha];
            if expanded {
                visiting.remove(sha);
                let g = logic::generation(commit.parents.iter().map(|p| {
                    done.get(p.as_str())
                        .or_else(|| stored.get(p.as_str()))
                        .copied()
                }));
                done.insert(sha.to_owned(), g);
                continue;
            }
            if !visiting.insert(sha) {
                continue;
            }
            stack.push((sha, true));
            for p in &commit.parents {
                let p = p.as_str();
                if by_sha.contains_key(p) && !done.contains_key(p) && !visiting.contains(p) {
                    stack.push((p, false));
                }
            }
        }
    }
    done
}

impl Writer<'_> {
    /// Inserts the unknown commits; returns (recorded, already known) and appends one
    /// `commits.recorded` event when something was recorded.
    pub(super) async fn record_commits(
        &mut self,
        commits: &[Commit],
    ) -> Result<(u32, u32), StoreError> {
        let mut seen = HashSet::new();
        let unique: Vec<&Commit> = commits
            .iter()
            .filter(|c| seen.insert(c.sha.as_str()))
            .collect();
        // One lookup answers both questions: which commits are new, and the generations
        // of the stored parents the new ones hang from.
        let lookup: Vec<&str> = unique
            .iter()
            .flat_map(|c| std::iter::once(&c.sha).chain(&c.parents))
            .map(Sha::as_str)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let stored: HashMap<String, i64> = sqlx::query_as::<_, (String, i64)>(
            "SELECT sha, generation FROM commits WHERE sha = ANY($1)",
        )
        .bind(&lookup)
        .fetch_all(&mut *self.tx)
        .await
        .db()?
        .into_iter()
        .collect();
        let new: Vec<&Commit> = unique
            .into_iter()
            .filter(|c| !stored.contains_key(c.sha.as_str()))
            .collect();
        let recorded = u32::try_from(new.len()).unwrap_or(u32::MAX);
        let already_known = u32::try_from(commits.len() - new.len()).unwrap_or(u32::MAX);
        if new.is_empty() {
            return Ok((0, already_known));
        }
        let new_shas: HashSet<&str> = new.iter().map(|c| c.sha.as_str()).collect();
        let gens = generations(&new, &stored);
        self.insert_commits(&new, &gens).await?;
        self.repair_descendants(&new_shas).await?;

        self.events
            .push(events::commits(commits, recorded, already_known));
        Ok((recorded, already_known))
    }

    async fn insert_commits(
        &mut self,
        new: &[&Commit],
        gens: &HashMap<String, i64>,
    ) -> Result<(), StoreError> {
        let n = new.len();
        let mut sha = Vec::with_capacity(n);
        let mut author = Vec::with_capacity(n);
        let mut email = Vec::with_capacity(n);
        let mut authored = Vec::with_capacity(n);
        let mut committed = Vec::with_capacity(n);
        let mut message = Vec::with_capacity(n);
        let mut repository = Vec::with_capacity(n);
        // Service names cannot contain ',', so a joined list survives UNNEST intact.
        let mut services = Vec::with_capacity(n);
        let mut generation = Vec::with_capacity(n);
        let (mut edge_sha, mut edge_pos, mut edge_parent) = (Vec::new(), Vec::new(), Vec::new());
        for c in new {
            sha.push(c.sha.as_str());
            author.push(c.author.as_str());
            email.push(c.author_email.as_deref());
            authored.push(to_micros(c.authored_at));
            committed.push(to_micros(c.committed_at));
            message.push(c.message.as_str());
            repository.push(c.repository.as_deref());
            services.push(
                c.services
                    .iter()
                    .map(ServiceName::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            );
            generation.push(gens.get(c.sha.as_str()).copied().unwrap_or(1));
            for (i, p) in c.parents.iter().enumerate() {
                edge_sha.push(c.sha.as_str());
                edge_pos.push(i32::try_from(i).unwrap_or(i32::MAX));
                edge_parent.push(p.as_str());
            }
        }
        sqlx::query(
            "INSERT INTO commits (sha, author, author_email, authored_at, committed_at, message,
                 repository, services, generation)
             SELECT t.sha, t.author, t.email, t.authored, t.committed, t.message, t.repository,
                 CASE WHEN t.services = '' THEN '{}'::text[] ELSE string_to_array(t.services, ',') END,
                 t.generation
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[],
                 $6::text[], $7::text[], $8::text[], $9::bigint[])
                 AS t(sha, author, email, authored, committed, message, repository, services, generation)",
        )
        .bind(sha)
        .bind(author)
        .bind(email)
        .bind(authored)
        .bind(committed)
        .bind(message)
        .bind(repository)
        .bind(services)
        .bind(generation)
        .execute(&mut *self.tx)
        .await
        .db()?;
        if !edge_sha.is_empty() {
            sqlx::query(
                "INSERT INTO commit_parents (sha, position, parent)
                 SELECT * FROM UNNEST($1::text[], $2::int[], $3::text[])",
            )
            .bind(edge_sha)
            .bind(edge_pos)
            .bind(edge_parent)
            .execute(&mut *self.tx)
            .await
            .db()?;
        }
        Ok(())
    }

    /// Raises the generations of stored commits that are descendants of `new` commits.
    /// New commits are never revisited: a path back to one would be a parent cycle.
    async fn repair_descendants(&mut self, new: &HashSet<&str>) -> Result<(), StoreError> {
        let new: Vec<&str> = new.iter().copied().collect();
        let mut frontier: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT sha FROM commit_parents WHERE parent = ANY($1) AND NOT sha = ANY($1)",
        )
        .bind(&new)
        .fetch_all(&mut *self.tx)
        .await
        .db()?;
        let mut levels = 0;
        while !frontier.is_empty() {
            levels += 1;
            if levels > MAX_REPAIR_LEVELS {
                tracing::warn!("commit generation repair stopped: the parent graph has a cycle");
                break;
            }
            frontier = sqlx::query_scalar(
                "WITH want AS (
                    SELECT c.sha, 1 + COALESCE(MAX(pc.generation), 0) AS generation
                    FROM commits c
                    JOIN commit_parents p ON p.sha = c.sha
                    LEFT JOIN commits pc ON pc.sha = p.parent
                    WHERE c.sha = ANY($1)
                    GROUP BY c.sha
                 ), changed AS (
                    UPDATE commits c SET generation = w.generation
                    FROM want w
                    WHERE c.sha = w.sha AND c.generation <> w.generation
                    RETURNING c.sha
                 )
                 SELECT DISTINCT p.sha FROM commit_parents p JOIN changed ON p.parent = changed.sha
                 WHERE NOT p.sha = ANY($2)",
            )
            .bind(&frontier)
            .bind(&new)
            .fetch_all(&mut *self.tx)
            .await
            .db()?;
        }
        Ok(())
    }
}

impl Writer<'_> {
    pub(super) async fn upsert_pull_request(
        &mut self,
        pr: PullRequest,
    ) -> Result<PullRequest, StoreError> {
        let before: Option<String> = sqlx::query(
            "SELECT state FROM pull_requests WHERE repository = $1 AND number = $2 FOR UPDATE",
        )
        .bind(&pr.repository)
        .bind(pr.number)
        .fetch_optional(&mut *self.tx)
        .await
        .db()?
        .map(|r| r.try_get("state"))
        .transpose()
        .db()?;
        sqlx::query(
            "INSERT INTO pull_requests (repository, number, title, author, state, created_at,
                 merged_at, merge_commit_sha, head_sha, url)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (repository, number) DO UPDATE SET
                 title = EXCLUDED.title, author = EXCLUDED.author, state = EXCLUDED.state,
                 created_at = EXCLUDED.created_at, merged_at = EXCLUDED.merged_at,
                 merge_commit_sha = EXCLUDED.merge_commit_sha, head_sha = EXCLUDED.head_sha,
                 url = EXCLUDED.url",
        )
        .bind(&pr.repository)
        .bind(pr.number)
        .bind(&pr.title)
        .bind(&pr.author)
        .bind(pr.state.as_str())
        .bind(to_micros(pr.created_at))
        .bind(pr.merged_at.map(to_micros))
        .bind(pr.merge_commit_sha.as_ref().map(|s| s.as_str()))
        .bind(pr.head_sha.as_ref().map(|s| s.as_str()))
        .bind(&pr.url)
        .execute(&mut *self.tx)
        .await
        .db()?;
        let changed = before
            .as_deref()
            .and_then(PullRequestState::parse)
            .is_none_or(|s| s != pr.state);
        if changed {
            self.events.push(events::pull_request(&pr));
        }
        self.attach_pull_request(&pr.repository, pr.number).await?;
        Ok(pr)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use rodeo_domain::Sha;

    use super::*;

    fn sha(c: char) -> Sha {
        Sha::parse(&c.to_string().repeat(40)).unwrap()
    }

    fn commit(c: char, parents: &[char]) -> Commit {
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        Commit {
            sha: sha(c),
            parents: parents.iter().map(|p| sha(*p)).collect(),
            author: "a".into(),
            author_email: None,
            authored_at: t,
            committed_at: t,
            message: String::new(),
            repository: None,
            services: vec![],
        }
    }

    #[test]
    fn children_before_parents_and_stored_parents() {
        let cs = [
            commit('c', &['b']),
            commit('b', &['a', 'e']),
            commit('a', &[]),
        ];
        let new: Vec<&Commit> = cs.iter().collect();
        let stored = HashMap::from([(sha('e').to_string(), 5)]);
        let g = generations(&new, &stored);
        assert_eq!(g[sha('a').as_str()], 1);
        assert_eq!(g[sha('b').as_str()], 6);
        assert_eq!(g[sha('c').as_str()], 7);
    }

    #[test]
    fn a_parent_cycle_terminates() {
        let cs = [commit('a', &['b']), commit('b', &['a'])];
        let new: Vec<&Commit> = cs.iter().collect();
        let g = generations(&new, &HashMap::new());
        assert_eq!(g.len(), 2);
    }
}
