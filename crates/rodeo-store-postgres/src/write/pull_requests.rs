//! The pull-request milestones behind lead time's per-stage breakdown: a merged pull
//! request's opening, merge and first commit, copied onto the first-shipment rows of its
//! merge commit (migration 0004). Filled from both ends, since GitHub and GitLab send
//! the pull request and the deployment that ships it in either order; a pull-request
//! write holds the commit graph exclusively (see `locks`), so it never interleaves with
//! a deployment recording the first shipment of the same merge commit.

use rodeo_domain::Sha;
use rodeo_store::StoreError;
use sqlx::{PgConnection, Row};

use super::Writer;
use crate::graph;
use crate::rows::DbResult;

impl Writer<'_> {
    /// Computes a merged pull request's first commit if it is not known yet and copies
    /// its milestones onto every first shipment of its merge commit.
    pub(super) async fn attach_pull_request(
        &mut self,
        repository: &str,
        number: i64,
    ) -> Result<(), StoreError> {
        let row = sqlx::query(
            "SELECT head_sha, merge_commit_sha, first_commit_at FROM pull_requests
             WHERE repository = $1 AND number = $2 AND state = 'merged'
               AND merged_at IS NOT NULL AND merge_commit_sha IS NOT NULL",
        )
        .bind(repository)
        .bind(number)
        .fetch_optional(&mut *self.tx)
        .await
        .db()?;
        let Some(row) = row else {
            return Ok(());
        };
        let head: Option<String> = row.try_get(0).db()?;
        let merge: String = row.try_get(1).db()?;
        let first: Option<i64> = row.try_get(2).db()?;
        if first.is_none() {
            let head = head.as_deref().and_then(|h| Sha::parse(h).ok());
            if let (Some(head), Ok(merge)) = (head, Sha::parse(&merge)) {
                if let Some(at) = first_commit_at(&mut self.tx, &head, &merge).await? {
                    sqlx::query(
                        "UPDATE pull_requests SET first_commit_at = $3
                         WHERE repository = $1 AND number = $2",
                    )
                    .bind(repository)
                    .bind(number)
                    .bind(at)
                    .execute(&mut *self.tx)
                    .await
                    .db()?;
                }
            }
        }
        // `service = ANY (...)` lets the (service, sha) key find the rows.
        sqlx::query(
            "UPDATE first_shipments f
             SET pr_opened_at = p.created_at, pr_merged_at = p.merged_at,
                 pr_first_commit_at = p.first_commit_at, pr_author = p.author
             FROM pull_requests p
             WHERE p.repository = $1 AND p.number = $2
               AND f.service = ANY (ARRAY (SELECT name FROM services)) AND f.sha = $3",
        )
        .bind(repository)
        .bind(number)
        .bind(&merge)
        .execute(&mut *self.tx)
        .await
        .db()?;
        Ok(())
    }

    /// After deployment `id` recorded first shipments: the merged pull requests whose
    /// merge commit it shipped and whose first commit is not known yet (the merge
    /// commit arrived after the pull request did).
    pub(super) async fn attach_shipped_pull_requests(&mut self, id: i64) -> Result<(), StoreError> {
        let pending = sqlx::query(
            "SELECT p.repository, p.number
             FROM deployment_changes dc
             JOIN pull_requests p ON p.merge_commit_sha = dc.sha
             WHERE dc.deployment_id = $1 AND p.state = 'merged'
               AND p.merged_at IS NOT NULL AND p.first_commit_at IS NULL
               AND p.head_sha IS NOT NULL",
        )
        .bind(id)
        .fetch_all(&mut *self.tx)
        .await
        .db()?;
        for r in pending {
            let repository: String = r.try_get(0).db()?;
            let number: i64 = r.try_get(1).db()?;
            self.attach_pull_request(&repository, number).await?;
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
async fn first_commit_at(
    conn: &mut PgConnection,
    head: &Sha,
    merge: &Sha,
) -> Result<Option<i64>, StoreError> {
    let base: Option<String> =
        sqlx::query_scalar("SELECT parent FROM commit_parents WHERE sha = $1 AND position = 0")
            .bind(merge.as_str())
            .fetch_optional(&mut *conn)
            .await
            .db()?;
    let Some(base) = base.and_then(|b| Sha::parse(&b).ok()) else {
        return Ok(None);
    };
    let gens = graph::generations(&mut *conn, &[head, &base]).await?;
    let (Some(&gh), Some(&gb)) = (gens.get(head), gens.get(&base)) else {
        return Ok(None);
    };
    let walked = graph::between(&mut *conn, (head, gh), (&base, gb)).await?;
    if walked.shas.is_empty() {
        return Ok(None);
    }
    let shas: Vec<&str> = walked.shas.iter().map(Sha::as_str).collect();
    sqlx::query_scalar("SELECT min(authored_at) FROM commits WHERE sha = ANY ($1)")
        .bind(&shas)
        .fetch_one(conn)
        .await
        .db()
}
