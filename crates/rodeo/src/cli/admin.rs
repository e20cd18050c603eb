//! Arguments of the commands that manage services, environments, teams and tokens.

use clap::Subcommand;
use rodeo_domain::{EnvironmentName, Scope, ServiceName, TeamName, TokenName};

use super::parse;

#[derive(Debug, Subcommand)]
pub enum ServicesCmd {
    /// List services.
    List,
    /// Register a service.
    Create {
        /// The service name (lowercase letters, digits, '-', '_', '.').
        #[arg(value_parser = parse::service)]
        name: ServiceName,
        /// The team that owns it.
        #[arg(long, value_parser = parse::team)]
        team: Option<TeamName>,
        /// The repository it is built from (`owner/name`).
        #[arg(long)]
        repository: Option<String>,
    },
    /// Change a service's team or repository; options left out stay as they are.
    Update {
        #[arg(value_parser = parse::service)]
        name: ServiceName,
        /// The new owning team.
        #[arg(long, value_parser = parse::team, conflicts_with = "clear_team")]
        team: Option<TeamName>,
        /// Remove the owning team.
        #[arg(long)]
        clear_team: bool,
        /// The new repository.
        #[arg(long, conflicts_with = "clear_repository")]
        repository: Option<String>,
        /// Remove the repository.
        #[arg(long)]
        clear_repository: bool,
    },
    /// Delete a service.
    Delete {
        #[arg(value_parser = parse::service)]
        name: ServiceName,
    },
}

#[derive(Debug, Subcommand)]
pub enum EnvironmentsCmd {
    /// List environments in delivery order.
    List,
    /// Register an environment.
    Create {
        /// The environment name (`staging`, `prod-eu`).
        #[arg(value_parser = parse::environment)]
        name: EnvironmentName,
        /// Mark it as production (several environments may be); left out, it follows
        /// the name (prod*, production, live).
        #[arg(long, num_args = 0..=1, default_missing_value = "true")]
        production: Option<bool>,
        /// Its place in the delivery order, smaller first. Left out, it follows the name
        /// as auto-registration does: prod*/production/live 300, stag*/preprod*/uat* 200,
        /// dev*/test*/qa* 100, anything else 150.
        #[arg(long, allow_negative_numbers = true)]
        order: Option<i32>,
    },
    /// Change an environment's production flag or order.
    Update {
        #[arg(value_parser = parse::environment)]
        name: EnvironmentName,
        /// Whether it is production (`--production` alone means true).
        #[arg(long, num_args = 0..=1, default_missing_value = "true")]
        production: Option<bool>,
        /// Its place in the delivery order.
        #[arg(long, allow_negative_numbers = true)]
        order: Option<i32>,
    },
    /// Delete an environment.
    Delete {
        #[arg(value_parser = parse::environment)]
        name: EnvironmentName,
    },
}

#[derive(Debug, Subcommand)]
pub enum TeamsCmd {
    /// List teams.
    List,
    /// Create a team.
    Create {
        /// The team name (lowercase letters, digits, '-', '_', '.').
        #[arg(value_parser = parse::team)]
        name: TeamName,
        /// A name for people ("Payments & Billing").
        #[arg(long)]
        display_name: Option<String>,
    },
    /// Change a team's display name.
    #[command(group(clap::ArgGroup::new("change").required(true).args(["display_name", "clear_display_name"])))]
    Update {
        #[arg(value_parser = parse::team)]
        name: TeamName,
        /// The new display name.
        #[arg(long)]
        display_name: Option<String>,
        /// Remove the display name.
        #[arg(long)]
        clear_display_name: bool,
    },
    /// Delete a team.
    Delete {
        #[arg(value_parser = parse::team)]
        name: TeamName,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// Create a token and print its secret (shown only this once).
    Create {
        /// The token's name; it is recorded as the actor of everything done with it.
        #[arg(long, value_parser = parse::token_name)]
        name: TokenName,
        /// What it may do: read, write (record deployments), or admin (everything); or,
        /// as an SDK key of one environment (--env), sdk_client (evaluate flags only)
        /// or sdk_server (also fetch the flag definition to evaluate locally).
        #[arg(long, value_parser = parse::scope)]
        scope: Scope,
        /// The environment of an SDK key.
        #[arg(long, value_parser = parse::environment)]
        env: Option<EnvironmentName>,
        /// Create it directly in this database instead of through the server, to
        /// recover when no admin token is left (sqlite://rodeo.db, postgres://...).
        #[arg(long)]
        database_url: Option<String>,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token; requests with it fail from now on.
    Revoke {
        /// The token id shown by `rodeo token list`.
        id: String,
    },
}
