//! GitHub payloads into commands.

use rodeo_domain::{Command, DeploymentKind, DeploymentStatus, PullRequest, PullRequestState};
use serde_json::json;

use super::{commands, deployment, edited, fixture, ignored, mapping, only, set, ts};
use crate::webhooks::{parse_github, Parsed, WebhookError};

const PUSH: &str = fixture!("github/push.json");
const PUSH_NEW_BRANCH: &str = fixture!("github/push_new_branch.json");
const PUSH_DELETE_TAG: &str = fixture!("github/push_delete_tag.json");
const PR_OPENED: &str = fixture!("github/pull_request_opened.json");
const PR_MERGED: &str = fixture!("github/pull_request_closed_merged.json");
const PR_CLOSED: &str = fixture!("github/pull_request_closed_unmerged.json");
const PR_LABELED: &str = fixture!("github/pull_request_labeled.json");
const DEPLOYMENT: &str = fixture!("github/deployment.json");
const STATUS_SUCCESS: &str = fixture!("github/deployment_status_success.json");
const STATUS_INACTIVE: &str = fixture!("github/deployment_status_inactive.json");
const PING: &str = fixture!("github/ping.json");

fn parse(event: &str, body: &[u8]) -> Result<Parsed, WebhookError> {
    parse_github(event, body, &mapping())
}

fn shas(commits: &[rodeo_domain::Commit]) -> Vec<(&str, Vec<&str>)> {
    commits
        .iter()
        .map(|c| (c.sha.short(), c.parents.iter().map(|p| p.short()).collect()))
        .collect()
}

#[test]
fn push_records_commits_chained_onto_before() {
    let (actor, command) = only(parse("push", PUSH.as_bytes()).unwrap());
    assert_eq!(actor, "ana-lopez");
    let Command::RecordCommits { commits } = command else {
        panic!("{command:?}")
    };
    assert_eq!(
        shas(&commits),
        [
            ("1f3e5d7", vec!["9c2f6e0"]),
            ("a7b9c1d", vec!["1f3e5d7"]),
            ("5e6d7c8", vec!["a7b9c1d"]),
        ]
    );
    let first = &commits[0];
    assert_eq!(first.author, "Ana López");
    assert_eq!(
        first.author_email.as_deref(),
        Some("ana.lopez@acme.example")
    );
    assert_eq!(first.authored_at, ts("2026-03-02T09:14:07Z"));
    assert_eq!(first.committed_at, first.authored_at);
    assert!(first.message.starts_with("Round invoice totals"));
    assert!(first.message.contains("\n\nFixes"));
    assert_eq!(first.repository.as_deref(), Some("acme/shop"));
}

#[test]
fn push_maps_changed_paths_to_monorepo_services() {
    let (_, command) = only(parse("push", PUSH.as_bytes()).unwrap());
    let Command::RecordCommits { commits } = command else {
        panic!("{command:?}")
    };
    let services: Vec<Vec<&str>> = commits
        .iter()
        .map(|c| c.services.iter().map(|s| s.as_str()).collect())
        .collect();
    // invoice.rs + libs/money; checkout files; docs only.
    assert_eq!(services, [vec!["billing"], vec!["checkout"], vec![]]);

    let not_a_monorepo = edited(PUSH, |v| {
        set(v, "/repository/full_name", json!("acme/api-server"))
    });
    let (_, command) = only(parse("push", &not_a_monorepo).unwrap());
    let Command::RecordCommits { commits } = command else {
        panic!("{command:?}")
    };
    assert!(commits.iter().all(|c| c.services.is_empty()));
}

#[test]
fn a_new_branch_or_force_push_leaves_the_unknown_base_out() {
    let (_, command) = only(parse("push", PUSH_NEW_BRANCH.as_bytes()).unwrap());
    let Command::RecordCommits { commits } = command else {
        panic!("{command:?}")
    };
    assert_eq!(shas(&commits), [("a7b9c1d", vec!["1f3e5d7"])]);

    let forced = edited(PUSH, |v| set(v, "/forced", json!(true)));
    let (_, command) = only(parse("push", &forced).unwrap());
    let Command::RecordCommits { commits } = command else {
        panic!("{command:?}")
    };
    assert_eq!(commits.len(), 2);
    assert_eq!(commits[0].parents[0].short(), "1f3e5d7");

    let one_commit = edited(PUSH_NEW_BRANCH, |v| {
        v["commits"].as_array_mut().unwrap().truncate(1);
    });
    assert!(ignored(parse("push", &one_commit).unwrap()).contains("parent is unknown"));
}

