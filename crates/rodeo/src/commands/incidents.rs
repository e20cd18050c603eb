//! `rodeo incident …` and `rodeo dora`.

use reqwest::Method;
use rodeo_domain::{Incident, Page};
use serde_json::{json, Value};

use super::Context;
use crate::api::Query;
use crate::cli::{CauseArgs, DoraArgs, IncidentCmd, StepArgs};
use crate::error::CliError;
use crate::render;

fn ts(t: rodeo_domain::Timestamp) -> String {
    rodeo_domain::format_timestamp(t)
}

async fn step(ctx: &Context, a: StepArgs, status: &str) -> Result<(), CliError> {
    let mut body = json!({ "status": status });
    if let Some(t) = a.at {
        body["at"] = json!(ts(t));
    }
    if let Some(n) = a.note {
        body["note"] = json!(n);
    }
    let reply = ctx
        .client
        .write::<_, Incident>(
            Method::POST,
            &["api", "v1", "incidents", &a.id, "status"],
            &body,
            None,
        )
        .await?;
    ctx.print(&reply, render::incident_line)
}

pub(super) async fn incident(ctx: &Context, cmd: IncidentCmd) -> Result<(), CliError> {
    match cmd {
        IncidentCmd::Open(a) => {
            let mut body = json!({
                "title": a.title, "severity": a.severity,
                "services": a.service, "environments": a.env,
                "kind": if a.drill { "drill" } else { "real" },
            });
            if let Some(t) = a.started_at {
                body["started_at"] = json!(ts(t));
            }
            if let Some(c) = a.commander {
                body["roles"] = json!({ "commander": c });
            }
            if let Some(s) = a.summary {
                body["summary"] = json!(s);
            }
            let reply = ctx
                .client
                .write::<_, Incident>(Method::POST, &["api", "v1", "incidents"], &body, None)
                .await?;
            ctx.print(&reply, render::incident_line)
        }
        IncidentCmd::List(a) => {
            let q = Query::new()
                .opt("status", a.status)
                .opt("service", a.service)
                .opt("limit", a.limit)
                .opt("cursor", a.cursor);
            let reply = ctx
                .client
                .get::<Page<Incident>>(&["api", "v1", "incidents"], q.pairs())
                .await?;
            ctx.print_page(&reply, render::incidents)
        }
        IncidentCmd::Show { id } => {
            let reply = ctx
                .client
                .get::<Incident>(&["api", "v1", "incidents", &id], &[])
                .await?;
            ctx.print(&reply, render::incident_detail)
        }
        IncidentCmd::Ack(a) => step(ctx, a, "acknowledged").await,
        IncidentCmd::Mitigate(a) => step(ctx, a, "mitigated").await,
        IncidentCmd::Resolve(a) => step(ctx, a, "resolved").await,
        IncidentCmd::Close(a) => step(ctx, a, "closed").await,
        IncidentCmd::Reopen(a) => step(ctx, a, "open").await,
        IncidentCmd::Note { id, text } => {
            let reply = ctx
                .client
                .write::<_, Incident>(
                    Method::POST,
                    &["api", "v1", "incidents", &id, "notes"],
                    &json!({ "text": text }),
                    None,
                )
                .await?;
            ctx.print(&reply, render::incident_line)
        }
        IncidentCmd::Cause(CauseArgs {
            id,
            deployment,
            none,
        }) => {
            let deployments = if none { Vec::new() } else { deployment };
            let reply = ctx
                .client
                .write::<_, Incident>(
                    Method::PUT,
                    &["api", "v1", "incidents", &id, "cause"],
                    &json!({ "deployments": deployments }),
                    None,
                )
                .await?;
            ctx.print(&reply, render::incident_line)
        }
        IncidentCmd::Changes { id } => {
            let reply = ctx
                .client
                .get::<Value>(&["api", "v1", "incidents", &id, "changes"], &[])
                .await?;
            ctx.print(&reply, render::what_changed)
        }
    }
}

pub(super) async fn dora(ctx: &Context, a: DoraArgs) -> Result<(), CliError> {
    let q = Query::new()
        .opt("service", a.service)
        .opt("team", a.team)
        .opt("window", a.window)
        .opt("from", a.from.map(ts))
        .opt("to", a.to.map(ts));
    let reply = ctx
        .client
        .get::<Value>(&["api", "v1", "metrics", "dora"], q.pairs())
        .await?;
    ctx.print(&reply, render::dora)
}
