//! What each client subcommand does: call the API, then print the answer as text for
//! people or, with `--output json`, the server's body unchanged.

mod admin;
mod deploy;
mod flags;
mod incidents;
mod read;

use std::io::Write;

use crate::cli::{Cli, Command, ConfigCmd, GlobalArgs, OutputFormat, TokenCmd};
use crate::client::{Client, Reply};
use crate::error::CliError;
use crate::{server, telemetry};

pub use deploy::{plan_upload, Upload, INLINE_COMMITS_BYTES};

/// What every command needs.
pub struct Context {
    pub client: Client,
    pub format: OutputFormat,
}

impl Context {
    pub fn new(global: &GlobalArgs) -> Result<Self, CliError> {
        Ok(Self {
            client: Client::new(&global.server, global.token.clone(), "cli")?,
            format: global.output,
        })
    }

    /// Prints a reply: the body as received with `--output json`, `text(value)` else.
    fn print<T>(&self, reply: &Reply<T>, text: impl FnOnce(&T) -> String) -> Result<(), CliError> {
        match self.format {
            OutputFormat::Json => stdout(reply.body.trim_end()),
            OutputFormat::Text => stdout(&text(&reply.value)),
        }
    }

    /// Like [`Context::print`] for a page, pointing at the next one in a line of its own
    /// on stderr, so stdout holds only the table (`| grep`, `| wc -l`); with `--output
    /// json` the body's `next_cursor` says it.
    fn print_page<T>(
        &self,
        reply: &Reply<rodeo_domain::Page<T>>,
        text: impl FnOnce(&[T]) -> String,
    ) -> Result<(), CliError> {
        self.print(reply, |p| text(&p.items))?;
        if let (OutputFormat::Text, Some(c)) = (self.format, &reply.value.next_cursor) {
            eprintln!("more: repeat with --cursor {c}");
        }
        Ok(())
    }
}

/// Writes a line to stdout. A closed pipe (`rodeo events list | head`) ends quietly.
pub(crate) fn stdout(text: &str) -> Result<(), CliError> {
    match write_line(text) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::Output(e)),
        _ => Ok(()),
    }
}

fn write_line(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    // Only client commands need a server URL (a bad one must not break `serve`), and
    // the server commands set up their diagnostics from the configuration.
    let ctx = || {
        telemetry::init_cli();
        Context::new(&cli.global)
    };
    let format = cli.global.output;
    match cli.command {
        Command::Deploy(cmd) => deploy::run(&ctx()?, *cmd).await,
        Command::Status => read::status(&ctx()?).await,
        Command::Deployments(cmd) => read::deployments(&ctx()?, cmd).await,
        Command::Compare(args) => read::compare(&ctx()?, args).await,
        Command::Events(cmd) => read::events(&ctx()?, cmd).await,
        Command::Flags(crate::cli::FlagsCmd::Validate { file }) => flags::validate(&file, format),
        Command::Flags(cmd) => flags::flags(&ctx()?, cmd).await,
        Command::Incident(cmd) => incidents::incident(&ctx()?, cmd).await,
        Command::Dora(args) => incidents::dora(&ctx()?, args).await,
        Command::Services(cmd) => admin::services(&ctx()?, cmd).await,
        Command::Environments(cmd) => admin::environments(&ctx()?, cmd).await,
        Command::Teams(cmd) => admin::teams(&ctx()?, cmd).await,
        Command::Token(TokenCmd::Create {
            database_url: Some(url),
            name,
            scope,
            env,
        }) => server::create_token_offline(&url, &name, scope, env, format).await,
        Command::Token(cmd) => admin::token(&ctx()?, cmd).await,
        Command::Serve(args) => server::serve(args).await,
        Command::Demo(args) => server::demo(args, format).await,
        Command::Backup(args) => server::backup(args).await,
        Command::Config(ConfigCmd::PrintDefault) => server::print_default_config(),
    }
}

#[cfg(test)]
mod tests;
