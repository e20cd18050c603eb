//! Properties of the generated demo, checked by replaying its requests.

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, TimeZone, Utc, Weekday};
use rodeo_domain::{Commit, DeploymentKind, DeploymentStatus, Sha};

use super::*;

fn now() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 2, 14, 30, 0).unwrap()
}

fn plan(seed: u64) -> Vec<PlannedRequest> {
    generate(&DemoOptions {
        seed,
        now: now(),
        days: 180,
    })
    .unwrap()
}

/// A deployment as the server would end up seeing it.
#[derive(Debug, Clone)]
struct Seen {
    body: DeploymentRequest,
    status: DeploymentStatus,
    finished_at: Option<Timestamp>,
}

/// Replays the requests: deployments in request order, and every commit sent.
fn replay(reqs: &[PlannedRequest]) -> (Vec<Seen>, Vec<Commit>) {
    let mut deployments: Vec<Seen> = Vec::new();
    let mut by_key: HashMap<&str, usize> = HashMap::new();
    let mut commits = Vec::new();
    for r in reqs {
        match &r.request {
            DemoRequest::RecordDeployment { key, body } => {
                assert_eq!(body.external_id.as_deref(), Some(key.as_str()));
                assert!(
                    by_key.insert(key, deployments.len()).is_none(),
                    "{key} twice"
                );
                commits.extend(body.commits.iter().cloned());
                deployments.push(Seen {
                    body: body.clone(),
                    status: body.status,
                    finished_at: body.finished_at,
                });
            }
            DemoRequest::FinishDeployment { key, body } => {
                let d = &mut deployments[by_key[key.as_str()]];
                assert_eq!(
                    d.status,
                    DeploymentStatus::InProgress,
                    "{key} finished twice"
                );
                d.status = body.status;
                d.finished_at = body.finished_at;
            }
            DemoRequest::Incident(i) => {
                if let Some(k) = &i.cause_key {
                    assert!(
                        by_key.contains_key(k.as_str()),
                        "{k} caused an incident before it was recorded"
                    );
                }
            }
            DemoRequest::PullRequest(_) => assert!(r.service.is_some()),
            _ => assert!(r.service.is_none()),
        }
    }
    (deployments, commits)
}

#[test]
fn the_same_seed_gives_the_same_story() {
    assert_eq!(plan(7), plan(7));
    assert_ne!(plan(7), plan(8));
}

#[test]
fn sizes_are_in_the_expected_ranges() {
    for seed in [1, 2, 3] {
        let reqs = plan(seed);
        let count = |f: fn(&DemoRequest) -> bool| reqs.iter().filter(|r| f(&r.request)).count();
        assert_eq!(count(|r| matches!(r, DemoRequest::CreateTeam(_))), 4);
        assert_eq!(count(|r| matches!(r, DemoRequest::CreateEnvironment(_))), 3);
        assert_eq!(count(|r| matches!(r, DemoRequest::CreateService(_))), 12);
        let (deps, commits) = replay(&reqs);
        let n = |f: &dyn Fn(&Seen) -> bool| deps.iter().filter(|d| f(d)).count();
        assert!(
            (2000..=6000).contains(&commits.len()),
            "seed {seed}: {} commits",
            commits.len()
        );
        assert!(
            (1500..=6000).contains(&deps.len()),
            "seed {seed}: {} deployments",
            deps.len()
        );
        let failed = n(&|d| d.status == DeploymentStatus::Failed);
        let rollbacks = n(&|d| d.body.kind == DeploymentKind::Rollback);
        let hotfixes = n(&|d| d.body.kind == DeploymentKind::Hotfix);
        let running = n(&|d| d.status == DeploymentStatus::InProgress);
        assert!((20..=400).contains(&failed), "seed {seed}: {failed} failed");
        assert!(
            (5..=100).contains(&rollbacks),
            "seed {seed}: {rollbacks} rollbacks"
        );
        assert!(
            (9..=300).contains(&hotfixes),
            "seed {seed}: {hotfixes} hotfix deployments"
        );
        assert!(
            (1..=6).contains(&running),
            "seed {seed}: {running} in progress"
        );
        let merges = commits.iter().filter(|c| c.parents.len() == 2).count();
        assert!(merges * 100 > commits.len() * 3, "some merges: {merges}");
        assert!(merges * 100 < commits.len() * 20, "mostly linear: {merges}");
    }
}

