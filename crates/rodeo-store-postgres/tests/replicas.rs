//! What only the PostgreSQL backend has to show: several replicas on one database
//! (live events delivered once to each, commit generations consistent under concurrent
//! writers), a listener that survives a lost connection, and shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use chrono::{TimeZone, Utc};
use rodeo_domain::{
    Command, Commit, DeploymentKind, DeploymentStatus, EnvironmentName, Event, NewDeployment,
    ServiceName, Sha, Source, TeamName, Timestamp, WriteContext,
};
use rodeo_store::{Store, StoreError, Written};
use rodeo_store_postgres::{PgStore, PgStoreOptions};
use tokio::sync::broadcast;

fn t0() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap()
}

fn ctx() -> WriteContext {
    WriteContext::new("ci", Source::Api, t0())
}

fn create_team(name: &str) -> Vec<Command> {
    vec![Command::CreateTeam {
        name: TeamName::parse(name).unwrap(),
        display_name: None,
    }]
}

async fn write(store: &PgStore, commands: Vec<Command>) {
    match store.execute(ctx(), commands).await.unwrap() {
        Written::Applied(_) => {}
        other => panic!("expected Applied, got {other:?}"),
    }
}

async fn next(rx: &mut broadcast::Receiver<Event>) -> Event {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("an event within 10 s")
        .expect("no lag")
}

fn subject(e: &Event) -> &str {
    e.subject.as_deref().unwrap_or_default()
}

async fn replicas(n: usize) -> Option<(support::ScratchDb, Vec<PgStore>)> {
    let db = support::ScratchDb::create().await?;
    let mut stores = Vec::new();
    for _ in 0..n {
        let options = PgStoreOptions { max_connections: 4 };
        stores.push(PgStore::connect_with(db.url(), options).await.unwrap());
    }
    Some((db, stores))
}

