//! Sends a generated demo to a server through the HTTP API, several requests at a time
//! while keeping each service's requests in order.

use std::collections::{HashMap, HashSet};

use futures::stream::FuturesUnordered;
use futures::StreamExt;
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
}

/// Sends `requests` in their order, up to `concurrency` at a time: a request starts
/// only after the previous request of its service has completed, and a set-up request
/// (no service) only after everything before it. Starting in order keeps the ledger's
/// ids close to the story's time order. `client` should use the source `demo`;
/// `on_progress` is called after each request.
pub async fn run(
    client: &Client,
    requests: &[PlannedRequest],
    concurrency: usize,
    on_progress: impl Fn(Progress),
) -> Result<RunSummary, RunError> {
    let limit = concurrency.max(1);
    let total = requests.len();
    let mut state = Tally {
        ids: HashMap::new(),
        busy: HashSet::new(),
        summary: RunSummary {
            requests: total,
            ..RunSummary::default()
        },
        done: 0,
    };
    let mut in_flight = FuturesUnordered::new();
    for (index, r) in requests.iter().enumerate() {
        let lane = r.service.as_ref().map(|s| s.as_str());
        loop {
            let wait = match lane {
                None => !in_flight.is_empty(),
                Some(l) => state.busy.contains(l) || in_flight.len() >= limit,
            };
            if !wait {
                break;
            }
            let Some(sent) = in_flight.next().await else {
                break;
            };
            state.complete(sent?, total, &on_progress);
        }
        // The server id of the deployment this request refers to by key.
        let referred = match &r.request {
            DemoRequest::FinishDeployment { key, .. } => Some(key),
            DemoRequest::Incident(i) => i.cause_key.as_ref(),
            _ => None,
        };
        let finish_id =
            referred
                .map(|key| {
                    state.ids.get(key.as_str()).cloned().ok_or_else(|| {
                        RunError::UnknownDeployment {
                            index,
                            key: key.clone(),
                        }
                    })
                })
                .transpose()?;
        match lane {
            None => {
                let sent = send(client, index, r, finish_id).await?;
                state.complete(sent, total, &on_progress);
            }
            Some(l) => {
                state.busy.insert(l);
                in_flight.push(send(client, index, r, finish_id));
            }
        }
    }
    while let Some(sent) = in_flight.next().await {
        state.complete(sent?, total, &on_progress);
    }
    Ok(state.summary)
}

/// What the loop keeps between requests.
struct Tally<'a> {
    /// Deployment key → the id the server gave it.
    ids: HashMap<&'a str, String>,
    /// Services with a request in flight.
    busy: HashSet<&'a str>,
    summary: RunSummary,
    done: usize,
}

impl<'a> Tally<'a> {
    fn complete(&mut self, sent: Sent<'a>, total: usize, on_progress: &impl Fn(Progress)) {
        if let Some(lane) = sent.lane {
            self.busy.remove(lane);
        }
        if let Some((key, id)) = sent.recorded {
            self.ids.insert(key, id);
            self.summary.deployments += 1;
        }
        self.summary.commits += sent.commits;
        self.done += 1;
        on_progress(Progress {
            done: self.done,
            total,
        });
    }
}

/// One completed request.
struct Sent<'a> {
    lane: Option<&'a str>,
    /// A recorded deployment: its key and server id.
    recorded: Option<(&'a str, String)>,
    commits: usize,
}

async fn send<'a>(
    client: &Client,
    index: usize,
    r: &'a PlannedRequest,
    finish_id: Option<String>,
) -> Result<Sent<'a>, RunError> {
    let fail = |what: String| {
        move |source| RunError::Request {
            index,
            what,
            source,
        }
    };
    let mut sent = Sent {
        lane: r.service.as_ref().map(|s| s.as_str()),
        recorded: None,
        commits: 0,
    };
    match &r.request {
        DemoRequest::CreateTeam(b) => post(client, "teams", b)
            .await
            .map_err(fail("create team".into()))?,
        DemoRequest::CreateEnvironment(b) => post(client, "environments", b)
            .await
            .map_err(fail("create environment".into()))?,
        DemoRequest::CreateService(b) => post(client, "services", b)
            .await
            .map_err(fail("create service".into()))?,
        DemoRequest::RecordDeployment { key, body } => {
            let reply = api::record_deployment(client, body, None)
                .await
                .map_err(fail(format!("record deployment {key}")))?;
            sent.recorded = Some((key.as_str(), reply.value.id.to_string()));
            sent.commits = body.commits.len();
        }
        DemoRequest::FinishDeployment { key, body } => {
            let id = finish_id.unwrap_or_default();
            api::finish_deployment(client, &id, body, None)
                .await
                .map_err(fail(format!("finish deployment {key}")))?;
        }
        DemoRequest::Incident(i) => {
            incident(client, i, finish_id)
                .await
                .map_err(fail("incident".into()))?;
        }
        DemoRequest::PullRequest(b) => post(client, "pull-requests", b)
            .await
            .map_err(fail("pull request".into()))?,
    }
    Ok(sent)
}

/// Opens the incident, takes its steps, adds the note and links the cause.
async fn incident(
    c: &Client,
    i: &crate::demo::DemoIncident,
    cause: Option<String>,
) -> Result<(), ClientError> {
    let opened = c
        .write::<_, serde_json::Value>(Method::POST, &["api", "v1", "incidents"], &i.open, None)
        .await?;
    let id = opened.value["id"].as_str().unwrap_or_default().to_owned();
    for (status, at) in &i.steps {
        let body = serde_json::json!({
            "status": status, "at": rodeo_domain::format_timestamp(*at),
        });
        c.write::<_, serde_json::Value>(
            Method::POST,
            &["api", "v1", "incidents", &id, "status"],
            &body,
            None,
        )
        .await?;
    }
    if let Some(note) = &i.note {
        c.write::<_, serde_json::Value>(
            Method::POST,
            &["api", "v1", "incidents", &id, "notes"],
            &serde_json::json!({ "text": note }),
            None,
        )
        .await?;
    }
    if let Some(d) = cause {
        c.write::<_, serde_json::Value>(
            Method::PUT,
            &["api", "v1", "incidents", &id, "cause"],
            &serde_json::json!({ "deployments": [d] }),
            None,
        )
        .await?;
    }
    Ok(())
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

#[cfg(test)]
#[path = "runner_tests.rs"]
mod tests;
