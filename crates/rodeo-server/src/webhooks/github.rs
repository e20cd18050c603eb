//! GitHub webhooks: `push`, `pull_request`, `deployment`, `deployment_status`, `ping`.
//!
//! Deployments are keyed `github:deployment:<id>`, so the `deployment` event (which
//! starts one) and each later `deployment_status` upsert the same rodeo deployment; a
//! status that arrives first creates it, since it carries the whole deployment.

use rodeo_domain::{
    Command, DeploymentKind, DeploymentStatus, FieldError, NewDeployment, PullRequest,
    PullRequestState, ServiceName, MAX_AUTHOR_LEN, MAX_URL_LEN,
};

use super::json::{self, Obj};
use super::{
    push, Handler, Mapping, Parsed, WebhookError, MAX_REPOSITORY_LEN, MAX_TITLE_LEN,
    MAX_VERSION_LEN,
};

/// Reads one delivery; `event` is the `X-GitHub-Event` header.
pub fn parse_github(event: &str, body: &[u8], mapping: &Mapping) -> Result<Parsed, WebhookError> {
    let Some(handler) = handler(event) else {
        return Ok(Parsed::ignored(format!(
            "GitHub event {event:?} is not used by rodeo"
        )));
    };
    let value = json::parse_body(body)?;
    Ok(handler(&Obj::root(&value)?, mapping)?)
}

/// The reader for an event type; `None` for events rodeo does not use.
pub(super) fn handler(event: &str) -> Option<Handler> {
    let handler: Handler = match event {
        "ping" => |_, _| Ok(Parsed::Ping),
        "push" => push,
        "pull_request" => pull_request,
        "deployment" => deployment,
        "deployment_status" => deployment_status,
        _ => return None,
    };
    Some(handler)
}

fn sender(root: &Obj<'_>) -> Result<String, FieldError> {
    Ok(root
        .obj("sender")?
        .name("login", MAX_AUTHOR_LEN)?
        .to_owned())
}

fn repository<'a>(root: &Obj<'a>) -> Result<&'a str, FieldError> {
    root.obj("repository")?
        .name("full_name", MAX_REPOSITORY_LEN)
}

fn push(root: &Obj<'_>, mapping: &Mapping) -> Result<Parsed, FieldError> {
    let actor = sender(root)?;
    let repository = repository(root)?;
    let git_ref = root.opt_str("ref")?.unwrap_or("a ref");
    if root.opt_bool("deleted")? == Some(true) {
        return Ok(Parsed::ignored(format!("push deletes {git_ref}")));
    }
    let commits = root
        .objects("commits")?
        .iter()
        .map(|c| push::read_commit(c, repository, mapping))
        .collect::<Result<Vec<_>, _>>()?;
    if commits.is_empty() {
        return Ok(Parsed::ignored(format!("push to {git_ref} has no commits")));
    }
    let before = root.sha("before")?;
    // A force push's `before` is the overwritten head, not the new commits' base.
    let forced = root.opt_bool("forced")?.unwrap_or(false);
    let base = (!before.is_null() && !forced).then_some(before);
    let commits = push::link_parents(base, commits, "commits")?;
    if commits.is_empty() {
        return Ok(Parsed::ignored(format!(
            "push to {git_ref} has one commit whose parent is unknown (new branch or force push)"
        )));
    }
    Ok(Parsed::Commands {
        actor,
        commands: vec![Command::RecordCommits { commits }],
    })
}

/// Actions after which the pull request's number, title, head or state may differ.
const PULL_REQUEST_ACTIONS: [&str; 5] = ["opened", "reopened", "edited", "synchronize", "closed"];

fn pull_request(root: &Obj<'_>, _: &Mapping) -> Result<Parsed, FieldError> {
    let action = root.str("action")?;
    if !PULL_REQUEST_ACTIONS.contains(&action) {
        return Ok(Parsed::ignored(format!(
            "pull_request action {action:?} changes nothing rodeo records"
        )));
    }
    let actor = sender(root)?;
    let repository = repository(root)?;
    let pr = root.obj("pull_request")?;
    let number = pr.i64("number")?;
    if number <= 0 {
        return Err(FieldError::new(pr.path("number"), "must be positive"));
    }
    // The state comes from the pull request itself, not the action: an `edited` pull
    // request may well be merged already.
    let merged = match pr.opt_bool("merged")? {
        Some(merged) => merged,
        None => pr.has("merged_at"),
    };
    let state = match pr.str("state")? {
        "open" => PullRequestState::Open,
        "closed" if merged => PullRequestState::Merged,
        "closed" => PullRequestState::Closed,
        _ => return Err(FieldError::new(pr.path("state"), "must be open or closed")),
    };
    // An open pull request's merge_commit_sha is GitHub's test merge, not a real one.
    let (merged_at, merge_commit_sha) = if state == PullRequestState::Merged {
        (
            Some(pr.timestamp("merged_at")?),
            pr.opt_sha("merge_commit_sha")?,
        )
    } else {
        (None, None)
    };
    let pull_request = PullRequest {
        repository: repository.to_owned(),
        number,
        title: pr.text("title", MAX_TITLE_LEN)?.to_owned(),
        author: pr.obj("user")?.name("login", MAX_AUTHOR_LEN)?.to_owned(),
        state,
        created_at: pr.timestamp("created_at")?,
        merged_at,
        merge_commit_sha,
        head_sha: Some(pr.obj("head")?.sha("sha")?),
        url: pr.opt_text("html_url", MAX_URL_LEN)?.map(str::to_owned),
    };
    Ok(Parsed::Commands {
        actor,
        commands: vec![Command::UpsertPullRequest(pull_request)],
    })
}

