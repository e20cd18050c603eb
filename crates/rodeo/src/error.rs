//! The CLI's errors, the exit code each maps to, and how they are shown on stderr.

use std::error::Error as _;
use std::path::PathBuf;

use rodeo_domain::FieldError;
use rodeo_server::config::ConfigError;
use rodeo_server::StartError;
use rodeo_store::StoreError;

use crate::client::ClientError;
use crate::demo::RunError;
use crate::git::GitError;

/// Exit codes; `--help` and the docs list the same table.
pub mod code {
    pub const OK: u8 = 0;
    pub const OTHER: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const UNREACHABLE: u8 = 3;
    pub const AUTH: u8 = 4;
    pub const NOT_FOUND: u8 = 5;
    pub const CONFLICT: u8 = 6;
    pub const INVALID: u8 = 7;
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    Demo(#[from] RunError),
    /// Arguments clap accepted but that do not make sense together.
    #[error("{0}")]
    Usage(String),
    #[error("cannot write the output")]
    Output(#[source] std::io::Error),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot start the server")]
    Start(#[from] StartError),
    #[error("database operation failed")]
    Store(#[from] StoreError),
    #[error("the server stopped with an error")]
    Serve(#[source] std::io::Error),
    #[error("there is no database at {}", .0.display())]
    NoDatabase(PathBuf),
    #[error("cannot remove {}", .path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the flag definition {}: {message}", .path.display())]
    FlagFile { path: PathBuf, message: String },
    /// A flag definition that rodeo would refuse, with the JSON Pointer of each problem.
    #[error("the flag definition is invalid:{}", .0.0.iter().map(|e| format!("\n  {}: {}", e.field, e.message)).collect::<String>())]
    InvalidFlags(rodeo_domain::FieldErrors),
    /// The built-in demo catalogue holds an invalid name (a bug; tests rule it out).
    #[error("the demo data is invalid")]
    DemoData(#[source] FieldError),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Client(e) => client_code(e),
            Self::Demo(RunError::Request { source, .. }) => client_code(source),
            Self::Usage(_) | Self::Config(_) => code::USAGE,
            Self::FlagFile { .. } | Self::InvalidFlags(_) => code::INVALID,
            Self::Git(_)
            | Self::Demo(_)
            | Self::Output(_)
            | Self::Start(_)
            | Self::Store(_)
            | Self::Serve(_)
            | Self::NoDatabase(_)
            | Self::File { .. }
            | Self::DemoData(_) => code::OTHER,
        }
    }

    /// The message for stderr: the error, then each cause on its own line.
    pub fn report(&self) -> String {
        let mut out = format!("error: {self}");
        let mut cause = self.source();
        // A problem from the server is already complete; its chain adds nothing.
        if let Self::Client(ClientError::Problem(_)) = self {
            cause = None;
        }
        while let Some(c) = cause {
            // Some errors repeat their source in their own message; say it once.
            let text = c.to_string();
            if !out.contains(&text) {
                out.push_str(&format!("\n  caused by: {text}"));
            }
            cause = c.source();
        }
        out
    }
}

fn client_code(e: &ClientError) -> u8 {
    match e {
        ClientError::Unreachable { .. } => code::UNREACHABLE,
        ClientError::Problem(p) => match p.status {
            401 | 403 => code::AUTH,
            404 => code::NOT_FOUND,
            409 => code::CONFLICT,
            400 | 413 | 422 => code::INVALID,
            _ => code::OTHER,
        },
        ClientError::InvalidUrl { .. } | ClientError::NotHttp { .. } => code::USAGE,
        ClientError::Transport { .. } | ClientError::Decode { .. } => code::OTHER,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Problem;

    fn problem(status: u16) -> CliError {
        CliError::Client(ClientError::Problem(Box::new(Problem::from_response(
            status,
            r#"{"title":"Invalid request","detail":"bad","errors":[{"field":"version","message":"must not be empty"}]}"#,
        ))))
    }

    #[test]
    fn maps_statuses_to_documented_codes() {
        let cases = [
            (401, 4),
            (403, 4),
            (404, 5),
            (409, 6),
            (400, 7),
            (413, 7),
            (422, 7),
            (500, 1),
        ];
        for (status, expected) in cases {
            assert_eq!(problem(status).exit_code(), expected, "{status}");
        }
        assert_eq!(CliError::Usage("x".into()).exit_code(), 2);
    }

    #[test]
    fn reports_field_errors_and_causes() {
        assert_eq!(
            problem(422).report(),
            "error: Invalid request (422): bad\n  version: must not be empty"
        );
        let io = std::io::Error::new(std::io::ErrorKind::BrokenPipe, "pipe closed");
        assert_eq!(
            CliError::Output(io).report(),
            "error: cannot write the output\n  caused by: pipe closed"
        );
    }
}
