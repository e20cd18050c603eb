//! Teams, services, environments, tokens and pull requests.

use rodeo_domain::{
    to_micros, Environment, EnvironmentName, FieldError, Outcome, PullRequest, Scope, Service,
    ServiceName, Team, TeamName, TokenName,
};
use rodeo_store::logic::events;
use rodeo_store::StoreError;
use rusqlite::{params, OptionalExtension};

use super::Call;
use crate::error::Result;
use crate::queries;
use crate::rows::{self, pull_request_columns, token_columns};

fn conflict(msg: String) -> crate::error::Error {
    StoreError::Conflict(msg).into()
}

impl Call<'_> {
    pub(super) fn create_team(
        &mut self,
        name: TeamName,
        display_name: Option<String>,
    ) -> Result<Outcome> {
        if queries::team(self.conn, name.as_str())?.is_some() {
            return Err(conflict(format!("team '{name}' already exists")));
        }
        let team = Team {
            name,
            display_name,
            created_at: self.ctx.at,
        };
        self.conn
            .prepare_cached(
                "INSERT INTO teams (name, display_name, created_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![
                team.name.as_str(),
                team.display_name,
                to_micros(team.created_at)
            ])?;
        self.append(events::team("team.created", &team))?;
        Ok(Outcome::Team(team))
    }

    pub(super) fn update_team(
        &mut self,
        name: TeamName,
        display_name: Option<String>,
    ) -> Result<Outcome> {
        let mut team = queries::team(self.conn, name.as_str())?
            .ok_or_else(|| StoreError::not_found("team", name.as_str()))?;
        if display_name.is_some() {
            team.display_name = display_name;
        }
        self.conn
            .prepare_cached("UPDATE teams SET display_name = ?2 WHERE name = ?1")?
            .execute(params![team.name.as_str(), team.display_name])?;
        self.append(events::team("team.updated", &team))?;
        Ok(Outcome::Team(team))
    }

    pub(super) fn delete_team(&mut self, name: TeamName) -> Result<Outcome> {
        if queries::team(self.conn, name.as_str())?.is_none() {
            return Err(StoreError::not_found("team", name.as_str()).into());
        }
        let owned: Vec<String> = self
            .conn
            .prepare_cached("SELECT name FROM services WHERE team = ?1 ORDER BY name")?
            .query_map([name.as_str()], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if !owned.is_empty() {
            return Err(conflict(format!(
                "team {name} still owns services {}",
                owned.join(", ")
            )));
        }
        self.conn
            .prepare_cached("DELETE FROM teams WHERE name = ?1")?
            .execute([name.as_str()])?;
        self.append(events::team_deleted(name.as_str()))?;
        Ok(Outcome::Deleted)
    }

    fn check_team(&self, team: Option<&TeamName>) -> Result<()> {
        match team {
            Some(t) if queries::team(self.conn, t.as_str())?.is_none() => Err(StoreError::Invalid(
                FieldError::new("team", format!("unknown team '{t}'")).into(),
            )
            .into()),
            _ => Ok(()),
        }
    }

    pub(super) fn create_service(
        &mut self,
        name: ServiceName,
        team: Option<TeamName>,
        repository: Option<String>,
    ) -> Result<Outcome> {
        if queries::service(self.conn, name.as_str())?.is_some() {
            return Err(conflict(format!("service '{name}' already exists")));
        }
        self.check_team(team.as_ref())?;
        let service = Service {
            name,
            team,
            repository,
            created_at: self.ctx.at,
        };
        self.insert_service(&service)?;
        Ok(Outcome::Service(service))
    }

    /// Inserts a service and appends `service.created`.
    pub(super) fn insert_service(&mut self, s: &Service) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO services (name, team, repository, created_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                s.name.as_str(),
                s.team.as_ref().map(|t| t.as_str()),
                s.repository,
                to_micros(s.created_at)
            ])?;
        self.append(events::service("service.created", s))
    }

    pub(super) fn update_service(
        &mut self,
        name: ServiceName,
        team: Option<Option<TeamName>>,
        repository: Option<Option<String>>,
    ) -> Result<Outcome> {
        let mut service = queries::service(self.conn, name.as_str())?
            .ok_or_else(|| StoreError::not_found("service", name.as_str()))?;
        if let Some(team) = team {
            self.check_team(team.as_ref())?;
            service.team = team;
        }
        if let Some(repository) = repository {
            service.repository = repository;
        }
        self.conn
            .prepare_cached("UPDATE services SET team = ?2, repository = ?3 WHERE name = ?1")?
            .execute(params![
                service.name.as_str(),
                service.team.as_ref().map(|t| t.as_str()),
                service.repository
            ])?;
        self.append(events::service("service.updated", &service))?;
        Ok(Outcome::Service(service))
    }

    pub(super) fn delete_service(&mut self, name: ServiceName) -> Result<Outcome> {
        if queries::service(self.conn, name.as_str())?.is_none() {
            return Err(StoreError::not_found("service", name.as_str()).into());
        }
        let deployed: bool = self
            .conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM deployments WHERE service = ?1)")?
            .query_row([name.as_str()], |r| r.get(0))?;
        if deployed {
            return Err(conflict(format!(
                "service {name} has deployments; the ledger keeps them, so it cannot be deleted"
            )));
        }
        self.conn
            .prepare_cached("DELETE FROM services WHERE name = ?1")?
            .execute([name.as_str()])?;
        self.append(events::service_deleted(&name))?;
        Ok(Outcome::Deleted)
    }

    pub(super) fn create_environment(
        &mut self,
        name: EnvironmentName,
        production: bool,
        order: i32,
    ) -> Result<Outcome> {
        if queries::environment(self.conn, name.as_str())?.is_some() {
            return Err(conflict(format!("environment '{name}' already exists")));
        }
        let env = Environment {
            name,
            production,
            order,
            created_at: self.ctx.at,
        };
        self.insert_environment(&env)?;
        Ok(Outcome::Environment(env))
    }

    /// Inserts an environment, appends `environment.created` and refreshes drift.
    pub(super) fn insert_environment(&mut self, e: &Environment) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO environments (name, production, sort_order, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                e.name.as_str(),
                e.production,
                e.order,
                to_micros(e.created_at)
            ])?;
        self.append(events::environment("environment.created", e))?;
        self.refresh_all_drift()
    }

    pub(super) fn update_environment(
        &mut self,
        name: EnvironmentName,
        production: Option<bool>,
        order: Option<i32>,
    ) -> Result<Outcome> {
        let mut env = queries::environment(self.conn, name.as_str())?
            .ok_or_else(|| StoreError::not_found("environment", name.as_str()))?;
        let reordered = order.is_some_and(|o| o != env.order);
        let flipped = production.is_some_and(|p| p != env.production);
        env.production = production.unwrap_or(env.production);
        env.order = order.unwrap_or(env.order);
        self.conn
            .prepare_cached(
                "UPDATE environments SET production = ?2, sort_order = ?3 WHERE name = ?1",
            )?
            .execute(params![env.name.as_str(), env.production, env.order])?;
        self.append(events::environment("environment.updated", &env))?;
        if reordered {
            self.refresh_all_drift()?;
        }
        if flipped {
            self.rebuild_first_shipments()?;
        }
        Ok(Outcome::Environment(env))
    }

    pub(super) fn delete_environment(&mut self, name: EnvironmentName) -> Result<Outcome> {
        if queries::environment(self.conn, name.as_str())?.is_none() {
            return Err(StoreError::not_found("environment", name.as_str()).into());
        }
        let deployed: bool = self
            .conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM deployments WHERE environment = ?1)")?
            .query_row([name.as_str()], |r| r.get(0))?;
        if deployed {
            return Err(conflict(format!(
                "environment {name} has deployments; the ledger keeps them, so it cannot be deleted"
            )));
        }
        self.conn
            .prepare_cached("DELETE FROM environments WHERE name = ?1")?
            .execute([name.as_str()])?;
        self.append(events::environment_deleted(&name))?;
        self.refresh_all_drift()?;
        Ok(Outcome::Deleted)
    }

    pub(super) fn create_token(
        &mut self,
        name: TokenName,
        scope: Scope,
        hash: String,
        prefix: String,
        environment: Option<EnvironmentName>,
    ) -> Result<Outcome> {
        if scope.is_sdk() != environment.is_some() {
            return Err(
                StoreError::Invalid(rodeo_domain::FieldErrors(vec![FieldError::new(
                    "environment",
                    "SDK keys name one environment; API tokens name none",
                )]))
                .into(),
            );
        }
        if let Some(env) = &environment {
            self.ensure_environment(env)?;
        }
        let active: bool = self
            .conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM tokens WHERE name = ?1 AND revoked_at IS NULL)",
            )?
            .query_row([name.as_str()], |r| r.get(0))?;
        if active {
            return Err(conflict(format!(
                "an active token named '{name}' already exists"
            )));
        }
        self.conn
            .prepare_cached(
                "INSERT INTO tokens (name, scope, prefix, hash, created_at, environment)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                name.as_str(),
                scope.as_str(),
                prefix,
                hash,
                to_micros(self.ctx.at),
                environment.as_ref().map(EnvironmentName::as_str)
            ])?;
        let token = rodeo_domain::Token {
            id: self.conn.last_insert_rowid().to_string(),
            name,
            scope,
            prefix,
            created_at: self.ctx.at,
            revoked_at: None,
            environment,
            hash,
        };
        self.append(events::token("token.created", &token))?;
        Ok(Outcome::Token(token))
    }

    pub(super) fn revoke_token(&mut self, id: String) -> Result<Outcome> {
        let sql = concat!("SELECT ", token_columns!(), " FROM tokens WHERE id = ?1");
        let Ok(row_id) = id.parse::<i64>() else {
            return Err(StoreError::not_found("token", id).into());
        };
        let mut token = self
            .conn
            .prepare_cached(sql)?
            .query_row([row_id], rows::token)
            .optional()?
            .ok_or_else(|| StoreError::not_found("token", id))?;
        if token.revoked_at.is_some() {
            return Ok(Outcome::Token(token));
        }
        token.revoked_at = Some(self.ctx.at);
        self.conn
            .prepare_cached("UPDATE tokens SET revoked_at = ?2 WHERE id = ?1")?
            .execute(params![row_id, to_micros(self.ctx.at)])?;
        self.append(events::token("token.revoked", &token))?;
        Ok(Outcome::Token(token))
    }

    pub(super) fn upsert_pull_request(&mut self, pr: PullRequest) -> Result<Outcome> {
        let sql = concat!(
            "SELECT ",
            pull_request_columns!(),
            " FROM pull_requests WHERE repository = ?1 AND number = ?2"
        );
        let before = self
            .conn
            .prepare_cached(sql)?
            .query_row(params![pr.repository, pr.number], rows::pull_request)
            .optional()?;
        self.conn
            .prepare_cached(
                "INSERT INTO pull_requests (repository, number, title, author, state, created_at,
                                            merged_at, merge_commit_sha, head_sha, url)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (repository, number) DO UPDATE SET
                     title = excluded.title, author = excluded.author, state = excluded.state,
                     created_at = excluded.created_at, merged_at = excluded.merged_at,
                     merge_commit_sha = excluded.merge_commit_sha, head_sha = excluded.head_sha,
                     url = excluded.url",
            )?
            .execute(params![
                pr.repository,
                pr.number,
                pr.title,
                pr.author,
                pr.state.as_str(),
                to_micros(pr.created_at),
                pr.merged_at.map(to_micros),
                pr.merge_commit_sha.as_ref().map(|s| s.as_str()),
                pr.head_sha.as_ref().map(|s| s.as_str()),
                pr.url,
            ])?;
        if before.is_none_or(|b| b.state != pr.state) {
            self.append(events::pull_request(&pr))?;
        }
        self.attach_pull_request(&pr.repository, pr.number)?;
        Ok(Outcome::PullRequest(pr))
    }
}
