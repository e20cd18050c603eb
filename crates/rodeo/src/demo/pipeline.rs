//! One service's delivery pipeline over the generated history: builds go to staging on
//! the service's cadence, some are promoted to prod-eu and then prod-us in working
//! hours, a few fail (and are retried), a few are rolled back and followed by a hotfix
//! that rushes through all three environments.

use chrono::{Datelike, Duration, Timelike, Weekday};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rodeo_domain::{DeploymentKind, EnvironmentName, ServiceName, Timestamp};

use super::catalog::{Cadence, ServiceSpec, ORG};
use super::history::{is_weekend, time_on, History};
use super::{messages, DemoIncident, DemoRequest, PlannedRequest};

const STAGING: usize = 0;
const PROD_EU: usize = 1;
const PROD_US: usize = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Build {
    version: String,
    sha: usize,
}

/// How a deployment is meant to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Succeed,
    Fail,
    /// Started just before `now` and still running.
    StillRunning,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Succeeded(Timestamp),
    Failed(Timestamp),
    Running,
    /// It would have started after `now`.
    NotStarted,
}

pub(super) struct Pipeline<'a> {
    pub(super) rng: &'a mut ChaCha8Rng,
    pub(super) svc: &'a ServiceSpec,
    pub(super) service: ServiceName,
    pub(super) environments: [EnvironmentName; 3],
    pub(super) history: History,
    pub(super) now: Timestamp,
    /// The service's weekly release day.
    pub(super) release_day: Weekday,
    /// Leave a deployment running at the end.
    pub(super) end_in_progress: bool,
}

pub(super) fn simulate(p: Pipeline<'_>, start: Timestamp) -> Vec<PlannedRequest> {
    let commits = p.history.commits.len();
    let mut sim = Sim {
        free: [start; 3],
        succeeded: [Vec::new(), Vec::new(), Vec::new()],
        sent: vec![false; commits],
        version: (0, 0, 0),
        last_staged: None,
        seq: 0,
        last_key: Default::default(),
        out: Vec::new(),
        p,
    };
    sim.version = (sim.p.rng.gen_range(1..4), sim.p.rng.gen_range(0..12), 0);
    for c in sim.staging_times(start) {
        sim.build_at(c);
    }
    if sim.p.end_in_progress {
        sim.leave_running();
    }
    sim.out
}

struct Sim<'a> {
    p: Pipeline<'a>,
    /// When each environment is free for the next deployment.
    free: [Timestamp; 3],
    /// Successful deployments per environment, newest last, without repeats.
    succeeded: [Vec<Build>; 3],
    /// Which commits went to the server already.
    sent: Vec<bool>,
    version: (u32, u32, u32),
    last_staged: Option<usize>,
    seq: u32,
    /// The key of the latest deployment per environment.
    last_key: [String; 3],
    out: Vec<PlannedRequest>,
}

fn minutes(rng: &mut ChaCha8Rng, from: i64, to: i64) -> Duration {
    Duration::seconds(rng.gen_range(from * 60..to * 60))
}

