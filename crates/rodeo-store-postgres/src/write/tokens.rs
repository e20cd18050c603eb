//! Creating and revoking API tokens. Only the hash of a secret is ever stored.

use rodeo_domain::{to_micros, EnvironmentName, FieldError, FieldErrors, Scope, Token, TokenName};
use rodeo_store::logic::events;
use rodeo_store::StoreError;

use super::Writer;
use crate::rows::{self, DbResult, TOKEN_COLUMNS};

impl Writer<'_> {
    pub(super) async fn create_token(
        &mut self,
        name: TokenName,
        scope: Scope,
        hash: String,
        prefix: String,
        environment: Option<EnvironmentName>,
    ) -> Result<Token, StoreError> {
        if scope.is_sdk() != environment.is_some() {
            return Err(StoreError::Invalid(FieldErrors(vec![FieldError::new(
                "environment",
                "SDK keys name one environment; API tokens name none",
            )])));
        }
        if let Some(env) = &environment {
            self.ensure_environment(env).await?;
        }
        let row = sqlx::query(&format!(
            "INSERT INTO tokens (name, scope, prefix, hash, created_at, environment)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (name) WHERE revoked_at IS NULL DO NOTHING
             RETURNING {TOKEN_COLUMNS}"
        ))
        .bind(name.as_str())
        .bind(scope.as_str())
        .bind(prefix)
        .bind(hash)
        .bind(to_micros(self.ctx.at))
        .bind(environment.as_ref().map(EnvironmentName::as_str))
        .fetch_optional(&mut *self.tx)
        .await
        .db()?
        .ok_or_else(|| StoreError::Conflict(format!("a token named '{name}' already exists")))?;
        let token = rows::token(&row)?;
        self.events.push(events::token("token.created", &token));
        Ok(token)
    }

    pub(super) async fn revoke_token(&mut self, id: &str) -> Result<Token, StoreError> {
        let not_found = || StoreError::not_found("token", id);
        let key: i64 = id.parse().map_err(|_| not_found())?;
        let row = sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = $1 FOR UPDATE"
        ))
        .bind(key)
        .fetch_optional(&mut *self.tx)
        .await
        .db()?
        .ok_or_else(not_found)?;
        let mut token = rows::token(&row)?;
        if token.revoked_at.is_some() {
            return Ok(token);
        }
        sqlx::query("UPDATE tokens SET revoked_at = $2 WHERE id = $1")
            .bind(key)
            .bind(to_micros(self.ctx.at))
            .execute(&mut *self.tx)
            .await
            .db()?;
        token.revoked_at = Some(self.ctx.at);
        self.events.push(events::token("token.revoked", &token));
        Ok(token)
    }
}
