//! The CLI's library against a real server on port 0 over a temporary SQLite database:
//! the demo goes through the HTTP API and the server agrees with the story, and
//! `deploy --git` ships exactly the commits since the running sha.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use chrono::{TimeZone, Utc};
use clap::Parser;
use rodeo::api::{self, Query};
use rodeo::cli::Cli;
use rodeo::client::Client;
use rodeo::demo::{generate, run, DemoOptions, DemoRequest};
use rodeo_domain::{DeploymentKind, DeploymentStatus, Source};
use rodeo_server::{Application, Config};
use tokio::sync::oneshot;

/// A running server on its own database.
struct TestServer {
    url: String,
    admin: String,
    stop: oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// Shuts down gracefully, so the store flushes and closes before the runtime ends.
    async fn stop(self) {
        let _ = self.stop.send(());
        self.serving.await.unwrap().unwrap();
    }
}

async fn spawn_server() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    config.database.url = format!("sqlite://{}", dir.path().join("rodeo.db").display());
    let app = Application::build(config).await.unwrap();
    let url = format!("http://{}", app.local_addr());
    let admin = app.admin_secret().unwrap().to_owned();
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    TestServer {
        url,
        admin,
        stop,
        serving,
        _dir: dir,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_goes_through_the_api_and_the_server_agrees() {
    let server = spawn_server().await;
    let client = Client::new(&server.url, Some(server.admin.clone()), "demo").unwrap();
    let now = Utc.with_ymd_and_hms(2026, 3, 2, 14, 30, 0).unwrap();
    let plan = generate(&DemoOptions {
        seed: 1,
        now,
        days: 30,
    })
    .unwrap();
    let summary = run(&client, &plan, 16, |_| {}).await.unwrap();
    let planned = plan
        .iter()
        .filter(|r| matches!(r.request, DemoRequest::RecordDeployment { .. }))
        .count();
    assert_eq!(summary.deployments, planned);

    let status = api::status(&client).await.unwrap().value;
    assert_eq!(status.services.len(), 12);
    let envs: Vec<&str> = status
        .environments
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(envs, ["staging", "prod-eu", "prod-us"]);

    // Every rollback in the story is a rollback for the server too, and it marked the
    // deployment it replaced.
    let q = Query::new().opt("limit", Some(1000));
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = api::list_deployments(&client, &q.clone().opt("cursor", cursor.take()))
            .await
            .unwrap()
            .value;
        all.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(all.len(), planned);
    assert!(all.iter().all(|d| d.source == Source::Demo));
    let rollbacks: Vec<_> = all
        .iter()
        .filter(|d| d.kind == DeploymentKind::Rollback)
        .collect();
    let planned_rollbacks = plan
        .iter()
        .filter(|r| {
            matches!(&r.request, DemoRequest::RecordDeployment { body, .. }
                if body.kind == DeploymentKind::Rollback)
        })
        .count();
    assert!(planned_rollbacks > 0);
    assert_eq!(rollbacks.len(), planned_rollbacks);
    for r in rollbacks {
        let replaced = r.rollback_of.expect("a rollback names what it replaced");
        let replaced = all.iter().find(|d| d.id == replaced).unwrap();
        assert_eq!(replaced.status, DeploymentStatus::RolledBack);
    }
    // Staging deployments carry their commits, and the graph is complete.
    let staging = all
        .iter()
        .find(|d| d.environment.as_str() == "staging" && d.change_count > 0)
        .unwrap();
    let detail = api::deployment(&client, &staging.id.to_string())
        .await
        .unwrap()
        .value;
    assert_eq!(detail.changes.len() as u32, staging.change_count);
    assert!(detail.deployment.changes_complete);

    // Every incident of the story is on the server, linked to the release it names.
    let planned_incidents: Vec<_> = plan
        .iter()
        .filter_map(|r| match &r.request {
            DemoRequest::Incident(i) => Some(i),
            _ => None,
        })
        .collect();
    assert!(!planned_incidents.is_empty());
    let incidents = client
        .get::<serde_json::Value>(&["api", "v1", "incidents"], &[("limit", "1000".into())])
        .await
        .unwrap()
        .value;
    let incidents = incidents["items"].as_array().unwrap();
    assert_eq!(incidents.len(), planned_incidents.len());
    let linked = planned_incidents
        .iter()
        .filter(|i| i.cause_key.is_some())
        .count();
    let with_cause = incidents
        .iter()
        .filter(|i| !i["causes"].as_array().unwrap().is_empty())
        .count();
    assert_eq!(with_cause, linked);
    for i in incidents
        .iter()
        .filter(|i| !i["causes"].as_array().unwrap().is_empty())
    {
        let cause: i64 = i["causes"][0].as_str().unwrap().parse().unwrap();
        let d = all.iter().find(|d| d.id == cause).unwrap();
        assert_eq!(
            d.status,
            DeploymentStatus::RolledBack,
            "the cause was rolled back"
        );
    }
    server.stop().await;
}

fn git(dir: &Path, date: &str, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Ada")
        .env("GIT_AUTHOR_EMAIL", "ada@example.org")
        .env("GIT_COMMITTER_NAME", "Ada")
        .env("GIT_COMMITTER_EMAIL", "ada@example.org")
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_with_git_ships_the_commits_since_the_running_sha() {
    let server = spawn_server().await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    git(repo, "2026-01-01T09:00:00Z", &["init", "-q"]);
    // Recent commits: a first deployment sends those of the last 30 days.
    for i in 0..3 {
        let message = format!("feat: step {i}\n\nwith ünïcode ✓ and a \u{1b}[1m control");
        let at = (Utc::now() - chrono::Duration::days(3 - i)).to_rfc3339();
        git(
            repo,
            &at,
            &["commit", "-q", "--allow-empty", "-m", &message],
        );
    }
    let repo_arg = repo.to_str().unwrap();
    let deploy = |commit: &'static str, version: &'static str| {
        let args = [
            "rodeo",
            "--server",
            &server.url,
            "--token",
            &server.admin,
            "deploy",
            "--service",
            "api",
            "--env",
            "staging",
            "--version",
            version,
            "--commit",
            commit,
            "--git",
            repo_arg,
        ];
        rodeo::commands::run(Cli::try_parse_from(args).unwrap())
    };
    deploy("HEAD~1", "1.0.0").await.unwrap();
    deploy("HEAD", "1.0.1").await.unwrap();

    let client = Client::new(&server.url, Some(server.admin.clone()), "cli").unwrap();
    let list = api::list_deployments(&client, &Query::new())
        .await
        .unwrap()
        .value;
    let newest = &list.items[0];
    assert_eq!(newest.version, "1.0.1");
    assert_eq!(newest.source, Source::Cli);
    let detail = api::deployment(&client, &newest.id.to_string())
        .await
        .unwrap()
        .value;
    let head = git(repo, "2026-01-01T00:00:00Z", &["rev-parse", "HEAD"]);
    let shipped: Vec<&str> = detail.changes.iter().map(|c| c.sha.as_str()).collect();
    assert_eq!(shipped, [head.as_str()], "only the commit after 1.0.0");
    assert!(detail.changes[0]
        .message
        .starts_with("feat: step 2\n\nwith ünïcode ✓"));
    assert!(detail.deployment.changes_complete);

    // The first deployment shipped the two commits it was sent.
    let first = &list.items[1];
    assert_eq!(first.change_count, 2);
    server.stop().await;
}