impl Sim<'_> {
    /// When the service would deploy to staging, by cadence; weekends are rare.
    fn staging_times(&mut self, start: Timestamp) -> Vec<Timestamp> {
        let rng = &mut *self.p.rng;
        let mut times = Vec::new();
        let mut day = start;
        while day <= self.p.now {
            let weekend = is_weekend(day);
            let (n, from, to) = match self.p.svc.cadence {
                Cadence::Hourly if weekend => (usize::from(rng.gen_bool(0.08)), 10.0, 16.0),
                Cadence::Hourly => (rng.gen_range(2..=5), 9.5, 17.5),
                Cadence::Daily => (usize::from(!weekend && rng.gen_bool(0.85)), 10.0, 16.0),
                Cadence::Weekly => (
                    usize::from(day.weekday() == self.p.release_day && rng.gen_bool(0.92)),
                    10.0,
                    15.0,
                ),
            };
            times.extend((0..n).map(|_| time_on(rng, day, from, to)));
            day += Duration::days(1);
        }
        times.retain(|t| *t <= self.p.now);
        times.sort();
        times
    }

    /// A new build of main as of `c`, through staging and maybe to production.
    fn build_at(&mut self, c: Timestamp) {
        if c < self.free[STAGING] + Duration::minutes(1) {
            return; // a hotfix holds staging
        }
        let Some(head) = self.p.history.head_at(c - Duration::minutes(10)) else {
            return;
        };
        if Some(head) == self.last_staged {
            return; // nothing new to ship
        }
        let build = self.new_build(head, false);
        let staged = match self.with_retry(STAGING, &build, c, 0.07, 0.6) {
            Outcome::Succeeded(at) => at,
            _ => return,
        };
        let promote = match self.p.svc.cadence {
            Cadence::Hourly => 0.5,
            Cadence::Daily => 0.85,
            Cadence::Weekly => 0.95,
        };
        if self.p.rng.gen_bool(promote) {
            self.promote(&build, staged);
        }
    }

    fn promote(&mut self, build: &Build, staged: Timestamp) {
        let (eu_delay, us_delay) = {
            let rng = &mut *self.p.rng;
            match self.p.svc.cadence {
                Cadence::Hourly => (minutes(rng, 30, 180), minutes(rng, 20, 120)),
                Cadence::Daily => (minutes(rng, 120, 22 * 60), minutes(rng, 60, 6 * 60)),
                Cadence::Weekly => (minutes(rng, 20 * 60, 50 * 60), minutes(rng, 120, 24 * 60)),
            }
        };
        let at = self.working_hours(PROD_EU, staged + eu_delay);
        let eu_done = match self.with_retry(PROD_EU, build, at, 0.04, 0.75) {
            Outcome::Succeeded(done) => done,
            Outcome::Failed(done) => return self.hotfix(done),
            Outcome::Running | Outcome::NotStarted => return,
        };
        if self.maybe_roll_back(PROD_EU, eu_done) || !self.p.rng.gen_bool(0.95) {
            return;
        }
        let at = self.working_hours(PROD_US, eu_done + us_delay);
        match self.with_retry(PROD_US, build, at, 0.03, 0.75) {
            Outcome::Succeeded(done) => {
                self.maybe_roll_back(PROD_US, done);
            }
            Outcome::Failed(done) => self.hotfix(done),
            Outcome::Running | Outcome::NotStarted => {}
        }
    }

    /// Sometimes a release turns out bad: put back the one before it. True when rolled
    /// back (the bad build then goes no further).
    fn maybe_roll_back(&mut self, env: usize, deployed: Timestamp) -> bool {
        if self.succeeded[env].len() < 2 || !self.p.rng.gen_bool(0.025) {
            return false;
        }
        let at = deployed + minutes(self.p.rng, 10, 60);
        let Some(bad) = self.succeeded[env].pop() else {
            return false;
        };
        let Some(previous) = self.succeeded[env].last().cloned() else {
            return false;
        };
        let bad_key = self.last_key[env].clone();
        match self.deploy(env, &previous, DeploymentKind::Rollback, at, Plan::Succeed) {
            Outcome::Succeeded(done) => {
                if env != STAGING {
                    self.incident(env, deployed, done, bad_key, &bad.version);
                }
                if self.p.rng.gen_bool(0.8) {
                    self.hotfix(done);
                }
                true
            }
            Outcome::Running => true,
            Outcome::Failed(_) | Outcome::NotStarted => {
                self.succeeded[env].push(bad);
                false
            }
        }
    }

    /// The incident a bad production release caused: it starts minutes after the
    /// release, is mitigated by the rollback, resolved an hour or two later, and most of
    /// the time someone links the release as its cause (the rest wait for rodeo's
    /// suggestion).
    fn incident(
        &mut self,
        env: usize,
        deployed: Timestamp,
        rolled_back: Timestamp,
        bad_key: String,
        bad_version: &str,
    ) {
        let rng = &mut *self.p.rng;
        let started = deployed + minutes(rng, 1, 6);
        let detected = started + minutes(rng, 1, 4);
        let acknowledged = detected + minutes(rng, 1, 5);
        let mitigated = rolled_back.max(acknowledged + Duration::minutes(1));
        let resolved = mitigated + minutes(rng, 30, 180);
        let severity = if rng.gen_bool(0.3) { "sev2" } else { "sev3" };
        let title = messages::incident_title(rng, self.p.svc);
        let linked = rng.gen_bool(0.7);
        let mut steps = vec![("acknowledged", acknowledged), ("mitigated", mitigated)];
        if resolved <= self.p.now {
            steps.push(("resolved", resolved));
        }
        let at = steps.last().map_or(mitigated, |s| s.1);
        if at > self.p.now {
            return;
        }
        let open = serde_json::json!({
            "title": title, "severity": severity,
            "services": [self.p.service], "environments": [self.p.environments[env]],
            "started_at": rodeo_domain::format_timestamp(started),
            "detected_at": rodeo_domain::format_timestamp(detected),
            "roles": {"commander": "on-call"},
        });
        self.out.push(PlannedRequest {
            at,
            service: Some(self.p.service.clone()),
            request: DemoRequest::Incident(Box::new(DemoIncident {
                open,
                steps,
                note: Some(format!("Rolled back {bad_version}; errors back to normal.")),
                cause_key: linked.then_some(bad_key),
            })),
        });
    }

    /// The next ordinary commit on main becomes a fix and goes straight through.
    fn hotfix(&mut self, after: Timestamp) {
        let from = after + minutes(self.p.rng, 20, 90);
        let until = (from + Duration::days(1)).min(self.p.now);
        let Some(sha) = self.p.history.first_plain_main_in(from, until) else {
            return;
        };
        let message = messages::hotfix(self.p.rng, self.p.svc);
        self.p.history.commits[sha].message = message;
        let build = self.new_build(sha, true);
        let mut ready = self.p.history.commits[sha].committed_at;
        for env in [STAGING, PROD_EU, PROD_US] {
            let at =
                (ready + minutes(self.p.rng, 5, 20)).max(self.free[env] + Duration::minutes(1));
            match self.deploy(env, &build, DeploymentKind::Hotfix, at, Plan::Succeed) {
                Outcome::Succeeded(done) => ready = done,
                _ => return,
            }
        }
    }

    /// Starts a deployment just before `now` that is still running at the end.
    fn leave_running(&mut self) {
        let at = self.p.now - minutes(self.p.rng, 1, 6);
        let head = self.p.history.head_at(self.p.now - Duration::minutes(10));
        if let Some(head) = head.filter(|h| Some(*h) != self.last_staged) {
            if at >= self.free[STAGING] {
                let build = self.new_build(head, false);
                self.deploy(
                    STAGING,
                    &build,
                    DeploymentKind::Normal,
                    at,
                    Plan::StillRunning,
                );
                return;
            }
        }
        let staged = self.succeeded[STAGING].last().cloned();
        if let Some(build) = staged.filter(|b| self.succeeded[PROD_EU].last() != Some(b)) {
            if at >= self.free[PROD_EU] {
                self.deploy(
                    PROD_EU,
                    &build,
                    DeploymentKind::Normal,
                    at,
                    Plan::StillRunning,
                );
            }
        }
    }

    fn new_build(&mut self, sha: usize, hotfix: bool) -> Build {
        let feature = !hotfix
            && self
                .p
                .history
                .main_between(self.last_staged, sha)
                .any(|c| c.message.starts_with("feat"));
        let (major, minor, patch) = &mut self.version;
        if feature {
            *minor += 1;
            *patch = 0;
        } else {
            *patch += 1;
        }
        self.last_staged = Some(sha);
        Build {
            version: format!("{major}.{minor}.{patch}"),
            sha,
        }
    }

    /// Production deploys happen on working days between 08:00 and 17:00 (UTC).
    fn working_hours(&mut self, env: usize, earliest: Timestamp) -> Timestamp {
        let t = earliest.max(self.free[env] + Duration::minutes(5));
        let hour = f64::from(t.hour()) + f64::from(t.minute()) / 60.0;
        if !is_weekend(t) && (8.0..17.0).contains(&hour) {
            return t;
        }
        let mut day = t.date_naive();
        if hour >= 17.0 || is_weekend(t) {
            day = day.succ_opt().unwrap_or(day);
        }
        while matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            day = day.succ_opt().unwrap_or(day);
        }
        let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        time_on(self.p.rng, midnight, 9.0, 11.0)
    }

    fn with_retry(
        &mut self,
        env: usize,
        b: &Build,
        at: Timestamp,
        p_fail: f64,
        p_retry: f64,
    ) -> Outcome {
        let plan = if self.p.rng.gen_bool(p_fail) {
            Plan::Fail
        } else {
            Plan::Succeed
        };
        match self.deploy(env, b, DeploymentKind::Normal, at, plan) {
            Outcome::Failed(done) if self.p.rng.gen_bool(p_retry) => {
                let again = done + minutes(self.p.rng, 10, 40);
                match self.deploy(env, b, DeploymentKind::Normal, again, Plan::Succeed) {
                    Outcome::NotStarted => Outcome::Failed(done),
                    other => other,
                }
            }
            other => other,
        }
    }
}

// `Sim::deploy`, which turns one deployment into API requests.
#[path = "requests.rs"]
mod requests;
