//! GitHub and GitLab webhooks turned into rodeo [`Command`]s.
//!
//! This is the pure part of webhook ingestion: checking the signature or token,
//! reading a payload, and mapping repositories and environments to rodeo names. It
//! does no I/O, so the HTTP handler stays thin: verify, parse, then hand the commands
//! to the store in one write (or answer 202 for [`Parsed::Ignored`]).
//!
//! Parsing never panics and never trusts the payload's shape: every value is read
//! through a reader that knows its JSON path, so a bad payload becomes a
//! [`WebhookError`] such as `commits[2].timestamp: must be a timestamp like …`.

mod alerts;
mod github;
mod gitlab;
mod json;
mod mapping;
mod push;
mod signature;
mod time;

#[cfg(test)]
mod tests;

use rodeo_domain::{Command, FieldError};

use json::Obj;

pub use alerts::{
    alertmanager_key, pagerduty_key, parse_alertmanager, parse_pagerduty, AlertingConfig,
};
pub use github::parse_github;
pub use gitlab::parse_gitlab;
pub use mapping::{Mapping, MappingConfig, MappingError, MonorepoConfig};
pub use signature::{
    verify_bearer, verify_github, verify_gitlab, verify_pagerduty, SignatureError,
};

/// Longest deployment version accepted from a webhook (a tag, a ref, or a payload
/// value): the same limit as the API's, so a webhook cannot store what the API refuses.
pub const MAX_VERSION_LEN: usize = 128;
/// Longest pull request title accepted.
pub const MAX_TITLE_LEN: usize = 1024;
/// Longest repository path accepted (GitLab nests groups, so this is generous).
pub const MAX_REPOSITORY_LEN: usize = 512;

/// What a webhook delivery means to rodeo.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// Changes to apply in one write; `actor` (the sender's login or username) is
    /// recorded as the events' actor.
    Commands {
        actor: String,
        commands: Vec<Command>,
    },
    /// GitHub's check that the hook is set up; answer 200 and do nothing.
    Ping,
    /// A valid delivery that means nothing to rodeo (an event type or action it does
    /// not use, a branch deletion, a superseded deployment). Answer 202 and log `reason`.
    Ignored { reason: String },
}

/// Reads one event type's payload.
type Handler = fn(&Obj<'_>, &Mapping) -> Result<Parsed, FieldError>;

impl Parsed {
    fn ignored(reason: impl Into<String>) -> Self {
        Self::Ignored {
            reason: reason.into(),
        }
    }
}

/// Why a payload could not be read; the handler answers 400 with
/// [`WebhookError::field_error`] in the problem details.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("the body is not valid JSON")]
    Json(#[source] serde_json::Error),
    #[error("invalid payload: {0}")]
    Invalid(#[from] FieldError),
}

impl WebhookError {
    /// The problem as one field error (`body` for unreadable JSON).
    pub fn field_error(&self) -> FieldError {
        match self {
            Self::Json(e) => FieldError::new("body", format!("is not valid JSON ({e})")),
            Self::Invalid(e) => e.clone(),
        }
    }
}