fn deployment(root: &Obj<'_>, mapping: &Mapping) -> Result<Parsed, FieldError> {
    if let Some(action) = root.opt_str("action")?.filter(|a| *a != "created") {
        return Ok(Parsed::ignored(format!(
            "deployment action {action:?} is not used by rodeo"
        )));
    }
    let actor = sender(root)?;
    let mut new = read_deployment(root, mapping)?;
    if let Some(run) = root.opt_obj("workflow_run")? {
        if let Some(url) = run.opt_text("html_url", MAX_URL_LEN)? {
            new.url = Some(url.to_owned());
        }
    }
    Ok(Parsed::Commands {
        actor,
        commands: vec![Command::RecordDeployment(new)],
    })
}

fn deployment_status(root: &Obj<'_>, mapping: &Mapping) -> Result<Parsed, FieldError> {
    if let Some(action) = root.opt_str("action")?.filter(|a| *a != "created") {
        return Ok(Parsed::ignored(format!(
            "deployment_status action {action:?} is not used by rodeo"
        )));
    }
    let status = root.obj("deployment_status")?;
    let state = status.str("state")?;
    let mapped = match state {
        "success" => DeploymentStatus::Succeeded,
        "failure" | "error" => DeploymentStatus::Failed,
        "queued" | "pending" | "in_progress" => DeploymentStatus::InProgress,
        // GitHub marks a deployment inactive when a newer one replaces it: not a failure.
        "inactive" => {
            return Ok(Parsed::ignored(
                "deployment status inactive: superseded by a newer deployment",
            ))
        }
        other => {
            return Ok(Parsed::ignored(format!(
                "deployment status {other:?} is not used by rodeo"
            )))
        }
    };
    let actor = sender(root)?;
    let mut new = read_deployment(root, mapping)?;
    new.status = mapped;
    if mapped.is_finished() {
        new.finished_at = Some(match status.opt_timestamp("created_at")? {
            Some(at) => at,
            None => status.timestamp("updated_at")?,
        });
    }
    // The status's links point at the run's log; the deployment's own url is the API.
    for key in ["log_url", "target_url"] {
        if let Some(url) = status.opt_text(key, MAX_URL_LEN)? {
            new.url = Some(url.to_owned());
            break;
        }
    }
    Ok(Parsed::Commands {
        actor,
        commands: vec![Command::RecordDeployment(new)],
    })
}

/// The deployment object shared by both deployment events, as an in-progress
/// deployment.
fn read_deployment(root: &Obj<'_>, mapping: &Mapping) -> Result<NewDeployment, FieldError> {
    let repository = repository(root)?;
    let d = root.obj("deployment")?;
    let id = d.i64("id")?;
    let commit_sha = d.sha("sha")?;
    // `payload` is free-form (an object, or a string from old API clients); only an
    // object can carry rodeo's `service` and `version`.
    let payload = d.opt_obj("payload").ok().flatten();
    let service = match payload
        .as_ref()
        .map(|p| p.opt_str("service"))
        .transpose()?
        .flatten()
    {
        Some(s) => ServiceName::normalize(&d.path("payload.service"), s)?,
        None => mapping.service_for_repository("repository.full_name", repository)?,
    };
    let environment = mapping.environment(&d.path("environment"), d.str("environment")?)?;
    let payload_version = payload
        .as_ref()
        .map(|p| p.opt_text("version", MAX_VERSION_LEN))
        .transpose()?
        .flatten();
    let git_ref = d
        .opt_text("ref", MAX_VERSION_LEN)?
        .filter(|r| !r.eq_ignore_ascii_case(commit_sha.as_str()));
    let version = payload_version
        .or(git_ref)
        .unwrap_or(commit_sha.short())
        .to_owned();
    Ok(NewDeployment {
        service,
        environment,
        version,
        commit_sha,
        status: DeploymentStatus::InProgress,
        kind: DeploymentKind::Normal,
        started_at: d.timestamp("created_at")?,
        finished_at: None,
        external_id: Some(format!("github:deployment:{id}")),
        url: d.opt_text("url", MAX_URL_LEN)?.map(str::to_owned),
        commits: Vec::new(),
    })
}
