//! The pull-request milestones behind lead time's per-stage breakdown: a merged pull
//! request's opening, merge and first commit, copied onto the first-shipment rows of its
//! merge commit (migration 0006). Filled from both ends, since GitHub and GitLab send
//! the pull request and the deployment that ships it in either order.

use rodeo_domain::Sha;
use rusqlite::{params, Connection, OptionalExtension};

use super::packs;
use super::Call;
use crate::error::Result;
use crate::graph;

impl Call<'_> {
    /// Computes a merged pull request's first commit if it is not known yet and copies
    /// its milestones onto every first shipment of its merge commit.
    pub(super) fn attach_pull_request(&mut self, repository: &str, number: i64) -> Result<()> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT head_sha, merge_commit_sha, first_commit_at FROM pull_requests
                 WHERE repository = ?1 AND number = ?2 AND state = 'merged'
                   AND merged_at IS NOT NULL AND merge_commit_sha IS NOT NULL",
            )?
            .query_row(params![repository, number], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                ))
            })
            .optional()?;
        let Some((head, merge, first)) = row else {
            return Ok(());
        };
        if first.is_none() {
            let head = head.as_deref().and_then(|h| Sha::parse(h).ok());
            let merge_sha = Sha::parse(&merge).ok();
            if let (Some(head), Some(merge_sha)) = (head, merge_sha) {
                if let Some(at) = first_commit_at(self.conn, &head, &merge_sha)? {
                    self.conn
                        .prepare_cached(
                            "UPDATE pull_requests SET first_commit_at = ?3
                             WHERE repository = ?1 AND number = ?2",
                        )?
                        .execute(params![repository, number, at])?;
                }
            }
        }
        // `service IN (...)` lets the (service, commit_id) index find the rows.
        let changed: Vec<i64> = self
            .conn
            .prepare_cached(
                "UPDATE first_shipments
                 SET (pr_opened_at, pr_merged_at, pr_first_commit_at, pr_author) = (
                     SELECT created_at, merged_at, first_commit_at, author FROM pull_requests
                     WHERE repository = ?1 AND number = ?2)
                 WHERE service IN (SELECT name FROM services)
                   AND commit_id = (SELECT id FROM commits WHERE sha = ?3)
                 RETURNING deployment_id",
            )?
            .query_map(params![repository, number, merge], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        packs::repack(self.conn, &changed)
    }

    /// After deployment `id` recorded first shipments: the merged pull requests whose
    /// merge commit it shipped and whose first commit is not known yet (the merge
    /// commit arrived after the pull request did).
    pub(super) fn attach_shipped_pull_requests(&mut self, id: i64) -> Result<()> {
        let pending: Vec<(String, i64)> = self
            .conn
            .prepare_cached(
                "SELECT p.repository, p.number
                 FROM deployment_changes dc
                 JOIN pull_requests p ON p.merge_commit_sha = dc.sha
                 WHERE dc.deployment_id = ?1 AND p.state = 'merged'
                   AND p.merged_at IS NOT NULL AND p.first_commit_at IS NULL
                   AND p.head_sha IS NOT NULL",
            )?
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (repository, number) in pending {
            self.attach_pull_request(&repository, number)?;
        }
        Ok(())
    }
}

/// The earliest authored time among a pull request's own commits: those reachable from
/// its head and not from its merge commit's first parent (the base it was merged into;
/// this holds for merge, squash and rebase merges alike). `None` unless rodeo knows the
/// head and the base. When a commit in between is unknown (a push that creates a branch
/// gives no parent for its first commit, so rodeo cannot record that one), the earliest
/// commit rodeo knows stands in for it.
fn first_commit_at(conn: &Connection, head: &Sha, merge: &Sha) -> Result<Option<i64>> {
    let base: Option<String> = conn
        .prepare_cached(
            "SELECT p.parent FROM commits c JOIN commit_parents p ON p.commit_id = c.id
             WHERE c.sha = ?1 AND p.position = 0",
        )?
        .query_row([merge.as_str()], |r| r.get(0))
        .optional()?;
    let Some(base) = base.and_then(|b| Sha::parse(&b).ok()) else {
        return Ok(None);
    };
    // An unknown base would turn the walk into "all of history".
    if graph::generation(conn, &base)?.is_none() {
        return Ok(None);
    }
    let between = graph::range_between(conn, head, Some(&base), None)?;
    if between.shas.is_empty() {
        return Ok(None);
    }
    let list = crate::rows::json_array(between.shas.iter().map(Sha::as_str));
    Ok(conn
        .prepare_cached(
            "SELECT min(authored_at) FROM commits
             WHERE sha IN (SELECT value FROM json_each(?1))",
        )?
        .query_row([list], |r| r.get(0))?)
}
