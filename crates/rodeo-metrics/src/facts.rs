//! What the metrics are computed from: facts the store reads for a scope. The caller
//! passes the deployments of production environments only, and includes deployments
//! around the window (before it, for recoveries that fall in it and first deployments
//! of commits; after it, for the rollback or hotfix that marks a deployment in it as
//! failed), so the result does not depend on which slice of history was read.

use std::sync::Arc;

pub use rodeo_domain::IncidentKind;
use rodeo_domain::{DeploymentKind, DeploymentStatus, EnvironmentName, ServiceName, Timestamp};

/// A finished deployment to a production environment.
#[derive(Debug, Clone, PartialEq)]
pub struct ProdDeployment {
    pub id: i64,
    pub service: ServiceName,
    pub environment: EnvironmentName,
    pub status: DeploymentStatus,
    pub kind: DeploymentKind,
    pub finished_at: Timestamp,
}

impl ProdDeployment {
    /// It reached production: `succeeded` or `rolled_back` (a failed deployment never
    /// did; one in progress has not yet).
    pub fn reached_production(&self) -> bool {
        matches!(
            self.status,
            DeploymentStatus::Succeeded | DeploymentStatus::RolledBack
        )
    }
}

/// A commit a production deployment shipped.
#[derive(Debug, Clone, PartialEq)]
pub struct Shipment {
    pub deployment_id: i64,
    pub sha: String,
    pub author: String,
    pub committed_at: Timestamp,
    /// The merged pull request whose merge commit this is, if any.
    pub pull_request: Option<PullRequestTimes>,
}

/// A merged pull request's milestones, carried by its merge commit: the per-stage
/// breakdown of lead time (first commit -> opened -> merged -> first production
/// deployment) counts each pull request once per service, at the first production
/// deployment of its merge commit.
#[derive(Debug, Clone, PartialEq)]
pub struct PullRequestTimes {
    /// The earliest authored time among the pull request's own commits (reachable from
    /// its head and not from its merge commit's first parent); `None` when rodeo does
    /// not know them (the branch was never pushed to it).
    pub first_commit_at: Option<Timestamp>,
    pub opened_at: Timestamp,
    pub merged_at: Timestamp,
    pub author: Arc<str>,
}

/// An incident, as far as the metrics are concerned.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub id: i64,
    pub kind: IncidentKind,
    pub severity: String,
    pub services: Vec<ServiceName>,
    pub started_at: Timestamp,
    pub detected_at: Option<Timestamp>,
    pub acknowledged_at: Option<Timestamp>,
    pub mitigated_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    /// Deployments linked as causes.
    pub causes: Vec<i64>,
}

/// A commit's first production deployment for one service: the deployment that
/// reached production earliest among those that shipped it. Stores keep these as a
/// rollup, maintained with every write, so lead time never has to read every shipped
/// commit of a window and the history before it.
#[derive(Debug, Clone, PartialEq)]
pub struct FirstShipment {
    /// Shared: a window holds hundreds of thousands of these for a few hundred services
    /// and authors.
    pub service: Arc<ServiceName>,
    pub deployment_id: i64,
    pub deployed_at: Timestamp,
    pub committed_at: Timestamp,
    pub author: Arc<str>,
}

/// A merged pull request at the first production deployment of its merge commit for one
/// service: what lead time's per-stage breakdown counts. Stores keep the milestones on
/// the merge commit's first-shipment row and read these from it.
#[derive(Debug, Clone, PartialEq)]
pub struct PullRequestShipment {
    pub service: Arc<ServiceName>,
    pub deployed_at: Timestamp,
    pub times: PullRequestTimes,
}

/// Everything one computation reads. Lead time comes from `first_shipments` and
/// `pull_requests` (what the stores read) or, when `shipments` is not empty, from the
/// first production deployment of each shipped commit among `deployments` (what tests
/// write by hand).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    pub deployments: Vec<ProdDeployment>,
    pub shipments: Vec<Shipment>,
    pub first_shipments: Vec<FirstShipment>,
    pub pull_requests: Vec<PullRequestShipment>,
    pub incidents: Vec<Incident>,
}

impl From<&rodeo_domain::Incident> for Incident {
    fn from(i: &rodeo_domain::Incident) -> Self {
        Self {
            id: i.id,
            kind: i.kind,
            severity: i.severity.as_str().to_owned(),
            services: i.services.clone(),
            started_at: i.started_at,
            detected_at: Some(i.detected_at),
            acknowledged_at: i.acknowledged_at,
            mitigated_at: i.mitigated_at,
            resolved_at: i.resolved_at,
            causes: i.causes.clone(),
        }
    }
}
