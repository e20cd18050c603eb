//! The command line: every subcommand and flag, with the doc comments that become
//! `--help`. Values are parsed into domain types here, so a bad name or sha is a usage
//! error (exit 2) before anything is sent.

mod admin;
mod flags;
mod incidents;
mod parse;
mod records;
mod server;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use admin::{EnvironmentsCmd, ServicesCmd, TeamsCmd, TokenCmd};
pub use flags::{EnvArg, FileFormat, FlagsCmd, OnOff};
pub use incidents::{CauseArgs, DoraArgs, IncidentCmd, IncidentListArgs, OpenArgs, StepArgs};
pub use records::{
    CompareArgs, DeployAction, DeployArgs, DeployCmd, DeploymentsCmd, EventFilterArgs, EventsCmd,
    FinishArgs, FinishStatus, KindArg, ListArgs, StatusArg,
};
pub use server::{BackupArgs, ConfigCmd, DemoArgs, ServeArgs, ServerArgs};

/// The port `rodeo serve` listens on unless configured otherwise.
pub const DEFAULT_PORT: u16 = 7777;
/// The server URL the client commands use unless configured otherwise.
pub const DEFAULT_URL: &str = "http://127.0.0.1:7777";

/// Shown under `--help`; the same table is in docs/.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  other error
  2  usage error (unknown flag, invalid value, invalid configuration)
  3  the server is unreachable
  4  authentication or authorization failed (401, 403)
  5  not found (404)
  6  conflict (409), e.g. finishing a deployment twice
  7  invalid input rejected by the server (400, 413, 422)";

/// rodeo records every change to production: deployments, the commits they shipped,
/// incidents, and who did what, in one append-only ledger, and measures delivery from it.
#[derive(Debug, Parser)]
#[command(name = "rodeo", version, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every client command understands.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Base URL of the rodeo server (a path prefix is kept: https://ops.example/rodeo).
    #[arg(
        long,
        global = true,
        env = "RODEO_URL",
        default_value = DEFAULT_URL,
        value_name = "URL"
    )]
    pub server: String,
    /// API token, sent as `Authorization: Bearer <token>`.
    #[arg(long, global = true, env = "RODEO_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// `text` for people; `json` prints the server's JSON response unchanged.
    #[arg(long, short, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    #[value(alias = "table")]
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Record a deployment: a finished one in one call, or `start` then `finish`.
    Deploy(Box<DeployCmd>),
    /// What is deployed where: a service × environment matrix with drift.
    Status,
    /// List deployments or show one with the commits it shipped.
    #[command(subcommand)]
    Deployments(DeploymentsCmd),
    /// Commits in one environment (or version, or sha) of a service and not in another.
    Compare(CompareArgs),
    /// Open, update and read incidents.
    #[command(subcommand)]
    Incident(IncidentCmd),
    /// DORA's five keys (deployment frequency, lead time, change failure rate, recovery
    /// time, rework rate) for a service, a team or everything, against the previous window.
    Dora(DoraArgs),
    /// Feature flags: apply and export flagd definitions, toggle, roll out, kill.
    #[command(subcommand)]
    Flags(FlagsCmd),
    /// Read the ledger, or follow it live.
    #[command(subcommand)]
    Events(EventsCmd),
    /// Manage services.
    #[command(subcommand)]
    Services(ServicesCmd),
    /// Manage environments.
    #[command(subcommand)]
    Environments(EnvironmentsCmd),
    /// Manage teams.
    #[command(subcommand)]
    Teams(TeamsCmd),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCmd),
    /// Run the rodeo server.
    Serve(ServeArgs),
    /// Create a database with 180 days of made-up history, then serve it.
    Demo(DemoArgs),
    /// Copy the SQLite database to a file while the server runs.
    Backup(BackupArgs),
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCmd),
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn help_documents_exit_codes_and_environment() {
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("7  invalid input"), "{help}");
        assert!(help.contains("RODEO_URL"), "{help}");
        assert!(help.contains("RODEO_TOKEN"), "{help}");
    }

    /// The flags of `serve` and `backup` read the variables docs/configuration.md names.
    #[test]
    fn server_flags_read_their_environment_variables() {
        let cli = Cli::command();
        let env_of = |sub: &str, arg: &str| {
            let sub = cli.find_subcommand(sub).unwrap();
            let arg = sub.get_arguments().find(|a| a.get_id() == arg).unwrap();
            arg.get_env().map(|e| e.to_string_lossy().into_owned())
        };
        assert_eq!(env_of("serve", "listen").as_deref(), Some("RODEO_LISTEN"));
        for sub in ["serve", "backup"] {
            assert_eq!(
                env_of(sub, "database_url").as_deref(),
                Some("RODEO_DATABASE_URL")
            );
            assert_eq!(env_of(sub, "config").as_deref(), Some("RODEO_CONFIG"));
        }
    }

    #[test]
    fn output_is_global() {
        let cli = Cli::try_parse_from(["rodeo", "status", "--output", "json"]).unwrap();
        assert_eq!(cli.global.output, OutputFormat::Json);
        assert!(matches!(cli.command, Command::Status));
    }
}
