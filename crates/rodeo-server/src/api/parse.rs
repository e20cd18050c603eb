//! Request bodies as clients send them, and their conversion into domain values. Every
//! problem is collected with the path of its field, so a client learns all of them from
//! one 422.

use rodeo_domain::{
    parse_timestamp, Commit, DeploymentKind, DeploymentStatus, EnvironmentName, FieldError,
    FieldErrors, NewDeployment, ServiceName, Sha, Timestamp, MAX_AUTHOR_LEN, MAX_FUTURE_SKEW,
    MAX_MESSAGE_LEN, MAX_URL_LEN,
};
use serde::Deserialize;
use utoipa::ToSchema;

pub(crate) const MAX_VERSION_LEN: usize = 128;
pub(crate) const MAX_EXTERNAL_ID_LEN: usize = 256;
pub(crate) const MAX_COMMITS_PER_REQUEST: usize = 10_000;

/// `POST /api/v1/deployments`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeploymentRequest {
    /// Service name: 1-63 of a-z 0-9 - _ . starting with a letter or digit.
    pub(crate) service: String,
    pub(crate) environment: String,
    /// Up to 128 characters, no whitespace or control characters.
    pub(crate) version: String,
    /// Full 40 (or 64) hex digit commit sha.
    pub(crate) commit_sha: String,
    /// `in_progress`, `succeeded` (default), `failed` or `rolled_back`.
    pub(crate) status: Option<String>,
    /// `normal` (default), `hotfix` or `rollback`.
    pub(crate) kind: Option<String>,
    /// RFC 3339; defaults to `finished_at`, or now.
    pub(crate) started_at: Option<String>,
    /// RFC 3339; defaults to now for a finished deployment; absent while in progress.
    pub(crate) finished_at: Option<String>,
    /// The sender's id for this deployment, unique within rodeo (`github:deployment:123`).
    pub(crate) external_id: Option<String>,
    pub(crate) url: Option<String>,
    #[serde(default)]
    pub(crate) commits: Vec<CommitRequest>,
}

/// A commit as sent with a deployment or to `POST /api/v1/commits`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CommitRequest {
    pub(crate) sha: String,
    #[serde(default)]
    pub(crate) parents: Vec<String>,
    pub(crate) author: String,
    pub(crate) author_email: Option<String>,
    pub(crate) authored_at: String,
    /// Defaults to `authored_at`.
    pub(crate) committed_at: Option<String>,
    #[serde(default)]
    pub(crate) message: String,
    pub(crate) repository: Option<String>,
}

/// `POST /api/v1/deployments/{id}/finish`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FinishRequest {
    /// `succeeded` or `failed`.
    pub(crate) status: String,
    /// RFC 3339; defaults to now.
    pub(crate) finished_at: Option<String>,
}

/// Rejects times further in the future than clock skew explains.
pub(crate) fn not_future(
    field: &str,
    t: Timestamp,
    now: Timestamp,
) -> Result<Timestamp, FieldError> {
    if t > now + MAX_FUTURE_SKEW {
        Err(FieldError::new(
            field,
            "must not be more than 24 hours in the future",
        ))
    } else {
        Ok(t)
    }
}

fn time(
    errors: &mut FieldErrors,
    field: &str,
    s: Option<&str>,
    now: Timestamp,
) -> Option<Timestamp> {
    let s = s?;
    errors.take(parse_timestamp(field, s).and_then(|t| not_future(field, t, now)))
}

