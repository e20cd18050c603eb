//! `rodeo demo`: starts a server on a demo SQLite file, fills it with the generated
//! history through the HTTP API (the same path real data takes), prints the URL and a
//! read token, and keeps serving until Ctrl-C.

use std::cell::Cell;
use std::io::IsTerminal;
use std::sync::Arc;

use chrono::Utc;
use rodeo_domain::{Scope, TokenName};
use rodeo_server::{Application, Config, LogFormat};
use rodeo_store::Store;
use tokio::sync::oneshot;

use super::remove_sqlite;
use crate::api::{self, TokenRequest};
use crate::cli::{DemoArgs, OutputFormat};
use crate::client::Client;
use crate::commands::stdout;
use crate::demo::{generate, run, DemoOptions, Progress, RunSummary};
use crate::error::CliError;
use crate::telemetry;

/// Services loaded at once; each service's requests stay in order.
const CONCURRENCY: usize = 16;

pub async fn demo(args: DemoArgs, format: OutputFormat) -> Result<(), CliError> {
    let mut config = Config::load(args.config.as_deref())?;
    config.database.url = format!("sqlite://{}", args.database.display());
    if let Some(addr) = args.listen {
        config.server.listen = addr;
    }
    telemetry::init_server(&config.log);
    let log_format = config.log.format;
    if args.fresh {
        remove_sqlite(&args.database)?;
    }
    let existed = args.database.exists();
    let app = Application::build(config).await?;
    let url = format!("http://{}", app.local_addr());
    let store = app.store();
    let admin = app.admin_secret().map(str::to_owned);
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        tokio::select! {
            () = rodeo_server::shutdown_signal() => {}
            _ = stopped => {}
        }
    }));
    let ready = match admin.filter(|_| !existed) {
        Some(admin) => load(&url, admin, &args, log_format).await,
        None => reuse(&store).await,
    };
    match ready {
        Ok(ready) => stdout(&ready.render(&url, &args, format))?,
        Err(e) => {
            let _ = stop.send(());
            let _ = server.await;
            return Err(e);
        }
    }
    server
        .await
        .map_err(|e| CliError::Serve(std::io::Error::other(e)))?
        .map_err(CliError::Serve)
}

/// What the user needs once the demo runs.
struct Ready {
    read_token: String,
    /// Only for a database created now: an OFREP key of prod-eu.
    sdk_key: Option<String>,
    /// Only for a database created now: its first admin token.
    admin_token: Option<String>,
    /// `None` when an existing database is served again.
    loaded: Option<RunSummary>,
}

/// Records the history as a write token named `demo`, so the ledger shows who wrote it
/// (actor `demo`, source `demo`) apart from what the admin does later.
async fn load(
    url: &str,
    admin: String,
    args: &DemoArgs,
    log_format: LogFormat,
) -> Result<Ready, CliError> {
    let as_admin = Client::new(url, Some(admin.clone()), "demo")?;
    let writer = create_token(&as_admin, "demo", Scope::Write).await?;
    let as_demo = Client::new(url, Some(writer), "demo")?;
    let opts = DemoOptions {
        seed: args.seed,
        now: args.now.unwrap_or_else(Utc::now),
        days: args.days,
    };
    let plan = generate(&opts).map_err(CliError::DemoData)?;
    let summary = run(&as_demo, &plan, CONCURRENCY, progress_reporter(log_format)).await?;
    load_flags(&as_demo).await?;
    let sdk = TokenRequest {
        name: TokenName::parse("demo-web").map_err(CliError::DemoData)?,
        scope: Scope::SdkClient,
        environment: Some(
            rodeo_domain::EnvironmentName::parse("prod-eu").map_err(CliError::DemoData)?,
        ),
    };
    let sdk_key = api::create_token(&as_admin, &sdk).await?.value.secret;
    Ok(Ready {
        sdk_key: Some(sdk_key),
        read_token: create_token(&as_admin, "demo-reader", Scope::Read).await?,
        admin_token: Some(admin),
        loaded: Some(summary),
    })
}

