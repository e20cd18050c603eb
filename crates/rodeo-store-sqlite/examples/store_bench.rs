//! Measures the SQLite store alone (no HTTP): ingest throughput and latency from
//! concurrent clients, each deployment carrying new commits, then `status()` over the
//! resulting matrix and `get_deployment` of a deployment with many shipped commits.
//!
//! `cargo run --release -p rodeo-store-sqlite --example store_bench -- [clients] [deployments] [services] [environments]`
//!
//! Each client owns some services and deploys them round-robin; with several
//! environments a service moves through them in order (dev, staging, prod-eu, prod-us).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use rodeo_domain::{
    Command, Commit, DeploymentKind, DeploymentStatus, EnvironmentName, NewDeployment, Outcome,
    ServiceName, Sha, Source, WriteContext,
};
use rodeo_store::{Store, Written};
use rodeo_store_sqlite::{SqliteOptions, SqliteStore};

const ENVS: [&str; 4] = ["dev", "staging", "prod-eu", "prod-us"];

fn sha(service: u32, n: u32) -> Sha {
    Sha::parse(&format!("{service:08x}{n:032x}")).unwrap()
}

fn commits(service: u32, from: u32, count: u32) -> Vec<Commit> {
    let t0 = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    (from..from + count)
        .map(|n| Commit {
            sha: sha(service, n),
            parents: if n == 0 {
                vec![]
            } else {
                vec![sha(service, n - 1)]
            },
            author: "Ada Lovelace".into(),
            author_email: Some("ada@example.com".into()),
            authored_at: t0 + chrono::Duration::seconds(n.into()),
            committed_at: t0 + chrono::Duration::seconds(n.into()),
            message: format!("change {n}\n\nA realistic commit message body of some length."),
            repository: Some(format!("acme/svc-{service}")),
            services: vec![],
        })
        .collect()
}

fn deployment(service: u32, env: &str, tip: u32, new: Vec<Commit>) -> Command {
    let t = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap()
        + chrono::Duration::milliseconds(tip.into());
    Command::RecordDeployment(NewDeployment {
        service: ServiceName::parse(&format!("svc-{service}")).unwrap(),
        environment: EnvironmentName::parse(env).unwrap(),
        version: format!("1.0.{tip}"),
        commit_sha: sha(service, tip),
        status: DeploymentStatus::Succeeded,
        kind: DeploymentKind::Normal,
        started_at: t,
        finished_at: Some(t),
        external_id: None,
        url: None,
        commits: new,
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let args: Vec<u32> = std::env::args()
        .skip(1)
        .map(|a| a.parse().unwrap())
        .collect();
    let clients = args.first().copied().unwrap_or(32);
    let total = args.get(1).copied().unwrap_or(30_000);
    let services = args.get(2).copied().unwrap_or(500);
    let env_count = args.get(3).copied().unwrap_or(4).clamp(1, 4) as usize;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteStore::open(&dir.path().join("bench.db"), SqliteOptions::default()).unwrap(),
    );
    let ctx = WriteContext::new("bench", Source::Api, Utc::now());

    // Each client owns services (so its commit chains stay linear) and walks them
    // through the environments in order.
    let per_client = total / clients;
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let store = Arc::clone(&store);
            let ctx = ctx.clone();
            tokio::spawn(async move {
                let mine: Vec<u32> = (0..services).filter(|s| s % clients == c).collect();
                let mut tips = vec![0u32; mine.len()];
                let mut latencies = Vec::with_capacity(per_client as usize);
                for i in 0..per_client as usize {
                    let k = i % mine.len();
                    let service = mine[k];
                    let new = commits(service, tips[k], 10);
                    tips[k] += 10;
                    let env = ENVS[ENVS.len() - env_count + (i / mine.len()) % env_count];
                    let t = Instant::now();
                    let w = store
                        .execute(
                            ctx.clone(),
                            vec![deployment(service, env, tips[k] - 1, new)],
                        )
                        .await
                        .unwrap();
                    latencies.push(t.elapsed());
                    assert!(matches!(w, Written::Applied(_)));
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    println!(
        "ingest: {} deployments x 10 commits from {clients} clients in {:.2}s = {:.0}/s; latency p50 {:?} p99 {:?} max {:?}",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().unwrap(),
    );

    let mut times = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        let m = store.status().await.unwrap();
        times.push(t.elapsed());
        assert_eq!(m.environments.len(), env_count);
    }
    times.sort();
    println!(
        "status ({services} services x {env_count} environments): p50 {:?} p99 {:?}",
        percentile(&times, 0.5),
        percentile(&times, 0.99)
    );

    // One deployment shipping 500 commits.
    let big = services + 1;
    store
        .execute(
            ctx.clone(),
            vec![deployment(big, "dev", 0, commits(big, 0, 1))],
        )
        .await
        .unwrap();
    let id = match store
        .execute(
            ctx.clone(),
            vec![deployment(big, "dev", 500, commits(big, 1, 500))],
        )
        .await
        .unwrap()
    {
        Written::Applied(o) => match &o[0] {
            Outcome::Deployment(d) => d.id,
            _ => unreachable!(),
        },
        _ => unreachable!(),
    };
    let mut times = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        let d = store.get_deployment(id).await.unwrap().unwrap();
        times.push(t.elapsed());
        assert_eq!(d.changes.len(), 500);
    }
    times.sort();
    println!(
        "get_deployment (500 shipped commits): p50 {:?} p99 {:?}",
        percentile(&times, 0.5),
        percentile(&times, 0.99)
    );
    store.close().await;
}
