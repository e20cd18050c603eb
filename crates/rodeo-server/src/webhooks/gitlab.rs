//! GitLab webhooks: `Push Hook`, `Merge Request Hook`, `Deployment Hook`.
//!
//! GitLab's deployment events carry no full sha field, only `short_sha` and a
//! `commit_url` ending in the full sha, which is where rodeo reads it from. Deployments
//! are keyed `gitlab:deployment:<deployment_id>`, so `running` and then `success`
//! upsert the same rodeo deployment.

use rodeo_domain::{
    Command, DeploymentKind, DeploymentStatus, FieldError, NewDeployment, PullRequest,
    PullRequestState, Sha, MAX_AUTHOR_LEN, MAX_URL_LEN,
};

use super::json::{self, Obj};
use super::{
    push, Handler, Mapping, Parsed, WebhookError, MAX_REPOSITORY_LEN, MAX_TITLE_LEN,
    MAX_VERSION_LEN,
};

/// Reads one delivery; `event` is the `X-Gitlab-Event` header.
pub fn parse_gitlab(event: &str, body: &[u8], mapping: &Mapping) -> Result<Parsed, WebhookError> {
    let Some(handler) = handler(event) else {
        return Ok(Parsed::ignored(format!(
            "GitLab event {event:?} is not used by rodeo"
        )));
    };
    let value = json::parse_body(body)?;
    Ok(handler(&Obj::root(&value)?, mapping)?)
}

/// The reader for an event type; `None` for events rodeo does not use.
pub(super) fn handler(event: &str) -> Option<Handler> {
    let handler: Handler = match event {
        "Push Hook" => push,
        "Merge Request Hook" => merge_request,
        "Deployment Hook" => deployment,
        _ => return None,
    };
    Some(handler)
}

fn project_path<'a>(root: &Obj<'a>) -> Result<&'a str, FieldError> {
    root.obj("project")?
        .name("path_with_namespace", MAX_REPOSITORY_LEN)
}

fn username(root: &Obj<'_>) -> Result<String, FieldError> {
    Ok(root
        .obj("user")?
        .name("username", MAX_AUTHOR_LEN)?
        .to_owned())
}

fn push(root: &Obj<'_>, mapping: &Mapping) -> Result<Parsed, FieldError> {
    // Push events name the pusher in flat fields; `user_username` is missing before
    // GitLab 10.
    let actor = match root.opt_text("user_username", MAX_AUTHOR_LEN)? {
        Some(u) => u,
        None => root.name("user_name", MAX_AUTHOR_LEN)?,
    }
    .to_owned();
    let repository = project_path(root)?;
    let git_ref = root.opt_str("ref")?.unwrap_or("a ref");
    let commits = root
        .objects("commits")?
        .iter()
        .map(|c| push::read_commit(c, repository, mapping))
        .collect::<Result<Vec<_>, _>>()?;
    if commits.is_empty() {
        return Ok(Parsed::ignored(format!("push to {git_ref} has no commits")));
    }
    let before = root.sha("before")?;
    // GitLab sends only the newest 20 commits of a larger push; `before` is then not
    // the oldest listed commit's parent.
    let truncated = root
        .opt_i64("total_commits_count")?
        .is_some_and(|total| total > i64::try_from(commits.len()).unwrap_or(i64::MAX));
    let base = (!before.is_null() && !truncated).then_some(before);
    let commits = push::link_parents(base, commits, "commits")?;
    if commits.is_empty() {
        return Ok(Parsed::ignored(format!(
            "push to {git_ref} has one commit whose parent is unknown (new branch)"
        )));
    }
    Ok(Parsed::Commands {
        actor,
        commands: vec![Command::RecordCommits { commits }],
    })
}

/// Actions after which the merge request's title, head or state may differ; the
/// approval actions change none of them.
const MERGE_REQUEST_ACTIONS: [&str; 5] = ["open", "reopen", "update", "close", "merge"];

