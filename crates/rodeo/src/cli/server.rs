//! Arguments of the commands that run or maintain a server rather than talk to one.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use rodeo_domain::Timestamp;

use super::parse;

/// Where the server reads its settings. Layers, later wins: defaults, the file,
/// `RODEO_<SECTION>__<KEY>` environment variables, these flags.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// A TOML configuration file (see `rodeo config print-default`).
    #[arg(long, env = "RODEO_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The database: sqlite://path (default sqlite://rodeo.db) or postgres://...
    #[arg(long, env = "RODEO_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Address to listen on (default 127.0.0.1:7777).
    #[arg(long, env = "RODEO_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// A TOML configuration file, for its [log], [webhooks] and other sections; the
    /// database is always --database.
    #[arg(long, env = "RODEO_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Seed of the generated history; the same seed gives the same data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The SQLite file for the demo. If it exists, it is served as it is (with a new
    /// read token) unless --fresh is given.
    #[arg(long, value_name = "FILE", default_value = "rodeo-demo.db")]
    pub database: PathBuf,
    /// Delete the demo database first and generate the history again.
    #[arg(long)]
    pub fresh: bool,
    /// Address to listen on (default 127.0.0.1:7777).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Days of history to generate.
    #[arg(long, default_value_t = 180, value_parser = clap::value_parser!(u32).range(7..=730))]
    pub days: u32,
    /// The end of the generated history (RFC 3339; default: now). With the same seed
    /// and end, the data is identical.
    #[arg(long, value_parser = parse::timestamp, hide = true)]
    pub now: Option<Timestamp>,
}

#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    /// The file to write; it must not exist. For PostgreSQL use pg_dump instead.
    pub file: PathBuf,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// Print every configuration key with its default and what it does.
    PrintDefault,
}
