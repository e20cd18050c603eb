//! What each client subcommand does: call the API, then print the answer as text for
//! people or, with `--output json`, the server's body unchanged.

mod admin;
mod deploy;
mod read;

use std::io::Write;

use crate::cli::{Cli, Command, GlobalArgs, OutputFormat, TokenCmd};
use crate::client::{Client, Reply};
use crate::error::CliError;

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

    /// Like [`Context::print`] for a page, pointing at the next one on stderr.
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
    // Only client commands need a server URL; a bad one must not break `serve`.
    let ctx = || Context::new(&cli.global);
    match cli.command {
        Command::Deploy(cmd) => deploy::run(&ctx()?, *cmd).await,
        Command::Status => read::status(&ctx()?).await,
        Command::Deployments(cmd) => read::deployments(&ctx()?, cmd).await,
        Command::Compare(args) => read::compare(&ctx()?, args).await,
        Command::Events(cmd) => read::events(&ctx()?, cmd).await,
        Command::Services(cmd) => admin::services(&ctx()?, cmd).await,
        Command::Environments(cmd) => admin::environments(&ctx()?, cmd).await,
        Command::Teams(cmd) => admin::teams(&ctx()?, cmd).await,
        Command::Token(TokenCmd::Create {
            database_url: Some(_),
            ..
        }) => Err(CliError::Unavailable("token create --database-url")),
        Command::Token(cmd) => admin::token(&ctx()?, cmd).await,
        Command::Serve(_) => Err(CliError::Unavailable("serve")),
        Command::Demo(_) => Err(CliError::Unavailable("demo")),
        Command::Backup(_) => Err(CliError::Unavailable("backup")),
        Command::Config(_) => Err(CliError::Unavailable("config")),
    }
}

#[cfg(test)]
mod tests;
