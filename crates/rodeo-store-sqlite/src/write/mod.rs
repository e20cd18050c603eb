//! Applying one `execute` call on the writer's connection, inside the savepoint the
//! writer opened for it: delivery and idempotency checks, each command with the events
//! it implies, and the idempotency record. Nothing here commits; the writer does, once
//! per batch.

use rodeo_domain::{to_micros, Command, Event, NewEvent, Outcome, WriteContext};
use rodeo_store::{StoreError, Written};
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::Result;

mod catalog;
mod commits;
mod deployments;
mod flags;
mod incidents;
pub(crate) mod packs;
mod projections;
mod pull_requests;

/// The state of one call while it is applied.
pub(crate) struct Call<'a> {
    conn: &'a Connection,
    ctx: &'a WriteContext,
    /// Events appended so far, published only after the batch commits.
    events: Vec<Event>,
}

/// Applies `commands` for `ctx`; returns what to answer and the events to publish.
pub(crate) fn apply(
    conn: &Connection,
    ctx: &WriteContext,
    commands: &[Command],
) -> Result<(Written, Vec<Event>)> {
    let at = to_micros(ctx.at);
    if let Some(d) = &ctx.delivery {
        let inserted = conn
            .prepare_cached(
                "INSERT INTO deliveries (source, id, received_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO NOTHING",
            )?
            .execute(params![d.source.as_str(), d.id, at])?;
        if inserted == 0 {
            return Ok((Written::DuplicateDelivery, Vec::new()));
        }
    }
    if let Some(k) = &ctx.idempotency {
        let stored: Option<(String, String)> = conn
            .prepare_cached("SELECT fingerprint, outcomes FROM idempotency_keys WHERE key = ?1")?
            .query_row([&k.key], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((fingerprint, outcomes)) = stored {
            if fingerprint != k.fingerprint {
                return Err(StoreError::IdempotencyMismatch.into());
            }
            return Ok((
                Written::Replayed(serde_json::from_str(&outcomes)?),
                Vec::new(),
            ));
        }
    }
    let mut call = Call {
        conn,
        ctx,
        events: Vec::new(),
    };
    let mut outcomes = Vec::with_capacity(commands.len());
    for command in commands {
        outcomes.push(call.command(command)?);
    }
    if let Some(k) = &ctx.idempotency {
        conn.prepare_cached(
            "INSERT INTO idempotency_keys (key, fingerprint, outcomes, created_at)
             VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            k.key,
            k.fingerprint,
            serde_json::to_string(&outcomes)?,
            at
        ])?;
    }
    Ok((Written::Applied(outcomes), call.events))
}

impl Call<'_> {
    /// Commands are borrowed: the writer may apply a call twice (see `writer`).
    fn command(&mut self, command: &Command) -> Result<Outcome> {
        match command {
            Command::RecordCommits { commits } => {
                let r = self.record_commits(commits)?;
                Ok(Outcome::Commits {
                    recorded: r.recorded,
                    already_known: r.already_known,
                })
            }
            Command::RecordDeployment(nd) => self.record_deployment(nd).map(Outcome::Deployment),
            Command::FinishDeployment(f) => {
                self.finish_deployment(f.clone()).map(Outcome::Deployment)
            }
            Command::UpsertPullRequest(pr) => self.upsert_pull_request(pr.clone()),
            Command::CreateTeam { name, display_name } => {
                self.create_team(name.clone(), display_name.clone())
            }
            Command::UpdateTeam { name, display_name } => {
                self.update_team(name.clone(), display_name.clone())
            }
            Command::DeleteTeam { name } => self.delete_team(name.clone()),
            Command::CreateService {
                name,
                team,
                repository,
            } => self.create_service(name.clone(), team.clone(), repository.clone()),
            Command::UpdateService {
                name,
                team,
                repository,
            } => self.update_service(name.clone(), team.clone(), repository.clone()),
            Command::DeleteService { name } => self.delete_service(name.clone()),
            Command::CreateEnvironment {
                name,
                production,
                order,
            } => self.create_environment(name.clone(), *production, *order),
            Command::UpdateEnvironment {
                name,
                production,
                order,
            } => self.update_environment(name.clone(), *production, *order),
            Command::DeleteEnvironment { name } => self.delete_environment(name.clone()),
            Command::CreateToken {
                name,
                scope,
                hash,
                prefix,
                environment,
            } => self.create_token(
                name.clone(),
                *scope,
                hash.clone(),
                prefix.clone(),
                environment.clone(),
            ),
            Command::RevokeToken { id } => self.revoke_token(id.clone()),
            Command::OpenIncident(n) => self.open_incident(n),
            Command::RaiseIncident(n) => self.raise_incident(n),
            Command::UpdateIncident { incident, change } => {
                self.update_incident(incident, change.clone())
            }
            Command::ChangeFlags {
                environment,
                change,
            } => self.change_flags(environment, change),
            Command::RecordEvaluations { counts } => self.record_evaluations(counts),
        }
    }

    /// Stores an event stamped with this call's actor, source and time.
    fn append(&mut self, e: NewEvent) -> Result<()> {
        let at = e.at.unwrap_or(self.ctx.at);
        let payload = e.payload.to_string();
        self.conn
            .prepare_cached(
                "INSERT INTO events (at, recorded_at, kind, actor, source, service, environment,
                                     subject, payload)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                to_micros(at),
                to_micros(self.ctx.at),
                e.kind,
                self.ctx.actor,
                self.ctx.source.as_str(),
                e.service.as_ref().map(|s| s.as_str()),
                e.environment.as_ref().map(|s| s.as_str()),
                e.subject,
                payload,
            ])?;
        self.events.push(Event {
            id: self.conn.last_insert_rowid(),
            at,
            recorded_at: self.ctx.at,
            kind: e.kind.to_owned(),
            actor: self.ctx.actor.clone(),
            source: self.ctx.source,
            service: e.service,
            environment: e.environment,
            subject: e.subject,
            payload: e.payload,
        });
        Ok(())
    }
}
