//! Sends a generated demo to a server: set-up requests one by one, then each service's
//! requests in order, several services at a time.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::{stream, StreamExt, TryStreamExt};
use reqwest::Method;

use super::{DemoRequest, PlannedRequest};
use crate::api;
use crate::client::{Client, ClientError};

/// How far the load has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
}

/// What was sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub requests: usize,
    pub deployments: usize,
    pub commits: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("demo request {index} ({what}) failed")]
    Request {
        index: usize,
        what: String,
        #[source]
        source: ClientError,
    },
    #[error("demo request {index} finishes deployment {key:?}, which was not recorded before it")]
    UnknownDeployment { index: usize, key: String },
    #[error("demo request {index} is a deployment without a service")]
    Misplaced { index: usize },
}

/// Sends `requests` in order per service, with up to `concurrency` services in flight.
/// `client` should use the source `demo`. `on_progress` is called after each request.
pub async fn run(
    client: &Client,
    requests: &[PlannedRequest],
    concurrency: usize,
    on_progress: impl Fn(Progress),
) -> Result<RunSummary, RunError> {
    let done = AtomicUsize::new(0);
    let total = requests.len();
    let tick = || {
        let d = done.fetch_add(1, Ordering::Relaxed) + 1;
        on_progress(Progress { done: d, total });
    };
    let mut summary = RunSummary::default();
    for segment in segments(requests) {
        match segment {
            Segment::Setup(index) => {
                setup(client, index, &requests[index].request).await?;
                tick();
            }
            Segment::Lanes(lanes) => {
                let counts: Vec<(usize, usize)> = stream::iter(lanes)
                    .map(|lane| run_lane(client, requests, lane, &tick))
                    .buffer_unordered(concurrency.max(1))
                    .try_collect()
                    .await?;
                for (deployments, commits) in counts {
                    summary.deployments += deployments;
                    summary.commits += commits;
                }
            }
        }
    }
    summary.requests = total;
    Ok(summary)
}

enum Segment {
    Setup(usize),
    /// Request indices per service, each in order.
    Lanes(Vec<Vec<usize>>),
}

/// Splits at set-up requests; between them, groups requests by service.
fn segments(requests: &[PlannedRequest]) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut lanes: Vec<Vec<usize>> = Vec::new();
    let mut lane_of: HashMap<&str, usize> = HashMap::new();
    for (i, r) in requests.iter().enumerate() {
        match &r.service {
            None => {
                if !lanes.is_empty() {
                    out.push(Segment::Lanes(std::mem::take(&mut lanes)));
                    lane_of.clear();
                }
                out.push(Segment::Setup(i));
            }
            Some(s) => {
                let n = lanes.len();
                let lane = *lane_of.entry(s.as_str()).or_insert(n);
                if lane == n {
                    lanes.push(Vec::new());
                }
                lanes[lane].push(i);
            }
        }
    }
    if !lanes.is_empty() {
        out.push(Segment::Lanes(lanes));
    }
    out
}

async fn setup(client: &Client, index: usize, r: &DemoRequest) -> Result<(), RunError> {
    let (what, path, result) = match r {
        DemoRequest::CreateTeam(b) => ("create team", "teams", post(client, "teams", b).await),
        DemoRequest::CreateEnvironment(b) => (
            "create environment",
            "environments",
            post(client, "environments", b).await,
        ),
        DemoRequest::CreateService(b) => (
            "create service",
            "services",
            post(client, "services", b).await,
        ),
        DemoRequest::RecordDeployment { .. } | DemoRequest::FinishDeployment { .. } => {
            return Err(RunError::Misplaced { index })
        }
    };
    result.map_err(|source| RunError::Request {
        index,
        what: format!("{what} at /api/v1/{path}"),
        source,
    })
}

async fn post<B: serde::Serialize>(
    c: &Client,
    collection: &str,
    body: &B,
) -> Result<(), ClientError> {
    c.write::<_, serde_json::Value>(Method::POST, &["api", "v1", collection], body, None)
        .await
        .map(|_| ())
}

/// One service's requests, in order. Returns (deployments, commits) sent.
async fn run_lane(
    client: &Client,
    requests: &[PlannedRequest],
    lane: Vec<usize>,
    tick: &impl Fn(),
) -> Result<(usize, usize), RunError> {
    let mut ids: HashMap<&str, String> = HashMap::new();
    let (mut deployments, mut commits) = (0, 0);
    for index in lane {
        let fail = |what: String| {
            move |source| RunError::Request {
                index,
                what,
                source,
            }
        };
        match &requests[index].request {
            DemoRequest::RecordDeployment { key, body } => {
                let reply = api::record_deployment(client, body, None)
                    .await
                    .map_err(fail(format!("record deployment {key}")))?;
                ids.insert(key, reply.value.id.to_string());
                deployments += 1;
                commits += body.commits.len();
            }
            DemoRequest::FinishDeployment { key, body } => {
                let id = ids
                    .get(key.as_str())
                    .ok_or_else(|| RunError::UnknownDeployment {
                        index,
                        key: key.clone(),
                    })?;
                api::finish_deployment(client, id, body, None)
                    .await
                    .map_err(fail(format!("finish deployment {key}")))?;
            }
            other => setup(client, index, other).await?,
        }
        tick();
    }
    Ok((deployments, commits))
}

#[cfg(test)]
#[path = "runner_tests.rs"]
mod tests;
