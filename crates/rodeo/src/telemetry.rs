//! Diagnostics on stderr: for client commands filtered by `RUST_LOG` (default: warnings
//! only, so scripts see clean output); for the server as its `[log]` section says.
//! Colours only reach a terminal: a log file or a collector gets plain text.

use std::ffi::OsString;
use std::io::IsTerminal;

use rodeo_server::config::LogConfig;
use rodeo_server::LogFormat;
use tracing_subscriber::EnvFilter;

pub fn init_cli() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    // A second initialisation (tests) is harmless; ignore it.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(stderr_colour())
        .with_target(false)
        .try_init();
}

/// For `serve` and `demo`: human or JSON lines at the configured level.
pub fn init_server(log: &LogConfig) {
    let (filter, invalid) = match EnvFilter::try_new(&log.level) {
        Ok(f) => (f, None),
        Err(e) => (EnvFilter::new("info"), Some(e)),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match log.format {
        LogFormat::Human => builder.with_ansi(stderr_colour()).try_init(),
        LogFormat::Json => builder.json().with_ansi(false).try_init(),
    };
    if let Some(e) = invalid {
        tracing::warn!(level = %log.level, error = %e, "invalid [log] level; using info");
    }
}

/// Whether human log lines on stderr may carry ANSI colour codes.
fn stderr_colour() -> bool {
    use_colour(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR"),
    )
}

/// Colour only on a terminal, and never when `NO_COLOR` is set to something
/// (https://no-color.org): `with_ansi` would otherwise override that convention.
fn use_colour(terminal: bool, no_color: Option<OsString>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_only_a_terminal_without_no_color() {
        assert!(use_colour(true, None));
        assert!(use_colour(true, Some(OsString::new())));
        assert!(!use_colour(true, Some(OsString::from("1"))));
        assert!(!use_colour(false, None));
    }
}