#[test]
fn deletions_and_empty_pushes_are_ignored() {
    let reason = ignored(parse("push", PUSH_DELETE_TAG.as_bytes()).unwrap());
    assert_eq!(reason, "push deletes refs/tags/simple-tag");
    let empty = edited(PUSH, |v| set(v, "/commits", json!([])));
    assert_eq!(
        ignored(parse("push", &empty).unwrap()),
        "push to refs/heads/main has no commits"
    );
}

#[test]
fn push_errors_name_the_field() {
    let cases: [(&str, serde_json::Value, &str, &str); 5] = [
        (
            "/commits/2/timestamp",
            json!("last tuesday"),
            "commits[2].timestamp",
            "RFC 3339",
        ),
        ("/commits/1/id", json!("a7b9c1d"), "commits[1].id", "40"),
        (
            "/commits/0/author",
            json!(null),
            "commits[0].author",
            "is required",
        ),
        ("/before", json!(42), "before", "must be a string"),
        ("/sender", json!("ana"), "sender", "must be an object"),
    ];
    for (pointer, value, field, message) in cases {
        let body = edited(PUSH, |v| set(v, pointer, value));
        let e = parse("push", &body).unwrap_err().field_error();
        assert_eq!(e.field, field);
        assert!(e.message.contains(message), "{pointer}: {}", e.message);
    }
}

#[test]
fn an_overlong_commit_message_is_rejected_not_truncated() {
    let long = "x".repeat(rodeo_domain::MAX_MESSAGE_LEN + 1);
    let body = edited(PUSH, |v| set(v, "/commits/1/message", json!(long)));
    let e = parse("push", &body).unwrap_err().field_error();
    assert_eq!(e.field, "commits[1].message");
    assert_eq!(e.message, "must be at most 65536 characters");
}

