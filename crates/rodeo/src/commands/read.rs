//! The read-only commands: status, deployments, compare, events.

use std::ops::ControlFlow;
use std::time::Duration;

use rodeo_domain::{DeploymentStatus, Event};

use super::{write_line, Context};
use crate::api::{self, Query};
use crate::cli::{CompareArgs, DeploymentsCmd, EventFilterArgs, EventsCmd, OutputFormat};
use crate::error::CliError;
use crate::render;
use crate::tail::{self, Reconnect};

pub(super) async fn status(ctx: &Context) -> Result<(), CliError> {
    let reply = api::status(&ctx.client).await?;
    ctx.print(&reply, render::status_matrix)
}

pub(super) async fn deployments(ctx: &Context, cmd: DeploymentsCmd) -> Result<(), CliError> {
    match cmd {
        DeploymentsCmd::List {
            service,
            env,
            status,
            page,
        } => {
            let q = Query::new()
                .opt("service", service)
                .opt("environment", env)
                .opt("status", status.map(|s| DeploymentStatus::from(s).as_str()))
                .opt("limit", page.limit)
                .opt("cursor", page.cursor);
            let reply = api::list_deployments(&ctx.client, &q).await?;
            ctx.print_page(&reply, render::deployments)
        }
        DeploymentsCmd::Show { id } => {
            let reply = api::deployment(&ctx.client, &id).await?;
            ctx.print(&reply, render::deployment_detail)
        }
    }
}

pub(super) async fn compare(ctx: &Context, a: CompareArgs) -> Result<(), CliError> {
    let q = Query::new()
        .opt("service", Some(&a.service))
        .opt("from", a.from)
        .opt("from_version", a.from_version)
        .opt("from_sha", a.from_sha)
        .opt("to", a.to)
        .opt("to_version", a.to_version)
        .opt("to_sha", a.to_sha);
    let reply = api::compare(&ctx.client, &q).await?;
    ctx.print(&reply, render::comparison)
}

fn filter_query(f: EventFilterArgs) -> Query {
    Query::new()
        .opt("service", f.service)
        .opt("environment", f.env)
        .opt("kind", f.kind)
}

pub(super) async fn events(ctx: &Context, cmd: EventsCmd) -> Result<(), CliError> {
    match cmd {
        EventsCmd::List {
            filter,
            since,
            until,
            page,
        } => {
            let q = filter_query(filter)
                .opt("since", since.map(rodeo_domain::format_timestamp))
                .opt("until", until.map(rodeo_domain::format_timestamp))
                .opt("limit", page.limit)
                .opt("cursor", page.cursor);
            let reply = api::events(&ctx.client, &q).await?;
            ctx.print_page(&reply, |items| {
                items
                    .iter()
                    .map(render::event_line)
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        EventsCmd::Tail {
            filter,
            last_event_id,
        } => {
            let reconnect = Reconnect {
                initial: Duration::from_millis(500),
                max: Duration::from_secs(30),
            };
            let mut result = Ok(());
            tail::follow(
                &ctx.client,
                &filter_query(filter),
                last_event_id,
                reconnect,
                |m| {
                    let line = match ctx.format {
                        OutputFormat::Json => m.data,
                        OutputFormat::Text => match serde_json::from_str::<Event>(&m.data) {
                            Ok(e) => render::event_line(&e),
                            Err(_) => m.data,
                        },
                    };
                    match write_line(&line) {
                        Ok(()) => ControlFlow::Continue(()),
                        // The reader went away (`| head`): stop quietly.
                        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                            ControlFlow::Break(())
                        }
                        Err(e) => {
                            result = Err(CliError::Output(e));
                            ControlFlow::Break(())
                        }
                    }
                },
            )
            .await?;
            result
        }
    }
}
