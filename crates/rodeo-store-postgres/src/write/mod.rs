//! [`Store::execute`](rodeo_store::Store::execute): one transaction per call holding the
//! commands, their ledger events, the idempotency record, the delivery record and the
//! projections they change.
//!
//! Order inside the transaction: the delivery and idempotency records first (they decide
//! whether anything else happens), then the advisory locks every command will need (all
//! taken up front, in one global order, so concurrent calls cannot deadlock on them),
//! then the commands, then the drift projection (its locks come last for the same
//! reason), then the events with one `pg_notify` each, which PostgreSQL delivers to
//! every replica's listener only when the transaction commits.

use std::collections::BTreeSet;

use rodeo_domain::{
    to_micros, Command, EnvironmentName, NewEvent, Outcome, ServiceName, WriteContext,
};
use rodeo_store::{StoreError, Written};
use sqlx::{PgPool, Postgres, Row, Transaction};

use crate::rows::DbResult;

mod catalog;
mod commits;
mod deploy;
mod drift;
mod flags;
mod incidents;
mod locks;
mod pull_requests;
mod shipped;
mod tokens;

pub(crate) use locks::EVENTS_CHANNEL;

/// The state of one `execute` call while its transaction is open.
pub(crate) struct Writer<'a> {
    tx: Transaction<'static, Postgres>,
    ctx: &'a WriteContext,
    events: Vec<NewEvent>,
    /// Service+environment pairs whose current deployment may have changed.
    touched: BTreeSet<(ServiceName, EnvironmentName)>,
    /// Environments were added, removed or re-ordered: every service's drift is stale.
    topology_changed: bool,
}

pub(crate) async fn execute(
    pool: &PgPool,
    ctx: WriteContext,
    commands: Vec<Command>,
) -> Result<Written, StoreError> {
    if pool.is_closed() {
        return Err(StoreError::Closed);
    }
    let mut tx = pool.begin().await.map_err(closed_or_db)?;

    if let Some(d) = &ctx.delivery {
        let fresh = sqlx::query(
            "INSERT INTO deliveries (source, id, received_at) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(d.source.as_str())
        .bind(&d.id)
        .bind(to_micros(ctx.at))
        .execute(&mut *tx)
        .await
        .db()?
        .rows_affected()
            == 1;
        if !fresh {
            return Ok(Written::DuplicateDelivery);
        }
    }

    if let Some(k) = &ctx.idempotency {
        // Claiming the key first makes a concurrent request with the same key wait for
        // this one to commit (or roll back) instead of applying the commands twice.
        let claimed = sqlx::query(
            "INSERT INTO idempotency_keys (key, fingerprint, outcomes, created_at)
             VALUES ($1, $2, NULL, $3) ON CONFLICT DO NOTHING",
        )
        .bind(&k.key)
        .bind(&k.fingerprint)
        .bind(to_micros(ctx.at))
        .execute(&mut *tx)
        .await
        .db()?
        .rows_affected()
            == 1;
        if !claimed {
            let row = sqlx::query(
                "SELECT fingerprint, outcomes::text AS outcomes FROM idempotency_keys WHERE key = $1",
            )
            .bind(&k.key)
            .fetch_one(&mut *tx)
            .await
            .db()?;
            if row.try_get::<String, _>("fingerprint").db()? != k.fingerprint {
                return Err(StoreError::IdempotencyMismatch);
            }
            let stored: Option<String> = row.try_get("outcomes").db()?;
            let outcomes = serde_json::from_str(stored.as_deref().unwrap_or("null"))
                .map_err(StoreError::database)?;
            return Ok(Written::Replayed(outcomes));
        }
    }

    let mut w = Writer {
        tx,
        ctx: &ctx,
        events: Vec::new(),
        touched: BTreeSet::new(),
        topology_changed: false,
    };
    w.lock_for(&commands).await?;
    let mut outcomes = Vec::with_capacity(commands.len());
    for command in commands {
        outcomes.push(w.apply(command).await?);
    }
    w.refresh_drift().await?;
    w.append_events().await?;
    let mut tx = w.tx;

    if let Some(k) = &ctx.idempotency {
        let json = serde_json::to_string(&outcomes).map_err(StoreError::database)?;
        sqlx::query("UPDATE idempotency_keys SET outcomes = $2::jsonb WHERE key = $1")
            .bind(&k.key)
            .bind(json)
            .execute(&mut *tx)
            .await
            .db()?;
    }
    tx.commit().await.db()?;
    Ok(Written::Applied(outcomes))
}

fn closed_or_db(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::PoolClosed => StoreError::Closed,
        e => StoreError::database(e),
    }
}

