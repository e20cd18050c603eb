//! Diagnostics on stderr for the client commands, filtered by `RUST_LOG` (default:
//! warnings only, so scripts see clean output).

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
