//! Layout tests for the text output.

use chrono::{TimeZone, Utc};
use rodeo_domain::{
    Deployment, DeploymentKind, DeploymentStatus, Drift, DriftState, Environment, EnvironmentName,
    ServiceName, Sha, Source, StatusCell, StatusMatrix, StatusRow, TeamName,
};

use super::*;

fn at(h: u32) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 2, h, 0, 0).unwrap()
}

fn deployment(id: i64, env: &str, version: &str, sha_digit: char) -> Deployment {
    Deployment {
        id,
        service: ServiceName::parse("api").unwrap(),
        environment: EnvironmentName::parse(env).unwrap(),
        version: version.into(),
        commit_sha: Sha::parse(&sha_digit.to_string().repeat(40)).unwrap(),
        status: DeploymentStatus::Succeeded,
        kind: DeploymentKind::Normal,
        started_at: at(9),
        finished_at: Some(at(10)),
        external_id: None,
        url: None,
        created_by: "ci".into(),
        source: Source::Cli,
        rollback_of: None,
        previous_id: Some(id - 1),
        change_count: 2,
        changes_complete: true,
    }
}

fn env(name: &str, order: i32) -> Environment {
    Environment {
        name: EnvironmentName::parse(name).unwrap(),
        production: order >= 300,
        order,
        created_at: at(0),
    }
}

fn drift(state: DriftState, n: Option<u32>, complete: bool) -> Option<Drift> {
    Some(Drift {
        compared_to: EnvironmentName::parse("staging").unwrap(),
        state,
        undeployed_commits: n,
        complete,
    })
}

#[test]
fn tables_align_by_characters() {
    let t = table(
        &["A", "B"],
        &[vec!["ünï".into(), "x".into()], vec!["a".into(), "".into()]],
    );
    assert_eq!(t, "A    B\nünï  x\na");
}

#[test]
fn status_matrix_shows_versions_shas_and_drift() {
    let cell = |e: &str, d: Option<Deployment>, drift: Option<Drift>| StatusCell {
        environment: EnvironmentName::parse(e).unwrap(),
        deployment: d.map(Into::into),
        drift,
    };
    let m = StatusMatrix {
        environments: vec![
            env("staging", 200),
            env("prod-eu", 300),
            env("prod-us", 300),
        ],
        services: vec![
            StatusRow {
                service: ServiceName::parse("api").unwrap(),
                team: Some(TeamName::parse("payments").unwrap()),
                environments: vec![
                    cell(
                        "staging",
                        Some(deployment(3, "staging", "1.4.2", 'c')),
                        None,
                    ),
                    cell(
                        "prod-eu",
                        Some(deployment(2, "prod-eu", "1.4.1", 'b')),
                        drift(DriftState::UndeployedChanges, Some(3), true),
                    ),
                    cell(
                        "prod-us",
                        Some(deployment(1, "prod-us", "1.4.0", 'a')),
                        drift(DriftState::UndeployedChanges, Some(7), false),
                    ),
                ],
            },
            StatusRow {
                service: ServiceName::parse("web").unwrap(),
                team: None,
                environments: vec![cell(
                    "staging",
                    Some(deployment(4, "staging", "0.1.0", 'd')),
                    drift(DriftState::InSync, Some(0), true),
                )],
            },
        ],
    };
    let expected = "\
SERVICE  TEAM      staging        prod-eu           prod-us
api      payments  1.4.2 ccccccc  1.4.1 bbbbbbb +3  1.4.0 aaaaaaa +7?
web      -         0.1.0 ddddddd  -                 -

+N: commits the previous environment runs that this one does not (+N? the commit graph is incomplete, ?: cannot tell)";
    assert_eq!(status_matrix(&m), expected);
}

#[test]
fn status_matrix_without_drift_has_no_legend() {
    let m = StatusMatrix {
        environments: vec![env("production", 300)],
        services: vec![],
    };
    assert_eq!(status_matrix(&m), "SERVICE  TEAM  production");
}

#[test]
fn deployment_detail_lists_shipped_commits() {
    let mut dep = deployment(42, "prod-eu", "1.4.2", 'e');
    dep.changes_complete = false;
    dep.url = Some("https://ci.example/run/9".into());
    let commit = Commit {
        sha: Sha::parse(&"f".repeat(40)).unwrap(),
        parents: vec![],
        author: "Ada".into(),
        author_email: None,
        authored_at: at(8),
        committed_at: at(8),
        message: "feat: things\n\nmore".into(),
        repository: None,
        services: vec![],
    };
    let out = deployment_detail(&DeploymentDetail {
        deployment: dep,
        changes: vec![commit],
    });
    assert!(
        out.starts_with("deployment 42: api 1.4.2 to prod-eu\n"),
        "{out}"
    );
    assert!(
        out.contains("  url          https://ci.example/run/9\n"),
        "{out}"
    );
    assert!(out.contains("  previous     41\n"), "{out}");
    assert!(!out.contains("rollback of"), "{out}");
    assert!(
        out.contains("shipped 1 commit (rodeo does not know"),
        "{out}"
    );
    assert!(
        out.ends_with("fffffff  2026-03-02  Ada     feat: things"),
        "{out}"
    );
}

#[test]
fn event_lines_name_scope_actor_and_subject() {
    let e = Event {
        id: 7,
        at: at(10),
        recorded_at: at(10),
        kind: "deployment.finished".into(),
        actor: "ci".into(),
        source: Source::Cli,
        service: Some(ServiceName::parse("api").unwrap()),
        environment: Some(EnvironmentName::parse("prod-eu").unwrap()),
        subject: Some("deployment:42".into()),
        payload: serde_json::json!({}),
    };
    assert_eq!(
        event_line(&e),
        "2026-03-02T10:00:00Z  deployment.finished  api/prod-eu  ci (cli)  deployment:42"
    );
}

#[test]
fn comparisons_name_both_sides_and_list_commits() {
    use crate::api::{Comparison, ComparisonEnd};
    let end = |by: &str, value: &str, digit: char| ComparisonEnd {
        by: by.into(),
        value: value.into(),
        sha: Sha::parse(&digit.to_string().repeat(40)).unwrap(),
        version: Some("1.4.2".into()),
    };
    let commit = Commit {
        sha: Sha::parse(&"c".repeat(40)).unwrap(),
        parents: vec![],
        author: "Ada".into(),
        author_email: None,
        authored_at: at(8),
        committed_at: at(8),
        message: "fix: it".into(),
        repository: None,
        services: vec![],
    };
    let c = Comparison {
        from: end("environment", "staging", 'a'),
        to: end("sha", &"b".repeat(40), 'b'),
        ahead: rodeo_domain::Changes {
            commits: vec![commit],
            complete: true,
        },
        behind: rodeo_domain::Changes {
            commits: vec![],
            complete: false,
        },
    };
    assert_eq!(
        comparison(&c),
        "1 commit in staging (1.4.2, aaaaaaa) and not in bbbbbbb (1.4.2)\n\
         SHA      DATE        AUTHOR  MESSAGE\n\
         ccccccc  2026-03-02  Ada     fix: it\n\n\
         0 commits in bbbbbbb (1.4.2) and not in staging (1.4.2, aaaaaaa) \
         (the commit graph is incomplete: there may be more)"
    );
}
