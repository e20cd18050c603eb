//! Behaviour specific to the SQLite backend: durability of acknowledged writes across
//! a dropped store and a killed process, close, backup, URLs, schema versions, and
//! calls that fail inside a shared group commit.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command as Process, Stdio};
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use rodeo_domain::{
    Command, Commit, DeploymentKind, DeploymentStatus, EnvironmentName, NewDeployment, Outcome,
    ServiceName, Sha, Source, TeamName, WriteContext,
};
use rodeo_store::{FactsQuery, Store, StoreError, Written};
use rodeo_store_sqlite::{SqliteOptions, SqliteStore, Synchronous};

fn ctx() -> WriteContext {
    WriteContext::new(
        "ci",
        Source::Api,
        Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap(),
    )
}

fn deployment(n: u32) -> Command {
    let t =
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap() + chrono::Duration::seconds(n.into());
    Command::RecordDeployment(NewDeployment {
        service: ServiceName::parse("api").unwrap(),
        environment: EnvironmentName::parse("production").unwrap(),
        version: format!("1.{n}"),
        commit_sha: Sha::parse(&format!("{n:040x}")).unwrap(),
        status: DeploymentStatus::Succeeded,
        kind: DeploymentKind::Normal,
        started_at: t,
        finished_at: Some(t),
        external_id: None,
        url: None,
        commits: vec![],
    })
}

async fn record(store: &SqliteStore, n: u32) -> i64 {
    match store.execute(ctx(), vec![deployment(n)]).await.unwrap() {
        Written::Applied(mut o) => match o.remove(0) {
            Outcome::Deployment(d) => d.id,
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

fn open(path: &Path) -> SqliteStore {
    SqliteStore::open(path, SqliteOptions::default()).unwrap()
}

#[tokio::test]
async fn acknowledged_writes_survive_a_store_dropped_without_close() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rodeo.db");
    let store = open(&path);
    let id = record(&store, 1).await;
    drop(store);
    let reopened = open(&path);
    assert!(reopened.get_deployment(id).await.unwrap().is_some());

    // Not even destructors: the commit is in the WAL on disk, not in this process.
    let id2 = record(&reopened, 2).await;
    std::mem::forget(reopened);
    let again = open(&path);
    assert!(again.get_deployment(id2).await.unwrap().is_some());
}

/// Run only as the child of `acknowledged_writes_survive_kill_9`: records deployments
/// forever, printing each id once `execute` has acknowledged it.
#[tokio::test]
#[ignore = "helper process for acknowledged_writes_survive_kill_9"]
async fn kill_9_child() {
    let Ok(path) = std::env::var("RODEO_KILL9_DB") else {
        return;
    };
    let store = open(Path::new(&path));
    let mut out = std::io::stdout().lock();
    for n in 0.. {
        let id = record(&store, n).await;
        writeln!(out, "acked {id}").unwrap();
        out.flush().unwrap();
    }
}

#[tokio::test]
async fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rodeo.db");
    let mut child = Process::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "kill_9_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("RODEO_KILL9_DB", &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut acked = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        if let Some(id) = line.unwrap().strip_prefix("acked ") {
            acked.push(id.parse::<i64>().unwrap());
        }
        if acked.len() == 50 {
            break;
        }
    }
    // SIGKILL: no destructor, no final checkpoint.
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(acked.len(), 50, "the child acknowledged writes");
    let store = open(&path);
    for id in acked {
        assert!(
            store.get_deployment(id).await.unwrap().is_some(),
            "deployment {id} lost"
        );
    }
}

#[tokio::test]
async fn close_drains_and_refuses_later_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&dir.path().join("rodeo.db")));
    let writes: Vec<_> = (0..20)
        .map(|n| {
            let s = Arc::clone(&store);
            tokio::spawn(async move { s.execute(ctx(), vec![deployment(n)]).await })
        })
        .collect();
    store.close().await;
    let mut applied = 0;
    for w in writes {
        match w.await.unwrap() {
            Ok(Written::Applied(_)) => applied += 1,
            Err(StoreError::Closed) => {}
            other => panic!("a write racing close is applied or refused, got {other:?}"),
        }
    }
    assert!(matches!(
        store.execute(ctx(), vec![deployment(99)]).await,
        Err(StoreError::Closed)
    ));
    let reopened = open(&dir.path().join("rodeo.db"));
    let page = reopened
        .list_deployments(&rodeo_store::DeploymentFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        page.items.len(),
        applied,
        "every acknowledged write was committed"
    );
}

