//! Commits and pull requests: the changes that deployments ship.

use crate::{ServiceName, Sha, Timestamp};

pub const MAX_AUTHOR_LEN: usize = 256;
pub const MAX_MESSAGE_LEN: usize = 65_536;

/// A git commit as rodeo knows it. `parents` may name commits rodeo has not seen; the
/// commit graph is then incomplete below this commit and change lists say so.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Commit {
    pub sha: Sha,
    pub parents: Vec<Sha>,
    pub author: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_email: Option<String>,
    pub authored_at: Timestamp,
    pub committed_at: Timestamp,
    pub message: String,
    /// The repository the commit was seen in, when known (`owner/name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Services whose monorepo paths this commit touched; empty when not mapped by path,
    /// meaning the commit belongs to every service deployed from its repository.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceName>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PullRequestState {
    Open,
    Merged,
    Closed,
}

impl PullRequestState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Merged => "merged",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(Self::Open),
            "merged" => Some(Self::Merged),
            "closed" => Some(Self::Closed),
            _ => None,
        }
    }
}

/// A pull request (GitHub) or merge request (GitLab).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PullRequest {
    /// `owner/name` of the repository.
    pub repository: String,
    pub number: i64,
    pub title: String,
    pub author: String,
    pub state: PullRequestState,
    pub created_at: Timestamp,
    pub merged_at: Option<Timestamp>,
    pub merge_commit_sha: Option<Sha>,
    pub head_sha: Option<Sha>,
    pub url: Option<String>,
}