#[test]
fn services_deploy_at_their_cadence() {
    let (deps, _) = replay(&plan(1));
    let staging = |svc: &str| {
        deps.iter()
            .filter(|d| d.body.service.as_str() == svc && d.body.environment.as_str() == "staging")
            .count()
    };
    assert!(
        staging("checkout") > 2 * staging("billing"),
        "hourly vs daily"
    );
    assert!(
        staging("billing") > 2 * staging("ledger"),
        "daily vs weekly"
    );
    assert!(
        (15..=40).contains(&staging("ledger")),
        "weekly: {}",
        staging("ledger")
    );
}

#[test]
fn deployed_shas_and_parents_are_sent_first() {
    let reqs = plan(2);
    let mut known: HashMap<&str, HashMap<Sha, Commit>> = HashMap::new();
    for r in &reqs {
        let DemoRequest::RecordDeployment { body, .. } = &r.request else {
            continue;
        };
        let seen = known.entry(body.service.as_str()).or_default();
        for c in &body.commits {
            for p in &c.parents {
                let parent = seen.get(p).expect("parent sent before its child");
                assert!(parent.committed_at < c.committed_at);
            }
            assert!(c.authored_at <= c.committed_at);
            assert!(seen.insert(c.sha.clone(), c.clone()).is_none(), "sent once");
        }
        assert!(
            seen.contains_key(&body.commit_sha),
            "deployed sha is a sent commit"
        );
    }
}

#[test]
fn nothing_happens_in_the_future_or_before_the_start() {
    let reqs = plan(3);
    let start = now() - chrono::Duration::days(181);
    assert!(
        reqs.windows(2).all(|w| w[0].at <= w[1].at),
        "sorted by time"
    );
    let (deps, commits) = replay(&reqs);
    for r in &reqs {
        assert!(r.at <= now() && r.at >= start);
    }
    for d in &deps {
        let started = d.body.started_at.unwrap();
        assert!(started <= now() && started >= start);
        if let Some(f) = d.finished_at {
            assert!(f <= now() && f > started);
        }
    }
    assert!(commits.iter().all(|c| c.committed_at <= now()));
    let weekend = commits
        .iter()
        .filter(|c| matches!(c.committed_at.weekday(), Weekday::Sat | Weekday::Sun))
        .count();
    assert!(
        weekend * 100 < commits.len() * 8,
        "weekends are quiet: {weekend}"
    );
}

#[test]
fn environments_deploy_one_at_a_time_and_in_order() {
    let (deps, _) = replay(&plan(1));
    let mut last_finish: HashMap<(String, String), Timestamp> = HashMap::new();
    let mut staged: HashSet<(String, String)> = HashSet::new();
    let mut sorted = deps.clone();
    sorted.sort_by_key(|d| d.body.started_at);
    for d in &sorted {
        let (svc, env) = (d.body.service.to_string(), d.body.environment.to_string());
        let started = d.body.started_at.unwrap();
        if let Some(prev) = last_finish.get(&(svc.clone(), env.clone())) {
            assert!(started >= *prev, "{svc}/{env} overlaps at {started}");
        }
        last_finish.insert((svc.clone(), env.clone()), d.finished_at.unwrap_or(now()));
        let version = (svc.clone(), d.body.version.clone());
        if env == "staging" && d.status == DeploymentStatus::Succeeded {
            staged.insert(version);
        } else if env != "staging" {
            assert!(
                staged.contains(&version),
                "{svc} {} skipped staging",
                d.body.version
            );
        }
    }
}

#[test]
fn rollbacks_put_back_an_earlier_version() {
    let (deps, _) = replay(&plan(1));
    let mut current: HashMap<(String, String), Vec<(String, Sha)>> = HashMap::new();
    let mut rollbacks = 0;
    for d in &deps {
        let key = (d.body.service.to_string(), d.body.environment.to_string());
        let ran = current.entry(key).or_default();
        let this = (d.body.version.clone(), d.body.commit_sha.clone());
        if d.body.kind == DeploymentKind::Rollback {
            rollbacks += 1;
            let (replaced, earlier) = ran.split_last().expect("something to roll back");
            assert_ne!(replaced, &this, "a rollback changes the running version");
            assert!(earlier.contains(&this), "{this:?} ran before");
        }
        if d.status == DeploymentStatus::Succeeded {
            ran.push(this);
        }
    }
    assert!(rollbacks > 0);
}
