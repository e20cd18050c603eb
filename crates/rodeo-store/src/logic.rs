//! Decisions both backends make the same way, kept pure so they are written and tested
//! once: which events a write appends, when a deployment is a rollback, commit
//! generations, and which environment each environment is compared with.

use rodeo_domain::{
    Commit, Deployment, DeploymentKind, Drift, DriftState, Environment, EnvironmentName, NewEvent,
    PullRequest, PullRequestState, Service, Sha, Team, Token,
};
use serde_json::{json, Value};

/// The generation of a commit from its parents' (`None` for a parent rodeo has not seen).
pub fn generation(parents: impl IntoIterator<Item = Option<i64>>) -> i64 {
    1 + parents
        .into_iter()
        .map(|g| g.unwrap_or(0))
        .max()
        .unwrap_or(0)
}

/// What classification needs of the current deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Current<'a> {
    pub id: i64,
    pub commit_sha: &'a Sha,
}

impl<'a> From<&'a Deployment> for Current<'a> {
    fn from(d: &'a Deployment) -> Self {
        Self {
            id: d.id,
            commit_sha: &d.commit_sha,
        }
    }
}

/// How a deployment that just succeeded is classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classified {
    pub kind: DeploymentKind,
    /// The deployment it replaces and marks `rolled_back`.
    pub rollback_of: Option<i64>,
}

/// A successful deployment is a rollback when the client says so, or when it puts back a
/// sha or version this service+environment ran before `current` (the deployment it
/// replaces), with a different sha than `current`. `ran_before_current` is whether such an
/// earlier successful deployment exists.
pub fn classify(
    requested: DeploymentKind,
    new_sha: &Sha,
    current: Option<Current<'_>>,
    ran_before_current: bool,
) -> Classified {
    let Some(current) =
        current.filter(|c| c.commit_sha != new_sha || requested == DeploymentKind::Rollback)
    else {
        return Classified {
            kind: requested,
            rollback_of: None,
        };
    };
    if requested == DeploymentKind::Rollback || ran_before_current {
        Classified {
            kind: DeploymentKind::Rollback,
            rollback_of: Some(current.id),
        }
    } else {
        Classified {
            kind: requested,
            rollback_of: None,
        }
    }
}

/// For each environment, the one it is compared with in the status matrix: the nearest
/// environment with a smaller `order` (the first by name among equals). Environments
/// sharing the lowest order have none. `envs` must be sorted by order, then name.
pub fn predecessors(envs: &[Environment]) -> Vec<(EnvironmentName, Option<EnvironmentName>)> {
    envs.iter()
        .map(|e| {
            let lower = envs.iter().filter(|o| o.order < e.order);
            let best = lower.clone().map(|o| o.order).max();
            let pred =
                best.and_then(|b| lower.filter(|o| o.order == b).map(|o| o.name.clone()).min());
            (e.name.clone(), pred)
        })
        .collect()
}

/// The drift of an environment against its predecessor, from the two deployed shas and
/// the count of commits the predecessor has that this one lacks (when computed).
pub fn drift(
    compared_to: EnvironmentName,
    both_deployed: bool,
    undeployed: Option<(u32, bool)>,
) -> Drift {
    match (both_deployed, undeployed) {
        (true, Some((0, true))) => Drift {
            compared_to,
            state: DriftState::InSync,
            undeployed_commits: Some(0),
            complete: true,
        },
        (true, Some((n, complete))) if n > 0 => Drift {
            compared_to,
            state: DriftState::UndeployedChanges,
            undeployed_commits: Some(n),
            complete,
        },
        _ => Drift {
            compared_to,
            state: DriftState::Unknown,
            undeployed_commits: None,
            complete: false,
        },
    }
}

/// The timeline text when an alert group attaches to an incident that is already open.
pub fn alert_text(n: &rodeo_domain::NewIncident) -> String {
    match &n.summary {
        Some(s) if !s.trim().is_empty() => format!("{}: {s}", n.title),
        _ => n.title.clone(),
    }
}

/// Ledger events, one constructor per kind, so both backends write identical payloads.
pub mod events {
    use super::*;

    fn ev(
        kind: &'static str,
        service: Option<&Service>,
        subject: Option<String>,
        payload: Value,
    ) -> NewEvent {
        NewEvent {
            kind,
            at: None,
            service: service.map(|s| s.name.clone()),
            environment: None,
            subject,
            payload,
        }
    }

    pub fn team(kind: &'static str, team: &Team) -> NewEvent {
        ev(kind, None, Some(format!("team:{}", team.name)), json!(team))
    }

    pub fn team_deleted(name: &str) -> NewEvent {
        ev(
            "team.deleted",
            None,
            Some(format!("team:{name}")),
            json!({ "name": name }),
        )
    }

