//! The subcommands that run or maintain a server: `serve`, `demo`, `backup`,
//! `config print-default` and offline `token create --database-url`. Thin wiring over
//! `rodeo-server`; the configuration layers end with the command-line flags here.

mod demo;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rodeo_domain::{Scope, TokenName};
use rodeo_server::{Application, Config};
use rodeo_store::Store;

use crate::cli::{BackupArgs, OutputFormat, ServeArgs, ServerArgs};
use crate::commands::stdout;
use crate::error::CliError;
use crate::telemetry;

pub use demo::demo;

/// Defaults, the file, `RODEO_*__*` variables, then the flags.
fn load_config(args: &ServerArgs) -> Result<Config, CliError> {
    let mut config = Config::load(args.config.as_deref())?;
    if let Some(url) = &args.database_url {
        config.database.url.clone_from(url);
    }
    Ok(config)
}

pub async fn serve(args: ServeArgs) -> Result<(), CliError> {
    let mut config = load_config(&args.server)?;
    if let Some(addr) = args.listen {
        config.server.listen = addr;
    }
    telemetry::init_server(&config.log);
    let app = Application::build(config).await?;
    if let Some(secret) = app.admin_secret() {
        stdout(&first_token_notice(secret))?;
    }
    tracing::info!(addr = %app.local_addr(), "rodeo is listening");
    app.run_until(rodeo_server::shutdown_signal())
        .await
        .map_err(CliError::Serve)
}

fn first_token_notice(secret: &str) -> String {
    format!(
        "rodeo created the first admin token; it is shown only this once:\n\n    {secret}\n\n\
         Use it to create tokens for CI and people: rodeo token create --name ci --scope write"
    )
}

pub fn print_default_config() -> Result<(), CliError> {
    stdout(rodeo_server::DEFAULT_TOML.trim_end())
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The file behind a SQLite URL (`sqlite://rodeo.db`, `sqlite:rodeo.db?mode=rwc`, or
/// a bare path).
fn sqlite_path(url: &str) -> PathBuf {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    PathBuf::from(rest.split('?').next().unwrap_or(rest))
}

/// Opens an existing database: a missing SQLite file is an error here rather than a
/// new empty database.
async fn open_existing(url: &str) -> Result<Arc<dyn Store>, CliError> {
    if !is_postgres(url) {
        let path = sqlite_path(url);
        if !path.exists() {
            return Err(CliError::NoDatabase(path));
        }
    }
    Ok(rodeo_server::open_store(url).await?)
}

pub async fn backup(args: BackupArgs) -> Result<(), CliError> {
    let config = load_config(&args.server)?;
    telemetry::init_cli();
    let url = &config.database.url;
    if is_postgres(url) {
        return Err(CliError::Usage(
            "rodeo backup copies SQLite databases; for PostgreSQL use pg_dump".into(),
        ));
    }
    if args.file.exists() {
        return Err(CliError::Usage(format!(
            "{} exists; choose a new file name",
            args.file.display()
        )));
    }
    let store = open_existing(url).await?;
    let result = store.backup(&args.file).await;
    store.close().await;
    result?;
    stdout(&format!("backed up {url} to {}", args.file.display()))
}

/// Creates a token directly in the database, for recovery when no admin token is left.
pub async fn create_token_offline(
    database_url: &str,
    name: &TokenName,
    scope: Scope,
    environment: Option<rodeo_domain::EnvironmentName>,
    format: OutputFormat,
) -> Result<(), CliError> {
    telemetry::init_cli();
    let store = open_existing(database_url).await?;
    let created =
        rodeo_server::create_sdk_key_offline(&store, name.as_str(), scope, environment).await;
    store.close().await;
    let (token, secret) = created?;
    match format {
        OutputFormat::Json => {
            let body = serde_json::json!({ "token": token, "secret": secret });
            stdout(&body.to_string())
        }
        OutputFormat::Text => stdout(&format!(
            "{secret}\n\ntoken {} ({}, id {}): store the secret above now, it is not shown again",
            token.name,
            token.scope.as_str(),
            token.id
        )),
    }
}

/// Removes a SQLite database with its WAL and shared-memory files.
fn remove_sqlite(path: &Path) -> Result<(), CliError> {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        match std::fs::remove_file(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(CliError::File {
                    path: PathBuf::from(p),
                    source: e,
                })
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_file_behind_sqlite_urls() {
        assert_eq!(sqlite_path("sqlite://rodeo.db"), PathBuf::from("rodeo.db"));
        assert_eq!(
            sqlite_path("sqlite:///var/lib/r.db"),
            PathBuf::from("/var/lib/r.db")
        );
        assert_eq!(sqlite_path("sqlite:r.db?mode=rwc"), PathBuf::from("r.db"));
        assert_eq!(sqlite_path("data/r.db"), PathBuf::from("data/r.db"));
        assert!(is_postgres("postgresql://u@h/db"));
    }

    #[test]
    fn flags_override_the_configuration() {
        let args = ServerArgs {
            config: None,
            database_url: Some("sqlite://elsewhere.db".into()),
        };
        assert_eq!(
            load_config(&args).unwrap().database.url,
            "sqlite://elsewhere.db"
        );
    }

    #[test]
    fn removes_a_database_with_its_side_files() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("demo.db");
        for f in ["demo.db", "demo.db-wal"] {
            std::fs::write(dir.path().join(f), b"x").unwrap();
        }
        remove_sqlite(&db).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
