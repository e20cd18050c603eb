//! Diagnostics on stderr: for client commands filtered by `RUST_LOG` (default: warnings
//! only, so scripts see clean output); for the server as its `[log]` section says.

use rodeo_server::config::LogConfig;
use rodeo_server::LogFormat;
use tracing_subscriber::EnvFilter;

pub fn init_cli() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    // A second initialisation (tests) is harmless; ignore it.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
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
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    if let Some(e) = invalid {
        tracing::warn!(level = %log.level, error = %e, "invalid [log] level; using info");
    }
}
