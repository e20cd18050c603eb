//! Arguments of `rodeo incident …` and `rodeo dora`.

use clap::{Args, Subcommand};
use rodeo_domain::{EnvironmentName, ServiceName, TeamName, Timestamp};

use super::parse;

#[derive(Debug, Subcommand)]
pub enum IncidentCmd {
    /// Open an incident; prints its id.
    Open(OpenArgs),
    /// List incidents, newest first.
    List(IncidentListArgs),
    /// Show an incident: status, times, roles, timeline, causes, action items.
    Show { id: String },
    /// Acknowledge: someone is on it.
    Ack(StepArgs),
    /// Mitigated: the impact has stopped.
    Mitigate(StepArgs),
    /// Resolved: the cause is fixed.
    Resolve(StepArgs),
    /// Closed: follow-up done (postmortem, action items).
    Close(StepArgs),
    /// Back to open (the problem returned).
    Reopen(StepArgs),
    /// Add a note to the timeline.
    Note {
        id: String,
        /// The note (markdown).
        text: String,
    },
    /// Name the deployment(s) that caused the incident (replaces earlier ones); `--none`
    /// says no deployment did.
    Cause(CauseArgs),
    /// What changed before the incident: deployments of its services, with the suggested
    /// cause.
    Changes { id: String },
}

#[derive(Debug, Args)]
pub struct OpenArgs {
    /// What is wrong, in a line.
    #[arg(long)]
    pub title: String,
    /// sev1 (worst) .. sev5, or a configured alias such as `critical`.
    #[arg(long)]
    pub severity: String,
    /// An affected service (repeat for several).
    #[arg(long, value_parser = parse::service)]
    pub service: Vec<ServiceName>,
    /// An affected environment (repeat for several).
    #[arg(long, visible_alias = "environment", value_parser = parse::environment)]
    pub env: Vec<EnvironmentName>,
    /// When impact began (RFC 3339), if before now.
    #[arg(long, value_parser = parse::timestamp)]
    pub started_at: Option<Timestamp>,
    /// The incident commander.
    #[arg(long)]
    pub commander: Option<String>,
    /// A game-day drill: recorded, never counted in metrics.
    #[arg(long)]
    pub drill: bool,
    /// A first timeline note.
    #[arg(long)]
    pub summary: Option<String>,
}

#[derive(Debug, Args)]
pub struct IncidentListArgs {
    /// `unresolved`, or statuses separated by commas (open,acknowledged).
    #[arg(long)]
    pub status: Option<String>,
    #[arg(long, value_parser = parse::service)]
    pub service: Option<ServiceName>,
    #[arg(long)]
    pub limit: Option<u32>,
    #[arg(long)]
    pub cursor: Option<String>,
}

#[derive(Debug, Args)]
pub struct StepArgs {
    pub id: String,
    /// When it happened (RFC 3339); now when left out.
    #[arg(long, value_parser = parse::timestamp)]
    pub at: Option<Timestamp>,
    /// A note for the timeline.
    #[arg(long)]
    pub note: Option<String>,
}

#[derive(Debug, Args)]
pub struct CauseArgs {
    pub id: String,
    /// A deployment id (repeat for several).
    #[arg(long, required_unless_present = "none", conflicts_with = "none")]
    pub deployment: Vec<String>,
    /// No deployment caused it.
    #[arg(long)]
    pub none: bool,
}

/// `rodeo dora`: DORA's five keys for a service, a team or everything.
#[derive(Debug, Args)]
pub struct DoraArgs {
    #[arg(long, value_parser = parse::service, conflicts_with = "team")]
    pub service: Option<ServiceName>,
    #[arg(long, value_parser = parse::team)]
    pub team: Option<TeamName>,
    /// The window ending now: 30d, 12w, 90d.
    #[arg(long, conflicts_with = "from")]
    pub window: Option<String>,
    /// Window start (RFC 3339), with --to.
    #[arg(long, value_parser = parse::timestamp)]
    pub from: Option<Timestamp>,
    /// Window end (RFC 3339); now when left out.
    #[arg(long, value_parser = parse::timestamp)]
    pub to: Option<Timestamp>,
}
