//! Builders and assertions the conformance cases share: fixed times, deterministic
//! shas, commit chains, deployments, and helpers that unwrap a write's outcome.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use rodeo_domain::{
    Command, Commit, Deployment, DeploymentKind, DeploymentStatus, EnvironmentName, Event,
    EventFilter, NewDeployment, Outcome, ServiceName, Sha, Source, TeamName, Timestamp,
    WriteContext,
};

use crate::{Store, StoreError, Written};

pub(crate) type Db = Arc<dyn Store>;

/// The fixed "now" of every case: 2026-03-02T10:00:00Z.
pub(crate) fn t0() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0)
        .single()
        .unwrap_or_default()
}

/// `t0` plus `minutes` (negative for the past).
pub(crate) fn at(minutes: i64) -> Timestamp {
    t0() + Duration::minutes(minutes)
}

pub(crate) fn ctx() -> WriteContext {
    WriteContext::new("ci", Source::Api, t0())
}

pub(crate) fn ctx_at(t: Timestamp) -> WriteContext {
    WriteContext::new("ci", Source::Api, t)
}

pub(crate) fn svc(s: &str) -> ServiceName {
    ServiceName::parse(s).expect("valid service name in a test")
}

pub(crate) fn env(s: &str) -> EnvironmentName {
    EnvironmentName::parse(s).expect("valid environment name in a test")
}

pub(crate) fn team(s: &str) -> TeamName {
    TeamName::parse(s).expect("valid team name in a test")
}

/// A deterministic sha: a hash of `tag` then `n`, so chains with different tags never
/// collide.
pub(crate) fn sha(tag: &str, n: u32) -> Sha {
    let h = tag.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    Sha::parse(&format!("{h:08x}{n:032x}")).expect("40 hex digits")
}

pub(crate) fn commit(sha: &Sha, parents: &[&Sha], committed_at: Timestamp) -> Commit {
    Commit {
        sha: sha.clone(),
        parents: parents.iter().map(|p| (*p).clone()).collect(),
        author: "Ada Lovelace".into(),
        author_email: Some("ada@example.com".into()),
        authored_at: committed_at - Duration::minutes(5),
        committed_at,
        message: format!("change {}", sha.short()),
        repository: Some("acme/api".into()),
        services: vec![],
    }
}

/// `n` commits `tag`/1..=n in a line on top of `parent`, one minute apart from `start`.
pub(crate) fn chain(tag: &str, n: u32, parent: Option<&Sha>, start: Timestamp) -> Vec<Commit> {
    let mut out: Vec<Commit> = Vec::with_capacity(n as usize);
    for i in 1..=n {
        let prev = out
            .last()
            .map(|c| c.sha.clone())
            .or_else(|| parent.cloned());
        let parents: Vec<&Sha> = prev.iter().collect();
        out.push(commit(
            &sha(tag, i),
            &parents,
            start + Duration::minutes(i64::from(i)),
        ));
    }
    out
}

/// A deployment that succeeded at `finished` after starting a minute earlier.
pub(crate) fn deploy(
    service: &str,
    env_name: &str,
    version: &str,
    sha: &Sha,
    finished: Timestamp,
) -> NewDeployment {
    NewDeployment {
        service: svc(service),
        environment: env(env_name),
        version: version.into(),
        commit_sha: sha.clone(),
        status: DeploymentStatus::Succeeded,
        kind: DeploymentKind::Normal,
        started_at: finished - Duration::minutes(1),
        finished_at: Some(finished),
        external_id: None,
        url: None,
        commits: vec![],
    }
}

/// Applies `commands` and returns the outcomes; panics unless they were applied.
pub(crate) async fn apply(db: &Db, ctx: WriteContext, commands: Vec<Command>) -> Vec<Outcome> {
    match db.execute(ctx, commands).await {
        Ok(Written::Applied(o)) => o,
        other => panic!("expected the commands to be applied, got {other:?}"),
    }
}

pub(crate) async fn one(db: &Db, command: Command) -> Outcome {
    let mut o = apply(db, ctx(), vec![command]).await;
    assert_eq!(o.len(), 1, "one outcome per command");
    o.remove(0)
}

/// The error of a call that must fail.
pub(crate) async fn fails(db: &Db, ctx: WriteContext, commands: Vec<Command>) -> StoreError {
    match db.execute(ctx, commands).await {
        Err(e) => e,
        Ok(w) => panic!("expected the call to fail, it returned {w:?}"),
    }
}

pub(crate) fn deployment_of(o: Outcome) -> Deployment {
    match o {
        Outcome::Deployment(d) => d,
        other => panic!("expected a deployment outcome, got {other:?}"),
    }
}

/// Records a deployment (with `ctx()`) and returns it.
pub(crate) async fn record(db: &Db, nd: NewDeployment) -> Deployment {
    deployment_of(one(db, Command::RecordDeployment(nd)).await)
}

pub(crate) async fn record_commits(db: &Db, commits: Vec<Commit>) {
    one(db, Command::RecordCommits { commits }).await;
}

/// The shas a deployment shipped, newest first, and whether the list is complete.
pub(crate) async fn shipped(db: &Db, id: i64) -> (Vec<Sha>, bool) {
    let d = db
        .get_deployment(id)
        .await
        .expect("get_deployment")
        .expect("the deployment exists");
    assert_eq!(
        d.deployment.change_count as usize,
        d.changes.len(),
        "change_count matches the stored changes"
    );
    (
        d.changes.into_iter().map(|c| c.sha).collect(),
        d.deployment.changes_complete,
    )
}

/// Every event in the ledger, newest first, read page by page.
pub(crate) async fn all_events(db: &Db) -> Vec<Event> {
    let mut out = Vec::new();
    let mut filter = EventFilter {
        limit: 1000,
        ..EventFilter::default()
    };
    loop {
        let page = db.list_events(&filter).await.expect("list_events");
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => {
                filter.before_id = Some(
                    rodeo_domain::Cursor::decode(&c)
                        .expect("a cursor the store made")
                        .before_id,
                );
            }
            None => return out,
        }
    }
}

pub(crate) fn kinds(events: &[Event]) -> Vec<&str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

pub(crate) fn assert_invalid(e: &StoreError, field: &str) {
    match e {
        StoreError::Invalid(errs) => assert!(
            errs.0.iter().any(|f| f.field == field),
            "expected an error about `{field}`, got {errs}"
        ),
        other => panic!("expected Invalid naming `{field}`, got {other:?}"),
    }
}

pub(crate) fn assert_conflict(e: &StoreError) {
    assert!(
        matches!(e, StoreError::Conflict(_)),
        "expected Conflict, got {e:?}"
    );
}

pub(crate) fn assert_not_found(e: &StoreError) {
    assert!(
        matches!(e, StoreError::NotFound { .. }),
        "expected NotFound, got {e:?}"
    );
}