    pub fn service(kind: &'static str, service: &Service) -> NewEvent {
        ev(
            kind,
            Some(service),
            Some(format!("service:{}", service.name)),
            json!(service),
        )
    }

    pub fn service_deleted(name: &rodeo_domain::ServiceName) -> NewEvent {
        NewEvent {
            kind: "service.deleted",
            at: None,
            service: Some(name.clone()),
            environment: None,
            subject: Some(format!("service:{name}")),
            payload: json!({ "name": name }),
        }
    }

    pub fn environment(kind: &'static str, env: &Environment) -> NewEvent {
        NewEvent {
            kind,
            at: None,
            service: None,
            environment: Some(env.name.clone()),
            subject: Some(format!("environment:{}", env.name)),
            payload: json!(env),
        }
    }

    pub fn environment_deleted(name: &EnvironmentName) -> NewEvent {
        NewEvent {
            kind: "environment.deleted",
            at: None,
            service: None,
            environment: Some(name.clone()),
            subject: Some(format!("environment:{name}")),
            payload: json!({ "name": name }),
        }
    }

    pub fn token(kind: &'static str, token: &Token) -> NewEvent {
        ev(
            kind,
            None,
            Some(format!("token:{}", token.id)),
            json!({ "id": token.id, "name": token.name, "scope": token.scope, "prefix": token.prefix }),
        )
    }

    /// An incident change: filed under the incident's first affected service and
    /// environment, with the incident's id and title in every payload.
    pub fn incident(i: &rodeo_domain::Incident, e: rodeo_domain::IncidentEvent) -> NewEvent {
        let mut payload = e.payload;
        if let Value::Object(m) = &mut payload {
            m.insert("incident".into(), json!(i.id.to_string()));
            m.entry("title").or_insert_with(|| json!(i.title));
        }
        NewEvent {
            kind: e.kind,
            at: e.at,
            service: i.primary_service().cloned(),
            environment: i.environments.first().cloned(),
            subject: Some(format!("incident:{}", i.id)),
            payload,
        }
    }

    /// At most 100 shas are listed in the payload; `count` has the total.
    pub fn commits(commits: &[Commit], recorded: u32, already_known: u32) -> NewEvent {
        let shas: Vec<&str> = commits.iter().take(100).map(|c| c.sha.as_str()).collect();
        let repository = commits.iter().find_map(|c| c.repository.clone());
        let mut e = ev(
            "commits.recorded",
            None,
            None,
            json!({ "count": commits.len(), "recorded": recorded, "already_known": already_known,
                    "repository": repository, "shas": shas }),
        );
        e.at = commits.iter().map(|c| c.committed_at).max();
        e
    }

    pub fn pull_request(pr: &PullRequest) -> NewEvent {
        let kind = match pr.state {
            PullRequestState::Open => "pull_request.opened",
            PullRequestState::Merged => "pull_request.merged",
            PullRequestState::Closed => "pull_request.closed",
        };
        let mut e = ev(
            kind,
            None,
            Some(format!("pull_request:{}#{}", pr.repository, pr.number)),
            json!(pr),
        );
        e.at = Some(pr.merged_at.unwrap_or(pr.created_at));
        e
    }

    /// `deployment.started` for an in-progress deployment, `deployment.finished` otherwise.
    /// `flag.created`, `flag.updated` or `flag.deleted`: one per changed flag, with the
    /// flag before and after, so the ledger can show (and undo) any flag change.
    pub fn flag(
        environment: &EnvironmentName,
        diff: &rodeo_domain::FlagDiff,
        change: &rodeo_domain::FlagChange,
        version: i64,
    ) -> NewEvent {
        let kind = match diff.action {
            rodeo_domain::FlagAction::Created => "flag.created",
            rodeo_domain::FlagAction::Updated => "flag.updated",
            rodeo_domain::FlagAction::Deleted => "flag.deleted",
        };
        NewEvent {
            kind,
            at: None,
            service: None,
            environment: Some(environment.clone()),
            subject: Some(format!("flag:{environment}/{}", diff.key)),
            payload: json!({
                "environment": environment,
                "key": diff.key,
                "change": change.action(),
                "version": version,
                "before": diff.before,
                "after": diff.after,
            }),
        }
    }

    /// `flags.set_updated`: the set's shared `$evaluators` or `metadata` changed.
    pub fn flag_set(
        environment: &EnvironmentName,
        before: &Value,
        after: &Value,
        version: i64,
    ) -> NewEvent {
        let parts = |doc: &Value| json!({"$evaluators": doc.get("$evaluators"), "metadata": doc.get("metadata")});
        NewEvent {
            kind: "flags.set_updated",
            at: None,
            service: None,
            environment: Some(environment.clone()),
            subject: Some(format!("flags:{environment}")),
            payload: json!({
                "environment": environment,
                "version": version,
                "before": parts(before),
                "after": parts(after),
            }),
        }
    }

