//! GitLab payloads into commands.

use rodeo_domain::{Command, DeploymentStatus, PullRequest, PullRequestState};
use serde_json::json;

use super::{deployment, edited, fixture, ignored, mapping, only, set, ts};
use crate::webhooks::{parse_gitlab, Parsed, WebhookError};

const PUSH: &str = fixture!("gitlab/push.json");
const MR_OPEN: &str = fixture!("gitlab/merge_request_open.json");
const MR_MERGE: &str = fixture!("gitlab/merge_request_merge.json");
const MR_APPROVED: &str = fixture!("gitlab/merge_request_approved.json");
const DEPLOY_RUNNING: &str = fixture!("gitlab/deployment_running.json");
const DEPLOY_SUCCESS: &str = fixture!("gitlab/deployment_success.json");

fn parse(event: &str, body: &[u8]) -> Result<Parsed, WebhookError> {
    parse_gitlab(event, body, &mapping())
}

fn commits(body: &[u8]) -> Vec<rodeo_domain::Commit> {
    match only(parse("Push Hook", body).unwrap()).1 {
        Command::RecordCommits { commits } => commits,
        other => panic!("{other:?}"),
    }
}

fn chain(commits: &[rodeo_domain::Commit]) -> Vec<(&str, Vec<&str>)> {
    commits
        .iter()
        .map(|c| (c.sha.short(), c.parents.iter().map(|p| p.short()).collect()))
        .collect()
}

#[test]
fn push_records_commits_chained_onto_before() {
    let (actor, _) = only(parse("Push Hook", PUSH.as_bytes()).unwrap());
    assert_eq!(actor, "chloe.martin");
    let commits = commits(PUSH.as_bytes());
    assert_eq!(
        chain(&commits),
        [
            ("b6568db", vec!["95790bf"]),
            ("3f1a9c0", vec!["b6568db"]),
            ("da15608", vec!["3f1a9c0"]),
        ]
    );
    let first = &commits[0];
    assert_eq!(first.author, "Chloé Martin");
    assert_eq!(first.authored_at, ts("2026-03-02T09:02:11Z"));
    assert_eq!(first.repository.as_deref(), Some("acme/platform/shop"));
    assert_eq!(
        commits[1].author_email, None,
        "GitLab's [REDACTED] is not an address"
    );
    let services: Vec<Vec<&str>> = commits
        .iter()
        .map(|c| c.services.iter().map(|s| s.as_str()).collect())
        .collect();
    // capture.rs; libs/money + Cargo.lock; a removed checkout file.
    assert_eq!(
        services,
        [vec!["billing"], vec!["billing"], vec!["checkout"]]
    );
}

#[test]
fn truncated_pushes_and_new_branches_leave_the_unknown_base_out() {
    let truncated = edited(PUSH, |v| set(v, "/total_commits_count", json!(45)));
    assert_eq!(
        chain(&commits(&truncated)),
        [("3f1a9c0", vec!["b6568db"]), ("da15608", vec!["3f1a9c0"])]
    );
    let new_branch = edited(PUSH, |v| set(v, "/before", json!("0".repeat(40))));
    assert_eq!(commits(&new_branch).len(), 2);

    let deleted = edited(PUSH, |v| {
        set(v, "/after", json!("0".repeat(40)));
        set(v, "/commits", json!([]));
        set(v, "/total_commits_count", json!(0));
    });
    assert!(ignored(parse("Push Hook", &deleted).unwrap()).contains("no commits"));
}

#[test]
fn push_errors_name_the_field() {
    let cases: [(&str, serde_json::Value, &str); 4] = [
        (
            "/commits/1/timestamp",
            json!("2026-03-02"),
            "commits[1].timestamp",
        ),
        ("/commits/2/added", json!("README.md"), "commits[2].added"),
        (
            "/project/path_with_namespace",
            json!(""),
            "project.path_with_namespace",
        ),
        ("/total_commits_count", json!("3"), "total_commits_count"),
    ];
    for (pointer, value, field) in cases {
        let body = edited(PUSH, |v| set(v, pointer, value));
        assert_eq!(
            parse("Push Hook", &body).unwrap_err().field_error().field,
            field
        );
    }
}