async fn close_all(stores: Vec<PgStore>) {
    for s in stores {
        s.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_replica_sees_every_committed_event_once() {
    let Some((_db, stores)) = replicas(2).await else {
        return;
    };
    let (a, b) = (&stores[0], &stores[1]);
    let mut rx_a = a.subscribe();
    let mut rx_b = b.subscribe();

    write(a, create_team("from-a")).await;
    write(b, create_team("from-b")).await;
    for rx in [&mut rx_a, &mut rx_b] {
        assert_eq!(subject(&next(rx).await), "team:from-a");
        assert_eq!(subject(&next(rx).await), "team:from-b");
    }
    // A failed call notifies nobody; the next event each replica sees is the barrier,
    // so nothing above was delivered twice either.
    let failed = a.execute(ctx(), create_team("from-a")).await;
    assert!(matches!(failed, Err(StoreError::Conflict(_))), "{failed:?}");
    write(b, create_team("barrier")).await;
    for rx in [&mut rx_a, &mut rx_b] {
        assert_eq!(subject(&next(rx).await), "team:barrier");
        assert!(rx.try_recv().is_err());
    }
    close_all(stores).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_listener_reconnects_after_losing_its_connection() {
    let Some((_db, stores)) = replicas(1).await else {
        return;
    };
    let store = &stores[0];
    let mut rx = store.subscribe();
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert_eq!(killed, [true], "exactly one listening connection");

    // Whether it lands during the outage (caught up) or after (notified), it arrives once.
    write(store, create_team("after-outage")).await;
    assert_eq!(subject(&next(&mut rx).await), "team:after-outage");
    write(store, create_team("barrier")).await;
    assert_eq!(subject(&next(&mut rx).await), "team:barrier");
    close_all(stores).await;
}

fn sha(n: u32) -> Sha {
    Sha::parse(&format!("{n:040x}")).unwrap()
}

fn commit(n: u32, parent: Option<u32>) -> Commit {
    Commit {
        sha: sha(n),
        parents: parent.map(sha).into_iter().collect(),
        author: "a".into(),
        author_email: None,
        authored_at: t0(),
        committed_at: t0(),
        message: String::new(),
        repository: None,
        services: vec![],
    }
}

/// A parent and its child recorded by two replicas at the same moment: without the
/// commit-graph lock, neither transaction sees the other's commit and the child keeps
/// a generation that is not above its parent's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn generations_stay_consistent_when_parent_and_child_race() {
    let Some((_db, stores)) = replicas(2).await else {
        return;
    };
    let stores = std::sync::Arc::new(stores);
    for round in 0..40u32 {
        // A chain root <- parent <- child; parent and child arrive concurrently.
        let root = round * 10 + 1;
        write(
            &stores[0],
            vec![Command::RecordCommits {
                commits: vec![commit(root, None)],
            }],
        )
        .await;
        let (s1, s2) = (stores.clone(), stores.clone());
        let child = tokio::spawn(async move {
            let cmd = vec![Command::RecordCommits {
                commits: vec![commit(root + 2, Some(root + 1))],
            }];
            s1[0].execute(ctx(), cmd).await.unwrap();
        });
        let parent = tokio::spawn(async move {
            let cmd = vec![Command::RecordCommits {
                commits: vec![commit(root + 1, Some(root))],
            }];
            s2[1].execute(ctx(), cmd).await.unwrap();
        });
        child.await.unwrap();
        parent.await.unwrap();
    }
    let broken: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM commit_parents p
         JOIN commits c ON c.sha = p.sha JOIN commits pc ON pc.sha = p.parent
         WHERE c.generation <= pc.generation",
    )
    .fetch_one(stores[0].pool())
    .await
    .unwrap();
    assert_eq!(broken, 0, "every child's generation is above its parent's");
    let stores = std::sync::Arc::try_unwrap(stores).unwrap();
    close_all(stores).await;
}

fn deployment(env: &str, n: u32) -> Command {
    Command::RecordDeployment(NewDeployment {
        service: ServiceName::parse("api").unwrap(),
        environment: EnvironmentName::parse(env).unwrap(),
        version: n.to_string(),
        commit_sha: sha(n),
        status: DeploymentStatus::Succeeded,
        kind: DeploymentKind::Normal,
        started_at: t0(),
        finished_at: Some(t0() + chrono::Duration::seconds(i64::from(n))),
        external_id: None,
        url: None,
        commits: vec![],
    })
}

/// Staging and production of one service deployed at the same moment by two replicas:
/// each refreshes the drift between them, and without the per-service drift lock the
/// one that commits last could store a count computed before the other's deployment.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn drift_stays_true_when_environments_deploy_concurrently() {
    let Some((_db, stores)) = replicas(2).await else {
        return;
    };
    let envs = vec![
        Command::CreateEnvironment {
            name: EnvironmentName::parse("staging").unwrap(),
            production: false,
            order: 1,
        },
        Command::CreateEnvironment {
            name: EnvironmentName::parse("production").unwrap(),
            production: true,
            order: 2,
        },
    ];
    write(&stores[0], envs).await;
    let history: Vec<Commit> = (1..=200)
        .map(|n| commit(n, (n > 1).then(|| n - 1)))
        .collect();
    write(
        &stores[0],
        vec![Command::RecordCommits { commits: history }],
    )
    .await;
    let stores = std::sync::Arc::new(stores);
    for round in 1..=30u32 {
        let (s1, s2) = (stores.clone(), stores.clone());
        let staging = tokio::spawn(async move {
            s1[0]
                .execute(ctx(), vec![deployment("staging", 100 + 3 * round)])
                .await
                .unwrap();
        });
        let production = tokio::spawn(async move {
            s2[1]
                .execute(ctx(), vec![deployment("production", 2 * round)])
                .await
                .unwrap();
        });
        staging.await.unwrap();
        production.await.unwrap();
        let m = stores[0].status().await.unwrap();
        let drift = m.services[0].environments[1].drift.clone().unwrap();
        let expected = 100 + 3 * round - 2 * round;
        assert_eq!(drift.undeployed_commits, Some(expected), "round {round}");
    }
    let stores = std::sync::Arc::try_unwrap(stores).unwrap();
    close_all(stores).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn close_stops_the_listener_and_refuses_writes() {
    let Some((_db, mut stores)) = replicas(1).await else {
        return;
    };
    let store = stores.remove(0);
    let mut rx = store.subscribe();
    tokio::time::timeout(Duration::from_secs(10), store.close())
        .await
        .expect("close returns");
    let e = store.execute(ctx(), create_team("late")).await.unwrap_err();
    assert!(matches!(e, StoreError::Closed), "{e:?}");
    assert!(matches!(
        rx.try_recv(),
        Err(broadcast::error::TryRecvError::Empty | broadcast::error::TryRecvError::Closed)
    ));
    let e = store
        .backup(std::path::Path::new("/tmp/never"))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Unsupported("use pg_dump")), "{e:?}");
}

#[tokio::test]
async fn migrations_run_once_and_reconnecting_is_harmless() {
    let Some((db, stores)) = replicas(1).await else {
        return;
    };
    write(&stores[0], create_team("kept")).await;
    close_all(stores).await;
    let again = PgStore::connect(db.url()).await.unwrap();
    let teams = again.list_teams().await.unwrap();
    assert_eq!(teams.len(), 1);
    assert_eq!(again.backend(), "postgres");
    again.ping().await.unwrap();
    again.close().await;
}
