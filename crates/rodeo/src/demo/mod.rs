//! `rodeo demo`: a made-up but plausible history for a fictional organisation, loaded
//! through the real HTTP API so it exercises the same path as real data.
//!
//! [`generate`] is pure and deterministic for a seed: it returns the API requests in
//! time order. [`run`] sends them to a server.

mod catalog;
pub mod flags;
mod history;
mod messages;
mod pipeline;
mod runner;

use chrono::{Duration, Weekday};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rodeo_domain::{EnvironmentName, FieldError, ServiceName, TeamName, Timestamp};

use crate::api::{
    DeploymentRequest, EnvironmentRequest, FinishRequest, ServiceRequest, TeamRequest,
};

pub use runner::{run, Progress, RunError, RunSummary};

/// One API call of the demo.
#[derive(Debug, Clone, PartialEq)]
pub enum DemoRequest {
    CreateTeam(TeamRequest),
    CreateEnvironment(EnvironmentRequest),
    CreateService(ServiceRequest),
    /// `key` names the deployment for a later [`DemoRequest::FinishDeployment`]; it is
    /// also the request's `external_id`.
    RecordDeployment {
        key: String,
        body: DeploymentRequest,
    },
    FinishDeployment {
        key: String,
        body: FinishRequest,
    },
    /// An incident after a bad production deployment: opened, moved through its steps,
    /// and (when `cause_key` is set) linked to the deployment recorded under that key.
    Incident(Box<DemoIncident>),
    /// `POST /api/v1/pull-requests`: a feature branch's pull request, merged.
    PullRequest(serde_json::Value),
}

/// What [`DemoRequest::Incident`] sends, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoIncident {
    /// `POST /api/v1/incidents`.
    pub open: serde_json::Value,
    /// `POST /api/v1/incidents/{id}/status`, each `{status, at}`.
    pub steps: Vec<(&'static str, Timestamp)>,
    pub note: Option<String>,
    pub cause_key: Option<String>,
}

/// A request and when it happens in the story.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRequest {
    pub at: Timestamp,
    /// Requests of one service must be sent in order; `None` marks set-up requests,
    /// which must complete before anything after them starts.
    pub service: Option<ServiceName>,
    pub request: DemoRequest,
}

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoOptions {
    pub seed: u64,
    /// The end of the history; nothing happens after it.
    pub now: Timestamp,
    pub days: u32,
}

/// The three environments: staging first, two production regions after it.
const ENVIRONMENTS: [(&str, bool, i32); 3] = [
    ("staging", false, 200),
    ("prod-eu", true, 300),
    ("prod-us", true, 300),
];

const RELEASE_DAYS: [Weekday; 3] = [Weekday::Tue, Weekday::Wed, Weekday::Thu];

/// The whole demo as requests sorted by time (set-up first). Fails only if the
/// built-in catalogue holds an invalid name, which the tests rule out.
pub fn generate(opts: &DemoOptions) -> Result<Vec<PlannedRequest>, FieldError> {
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let start = (opts.now - Duration::days(i64::from(opts.days)))
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc();
    let mut out = setup(start)?;
    let environments = [
        EnvironmentName::parse(ENVIRONMENTS[0].0)?,
        EnvironmentName::parse(ENVIRONMENTS[1].0)?,
        EnvironmentName::parse(ENVIRONMENTS[2].0)?,
    ];
    let mut story = Vec::new();
    for (i, svc) in catalog::SERVICES.iter().enumerate() {
        // Each service draws from its own stream, so changing one service's story
        // leaves the others as they were.
        let mut srng = ChaCha8Rng::seed_from_u64(rng.gen());
        let history = history::generate(&mut srng, svc, start, opts.now)?;
        let service = ServiceName::parse(svc.name)?;
        story.extend(history.pull_requests.iter().map(|pr| PlannedRequest {
            at: pr.merged_at,
            service: Some(service.clone()),
            request: DemoRequest::PullRequest(serde_json::json!({
                "repository": format!("{}/{}", catalog::ORG, svc.name),
                "number": pr.number,
                "title": pr.title,
                "author": pr.author,
                "state": "merged",
                "created_at": rodeo_domain::format_timestamp(pr.opened_at),
                "merged_at": rodeo_domain::format_timestamp(pr.merged_at),
                "merge_commit_sha": history.commits[pr.merge].sha,
                "head_sha": history.commits[pr.head].sha,
            })),
        }));
        let p = pipeline::Pipeline {
            rng: &mut srng,
            svc,
            service,
            environments: environments.clone(),
            history,
            now: opts.now,
            release_day: RELEASE_DAYS[i % RELEASE_DAYS.len()],
            end_in_progress: i % 4 == 1,
        };
        story.extend(pipeline::simulate(p, start));
    }
    // Stable: requests at the same instant keep their causal order.
    story.sort_by_key(|r| r.at);
    out.extend(story);
    Ok(out)
}

fn setup(at: Timestamp) -> Result<Vec<PlannedRequest>, FieldError> {
    let mut out = Vec::new();
    let mut push = |request| {
        out.push(PlannedRequest {
            at,
            service: None,
            request,
        })
    };
    for t in catalog::TEAMS {
        push(DemoRequest::CreateTeam(TeamRequest {
            name: TeamName::parse(t.name)?,
            display_name: Some(t.display_name.to_owned()),
        }));
    }
    for (name, production, order) in ENVIRONMENTS {
        push(DemoRequest::CreateEnvironment(EnvironmentRequest {
            name: EnvironmentName::parse(name)?,
            production,
            order,
        }));
    }
    for s in catalog::SERVICES {
        push(DemoRequest::CreateService(ServiceRequest {
            name: ServiceName::parse(s.name)?,
            team: Some(TeamName::parse(s.team)?),
            repository: Some(format!("{}/{}", catalog::ORG, s.name)),
        }));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