/// Applies the demo's flag definitions, then a few everyday flag changes.
async fn load_flags(client: &Client) -> Result<(), CliError> {
    use reqwest::Method;
    for env in ["staging", "prod-eu", "prod-us"] {
        let doc = crate::demo::flags::definition(env);
        client
            .write::<_, serde_json::Value>(
                Method::PUT,
                &["api", "v1", "flags", env, "definition"],
                &doc,
                None,
            )
            .await?;
    }
    for (env, key, action, body) in crate::demo::flags::changes() {
        client
            .write::<_, serde_json::Value>(
                Method::POST,
                &["api", "v1", "flags", env, key, action],
                &body,
                None,
            )
            .await?;
    }
    Ok(())
}

/// Creates a token through the API and returns its secret.
async fn create_token(admin: &Client, name: &str, scope: Scope) -> Result<String, CliError> {
    let request = TokenRequest {
        name: TokenName::parse(name).map_err(CliError::DemoData)?,
        scope,
        environment: None,
    };
    Ok(api::create_token(admin, &request).await?.value.secret)
}

/// An existing demo database is served as it is, with a new read token.
async fn reuse(store: &Arc<dyn Store>) -> Result<Ready, CliError> {
    let name = format!("demo-reader-{}", Utc::now().timestamp());
    let (_, secret) = rodeo_server::create_token_offline(store, &name, Scope::Read).await?;
    Ok(Ready {
        sdk_key: None,
        read_token: secret,
        admin_token: None,
        loaded: None,
    })
}

/// Progress on stderr: one updating line on a terminal with human logs; otherwise a
/// log event every tenth, so a JSON log stays one object per line.
fn progress_reporter(format: LogFormat) -> impl Fn(Progress) {
    let live = format == LogFormat::Human && std::io::stderr().is_terminal();
    let shown = Cell::new(0usize);
    move |p: Progress| {
        let step = if live { 100 } else { 10 };
        let bucket = p.done * step / p.total.max(1);
        if bucket == shown.get() && p.done != p.total {
            return;
        }
        shown.set(bucket);
        if !live {
            tracing::info!(done = p.done, total = p.total, "loading the demo history");
            return;
        }
        let line = format!("loading the demo history: {}/{} requests", p.done, p.total);
        if p.done == p.total {
            eprintln!("\r{line}");
        } else {
            eprint!("\r{line}");
        }
    }
}

impl Ready {
    fn render(&self, url: &str, args: &DemoArgs, format: OutputFormat) -> String {
        if format == OutputFormat::Json {
            return serde_json::json!({
                "url": url,
                "dashboard": format!("{url}/"),
                "read_token": self.read_token,
                "admin_token": self.admin_token,
                "sdk_key": self.sdk_key,
                "deployments": self.loaded.map(|s| s.deployments),
                "commits": self.loaded.map(|s| s.commits),
            })
            .to_string();
        }
        let mut out = match self.loaded {
            Some(s) => format!(
                "rodeo demo is running: {} deployments and {} commits over {} days \
                 (seed {}), recorded through the API.\n",
                s.deployments, s.commits, args.days, args.seed
            ),
            None => format!(
                "rodeo demo is serving the existing {} (--fresh starts over).\n",
                args.database.display()
            ),
        };
        out.push_str(&format!(
            "\n  URL          {url}\n  read token   {}\n",
            self.read_token
        ));
        if let Some(admin) = &self.admin_token {
            out.push_str(&format!("  admin token  {admin}  (shown only this once)\n"));
        }
        if let Some(key) = &self.sdk_key {
            out.push_str(&format!(
                "  SDK key      {key}  (prod-eu, client-side: OFREP only)\n"
            ));
        }
        out.push_str(&format!(
            "\nDashboard: open {url}/ in a browser and log in with a token (the read token \
             shows everything; a write or admin token adds the controls). /tv is the hallway \
             screen.\n"
        ));
        out.push_str(&format!(
            "\nTry it:\n  export RODEO_URL={url} RODEO_TOKEN={}\n  rodeo status\n  \
             rodeo flags list --env prod-eu\n  rodeo events tail\n",
            self.read_token
        ));
        if let Some(key) = &self.sdk_key {
            out.push_str(&format!(
                "  curl -s -X POST {url}/ofrep/v1/evaluate/flags/new-checkout -H 'Authorization: Bearer {key}' \\\n    \
                 -H 'Content-Type: application/json' -d '{{\"context\": {{\"targetingKey\": \"user-42\"}}}}'\n"
            ));
        }
        out.push_str("\nStop with Ctrl-C.");
        out
    }
}
