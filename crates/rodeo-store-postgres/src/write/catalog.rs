//! Commands on the catalog: teams, services and environments.

use rodeo_domain::{
    to_micros, Environment, EnvironmentName, FieldError, Service, ServiceName, Team, TeamName,
};
use rodeo_store::logic::events;
use rodeo_store::StoreError;

use super::Writer;
use crate::rows::{self, DbResult, ENVIRONMENT_COLUMNS, SERVICE_COLUMNS};

fn invalid(field: &str, message: String) -> StoreError {
    StoreError::Invalid(FieldError::new(field, message).into())
}

impl Writer<'_> {
    pub(super) async fn create_team(
        &mut self,
        name: TeamName,
        display_name: Option<String>,
    ) -> Result<Team, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO teams (name, display_name, created_at) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(name.as_str())
        .bind(&display_name)
        .bind(to_micros(self.ctx.at))
        .execute(&mut *self.tx)
        .await
        .db()?
        .rows_affected();
        if inserted == 0 {
            return Err(StoreError::Conflict(format!(
                "team '{name}' already exists"
            )));
        }
        let team = Team {
            name,
            display_name,
            created_at: self.ctx.at,
        };
        self.events.push(events::team("team.created", &team));
        Ok(team)
    }

    pub(super) async fn update_team(
        &mut self,
        name: TeamName,
        display_name: Option<String>,
    ) -> Result<Team, StoreError> {
        let row = sqlx::query(
            "UPDATE teams SET display_name = COALESCE($2, display_name) WHERE name = $1
             RETURNING name, display_name, created_at",
        )
        .bind(name.as_str())
        .bind(display_name)
        .fetch_optional(&mut *self.tx)
        .await
        .db()?
        .ok_or_else(|| StoreError::not_found("team", name.as_str()))?;
        let team = rows::team(&row)?;
        self.events.push(events::team("team.updated", &team));
        Ok(team)
    }

    pub(super) async fn delete_team(&mut self, name: TeamName) -> Result<(), StoreError> {
        let found = sqlx::query("SELECT 1 FROM teams WHERE name = $1 FOR UPDATE")
            .bind(name.as_str())
            .fetch_optional(&mut *self.tx)
            .await
            .db()?;
        if found.is_none() {
            return Err(StoreError::not_found("team", name.as_str()));
        }
        let owned: Vec<String> =
            sqlx::query_scalar("SELECT name FROM services WHERE team = $1 ORDER BY name")
                .bind(name.as_str())
                .fetch_all(&mut *self.tx)
                .await
                .db()?;
        if !owned.is_empty() {
            return Err(StoreError::Conflict(format!(
                "team {name} still owns services {}",
                owned.join(", ")
            )));
        }
        sqlx::query("DELETE FROM teams WHERE name = $1")
            .bind(name.as_str())
            .execute(&mut *self.tx)
            .await
            .db()?;
        self.events.push(events::team_deleted(name.as_str()));
        Ok(())
    }

    async fn check_team(&mut self, team: Option<&TeamName>) -> Result<(), StoreError> {
        let Some(team) = team else { return Ok(()) };
        let found = sqlx::query("SELECT 1 FROM teams WHERE name = $1")
            .bind(team.as_str())
            .fetch_optional(&mut *self.tx)
            .await
            .db()?;
        match found {
            Some(_) => Ok(()),
            None => Err(invalid("team", format!("unknown team '{team}'"))),
        }
    }

    pub(super) async fn find_service(
        &mut self,
        name: &ServiceName,
    ) -> Result<Option<Service>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {SERVICE_COLUMNS} FROM services WHERE name = $1"
        ))
        .bind(name.as_str())
        .fetch_optional(&mut *self.tx)
        .await
        .db()?;
        row.as_ref().map(rows::service).transpose()
    }

    /// Inserts a service unless one with that name exists; true when this call created it.
    pub(super) async fn insert_service(&mut self, service: &Service) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO services (name, team, repository, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
        )
        .bind(service.name.as_str())
        .bind(service.team.as_ref().map(TeamName::as_str))
        .bind(&service.repository)
        .bind(to_micros(service.created_at))
        .execute(&mut *self.tx)
        .await
        .db()?
        .rows_affected();
        Ok(inserted == 1)
    }

    pub(super) async fn create_service(
        &mut self,
        name: ServiceName,
        team: Option<TeamName>,
        repository: Option<String>,
    ) -> Result<Service, StoreError> {
        let exists = || StoreError::Conflict(format!("service '{name}' already exists"));
        if self.find_service(&name).await?.is_some() {
            return Err(exists());
        }
        self.check_team(team.as_ref()).await?;
        let service = Service {
            name: name.clone(),
            team,
            repository,
            created_at: self.ctx.at,
        };
        if !self.insert_service(&service).await? {
            return Err(exists());
        }
        self.events
            .push(events::service("service.created", &service));
        Ok(service)
    }

    pub(super) async fn update_service(
        &mut self,
        name: ServiceName,
        team: Option<Option<TeamName>>,
        repository: Option<Option<String>>,
    ) -> Result<Service, StoreError> {
        let mut service = self
            .find_service(&name)
            .await?
            .ok_or_else(|| StoreError::not_found("service", name.as_str()))?;
        if let Some(team) = team {
            self.check_team(team.as_ref()).await?;
            service.team = team;
        }
        if let Some(repository) = repository {
            service.repository = repository;
        }
        sqlx::query("UPDATE services SET team = $2, repository = $3 WHERE name = $1")
            .bind(name.as_str())
            .bind(service.team.as_ref().map(TeamName::as_str))
            .bind(&service.repository)
            .execute(&mut *self.tx)
            .await
            .db()?;
        self.events
            .push(events::service("service.updated", &service));
        Ok(service)
    }

    pub(super) async fn delete_service(&mut self, name: ServiceName) -> Result<(), StoreError> {
        if self.find_service(&name).await?.is_none() {
            return Err(StoreError::not_found("service", name.as_str()));
        }
        let deployed: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM deployments WHERE service = $1)")
                .bind(name.as_str())
                .fetch_one(&mut *self.tx)
                .await
                .db()?;
        if deployed {
            return Err(StoreError::Conflict(format!(
                "service {name} has deployments and cannot be deleted"
            )));
        }
        sqlx::query("DELETE FROM services WHERE name = $1")
            .bind(name.as_str())
            .execute(&mut *self.tx)
            .await
            .db()?;
        self.events.push(events::service_deleted(&name));
        Ok(())
    }

    pub(super) async fn find_environment(
        &mut self,
        name: &EnvironmentName,
    ) -> Result<Option<Environment>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {ENVIRONMENT_COLUMNS} FROM environments WHERE name = $1"
        ))
        .bind(name.as_str())
        .fetch_optional(&mut *self.tx)
        .await
        .db()?;
        row.as_ref().map(rows::environment).transpose()
    }

    /// Inserts an environment unless one with that name exists; true when this call
    /// created it (and so changed the order every drift is computed along).
    pub(super) async fn insert_environment(
        &mut self,
        env: &Environment,
    ) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO environments (name, production, sort_order, created_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(env.name.as_str())
        .bind(env.production)
        .bind(env.order)
        .bind(to_micros(env.created_at))
        .execute(&mut *self.tx)
        .await
        .db()?
        .rows_affected()
            == 1;
        self.topology_changed |= inserted;
        Ok(inserted)
    }

    pub(super) async fn create_environment(
        &mut self,
        name: EnvironmentName,
        production: bool,
        order: i32,
    ) -> Result<Environment, StoreError> {
        let env = Environment {
            name,
            production,
            order,
            created_at: self.ctx.at,
        };
        if !self.insert_environment(&env).await? {
            return Err(StoreError::Conflict(format!(
                "environment '{}' already exists",
                env.name
            )));
        }
        self.events
            .push(events::environment("environment.created", &env));
        Ok(env)
    }

    pub(super) async fn update_environment(
        &mut self,
        name: EnvironmentName,
        production: Option<bool>,
        order: Option<i32>,
    ) -> Result<Environment, StoreError> {
        let mut env = self
            .find_environment(&name)
            .await?
            .ok_or_else(|| StoreError::not_found("environment", name.as_str()))?;
        if let Some(order) = order.filter(|o| *o != env.order) {
            env.order = order;
            self.topology_changed = true;
        }
        let flipped = production.is_some_and(|p| p != env.production);
        env.production = production.unwrap_or(env.production);
        sqlx::query("UPDATE environments SET production = $2, sort_order = $3 WHERE name = $1")
            .bind(name.as_str())
            .bind(env.production)
            .bind(env.order)
            .execute(&mut *self.tx)
            .await
            .db()?;
        if flipped {
            self.rebuild_first_shipments().await?;
        }
        self.events
            .push(events::environment("environment.updated", &env));
        Ok(env)
    }

    pub(super) async fn delete_environment(
        &mut self,
        name: EnvironmentName,
    ) -> Result<(), StoreError> {
        if self.find_environment(&name).await?.is_none() {
            return Err(StoreError::not_found("environment", name.as_str()));
        }
        let deployed: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM deployments WHERE environment = $1)")
                .bind(name.as_str())
                .fetch_one(&mut *self.tx)
                .await
                .db()?;
        if deployed {
            return Err(StoreError::Conflict(format!(
                "environment {name} has deployments and cannot be deleted"
            )));
        }
        sqlx::query("DELETE FROM environments WHERE name = $1")
            .bind(name.as_str())
            .execute(&mut *self.tx)
            .await
            .db()?;
        self.topology_changed = true;
        self.events.push(events::environment_deleted(&name));
        Ok(())
    }
}
