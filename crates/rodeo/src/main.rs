//! Entry point: parse the command line, set up diagnostics, run, exit with the
//! documented code.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = rodeo::cli::Cli::parse();
    // Each command sets up its diagnostics: client commands warn on stderr, the server
    // ones follow the [log] configuration.
    match rodeo::commands::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", e.report());
            ExitCode::from(e.exit_code())
        }
    }
}
