//! The endpoints of rodeo's API that the CLI and the demo use: request bodies, paths
//! and the domain types responses parse into. One place knows the URL layout.

use reqwest::Method;
use rodeo_domain::{
    Commit, Deployment, DeploymentDetail, DeploymentKind, DeploymentStatus, EnvironmentName, Event,
    Page, Scope, ServiceName, Sha, StatusMatrix, TeamName, Timestamp, Token, TokenName,
};
use serde::{Deserialize, Serialize};

use crate::client::{Client, ClientError, Reply};

const V1: [&str; 2] = ["api", "v1"];

fn path<'a>(rest: &[&'a str]) -> Vec<&'a str> {
    V1.iter().copied().chain(rest.iter().copied()).collect()
}

/// `POST /api/v1/deployments`. Optional fields are left out so the server's defaults
/// apply (finished now, for example).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeploymentRequest {
    pub service: ServiceName,
    pub environment: EnvironmentName,
    pub version: String,
    pub commit_sha: Sha,
    pub status: DeploymentStatus,
    pub kind: DeploymentKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub commits: Vec<Commit>,
}

/// `POST /api/v1/deployments/{id}/finish`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FinishRequest {
    pub status: DeploymentStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
}

/// The answer to `POST /api/v1/commits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct CommitsRecorded {
    pub recorded: u32,
    pub already_known: u32,
}

/// `POST /api/v1/teams`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamRequest {
    pub name: TeamName,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// `PATCH /api/v1/teams/{name}`: the new display name; `None` removes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamPatch {
    pub display_name: Option<String>,
}

/// `POST /api/v1/services`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceRequest {
    pub name: ServiceName,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<TeamName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
}

/// `PATCH /api/v1/services/{name}`: `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServicePatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<Option<TeamName>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<Option<String>>,
}

/// `POST /api/v1/environments`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnvironmentRequest {
    pub name: EnvironmentName,
    pub production: bool,
    pub order: i32,
}

/// `PATCH /api/v1/environments/{name}`: `None` leaves a field alone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnvironmentPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub production: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenRequest {
    pub name: TokenName,
    pub scope: Scope,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<rodeo_domain::EnvironmentName>,
}

/// A new token: the secret is shown this once.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CreatedToken {
    pub token: Token,
    pub secret: String,
}

/// The answer to `GET /api/v1/compare`: `ahead` is in `from` and not in `to`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Comparison {
    pub from: ComparisonEnd,
    pub to: ComparisonEnd,
    pub ahead: rodeo_domain::Changes,
    pub behind: rodeo_domain::Changes,
}

/// One side of a comparison, resolved to a sha.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ComparisonEnd {
    /// `environment`, `version` or `sha`: how the request named it.
    pub by: String,
    pub value: String,
    pub sha: Sha,
    pub version: Option<String>,
}

/// Query parameters, left out when unset.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query(Vec<(&'static str, String)>);

impl Query {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn opt(mut self, key: &'static str, value: Option<impl ToString>) -> Self {
        if let Some(v) = value {
            self.0.push((key, v.to_string()));
        }
        self
    }

