//! Arguments of `rodeo flags`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use rodeo_domain::EnvironmentName;

use super::parse;

/// The environment every flag command works in.
#[derive(Debug, Clone, Args)]
pub struct EnvArg {
    /// The environment whose flags to use (`production`, `staging`).
    #[arg(long, short, value_parser = parse::environment, env = "RODEO_FLAGS_ENV")]
    pub env: EnvironmentName,
}

#[derive(Debug, Subcommand)]
pub enum FlagsCmd {
    /// Apply a flagd flag definition file (JSON or YAML) to an environment: checks it,
    /// prints what changes, and applies it atomically. Flags missing from the file are
    /// deleted; applying the same file again changes nothing (GitOps-friendly).
    Apply {
        /// The flagd definition (`-` reads standard input).
        #[arg(long, short)]
        file: PathBuf,
        #[command(flatten)]
        env: EnvArg,
        /// Show the diff without changing anything.
        #[arg(long)]
        dry_run: bool,
    },
    /// Check a flagd definition file without a server: schema, rules, variants,
    /// rodeo's metadata conventions. Exit code 7 when it is invalid.
    Validate {
        #[arg(long, short)]
        file: PathBuf,
    },
    /// Print an environment's flags as a flagd definition (what flagd and rodeo apply).
    Export {
        #[command(flatten)]
        env: EnvArg,
        /// json or yaml.
        #[arg(long, value_enum, default_value_t = FileFormat::Json)]
        format: FileFormat,
    },
    /// List an environment's flags with state, type, owner, evaluations and staleness.
    List {
        #[command(flatten)]
        env: EnvArg,
    },
    /// Show one flag's definition.
    Get {
        key: String,
        #[command(flatten)]
        env: EnvArg,
    },
    /// Create or replace one flag from a file holding its flagd definition.
    Put {
        key: String,
        #[arg(long, short)]
        file: PathBuf,
        #[command(flatten)]
        env: EnvArg,
    },
    /// Turn a flag on or off (`off`: SDKs use their code default).
    Toggle {
        key: String,
        /// on or off.
        #[arg(value_enum)]
        state: OnOff,
        #[command(flatten)]
        env: EnvArg,
    },
    /// Serve a variant to a percentage of users (sticky per targeting key).
    Rollout {
        key: String,
        /// 0 to 100.
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
        percent: u8,
        /// The variant rolled out (default: a boolean flag's true variant).
        #[arg(long)]
        variant: Option<String>,
        /// The variant everyone else gets (default: a boolean flag's false variant).
        #[arg(long)]
        otherwise: Option<String>,
        #[command(flatten)]
        env: EnvArg,
    },
    /// The kill switch: everyone gets the off variant now.
    Kill {
        key: String,
        /// The variant everyone gets (default: a boolean flag's false variant).
        #[arg(long)]
        variant: Option<String>,
        #[command(flatten)]
        env: EnvArg,
    },
    /// Delete one flag.
    Delete {
        key: String,
        #[command(flatten)]
        env: EnvArg,
    },
    /// Flags to clean up: past their expected lifetime, serving one variant to
    /// everyone, disabled, or unused.
    Stale {
        #[command(flatten)]
        env: EnvArg,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FileFormat {
    Json,
    Yaml,
}