impl Writer<'_> {
    async fn apply(&mut self, command: Command) -> Result<Outcome, StoreError> {
        Ok(match command {
            Command::CreateTeam { name, display_name } => {
                Outcome::Team(self.create_team(name, display_name).await?)
            }
            Command::UpdateTeam { name, display_name } => {
                Outcome::Team(self.update_team(name, display_name).await?)
            }
            Command::DeleteTeam { name } => {
                self.delete_team(name).await?;
                Outcome::Deleted
            }
            Command::CreateService {
                name,
                team,
                repository,
            } => Outcome::Service(self.create_service(name, team, repository).await?),
            Command::UpdateService {
                name,
                team,
                repository,
            } => Outcome::Service(self.update_service(name, team, repository).await?),
            Command::DeleteService { name } => {
                self.delete_service(name).await?;
                Outcome::Deleted
            }
            Command::CreateEnvironment {
                name,
                production,
                order,
            } => Outcome::Environment(self.create_environment(name, production, order).await?),
            Command::UpdateEnvironment {
                name,
                production,
                order,
            } => Outcome::Environment(self.update_environment(name, production, order).await?),
            Command::DeleteEnvironment { name } => {
                self.delete_environment(name).await?;
                Outcome::Deleted
            }
            Command::CreateToken {
                name,
                scope,
                hash,
                prefix,
                environment,
            } => Outcome::Token(
                self.create_token(name, scope, hash, prefix, environment)
                    .await?,
            ),
            Command::RevokeToken { id } => Outcome::Token(self.revoke_token(&id).await?),
            Command::RecordCommits { commits } => {
                let (recorded, already_known) = self.record_commits(&commits).await?;
                Outcome::Commits {
                    recorded,
                    already_known,
                }
            }
            Command::UpsertPullRequest(pr) => {
                Outcome::PullRequest(self.upsert_pull_request(pr).await?)
            }
            Command::RecordDeployment(d) => Outcome::Deployment(self.record_deployment(d).await?),
            Command::FinishDeployment(f) => Outcome::Deployment(self.finish_deployment(f).await?),
            Command::OpenIncident(n) => Outcome::Incident(Box::new(self.open_incident(n).await?)),
            Command::RaiseIncident(n) => Outcome::Incident(Box::new(self.raise_incident(n).await?)),
            Command::UpdateIncident { incident, change } => {
                Outcome::Incident(Box::new(self.update_incident(&incident, change).await?))
            }
            Command::ChangeFlags {
                environment,
                change,
            } => Outcome::Flags(self.change_flags(&environment, &change).await?),
            Command::RecordEvaluations { counts } => Outcome::Evaluations {
                recorded: self.record_evaluations(&counts).await?,
            },
        })
    }

    /// Stores the call's events, stamped with the context, and queues one notification
    /// per event for the listeners of every replica.
    async fn append_events(&mut self) -> Result<(), StoreError> {
        if self.events.is_empty() {
            return Ok(());
        }
        let n = self.events.len();
        let (mut at, mut kind, mut service, mut environment, mut subject, mut payload) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for e in self.events.drain(..) {
            at.push(to_micros(e.at.unwrap_or(self.ctx.at)));
            kind.push(e.kind);
            service.push(e.service.map(ServiceName::into_string));
            environment.push(e.environment.map(EnvironmentName::into_string));
            subject.push(e.subject);
            payload.push(e.payload.to_string());
        }
        sqlx::query(
            "WITH ins AS (
                INSERT INTO events
                    (at, recorded_at, kind, actor, source, service, environment, subject, payload)
                SELECT t.at, $7, t.kind, $8, $9, t.service, t.environment, t.subject, t.payload::jsonb
                FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
                    WITH ORDINALITY AS t(at, kind, service, environment, subject, payload, ord)
                ORDER BY t.ord
                RETURNING id
             )
             SELECT pg_notify($10, id::text) FROM ins",
        )
        .bind(at)
        .bind(kind)
        .bind(service)
        .bind(environment)
        .bind(subject)
        .bind(payload)
        .bind(to_micros(self.ctx.at))
        .bind(&self.ctx.actor)
        .bind(self.ctx.source.as_str())
        .bind(EVENTS_CHANNEL)
        .fetch_all(&mut *self.tx)
        .await
        .db()?;
        Ok(())
    }
}
