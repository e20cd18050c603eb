//! `rodeo deploy`, `deploy start` and `deploy finish`, including the commits read with
//! `--git`.

use chrono::Utc;
use rodeo_domain::{Commit, DeploymentStatus, Sha, Timestamp};

use super::Context;
use crate::api::{self, DeploymentRequest, FinishRequest};
use crate::cli::{DeployAction, DeployArgs, DeployCmd, FinishArgs, FinishStatus};
use crate::error::CliError;
use crate::git::{self, Repo};

/// Commits up to this much JSON go inside the deployment request; more are uploaded
/// first in batches of this size, so no request nears the server's 1 MiB body limit.
pub const INLINE_COMMITS_BYTES: usize = 512 * 1024;
const MAX_BATCH_COMMITS: usize = 1000;

pub(super) async fn run(ctx: &Context, cmd: DeployCmd) -> Result<(), CliError> {
    match cmd.action {
        None => record(ctx, cmd.record, Some((cmd.status, cmd.finished_at))).await,
        Some(DeployAction::Start(args)) => record(ctx, args, None).await,
        Some(DeployAction::Finish(args)) => finish(ctx, args).await,
    }
}

fn missing(flag: &str) -> CliError {
    CliError::Usage(format!("--{flag} is required"))
}

/// Records a deployment: finished when `finished` is given, in progress otherwise.
async fn record(
    ctx: &Context,
    args: DeployArgs,
    finished: Option<(FinishStatus, Option<Timestamp>)>,
) -> Result<(), CliError> {
    let service = args.service.ok_or_else(|| missing("service"))?;
    let environment = args.env.ok_or_else(|| missing("env"))?;
    let version = args.version.ok_or_else(|| missing("version"))?;
    let commit = args.commit.ok_or_else(|| missing("commit"))?;
    let repo = args.git.as_deref().map(Repo::open).transpose()?;
    let commit_sha = match (&repo, Sha::parse(&commit)) {
        (_, Ok(sha)) => sha,
        (Some(repo), Err(_)) => repo.require(&commit)?,
        (None, Err(e)) => {
            return Err(CliError::Usage(format!(
                "--commit {commit:?} {} (a revision like HEAD needs --git)",
                e.message
            )))
        }
    };
    let commits = match &repo {
        Some(repo) => {
            let current = api::current_deployment(&ctx.client, &service, &environment).await?;
            git::commits_to_upload(
                repo,
                current.as_ref().map(|d| &d.commit_sha),
                &commit_sha,
                Utc::now(),
            )?
        }
        None => Vec::new(),
    };
    let upload = plan_upload(commits);
    for batch in &upload.batches {
        let r = api::record_commits(&ctx.client, batch).await?;
        tracing::info!(
            recorded = r.value.recorded,
            already_known = r.value.already_known,
            "uploaded commits"
        );
    }
    let (status, finished_at) = match finished {
        Some((status, at)) => (status.into(), at),
        None => (DeploymentStatus::InProgress, None),
    };
    let body = DeploymentRequest {
        service,
        environment,
        version,
        commit_sha,
        status,
        kind: args.kind.into(),
        started_at: args.started_at,
        finished_at,
        external_id: args.external_id,
        url: args.url,
        commits: upload.inline,
    };
    let reply = api::record_deployment(&ctx.client, &body, args.idempotency_key.as_deref()).await?;
    ctx.print(&reply, |d| {
        if finished.is_none() {
            // `deploy start` prints only the id, for `ID=$(rodeo deploy start ...)`.
            return d.id.to_string();
        }
        format!(
            "recorded deployment {}: {} {} to {} ({}, {}, {} commit{} shipped)",
            d.id,
            d.service,
            d.version,
            d.environment,
            d.status.as_str(),
            d.kind.as_str(),
            d.change_count,
            if d.change_count == 1 { "" } else { "s" }
        )
    })
}

async fn finish(ctx: &Context, args: FinishArgs) -> Result<(), CliError> {
    let body = FinishRequest {
        status: args.status.into(),
        finished_at: args.finished_at,
    };
    let reply = api::finish_deployment(
        &ctx.client,
        &args.id,
        &body,
        args.idempotency_key.as_deref(),
    )
    .await?;
    ctx.print(&reply, |d| {
        format!("deployment {} finished: {}", d.id, d.status.as_str())
    })
}

/// How commits travel: inside the deployment request, or ahead of it in batches.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Upload {
    pub inline: Vec<Commit>,
    /// Sent to `POST /api/v1/commits` in order, oldest first, before the deployment.
    pub batches: Vec<Vec<Commit>>,
}

/// Splits `commits` (oldest first) so that no request body exceeds
/// [`INLINE_COMMITS_BYTES`] of commit JSON.
pub fn plan_upload(commits: Vec<Commit>) -> Upload {
    let sizes: Vec<usize> = commits.iter().map(json_size).collect();
    if sizes.iter().sum::<usize>() <= INLINE_COMMITS_BYTES {
        return Upload {
            inline: commits,
            batches: Vec::new(),
        };
    }
    let mut batches: Vec<Vec<Commit>> = Vec::new();
    let mut current: Vec<Commit> = Vec::new();
    let mut bytes = 0;
    for (commit, size) in commits.into_iter().zip(sizes) {
        let full = current.len() >= MAX_BATCH_COMMITS || bytes + size > INLINE_COMMITS_BYTES;
        if full && !current.is_empty() {
            batches.push(std::mem::take(&mut current));
            bytes = 0;
        }
        bytes += size;
        current.push(commit);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    Upload {
        inline: Vec::new(),
        batches,
    }
}

fn json_size(c: &Commit) -> usize {
    // Serializing a Commit cannot fail (no maps with non-string keys); the fallback
    // only keeps this total.
    serde_json::to_vec(c).map_or(c.message.len() + 512, |v| v.len() + 1)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn commit(i: usize, message_len: usize) -> Commit {
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        Commit {
            sha: Sha::parse(&format!("{i:040x}")).unwrap(),
            parents: vec![],
            author: "a".into(),
            author_email: None,
            authored_at: t,
            committed_at: t,
            message: "m".repeat(message_len),
            repository: None,
            services: vec![],
        }
    }

    #[test]
    fn small_uploads_travel_inline() {
        let up = plan_upload((0..10).map(|i| commit(i, 100)).collect());
        assert_eq!(up.inline.len(), 10);
        assert!(up.batches.is_empty());
    }

    #[test]
    fn large_uploads_are_batched_in_order_within_the_limits() {
        let commits: Vec<Commit> = (0..3000).map(|i| commit(i, 400)).collect();
        let up = plan_upload(commits.clone());
        assert!(up.inline.is_empty());
        assert!(up.batches.len() > 1);
        let flat: Vec<Commit> = up.batches.iter().flatten().cloned().collect();
        assert_eq!(flat, commits, "nothing lost or reordered");
        for b in &up.batches {
            assert!(b.len() <= MAX_BATCH_COMMITS);
            assert!(b.iter().map(json_size).sum::<usize>() <= INLINE_COMMITS_BYTES);
        }
    }

    #[test]
    fn an_oversized_commit_gets_a_batch_of_its_own() {
        let commits = vec![
            commit(1, 10),
            commit(2, INLINE_COMMITS_BYTES),
            commit(3, 10),
        ];
        let up = plan_upload(commits);
        let lens: Vec<usize> = up.batches.iter().map(Vec::len).collect();
        assert_eq!(lens, vec![1, 1, 1]);
    }
}
