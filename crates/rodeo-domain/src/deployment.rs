//! Deployments: one service at one version to one environment.

use crate::{Commit, EnvironmentName, ServiceName, Sha, Source, Timestamp};

pub const MAX_URL_LEN: usize = 2048;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentStatus {
    InProgress,
    Succeeded,
    Failed,
    /// Succeeded, then replaced by a rollback to an earlier version.
    RolledBack,
}

impl DeploymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "in_progress",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::RolledBack => "rolled_back",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "in_progress" => Some(Self::InProgress),
            "succeeded" => Some(Self::Succeeded),
            "failed" => Some(Self::Failed),
            "rolled_back" => Some(Self::RolledBack),
            _ => None,
        }
    }

    pub fn is_finished(self) -> bool {
        self != Self::InProgress
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentKind {
    Normal,
    Hotfix,
    Rollback,
}

impl DeploymentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Hotfix => "hotfix",
            Self::Rollback => "rollback",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "normal" => Some(Self::Normal),
            "hotfix" => Some(Self::Hotfix),
            "rollback" => Some(Self::Rollback),
            _ => None,
        }
    }
}

/// A validated request to record a deployment (finished or just started).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NewDeployment {
    pub service: ServiceName,
    pub environment: EnvironmentName,
    pub version: String,
    pub commit_sha: Sha,
    pub status: DeploymentStatus,
    pub kind: DeploymentKind,
    pub started_at: Timestamp,
    /// Set exactly when `status` is finished.
    pub finished_at: Option<Timestamp>,
    /// An id in the sending system (`github:deployment:123`); unique per rodeo.
    pub external_id: Option<String>,
    pub url: Option<String>,
    /// Commits sent along; recorded before the shipped changes are computed.
    pub commits: Vec<Commit>,
}

/// Closes an in-progress deployment.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FinishDeployment {
    pub id: DeploymentRef,
    pub status: DeploymentStatus,
    pub finished_at: Timestamp,
}

/// Names a deployment by rodeo id or by the sender's external id.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentRef {
    Id(i64),
    External(String),
}

/// A recorded deployment.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Deployment {
    #[serde(with = "crate::deployment::id_string")]
    pub id: i64,
    pub service: ServiceName,
    pub environment: EnvironmentName,
    pub version: String,
    pub commit_sha: Sha,
    pub status: DeploymentStatus,
    pub kind: DeploymentKind,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub external_id: Option<String>,
    pub url: Option<String>,
    /// The token name (or webhook sender) that recorded it.
    pub created_by: String,
    pub source: Source,
    /// For a rollback: the deployment it rolled back.
    #[serde(with = "crate::deployment::opt_id_string")]
    pub rollback_of: Option<i64>,
    /// The previous successful deployment of this service to this environment, which
    /// the shipped changes are computed against.
    #[serde(with = "crate::deployment::opt_id_string")]
    pub previous_id: Option<i64>,
    pub change_count: u32,
    pub changes_complete: bool,
}

/// A deployment with the commits it shipped.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DeploymentDetail {
    #[serde(flatten)]
    pub deployment: Deployment,
    pub changes: Vec<Commit>,
}

pub(crate) mod id_string {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(id: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(id)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

pub(crate) mod opt_id_string {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(id: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match id {
            Some(id) => s.collect_str(id),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        let s = Option::<String>::deserialize(d)?;
        s.map(|s| s.parse().map_err(serde::de::Error::custom))
            .transpose()
    }
}

pub(crate) mod id_strings {
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(ids: &[i64], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(ids.len()))?;
        for id in ids {
            seq.serialize_element(&id.to_string())?;
        }
        seq.end()
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
        Vec::<String>::deserialize(d)?
            .into_iter()
            .map(|s| s.parse().map_err(serde::de::Error::custom))
            .collect()
    }
}
