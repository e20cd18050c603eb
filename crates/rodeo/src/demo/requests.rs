//! One simulated deployment as API requests: recorded finished in one call, or
//! started and finished in two (as CI systems with a start hook do), carrying the
//! commits the server has not been sent yet.

use chrono::Duration;
use rand::Rng;
use rodeo_domain::{Commit, DeploymentKind, DeploymentStatus, Timestamp};

use super::{Build, Outcome, Plan, Sim, ORG, STAGING};
use crate::api::{DeploymentRequest, FinishRequest};
use crate::demo::{DemoRequest, PlannedRequest};

impl Sim<'_> {
    pub(super) fn deploy(
        &mut self,
        env: usize,
        build: &Build,
        kind: DeploymentKind,
        start: Timestamp,
        plan: Plan,
    ) -> Outcome {
        if start > self.p.now {
            return Outcome::NotStarted;
        }
        let seconds = if env == STAGING { 120..420 } else { 240..780 };
        let finish = start + Duration::seconds(self.p.rng.gen_range(seconds));
        self.seq += 1;
        let mut body = DeploymentRequest {
            service: self.p.service.clone(),
            environment: self.p.environments[env].clone(),
            version: build.version.clone(),
            commit_sha: self.p.history.commits[build.sha].sha.clone(),
            status: DeploymentStatus::InProgress,
            kind,
            started_at: Some(start),
            finished_at: None,
            external_id: Some(format!("demo:{}:{}", self.p.service, self.seq)),
            url: Some(format!(
                "https://ci.{ORG}.example/{ORG}/{}/pipelines/{}",
                self.p.service,
                1000 + self.seq
            )),
            commits: self.unsent_ancestors(build.sha),
        };
        let key = body.external_id.clone().unwrap_or_default();
        self.last_key[env] = key.clone();
        if plan == Plan::StillRunning || finish > self.p.now {
            self.free[env] = finish;
            self.record(start, key, body);
            return Outcome::Running;
        }
        let status = if plan == Plan::Fail {
            DeploymentStatus::Failed
        } else {
            DeploymentStatus::Succeeded
        };
        if self.p.rng.gen_bool(0.25) {
            self.record(start, key.clone(), body);
            self.push(
                finish,
                DemoRequest::FinishDeployment {
                    key,
                    body: FinishRequest {
                        status,
                        finished_at: Some(finish),
                    },
                },
            );
        } else {
            body.status = status;
            body.finished_at = Some(finish);
            self.record(finish, key, body);
        }
        self.free[env] = finish;
        if status == DeploymentStatus::Failed {
            return Outcome::Failed(finish);
        }
        if self.succeeded[env].last() != Some(build) {
            self.succeeded[env].push(build.clone());
        }
        Outcome::Succeeded(finish)
    }

    fn record(&mut self, at: Timestamp, key: String, body: DeploymentRequest) {
        self.push(at, DemoRequest::RecordDeployment { key, body });
    }

    fn push(&mut self, at: Timestamp, request: DemoRequest) {
        self.out.push(PlannedRequest {
            at,
            service: Some(self.p.service.clone()),
            request,
        });
    }

    /// The ancestors of `sha` (itself included) not sent yet, parents first; marks
    /// them sent.
    fn unsent_ancestors(&mut self, sha: usize) -> Vec<Commit> {
        let mut found = Vec::new();
        let mut stack = vec![sha];
        while let Some(i) = stack.pop() {
            if self.sent[i] {
                continue;
            }
            self.sent[i] = true;
            found.push(i);
            stack.extend(self.p.history.parents[i].iter().copied());
        }
        // Parents have smaller indices than their children.
        found.sort_unstable();
        found
            .into_iter()
            .map(|i| self.p.history.commits[i].clone())
            .collect()
    }
}
