//! Arguments of the client commands that record and read deployments and the ledger.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Subcommand, ValueEnum};
use rodeo_domain::{DeploymentKind, DeploymentStatus, EnvironmentName, ServiceName, Timestamp};

use super::parse;
use super::EXIT_CODES_HELP;

/// `rodeo deploy`: without a subcommand, records a finished deployment in one call.
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = EXIT_CODES_HELP
)]
pub struct DeployCmd {
    #[command(subcommand)]
    pub action: Option<DeployAction>,
    #[command(flatten)]
    pub record: DeployArgs,
    /// How the deployment ended.
    #[arg(long, value_enum, default_value_t = FinishStatus::Succeeded)]
    pub status: FinishStatus,
    /// When it finished (RFC 3339); the server's clock when left out.
    #[arg(long, value_parser = parse::timestamp)]
    pub finished_at: Option<Timestamp>,
}

#[derive(Debug, Subcommand)]
pub enum DeployAction {
    /// Record a deployment that has started; prints its id for `rodeo deploy finish`.
    Start(DeployArgs),
    /// Close a started deployment.
    Finish(FinishArgs),
}

/// What was deployed where. The required options are `Option`s because `rodeo deploy
/// finish` shares the command without them; clap still insists on them otherwise.
#[derive(Debug, Clone, Args)]
pub struct DeployArgs {
    /// The service deployed.
    #[arg(long, required = true, value_parser = parse::service)]
    pub service: Option<ServiceName>,
    /// The environment deployed to.
    #[arg(long, visible_alias = "environment", required = true, value_parser = parse::environment)]
    pub env: Option<EnvironmentName>,
    /// The version deployed, as your release process names it (1.4.2, 2026.03.02-1).
    #[arg(long, required = true)]
    pub version: Option<String>,
    /// The full commit sha deployed; with --git, any revision git understands (HEAD).
    #[arg(long, required = true)]
    pub commit: Option<String>,
    /// `hotfix` for an urgent fix, `rollback` to put back an earlier version.
    #[arg(long, value_enum, default_value_t = KindArg::Normal)]
    pub kind: KindArg,
    /// When the deployment started (RFC 3339).
    #[arg(long, value_parser = parse::timestamp)]
    pub started_at: Option<Timestamp>,
    /// A link to the pipeline run or release (the server's address is --server).
    #[arg(long)]
    pub url: Option<String>,
    /// The deployment's id in your CI system; unique within rodeo.
    #[arg(long)]
    pub external_id: Option<String>,
    /// Upload the commits between what the environment runs now and --commit, read from
    /// the git repository at this path.
    #[arg(long, value_name = "PATH")]
    pub git: Option<PathBuf>,
    /// Makes a retried request safe: the server answers a repeat with the first result.
    #[arg(long, env = "RODEO_IDEMPOTENCY_KEY")]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct FinishArgs {
    /// The deployment id printed by `rodeo deploy start`.
    pub id: String,
    /// How the deployment ended.
    #[arg(long, value_enum)]
    pub status: FinishStatus,
    /// When it finished (RFC 3339); the server's clock when left out.
    #[arg(long, value_parser = parse::timestamp)]
    pub finished_at: Option<Timestamp>,
    /// Makes a retried request safe: the server answers a repeat with the first result.
    #[arg(long, env = "RODEO_IDEMPOTENCY_KEY")]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FinishStatus {
    Succeeded,
    Failed,
}

impl From<FinishStatus> for DeploymentStatus {
    fn from(s: FinishStatus) -> Self {
        match s {
            FinishStatus::Succeeded => Self::Succeeded,
            FinishStatus::Failed => Self::Failed,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    Normal,
    Hotfix,
    Rollback,
}

impl From<KindArg> for DeploymentKind {
    fn from(k: KindArg) -> Self {
        match k {
            KindArg::Normal => Self::Normal,
            KindArg::Hotfix => Self::Hotfix,
            KindArg::Rollback => Self::Rollback,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    #[value(name = "in_progress")]
    InProgress,
    Succeeded,
    Failed,
    #[value(name = "rolled_back")]
    RolledBack,
}

impl From<StatusArg> for DeploymentStatus {
    fn from(s: StatusArg) -> Self {
        match s {
            StatusArg::InProgress => Self::InProgress,
            StatusArg::Succeeded => Self::Succeeded,
            StatusArg::Failed => Self::Failed,
            StatusArg::RolledBack => Self::RolledBack,
        }
    }
}

/// Paging of list commands.
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// At most this many items (the server allows 1 to 1000; 50 when left out).
    #[arg(long)]
    pub limit: Option<u32>,
    /// Continue a previous list: the `next_cursor` it printed.
    #[arg(long)]
    pub cursor: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum DeploymentsCmd {
    /// List deployments, newest first.
    List {
        #[arg(long, value_parser = parse::service)]
        /// Only this service.
        service: Option<ServiceName>,
        /// Only this environment.
        #[arg(long, visible_alias = "environment", value_parser = parse::environment)]
        env: Option<EnvironmentName>,
        /// Only deployments with this status.
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
        #[command(flatten)]
        page: ListArgs,
    },
    /// Show one deployment and the commits it shipped.
    Show {
        /// The deployment id.
        id: String,
    },
}

#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("from_side").required(true).args(["from", "from_version", "from_sha"])))]
#[command(group(ArgGroup::new("to_side").required(true).args(["to", "to_version", "to_sha"])))]
pub struct CompareArgs {
    /// The service whose revisions are compared.
    #[arg(long, value_parser = parse::service)]
    pub service: ServiceName,
    /// What this environment runs ...
    #[arg(long, value_parser = parse::environment)]
    pub from: Option<EnvironmentName>,
    /// ... or this version ...
    #[arg(long)]
    pub from_version: Option<String>,
    /// ... or this full sha.
    #[arg(long)]
    pub from_sha: Option<String>,
    /// Compared with what this environment runs ...
    #[arg(long, value_parser = parse::environment)]
    pub to: Option<EnvironmentName>,
    /// ... or this version ...
    #[arg(long)]
    pub to_version: Option<String>,
    /// ... or this full sha.
    #[arg(long)]
    pub to_sha: Option<String>,
}

/// Filters shared by `events list` and `events tail`.
#[derive(Debug, Clone, Args)]
pub struct EventFilterArgs {
    /// Only events about this service.
    #[arg(long, value_parser = parse::service)]
    pub service: Option<ServiceName>,
    /// Only events about this environment.
    #[arg(long, visible_alias = "environment", value_parser = parse::environment)]
    pub env: Option<EnvironmentName>,
    /// Only this kind (`deployment.finished`), or a family ending in a dot (`deployment.`).
    #[arg(long)]
    pub kind: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum EventsCmd {
    /// List ledger events, newest first.
    List {
        #[command(flatten)]
        filter: EventFilterArgs,
        /// Only events at or after this time (RFC 3339).
        #[arg(long, value_parser = parse::timestamp)]
        since: Option<Timestamp>,
        /// Only events before this time (RFC 3339).
        #[arg(long, value_parser = parse::timestamp)]
        until: Option<Timestamp>,
        #[command(flatten)]
        page: ListArgs,
    },
    /// Follow new events as they are recorded, one line each; reconnects on its own.
    Tail {
        #[command(flatten)]
        filter: EventFilterArgs,
        /// Resume after this event id instead of starting from now.
        #[arg(long)]
        last_event_id: Option<String>,
    },
}