    pub fn deployment(d: &Deployment) -> NewEvent {
        let kind = if d.status.is_finished() {
            "deployment.finished"
        } else {
            "deployment.started"
        };
        deployment_kind(kind, d)
    }

    /// `deployment.rolled_back`, about the deployment that was replaced.
    pub fn rolled_back(replaced: &Deployment, by: i64) -> NewEvent {
        let mut e = deployment_kind("deployment.rolled_back", replaced);
        if let Value::Object(m) = &mut e.payload {
            m.insert("rolled_back_by".into(), json!(by.to_string()));
        }
        e
    }

    fn deployment_kind(kind: &'static str, d: &Deployment) -> NewEvent {
        NewEvent {
            kind,
            at: Some(d.finished_at.unwrap_or(d.started_at)),
            service: Some(d.service.clone()),
            environment: Some(d.environment.clone()),
            subject: Some(format!("deployment:{}", d.id)),
            payload: json!(d),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use rodeo_domain::{DeploymentStatus, ServiceName, Source};

    use super::*;

    fn sha(c: char) -> Sha {
        Sha::parse(&c.to_string().repeat(40)).unwrap()
    }

    fn deployed(id: i64, s: Sha) -> Deployment {
        let t = Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap();
        Deployment {
            id,
            service: ServiceName::parse("api").unwrap(),
            environment: EnvironmentName::parse("production").unwrap(),
            version: "1".into(),
            commit_sha: s,
            status: DeploymentStatus::Succeeded,
            kind: DeploymentKind::Normal,
            started_at: t,
            finished_at: Some(t),
            external_id: None,
            url: None,
            created_by: "ci".into(),
            source: Source::Api,
            rollback_of: None,
            previous_id: None,
            change_count: 0,
            changes_complete: true,
        }
    }

    #[test]
    fn generation_counts_unknown_parents_as_zero() {
        assert_eq!(generation([]), 1);
        assert_eq!(generation([None]), 1);
        assert_eq!(generation([Some(4), None, Some(7)]), 8);
    }

    #[test]
    fn redeploying_an_old_sha_over_a_newer_one_is_a_rollback() {
        let current = deployed(7, sha('b'));
        let c = classify(
            DeploymentKind::Normal,
            &sha('a'),
            Some((&current).into()),
            true,
        );
        assert_eq!(
            c,
            Classified {
                kind: DeploymentKind::Rollback,
                rollback_of: Some(7)
            }
        );
    }

    #[test]
    fn a_new_sha_or_a_redeploy_of_the_current_one_is_not() {
        let current = deployed(7, sha('b'));
        assert_eq!(
            classify(
                DeploymentKind::Normal,
                &sha('c'),
                Some((&current).into()),
                false
            )
            .kind,
            DeploymentKind::Normal
        );
        assert_eq!(
            classify(
                DeploymentKind::Normal,
                &sha('b'),
                Some((&current).into()),
                true
            )
            .kind,
            DeploymentKind::Normal
        );
        assert_eq!(
            classify(DeploymentKind::Hotfix, &sha('c'), None, false).kind,
            DeploymentKind::Hotfix
        );
    }

    #[test]
    fn an_explicit_rollback_names_what_it_replaced() {
        let current = deployed(9, sha('b'));
        let c = classify(
            DeploymentKind::Rollback,
            &sha('c'),
            Some((&current).into()),
            false,
        );
        assert_eq!(c.rollback_of, Some(9));
        assert_eq!(
            classify(DeploymentKind::Rollback, &sha('c'), None, false).rollback_of,
            None
        );
    }

    #[test]
    fn predecessors_follow_order_and_share_among_equals() {
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let env = |n: &str, order| Environment {
            name: EnvironmentName::parse(n).unwrap(),
            production: false,
            order,
            created_at: t,
        };
        let envs = [
            env("dev", 1),
            env("staging", 2),
            env("prod-eu", 3),
            env("prod-us", 3),
        ];
        let p: Vec<(String, Option<String>)> = predecessors(&envs)
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.map(|b| b.to_string())))
            .collect();
        assert_eq!(p[0], ("dev".into(), None));
        assert_eq!(p[1], ("staging".into(), Some("dev".into())));
        assert_eq!(p[2], ("prod-eu".into(), Some("staging".into())));
        assert_eq!(p[3], ("prod-us".into(), Some("staging".into())));
    }

    #[test]
    fn drift_is_unknown_without_both_sides() {
        let e = EnvironmentName::parse("staging").unwrap();
        assert_eq!(drift(e.clone(), false, None).state, DriftState::Unknown);
        assert_eq!(
            drift(e.clone(), true, Some((0, true))).state,
            DriftState::InSync
        );
        let d = drift(e, true, Some((3, false)));
        assert_eq!(
            (d.state, d.undeployed_commits, d.complete),
            (DriftState::UndeployedChanges, Some(3), false)
        );
    }
}