    pub fn pairs(&self) -> &[(&'static str, String)] {
        &self.0
    }
}

pub async fn record_deployment(
    c: &Client,
    body: &DeploymentRequest,
    idempotency_key: Option<&str>,
) -> Result<Reply<Deployment>, ClientError> {
    c.write(Method::POST, &path(&["deployments"]), body, idempotency_key)
        .await
}

pub async fn finish_deployment(
    c: &Client,
    id: &str,
    body: &FinishRequest,
    idempotency_key: Option<&str>,
) -> Result<Reply<Deployment>, ClientError> {
    c.write(
        Method::POST,
        &path(&["deployments", id, "finish"]),
        body,
        idempotency_key,
    )
    .await
}

/// What runs in a service+environment now; `None` when nothing was deployed there yet
/// (or the server does not know the service or environment).
pub async fn current_deployment(
    c: &Client,
    service: &ServiceName,
    environment: &EnvironmentName,
) -> Result<Option<Deployment>, ClientError> {
    let q = Query::new()
        .opt("service", Some(service))
        .opt("environment", Some(environment));
    match c.get(&path(&["deployments", "current"]), q.pairs()).await {
        Ok(r) => Ok(Some(r.value)),
        Err(e) if e.status() == Some(404) => Ok(None),
        Err(e) => Err(e),
    }
}

pub async fn record_commits(
    c: &Client,
    commits: &[Commit],
) -> Result<Reply<CommitsRecorded>, ClientError> {
    #[derive(Serialize)]
    struct Body<'a> {
        commits: &'a [Commit],
    }
    c.write(Method::POST, &path(&["commits"]), &Body { commits }, None)
        .await
}

pub async fn list_deployments(
    c: &Client,
    q: &Query,
) -> Result<Reply<Page<Deployment>>, ClientError> {
    c.get(&path(&["deployments"]), q.pairs()).await
}

pub async fn deployment(c: &Client, id: &str) -> Result<Reply<DeploymentDetail>, ClientError> {
    c.get(&path(&["deployments", id]), &[]).await
}

pub async fn status(c: &Client) -> Result<Reply<StatusMatrix>, ClientError> {
    c.get(&path(&["status"]), &[]).await
}

pub async fn compare(c: &Client, q: &Query) -> Result<Reply<Comparison>, ClientError> {
    c.get(&path(&["compare"]), q.pairs()).await
}

pub async fn events(c: &Client, q: &Query) -> Result<Reply<Page<Event>>, ClientError> {
    c.get(&path(&["events"]), q.pairs()).await
}

pub async fn open_event_stream(
    c: &Client,
    q: &Query,
    last_event_id: Option<&str>,
) -> Result<reqwest::Response, ClientError> {
    c.open_stream(&path(&["events", "stream"]), q.pairs(), last_event_id)
        .await
}

/// The named collections with the same CRUD shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    Services,
    Environments,
    Teams,
}

impl Collection {
    fn segment(self) -> &'static str {
        match self {
            Self::Services => "services",
            Self::Environments => "environments",
            Self::Teams => "teams",
        }
    }

    /// The whole collection (catalogues are small and not paginated).
    pub async fn list<T: serde::de::DeserializeOwned>(
        self,
        c: &Client,
    ) -> Result<Reply<Page<T>>, ClientError> {
        c.get(&path(&[self.segment()]), &[]).await
    }

    pub async fn create<B: Serialize, T: serde::de::DeserializeOwned>(
        self,
        c: &Client,
        body: &B,
    ) -> Result<Reply<T>, ClientError> {
        c.write(Method::POST, &path(&[self.segment()]), body, None)
            .await
    }

    pub async fn update<B: Serialize, T: serde::de::DeserializeOwned>(
        self,
        c: &Client,
        name: &str,
        body: &B,
    ) -> Result<Reply<T>, ClientError> {
        c.write(Method::PATCH, &path(&[self.segment(), name]), body, None)
            .await
    }

    pub async fn delete(
        self,
        c: &Client,
        name: &str,
    ) -> Result<Reply<serde_json::Value>, ClientError> {
        c.delete(&path(&[self.segment(), name])).await
    }
}

pub async fn list_tokens(c: &Client) -> Result<Reply<Page<Token>>, ClientError> {
    c.get(&path(&["tokens"]), &[]).await
}

pub async fn create_token(
    c: &Client,
    body: &TokenRequest,
) -> Result<Reply<CreatedToken>, ClientError> {
    c.write(Method::POST, &path(&["tokens"]), body, None).await
}

pub async fn revoke_token(c: &Client, id: &str) -> Result<Reply<serde_json::Value>, ClientError> {
    c.delete(&path(&["tokens", id])).await
}
