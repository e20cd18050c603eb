//! Services, environments, teams and tokens.

use rodeo_domain::{Environment, Service, Team};

use super::{stdout, Context};
use crate::api::{
    self, Collection, EnvironmentRequest, Query, ServiceRequest, TeamRequest, TokenRequest,
};
use crate::cli::{EnvironmentsCmd, ListArgs, ServicesCmd, TeamsCmd, TokenCmd};
use crate::client::Reply;
use crate::error::CliError;
use crate::render;

fn page_query(p: ListArgs) -> Query {
    Query::new().opt("limit", p.limit).opt("cursor", p.cursor)
}

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
        ServicesCmd::List(p) => {
            let reply = c.list::<Service>(&ctx.client, &page_query(p)).await?;
            ctx.print_page(&reply, render::services)
        }
        ServicesCmd::Create {
            name,
            team,
            repository,
        } => {
            let body = ServiceRequest {
                name,
                team: team.map(Some),
                repository: repository.map(Some),
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
            let body = ServiceRequest {
                name: name.clone(),
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
        EnvironmentsCmd::List(p) => {
            let reply = c.list::<Environment>(&ctx.client, &page_query(p)).await?;
            ctx.print_page(&reply, render::environments)
        }
        EnvironmentsCmd::Create {
            name,
            production,
            order,
        } => {
            let body = EnvironmentRequest {
                name,
                production: Some(production),
                order,
            };
            let reply = c.create::<_, Environment>(&ctx.client, &body).await?;
            ctx.print(&reply, |e| render::environments(std::slice::from_ref(e)))
        }
        EnvironmentsCmd::Update {
            name,
            production,
            order,
        } => {
            let body = EnvironmentRequest {
                name: name.clone(),
                production,
                order,
            };
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
        TeamsCmd::List(p) => {
            let reply = c.list::<Team>(&ctx.client, &page_query(p)).await?;
            ctx.print_page(&reply, render::teams)
        }
        TeamsCmd::Create { name, display_name } => {
            let body = TeamRequest {
                name,
                display_name: display_name.map(Some),
            };
            let reply = c.create::<_, Team>(&ctx.client, &body).await?;
            ctx.print(&reply, |t| render::teams(std::slice::from_ref(t)))
        }
        TeamsCmd::Update {
            name,
            display_name,
            clear_display_name,
        } => {
            let body = TeamRequest {
                name: name.clone(),
                display_name: change(display_name, clear_display_name),
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
        TokenCmd::Create { name, scope, .. } => {
            let reply = api::create_token(&ctx.client, &TokenRequest { name, scope }).await?;
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
