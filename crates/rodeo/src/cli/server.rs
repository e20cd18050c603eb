//! Arguments of the commands that run or maintain a server rather than talk to one.
//! They only parse here; the server crate does the work.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// Where the server reads its settings; each flag overrides the file and `RODEO_*`
/// environment variables.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// A TOML configuration file (see `rodeo config print-default`).
    #[arg(long, env = "RODEO_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The database: a SQLite path or URL (default ./rodeo.db) or postgres://...
    #[arg(long, env = "RODEO_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Address to listen on (default 127.0.0.1:7777).
    #[arg(long, env = "RODEO_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Seed of the generated history; the same seed gives the same data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The SQLite file to create; it must not exist yet.
    #[arg(long, value_name = "FILE", default_value = "rodeo-demo.db")]
    pub database: PathBuf,
    /// Address to listen on (default 127.0.0.1:7777).
    #[arg(long, env = "RODEO_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    /// Days of history to generate, ending now.
    #[arg(long, default_value_t = 180, value_parser = clap::value_parser!(u32).range(7..=730))]
    pub days: u32,
}

#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    /// The file to write; for PostgreSQL use pg_dump instead.
    pub file: PathBuf,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// Print every configuration key with its default and what it does.
    PrintDefault,
}
