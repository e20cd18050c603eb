//! Services, environments, teams and tokens.

use rodeo_domain::{Environment, Service, Team, Timestamp};

use super::{stdout, Context};
use crate::api::{
    self, Collection, EnvironmentPatch, EnvironmentRequest, ServicePatch, ServiceRequest,
    TeamPatch, TeamRequest, TokenRequest,
};
use crate::cli::{EnvironmentsCmd, ServicesCmd, TeamsCmd, TokenCmd};
use crate::client::Reply;
use crate::error::CliError;
use crate::render;

/// `Some(None)` (clear) when `clear`, `Some(Some(v))` when set, `None` (keep) else.
fn change<T>(value: Option<T>, clear: bool) -> Option<Option<T>> {
    if clear {
        Some(None)
    } else {
        value.map(Some)
    }
}

fn done(ctx: &Context, reply: &Reply<serde_json::Value>, message: String) -> Result<(), CliError> {
    if reply.body.trim().is_empty() {
        // 204: nothing to print as JSON either.
        return match ctx.format {
            crate::cli::OutputFormat::Json => Ok(()),
            crate::cli::OutputFormat::Text => stdout(&message),
        };
    }
    ctx.print(reply, |_| message)
}

pub(super) async fn services(ctx: &Context, cmd: ServicesCmd) -> Result<(), CliError> {
    let c = Collection::Services;
    match cmd {
        ServicesCmd::List => {
            let reply = c.list::<Service>(&ctx.client).await?;
            ctx.print_page(&reply, render::services)
        }
        ServicesCmd::Create {
            name,
            team,
            repository,
        } => {
            let body = ServiceRequest {
                name,
                team,
                repository,
            };
            let reply = c.create::<_, Service>(&ctx.client, &body).await?;
            ctx.print(&reply, |s| render::services(std::slice::from_ref(s)))
        }
        ServicesCmd::Update {
            name,
            team,
            clear_team,
            repository,
            clear_repository,
        } => {
            let body = ServicePatch {
                team: change(team, clear_team),
                repository: change(repository, clear_repository),
            };
            let reply = c
                .update::<_, Service>(&ctx.client, name.as_str(), &body)
                .await?;
            ctx.print(&reply, |s| render::services(std::slice::from_ref(s)))
        }
        ServicesCmd::Delete { name } => {
            let reply = c.delete(&ctx.client, name.as_str()).await?;
            done(ctx, &reply, format!("deleted service {name}"))
        }
    }
}

pub(super) async fn environments(ctx: &Context, cmd: EnvironmentsCmd) -> Result<(), CliError> {
    let c = Collection::Environments;
    match cmd {
        EnvironmentsCmd::List => {
            let reply = c.list::<Environment>(&ctx.client).await?;
            ctx.print_page(&reply, render::environments)
        }
        EnvironmentsCmd::Create {
            name,
            production,
            order,
        } => {
            // The server defaults to order 0; follow the name instead, as
            // auto-registration does, so `create prod-eu` lands after staging.
            let inferred = Environment::inferred(name.clone(), Timestamp::default());
            let body = EnvironmentRequest {
                name,
                production: production.unwrap_or(inferred.production),
                order: order.unwrap_or(inferred.order),
            };
            let reply = c.create::<_, Environment>(&ctx.client, &body).await?;
            ctx.print(&reply, |e| render::environments(std::slice::from_ref(e)))
        }
        EnvironmentsCmd::Update {
            name,
            production,
            order,
        } => {
            let body = EnvironmentPatch { production, order };
            let reply = c
                .update::<_, Environment>(&ctx.client, name.as_str(), &body)
                .await?;
            ctx.print(&reply, |e| render::environments(std::slice::from_ref(e)))
        }
        EnvironmentsCmd::Delete { name } => {
            let reply = c.delete(&ctx.client, name.as_str()).await?;
            done(ctx, &reply, format!("deleted environment {name}"))
        }
    }
}

pub(super) async fn teams(ctx: &Context, cmd: TeamsCmd) -> Result<(), CliError> {
    let c = Collection::Teams;
    match cmd {
        TeamsCmd::List => {
            let reply = c.list::<Team>(&ctx.client).await?;
            ctx.print_page(&reply, render::teams)
        }
        TeamsCmd::Create { name, display_name } => {
            let body = TeamRequest { name, display_name };
            let reply = c.create::<_, Team>(&ctx.client, &body).await?;
            ctx.print(&reply, |t| render::teams(std::slice::from_ref(t)))
        }
        TeamsCmd::Update {
            name,
            display_name,
            clear_display_name,
        } => {
            let body = TeamPatch {
                display_name: if clear_display_name {
                    None
                } else {
                    display_name
                },
            };
            let reply = c
                .update::<_, Team>(&ctx.client, name.as_str(), &body)
                .await?;
            ctx.print(&reply, |t| render::teams(std::slice::from_ref(t)))
        }
        TeamsCmd::Delete { name } => {
            let reply = c.delete(&ctx.client, name.as_str()).await?;
            done(ctx, &reply, format!("deleted team {name}"))
        }
    }
}

pub(super) async fn token(ctx: &Context, cmd: TokenCmd) -> Result<(), CliError> {
    match cmd {
        TokenCmd::Create {
            name, scope, env, ..
        } => {
            let body = TokenRequest {
                name,
                scope,
                environment: env,
            };
            let reply = api::create_token(&ctx.client, &body).await?;
            ctx.print(&reply, |t| {
                format!(
                    "{}\n\ntoken {} ({}, id {}): store the secret above now, it is not shown again",
                    t.secret,
                    t.token.name,
                    t.token.scope.as_str(),
                    t.token.id
                )
            })
        }
        TokenCmd::List => {
            let reply = api::list_tokens(&ctx.client).await?;
            ctx.print_page(&reply, render::tokens)
        }
        TokenCmd::Revoke { id } => {
            let reply = api::revoke_token(&ctx.client, &id).await?;
            done(ctx, &reply, format!("revoked token {id}"))
        }
    }
}