fn merge_request(root: &Obj<'_>, _: &Mapping) -> Result<Parsed, FieldError> {
    let attrs = root.obj("object_attributes")?;
    let action = attrs.opt_str("action")?;
    if let Some(action) = action.filter(|a| !MERGE_REQUEST_ACTIONS.contains(a)) {
        return Ok(Parsed::ignored(format!(
            "merge request action {action:?} changes nothing rodeo records"
        )));
    }
    let state = match attrs.str("state")? {
        "opened" => PullRequestState::Open,
        "closed" => PullRequestState::Closed,
        "merged" => PullRequestState::Merged,
        other => {
            return Ok(Parsed::ignored(format!(
                "merge request state {other:?} is not used by rodeo"
            )))
        }
    };
    // The payload has no merge time: only the merge event's updated_at is one.
    let merged_at =
        match (state, action) {
            (PullRequestState::Merged, Some("merge")) => Some(attrs.timestamp("updated_at")?),
            (PullRequestState::Merged, _) => match attrs.opt_timestamp("merged_at")? {
                Some(at) => Some(at),
                None => return Ok(Parsed::ignored(
                    "merge request is already merged; only its merge event gives the merge time",
                )),
            },
            _ => None,
        };
    let merge_commit_sha = if state == PullRequestState::Merged {
        match attrs.opt_sha("merge_commit_sha")? {
            Some(sha) => Some(sha),
            None => attrs.opt_sha("squash_commit_sha")?,
        }
    } else {
        None
    };
    let number = attrs.i64("iid")?;
    if number <= 0 {
        return Err(FieldError::new(attrs.path("iid"), "must be positive"));
    }
    let actor = username(root)?;
    let pull_request = PullRequest {
        repository: project_path(root)?.to_owned(),
        number,
        title: attrs.text("title", MAX_TITLE_LEN)?.to_owned(),
        // GitLab names only the author's numeric id; the user acting is the best name.
        author: actor.clone(),
        state,
        created_at: attrs.timestamp("created_at")?,
        merged_at,
        merge_commit_sha,
        head_sha: attrs
            .opt_obj("last_commit")?
            .map(|c| c.sha("id"))
            .transpose()?,
        url: attrs.opt_text("url", MAX_URL_LEN)?.map(str::to_owned),
    };
    Ok(Parsed::Commands {
        actor,
        commands: vec![Command::UpsertPullRequest(pull_request)],
    })
}

fn deployment(root: &Obj<'_>, mapping: &Mapping) -> Result<Parsed, FieldError> {
    let status = match root.str("status")? {
        "running" => DeploymentStatus::InProgress,
        "success" => DeploymentStatus::Succeeded,
        "failed" | "canceled" => DeploymentStatus::Failed,
        other => {
            return Ok(Parsed::ignored(format!(
                "deployment status {other:?} is not used by rodeo"
            )))
        }
    };
    let actor = username(root)?;
    let repository = project_path(root)?;
    let id = root.i64("deployment_id")?;
    let commit_sha = deployed_sha(root)?;
    let at = root.timestamp("status_changed_at")?;
    let version = root
        .opt_text("ref", MAX_VERSION_LEN)?
        .filter(|r| !r.eq_ignore_ascii_case(commit_sha.as_str()))
        .unwrap_or(commit_sha.short())
        .to_owned();
    let new = NewDeployment {
        service: mapping.service_for_repository("project.path_with_namespace", repository)?,
        environment: mapping.environment("environment", root.str("environment")?)?,
        version,
        commit_sha,
        status,
        kind: DeploymentKind::Normal,
        // GitLab sends no start time; the first status change (running) is the start.
        started_at: at,
        finished_at: status.is_finished().then_some(at),
        external_id: Some(format!("gitlab:deployment:{id}")),
        url: root
            .opt_text("deployable_url", MAX_URL_LEN)?
            .map(str::to_owned),
        commits: Vec::new(),
    };
    Ok(Parsed::Commands {
        actor,
        commands: vec![Command::RecordDeployment(new)],
    })
}

/// The full sha: a `sha` field if a GitLab version sends one, else the end of
/// `commit_url`, checked against `short_sha`.
fn deployed_sha(root: &Obj<'_>) -> Result<Sha, FieldError> {
    let sha = match root.opt_sha("sha")? {
        Some(sha) => sha,
        None => {
            let url = root.str("commit_url")?;
            let last = url
                .split(['?', '#'])
                .next()
                .unwrap_or(url)
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or_default();
            Sha::parse_field("commit_url", last).map_err(|_| {
                FieldError::new("commit_url", "must end with the deployed commit's full sha")
            })?
        }
    };
    if let Some(short) = root.opt_str("short_sha")? {
        let short = short.to_ascii_lowercase();
        if short.is_empty() || !sha.as_str().starts_with(&short) {
            return Err(FieldError::new(
                "short_sha",
                format!("does not match the deployed commit {sha}"),
            ));
        }
    }
    Ok(sha)
}