fn pull_request(body: &[u8]) -> PullRequest {
    match only(parse("pull_request", body).unwrap()).1 {
        Command::UpsertPullRequest(pr) => pr,
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_opened_pull_request_is_open() {
    let pr = pull_request(PR_OPENED.as_bytes());
    assert_eq!(pr.repository, "acme/api-server");
    assert_eq!(pr.number, 731);
    assert_eq!(pr.title, "Rate-limit the public API per token");
    assert_eq!(pr.author, "ana-lopez");
    assert_eq!(pr.state, PullRequestState::Open);
    assert_eq!(pr.created_at, ts("2026-02-27T16:02:41Z"));
    assert_eq!(pr.merged_at, None);
    assert_eq!(
        pr.merge_commit_sha, None,
        "an open PR's merge sha is a test merge"
    );
    assert_eq!(pr.head_sha.unwrap().short(), "e1f2a3b");
    assert_eq!(
        pr.url.as_deref(),
        Some("https://github.com/acme/api-server/pull/731")
    );
}

#[test]
fn closing_merged_or_not() {
    let merged = pull_request(PR_MERGED.as_bytes());
    assert_eq!(merged.state, PullRequestState::Merged);
    assert_eq!(merged.merged_at, Some(ts("2026-03-02T08:47:19Z")));
    assert_eq!(merged.merge_commit_sha.unwrap().short(), "c4295bd");

    let closed = pull_request(PR_CLOSED.as_bytes());
    assert_eq!(
        (closed.number, closed.state),
        (733, PullRequestState::Closed)
    );
    assert_eq!((closed.merged_at, closed.merge_commit_sha), (None, None));

    // An edit after the merge keeps it merged: the state comes from the PR.
    let edited_later = edited(PR_MERGED, |v| set(v, "/action", json!("edited")));
    assert_eq!(pull_request(&edited_later).state, PullRequestState::Merged);

    let no_merge_time = edited(PR_MERGED, |v| {
        set(v, "/pull_request/merged_at", json!(null))
    });
    let e = parse("pull_request", &no_merge_time)
        .unwrap_err()
        .field_error();
    assert_eq!(e.field, "pull_request.merged_at");
}

#[test]
fn other_pull_request_actions_are_ignored() {
    let reason = ignored(parse("pull_request", PR_LABELED.as_bytes()).unwrap());
    assert!(reason.contains("\"labeled\""), "{reason}");
}

#[test]
fn a_deployment_starts_in_progress() {
    let parsed = parse("deployment", DEPLOYMENT.as_bytes()).unwrap();
    let Parsed::Commands { actor, .. } = &parsed else {
        panic!("{parsed:?}")
    };
    assert_eq!(actor, "ben-okafor");
    let d = deployment(parsed);
    assert_eq!(d.service.as_str(), "api");
    assert_eq!(d.environment.as_str(), "production", "prod is an alias");
    assert_eq!(d.version, "v2.14.0");
    assert_eq!(d.commit_sha.short(), "c4295bd");
    assert_eq!(d.status, DeploymentStatus::InProgress);
    assert_eq!(d.kind, DeploymentKind::Normal);
    assert_eq!(d.started_at, ts("2026-03-02T08:55:02Z"));
    assert_eq!(d.finished_at, None);
    assert_eq!(
        d.external_id.as_deref(),
        Some("github:deployment:1847203911")
    );
    assert_eq!(
        d.url.as_deref(),
        Some("https://github.com/acme/api-server/actions/runs/13577021184")
    );
    assert!(d.commits.is_empty());
}

#[test]
fn deployment_service_and_version_fall_back_in_order() {
    let no_payload = edited(DEPLOYMENT, |v| {
        set(v, "/deployment/payload", json!({}));
        set(v, "/repository/full_name", json!("acme/Web Frontend"));
    });
    assert_eq!(
        deployment(parse("deployment", &no_payload).unwrap())
            .service
            .as_str(),
        "web-frontend"
    );

    let string_payload = edited(DEPLOYMENT, |v| set(v, "/deployment/payload", json!("")));
    assert_eq!(
        deployment(parse("deployment", &string_payload).unwrap())
            .service
            .as_str(),
        "api"
    );

    let sha_ref = edited(DEPLOYMENT, |v| {
        set(
            v,
            "/deployment/ref",
            json!("C4295BD74FB0F4FDA03689C3DF3F2803B658FD85"),
        );
    });
    assert_eq!(
        deployment(parse("deployment", &sha_ref).unwrap()).version,
        "c4295bd"
    );

    let payload_version = edited(DEPLOYMENT, |v| {
        set(
            v,
            "/deployment/payload",
            json!({"service": "API Gateway", "version": "2.14.0+build.7"}),
        );
    });
    let d = deployment(parse("deployment", &payload_version).unwrap());
    assert_eq!(
        (d.service.as_str(), d.version.as_str()),
        ("api-gateway", "2.14.0+build.7")
    );

    let bad_service = edited(DEPLOYMENT, |v| {
        set(v, "/deployment/payload/service", json!("!!!"))
    });
    let e = parse("deployment", &bad_service).unwrap_err().field_error();
    assert_eq!(e.field, "deployment.payload.service");
}

#[test]
fn deployment_statuses_map_to_rodeo_statuses() {
    let d = deployment(parse("deployment_status", STATUS_SUCCESS.as_bytes()).unwrap());
    assert_eq!(d.status, DeploymentStatus::Succeeded);
    assert_eq!(
        d.external_id.as_deref(),
        Some("github:deployment:1847203911")
    );
    assert_eq!(d.started_at, ts("2026-03-02T08:55:02Z"));
    assert_eq!(d.finished_at, Some(ts("2026-03-02T09:01:44Z")));
    assert_eq!(
        (d.service.as_str(), d.environment.as_str()),
        ("api", "production")
    );
    assert!(d.url.unwrap().ends_with("/job/37954470125"));

    for (state, status) in [
        ("failure", DeploymentStatus::Failed),
        ("error", DeploymentStatus::Failed),
        ("queued", DeploymentStatus::InProgress),
        ("pending", DeploymentStatus::InProgress),
        ("in_progress", DeploymentStatus::InProgress),
    ] {
        let body = edited(STATUS_SUCCESS, |v| {
            set(v, "/deployment_status/state", json!(state))
        });
        let d = deployment(parse("deployment_status", &body).unwrap());
        assert_eq!(d.status, status, "{state}");
        assert_eq!(d.finished_at.is_some(), status.is_finished(), "{state}");
    }
}

#[test]
fn inactive_and_unknown_statuses_are_ignored() {
    let reason = ignored(parse("deployment_status", STATUS_INACTIVE.as_bytes()).unwrap());
    assert!(reason.contains("superseded"), "{reason}");
    let waiting = edited(STATUS_SUCCESS, |v| {
        set(v, "/deployment_status/state", json!("waiting"))
    });
    assert!(ignored(parse("deployment_status", &waiting).unwrap()).contains("waiting"));
}

#[test]
fn ping_and_unknown_events() {
    assert_eq!(parse("ping", PING.as_bytes()).unwrap(), Parsed::Ping);
    let reason = ignored(parse("issues", b"not even json").unwrap());
    assert_eq!(reason, "GitHub event \"issues\" is not used by rodeo");
}

#[test]
fn a_signed_fixture_verifies_and_parses() {
    use hmac::{Hmac, Mac};
    let secret = b"rodeo-webhook-secret";
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(PUSH.as_bytes());
    let header = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    crate::webhooks::verify_github(secret, PUSH.as_bytes(), Some(&header)).unwrap();
    let (_, commands) = commands(parse("push", PUSH.as_bytes()).unwrap());
    assert_eq!(commands.len(), 1);
}