fn merge_request(body: &[u8]) -> PullRequest {
    match only(parse("Merge Request Hook", body).unwrap()).1 {
        Command::UpsertPullRequest(pr) => pr,
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_opened_merge_request_is_open() {
    let pr = merge_request(MR_OPEN.as_bytes());
    assert_eq!(pr.repository, "acme/platform/api-server");
    assert_eq!(pr.number, 52);
    assert_eq!(pr.author, "chloe.martin");
    assert_eq!(pr.state, PullRequestState::Open);
    assert_eq!(pr.created_at, ts("2026-02-27T16:02:41Z"));
    assert_eq!((pr.merged_at, pr.merge_commit_sha), (None, None));
    assert_eq!(pr.head_sha.unwrap().short(), "a91c3e5");
    assert!(pr.url.unwrap().ends_with("/-/merge_requests/52"));
}

#[test]
fn the_merge_event_gives_the_merge_time() {
    let (actor, _) = only(parse("Merge Request Hook", MR_MERGE.as_bytes()).unwrap());
    assert_eq!(actor, "dev.patel");
    let pr = merge_request(MR_MERGE.as_bytes());
    assert_eq!(pr.state, PullRequestState::Merged);
    assert_eq!(pr.created_at, ts("2026-02-27T16:02:41Z"));
    assert_eq!(pr.merged_at, Some(ts("2026-03-02T08:47:19Z")));
    assert_eq!(pr.merge_commit_sha.unwrap().short(), "e3c1d0b");

    let squashed = edited(MR_MERGE, |v| {
        set(v, "/object_attributes/merge_commit_sha", json!(null));
        v["object_attributes"]["squash_commit_sha"] = json!("f".repeat(40));
    });
    assert_eq!(
        merge_request(&squashed).merge_commit_sha.unwrap().short(),
        "fffffff"
    );

    // A later update of a merged MR has no merge time; recording it would erase it.
    let updated = edited(MR_MERGE, |v| {
        set(v, "/object_attributes/action", json!("update"))
    });
    assert!(ignored(parse("Merge Request Hook", &updated).unwrap()).contains("already merged"));
}

#[test]
fn closing_and_approvals() {
    let closed = edited(MR_OPEN, |v| {
        set(v, "/object_attributes/action", json!("close"));
        set(v, "/object_attributes/state", json!("closed"));
    });
    assert_eq!(merge_request(&closed).state, PullRequestState::Closed);
    let reason = ignored(parse("Merge Request Hook", MR_APPROVED.as_bytes()).unwrap());
    assert!(reason.contains("\"approved\""), "{reason}");
    let locked = edited(MR_OPEN, |v| {
        set(v, "/object_attributes/state", json!("locked"))
    });
    assert!(ignored(parse("Merge Request Hook", &locked).unwrap()).contains("locked"));
}

#[test]
fn a_running_deployment_starts_in_progress() {
    let parsed = parse("Deployment Hook", DEPLOY_RUNNING.as_bytes()).unwrap();
    let Parsed::Commands { actor, .. } = &parsed else {
        panic!("{parsed:?}")
    };
    assert_eq!(actor, "dev.patel");
    let d = deployment(parsed);
    assert_eq!(d.service.as_str(), "api-server");
    assert_eq!(d.environment.as_str(), "production", "live is an alias");
    assert_eq!(
        d.commit_sha.as_str(),
        "279484c09fbe69ededfced8c1bb6e6d24616b468"
    );
    assert_eq!(d.version, "279484c");
    assert_eq!(d.status, DeploymentStatus::InProgress);
    assert_eq!(d.started_at, ts("2026-03-02T08:55:02Z"));
    assert_eq!(d.finished_at, None);
    assert_eq!(d.external_id.as_deref(), Some("gitlab:deployment:3381"));
    assert!(d.url.unwrap().ends_with("/-/jobs/902214"));
}

#[test]
fn finished_deployments_carry_their_status_time() {
    let d = deployment(parse("Deployment Hook", DEPLOY_SUCCESS.as_bytes()).unwrap());
    assert_eq!(d.status, DeploymentStatus::Succeeded);
    assert_eq!(d.finished_at, Some(ts("2026-03-02T09:01:44Z")));
    assert_eq!(d.external_id.as_deref(), Some("gitlab:deployment:3381"));
    for (status, expected) in [
        ("failed", DeploymentStatus::Failed),
        ("canceled", DeploymentStatus::Failed),
    ] {
        let body = edited(DEPLOY_SUCCESS, |v| set(v, "/status", json!(status)));
        let d = deployment(parse("Deployment Hook", &body).unwrap());
        assert_eq!(
            (d.status, d.finished_at.is_some()),
            (expected, true),
            "{status}"
        );
    }
    for status in ["created", "blocked", "skipped"] {
        let body = edited(DEPLOY_SUCCESS, |v| set(v, "/status", json!(status)));
        assert!(ignored(parse("Deployment Hook", &body).unwrap()).contains(status));
    }
}

#[test]
fn deployment_sha_and_version_sources() {
    let with_ref = edited(DEPLOY_SUCCESS, |v| v["ref"] = json!("v3.1.0"));
    assert_eq!(
        deployment(parse("Deployment Hook", &with_ref).unwrap()).version,
        "v3.1.0"
    );

    let with_sha = edited(DEPLOY_SUCCESS, |v| {
        v["sha"] = json!("279484C09FBE69EDEDFCED8C1BB6E6D24616B468");
        set(v, "/commit_url", json!(null));
    });
    let d = deployment(parse("Deployment Hook", &with_sha).unwrap());
    assert_eq!(d.commit_sha.short(), "279484c");

    let bad_url = edited(DEPLOY_SUCCESS, |v| {
        set(
            v,
            "/commit_url",
            json!("https://gitlab.acme.example/acme/platform/api-server/-/commit/279484c0"),
        );
    });
    let e = parse("Deployment Hook", &bad_url)
        .unwrap_err()
        .field_error();
    assert_eq!(e.field, "commit_url");

    let mismatch = edited(DEPLOY_SUCCESS, |v| set(v, "/short_sha", json!("deadbeef")));
    let e = parse("Deployment Hook", &mismatch)
        .unwrap_err()
        .field_error();
    assert_eq!(e.field, "short_sha");

    let bad_time = edited(DEPLOY_SUCCESS, |v| {
        set(v, "/status_changed_at", json!("10:01"))
    });
    let e = parse("Deployment Hook", &bad_time)
        .unwrap_err()
        .field_error();
    assert_eq!(e.field, "status_changed_at");
}

#[test]
fn unknown_events_are_ignored_unread() {
    let reason = ignored(parse("Tag Push Hook", b"\xff garbage").unwrap());
    assert_eq!(
        reason,
        "GitLab event \"Tag Push Hook\" is not used by rodeo"
    );
}