/// Printable text without control characters, at most `max` characters.
pub(crate) fn text(
    field: &str,
    s: &str,
    max: usize,
    allow_newlines: bool,
) -> Result<String, FieldError> {
    if s.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if s.chars()
        .any(|c| c.is_control() && !(allow_newlines && matches!(c, '\n' | '\r' | '\t')))
    {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(s.to_owned())
}

pub(crate) fn version(field: &str, s: &str) -> Result<String, FieldError> {
    if s.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if s.chars().any(char::is_whitespace) {
        return Err(FieldError::new(field, "must not contain whitespace"));
    }
    text(field, s, MAX_VERSION_LEN, false)
}

pub(crate) fn url(field: &str, s: &str) -> Result<String, FieldError> {
    let s = text(field, s, MAX_URL_LEN, false)?;
    if s.starts_with("https://") || s.starts_with("http://") {
        Ok(s)
    } else {
        Err(FieldError::new(field, "must be an http:// or https:// URL"))
    }
}

pub(crate) fn status(field: &str, s: &str) -> Result<DeploymentStatus, FieldError> {
    DeploymentStatus::parse(s).ok_or_else(|| {
        FieldError::new(
            field,
            "must be one of in_progress, succeeded, failed, rolled_back",
        )
    })
}

impl CommitRequest {
    pub(crate) fn parse(
        &self,
        field: &str,
        now: Timestamp,
        errors: &mut FieldErrors,
    ) -> Option<Commit> {
        let mut e = FieldErrors::new();
        let sha = e.take(Sha::parse_field(&format!("{field}.sha"), &self.sha));
        let parents: Vec<Option<Sha>> = self
            .parents
            .iter()
            .enumerate()
            .map(|(i, p)| e.take(Sha::parse_field(&format!("{field}.parents[{i}]"), p)))
            .collect();
        let author = e.take(text(
            &format!("{field}.author"),
            &self.author,
            MAX_AUTHOR_LEN,
            false,
        ));
        let email = self.author_email.as_deref().and_then(|m| {
            e.take(text(
                &format!("{field}.author_email"),
                m,
                MAX_AUTHOR_LEN,
                false,
            ))
        });
        let authored_at = time(
            &mut e,
            &format!("{field}.authored_at"),
            Some(&self.authored_at),
            now,
        );
        let committed_at = match &self.committed_at {
            Some(c) => time(&mut e, &format!("{field}.committed_at"), Some(c), now),
            None => authored_at,
        };
        let message = e.take(text(
            &format!("{field}.message"),
            &self.message,
            MAX_MESSAGE_LEN,
            true,
        ));
        let repository = self
            .repository
            .as_deref()
            .and_then(|r| e.take(text(&format!("{field}.repository"), r, 200, false)));
        if !e.is_empty() {
            errors.0.extend(e.0);
            return None;
        }
        Some(Commit {
            sha: sha?,
            parents: parents.into_iter().collect::<Option<Vec<_>>>()?,
            author: author?,
            author_email: email,
            authored_at: authored_at?,
            committed_at: committed_at?,
            message: message?,
            repository,
            services: Vec::new(),
        })
    }
}

/// Parses a list of commits under `field` (`commits`).
pub(crate) fn commits(
    field: &str,
    raw: &[CommitRequest],
    now: Timestamp,
    errors: &mut FieldErrors,
) -> Vec<Commit> {
    if raw.len() > MAX_COMMITS_PER_REQUEST {
        errors.push(FieldError::new(
            field,
            format!("at most {MAX_COMMITS_PER_REQUEST} commits per request"),
        ));
        return Vec::new();
    }
    raw.iter()
        .enumerate()
        .filter_map(|(i, c)| c.parse(&format!("{field}[{i}]"), now, errors))
        .collect()
}

impl DeploymentRequest {
    pub(crate) fn parse(&self) -> Result<NewDeployment, FieldErrors> {
        let now = rodeo_domain::now();
        let mut e = FieldErrors::new();
        let service = e.take(ServiceName::parse(&self.service));
        let environment = e.take(EnvironmentName::parse(&self.environment));
        let version = e.take(version("version", &self.version));
        let commit_sha = e.take(Sha::parse(&self.commit_sha));
        let status = match &self.status {
            Some(s) => e.take(status("status", s)),
            None => Some(DeploymentStatus::Succeeded),
        };
        let kind =
            match &self.kind {
                Some(k) => e.take(DeploymentKind::parse(k).ok_or_else(|| {
                    FieldError::new("kind", "must be one of normal, hotfix, rollback")
                })),
                None => Some(DeploymentKind::Normal),
            };
        let started = time(&mut e, "started_at", self.started_at.as_deref(), now);
        let finished = time(&mut e, "finished_at", self.finished_at.as_deref(), now);
        let external_id = self
            .external_id
            .as_deref()
            .and_then(|x| e.take(text("external_id", x, MAX_EXTERNAL_ID_LEN, false)));
        let url = self.url.as_deref().and_then(|u| e.take(url("url", u)));
        let commits = commits("commits", &self.commits, now, &mut e);

        let finished_at = match status {
            Some(DeploymentStatus::InProgress) => {
                if self.finished_at.is_some() {
                    e.push(FieldError::new(
                        "finished_at",
                        "must be absent while status is in_progress",
                    ));
                }
                None
            }
            _ => Some(finished.unwrap_or(now)),
        };
        let started_at = started.or(finished_at).unwrap_or(now);
        if let Some(f) = finished_at {
            if f < started_at {
                e.push(FieldError::new(
                    "finished_at",
                    "must not be before started_at",
                ));
            }
        }
        e.finish()?;
        match (service, environment, version, commit_sha, status, kind) {
            (
                Some(service),
                Some(environment),
                Some(version),
                Some(commit_sha),
                Some(status),
                Some(kind),
            ) => Ok(NewDeployment {
                service,
                environment,
                version,
                commit_sha,
                status,
                kind,
                started_at,
                finished_at,
                external_id,
                url,
                commits,
            }),
            _ => Err(FieldError::new("", "invalid deployment").into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(json: &str) -> DeploymentRequest {
        serde_json::from_str(json).unwrap()
    }

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn defaults_to_a_finished_successful_normal_deployment() {
        let d = req(&format!(r#"{{"service":"api","environment":"production","version":"1.4.2","commit_sha":"{SHA}"}}"#))
            .parse()
            .unwrap();
        assert_eq!(d.status, DeploymentStatus::Succeeded);
        assert_eq!(d.kind, DeploymentKind::Normal);
        assert_eq!(Some(d.started_at), d.finished_at);
    }

    #[test]
    fn collects_every_bad_field() {
        let e = req(r#"{"service":"Bad Name","environment":"prod","version":"1 2","commit_sha":"abc",
                       "status":"done","started_at":"2026-03-02T10:00:00Z","finished_at":"2026-03-02T09:00:00Z",
                       "commits":[{"sha":"x","author":"a","authored_at":"nope"}]}"#)
            .parse()
            .unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
        for f in [
            "service",
            "version",
            "commit_sha",
            "status",
            "commits[0].sha",
            "commits[0].authored_at",
        ] {
            assert!(fields.contains(&f), "{f} missing from {fields:?}");
        }
    }

    #[test]
    fn finished_before_started_and_far_future_are_rejected() {
        let e = req(&format!(
            r#"{{"service":"api","environment":"production","version":"1","commit_sha":"{SHA}",
                       "started_at":"2026-03-02T10:00:00Z","finished_at":"2026-03-02T09:00:00Z"}}"#
        ))
        .parse()
        .unwrap_err();
        assert_eq!(e.0[0].field, "finished_at");
        let e = req(&format!(
            r#"{{"service":"api","environment":"production","version":"1","commit_sha":"{SHA}",
                       "finished_at":"2999-01-01T00:00:00Z"}}"#
        ))
        .parse()
        .unwrap_err();
        assert!(e.0[0].message.contains("future"));
    }

    #[test]
    fn in_progress_has_no_finish_time() {
        let d = req(&format!(r#"{{"service":"api","environment":"staging","version":"1","commit_sha":"{SHA}","status":"in_progress"}}"#))
            .parse()
            .unwrap();
        assert_eq!(d.finished_at, None);
    }
}