#[tokio::test]
async fn backup_is_a_consistent_copy_while_writes_continue() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&dir.path().join("rodeo.db")));
    for n in 0..30 {
        record(&store, n).await;
    }
    let busy = {
        let s = Arc::clone(&store);
        tokio::spawn(async move {
            for n in 100..200 {
                record(&s, n).await;
            }
        })
    };
    let copy = dir.path().join("copy.db");
    store.backup(&copy).await.unwrap();
    busy.await.unwrap();
    let restored = open(&copy);
    let page = restored
        .list_deployments(&rodeo_store::DeploymentFilter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(page.items.len() >= 30);
    // A consistent snapshot: the events match the deployments it holds.
    let finished = restored
        .list_events(&rodeo_domain::EventFilter {
            kind: Some("deployment.finished".into()),
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(finished.items.len(), page.items.len());
}

#[tokio::test]
async fn urls_name_files() {
    let dir = tempfile::tempdir().unwrap();
    for url in [
        format!("sqlite://{}", dir.path().join("a.db").display()),
        format!("sqlite:{}", dir.path().join("b.db").display()),
        dir.path().join("c.db").display().to_string(),
    ] {
        let store = SqliteStore::open_url(&url).unwrap();
        store.ping().await.unwrap();
        store.close().await;
    }
    for name in ["a.db", "b.db", "c.db"] {
        assert!(dir.path().join(name).exists(), "{name}");
    }
    assert!(SqliteStore::open_url("sqlite://").is_err());
}

#[tokio::test]
async fn a_newer_schema_is_refused_and_wal_is_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rodeo.db");
    let options = SqliteOptions {
        synchronous: Synchronous::Normal,
        ..SqliteOptions::default()
    };
    let store = SqliteStore::open(&path, options).unwrap();
    store.close().await;
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    conn.execute(
        "INSERT INTO schema_migrations VALUES (9999, 'future', 0)",
        [],
    )
    .unwrap();
    drop(conn);
    let e = SqliteStore::open(&path, SqliteOptions::default())
        .err()
        .unwrap();
    let chain = format!("{e} / {:?}", std::error::Error::source(&e));
    assert!(chain.contains("9999"), "{chain}");
}

/// Many concurrent calls share group commits; the failing ones leave no trace and do
/// not take their neighbours down with them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failures_inside_a_group_commit_stay_isolated() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&dir.path().join("rodeo.db")));
    let team = |n: u32| TeamName::parse(&format!("t{n}")).unwrap();
    let calls: Vec<_> = (0..128u32)
        .map(|n| {
            let s = Arc::clone(&store);
            tokio::spawn(async move {
                let mut cmds = vec![Command::CreateTeam {
                    name: team(n),
                    display_name: None,
                }];
                if n % 2 == 1 {
                    // Deleting a team that does not exist fails the whole call.
                    cmds.push(Command::DeleteTeam {
                        name: team(1000 + n),
                    });
                }
                (n, s.execute(ctx(), cmds).await)
            })
        })
        .collect();
    for c in calls {
        let (n, result) = c.await.unwrap();
        assert_eq!(result.is_ok(), n % 2 == 0, "call {n}: {result:?}");
    }
    let teams = store.list_teams().await.unwrap();
    assert_eq!(teams.len(), 64);
    assert!(teams
        .iter()
        .all(|t| t.name.as_str()[1..].parse::<u32>().unwrap() % 2 == 0));
    let events = store
        .list_events(&rodeo_domain::EventFilter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(events.items.len(), 64);
}

/// A call that fails after it already wrote rows (here: its commits are stored before
/// the conflict on the external id is found) makes the writer redo its group with a
/// savepoint per call: the failing calls leave none of their commits or events, and
/// their neighbours in the same groups are all applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn calls_failing_after_writing_leave_no_trace_in_their_group() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&dir.path().join("rodeo.db")));
    let with_commit = |n: u32, external: Option<&str>, status| {
        let Command::RecordDeployment(mut nd) = deployment(n) else {
            unreachable!()
        };
        nd.service = ServiceName::parse(&format!("svc-{n}")).unwrap();
        nd.external_id = external.map(str::to_owned);
        nd.status = status;
        nd.commits = vec![rodeo_domain::Commit {
            sha: nd.commit_sha.clone(),
            parents: vec![],
            author: "ada".into(),
            author_email: None,
            authored_at: nd.started_at,
            committed_at: nd.started_at,
            message: format!("change {n}"),
            repository: None,
            services: vec![],
        }];
        Command::RecordDeployment(nd)
    };
    store
        .execute(
            ctx(),
            vec![with_commit(
                10_000,
                Some("run-1"),
                DeploymentStatus::Succeeded,
            )],
        )
        .await
        .unwrap();
    let calls: Vec<_> = (0..128u32)
        .map(|n| {
            let s = Arc::clone(&store);
            let cmd = if n % 2 == 1 {
                // run-1 already finished as succeeded: a conflict, found only after
                // this call's commit was inserted.
                with_commit(n, Some("run-1"), DeploymentStatus::Failed)
            } else {
                with_commit(n, None, DeploymentStatus::Succeeded)
            };
            tokio::spawn(async move { (n, s.execute(ctx(), vec![cmd]).await) })
        })
        .collect();
    for c in calls {
        let (n, result) = c.await.unwrap();
        if n % 2 == 1 {
            assert!(
                matches!(result, Err(StoreError::Conflict(_))),
                "call {n}: {result:?}"
            );
        } else {
            assert!(result.is_ok(), "call {n}: {result:?}");
        }
    }
    for n in 0..128u32 {
        let sha = Sha::parse(&format!("{n:040x}")).unwrap();
        let stored = store.get_commit(&sha).await.unwrap();
        assert_eq!(stored.is_some(), n % 2 == 0, "commit of call {n}");
    }
    let deployments = store
        .list_deployments(&rodeo_store::DeploymentFilter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .items;
    assert_eq!(deployments.len(), 65);
    let events = store
        .list_events(&rodeo_domain::EventFilter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    let count = |kind: &str| events.items.iter().filter(|e| e.kind == kind).count();
    // Per applied call: its service registered, its commit recorded, its deployment.
    assert_eq!(count("service.created"), 65);
    assert_eq!(count("commits.recorded"), 65);
    assert_eq!(count("deployment.finished"), 65);
    assert_eq!(events.items.len(), 3 * 65 + 1, "and the environment");
}

/// A database from before the first-shipment packs (migration 0008) gets them built at
/// open: the metrics read the same first shipments as the rollup holds.
#[tokio::test]
async fn first_shipment_packs_are_built_for_an_upgraded_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rodeo.db");
    let store = open(&path);
    let t = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
    let commits: Vec<Commit> = (1..=5u32)
        .map(|n| Commit {
            sha: Sha::parse(&format!("{n:040x}")).unwrap(),
            parents: if n == 1 {
                vec![]
            } else {
                vec![Sha::parse(&format!("{:040x}", n - 1)).unwrap()]
            },
            author: if n == 3 { "renovate[bot]" } else { "Ada" }.into(),
            author_email: None,
            authored_at: t,
            committed_at: t + chrono::Duration::minutes(n.into()),
            message: format!("change {n}"),
            repository: None,
            services: vec![],
        })
        .collect();
    let production = Command::CreateEnvironment {
        name: EnvironmentName::parse("production").unwrap(),
        production: true,
        order: 1,
    };
    store
        .execute(ctx(), vec![Command::RecordCommits { commits }, production])
        .await
        .unwrap();
    record(&store, 2).await;
    record(&store, 5).await;
    let query = FactsQuery {
        services: None,
        from: t - chrono::Duration::days(1),
        to: t + chrono::Duration::days(2),
    };
    let before = store.metric_facts(&query).await.unwrap();
    assert_eq!(before.first_shipments.len(), 5, "{before:?}");
    store.close().await;

    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("DELETE FROM first_shipment_packs", [])
        .unwrap();
    drop(conn);
    let store = open(&path);
    assert_eq!(store.metric_facts(&query).await.unwrap(), before);
    store.close().await;
}
