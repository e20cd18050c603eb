//! Configuration in layers: built-in defaults, then a TOML file, then `RODEO_*`
//! environment variables (`RODEO_SECTION__KEY`, double underscore between section and
//! key), then command-line flags (applied by the binary). Unknown keys are errors in
//! every layer, so a typo never silently falls back to a default.

use std::net::SocketAddr;
use std::path::Path;

use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::webhooks::MappingConfig;

/// The whole configuration. See [`DEFAULT_TOML`] for every key with its comment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub ingest: IngestConfig,
    pub webhooks: WebhooksConfig,
    pub mapping: MappingConfig,
    pub incidents: IncidentsConfig,
    pub alerting: crate::webhooks::AlertingConfig,
    pub metrics: MetricsConfig,
    pub flags: FlagsConfig,
    pub dashboard: DashboardConfig,
    pub log: LogConfig,
}

/// Feature flags: evaluation limits, counters and the stale-flag report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlagsConfig {
    /// Largest evaluation request body (the context) OFREP accepts, in bytes.
    pub max_context_bytes: usize,
    /// How often in-memory evaluation counts are written to the database, in seconds.
    pub flush_interval_secs: u64,
    /// A flag serving one variant to everyone for this many days is reported stale.
    pub rolled_out_stale_days: u32,
    /// `inactivityDelaySec` advertised with OFREP event streams.
    pub stream_inactivity_secs: u32,
}

impl Default for FlagsConfig {
    fn default() -> Self {
        Self {
            max_context_bytes: 32 * 1024,
            flush_interval_secs: 10,
            rolled_out_stale_days: 14,
            stream_inactivity_secs: 120,
        }
    }
}

/// The web dashboard at `/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DashboardConfig {
    /// Serve the dashboard (the API does not depend on it).
    pub enabled: bool,
    /// Visitors who have not logged in see every page read-only.
    pub public: bool,
    /// Signs session cookies; random per start when unset.
    pub session_secret: Option<String>,
    /// How long a login lasts.
    pub session_hours: u32,
    /// Send the session cookie over HTTPS only.
    pub secure_cookies: bool,
    /// How long computed DORA figures are reused before they are recomputed.
    pub metrics_cache_secs: u64,
    /// How often `/tv` reloads itself.
    pub tv_refresh_secs: u32,
}

impl Default for DashboardConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            public: false,
            session_secret: None,
            session_hours: 12,
            secure_cookies: false,
            metrics_cache_secs: 60,
            tv_refresh_secs: 60,
        }
    }
}

/// Who links an incident to the deployment that caused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributionMode {
    /// No suggestion is shown; only causes people set exist.
    Off,
    /// rodeo suggests; only causes people set count.
    Suggest,
    /// The suggestion becomes the cause when nobody set one within `auto_link_after_hours`.
    Auto,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentsConfig {
    /// How far before an incident's start "what changed?" looks, in hours.
    pub changes_window_hours: u32,
    pub attribution: AttributionMode,
    pub auto_link_after_hours: u32,
    /// Other names for severities, accepted wherever a severity is (`critical` -> `sev1`).
    pub severity_aliases: std::collections::BTreeMap<String, String>,
}

impl Default for IncidentsConfig {
    fn default() -> Self {
        Self {
            changes_window_hours: 24,
            attribution: AttributionMode::Suggest,
            auto_link_after_hours: 4,
            severity_aliases: [
                ("critical", "sev1"),
                ("high", "sev2"),
                ("major", "sev2"),
                ("medium", "sev3"),
                ("minor", "sev4"),
                ("low", "sev4"),
                ("info", "sev5"),
            ]
            .into_iter()
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect(),
        }
    }
}

impl IncidentsConfig {
    /// `sev1`..`sev5`, or a configured alias (case-insensitive).
    pub fn severity(
        &self,
        field: &str,
        s: &str,
    ) -> Result<rodeo_domain::Severity, rodeo_domain::FieldError> {
        let lower = s.trim().to_ascii_lowercase();
        let canonical = self
            .severity_aliases
            .get(&lower)
            .map_or(lower.as_str(), String::as_str);
        rodeo_domain::Severity::parse(field, canonical).map_err(|_| {
            let aliases: Vec<&str> = self.severity_aliases.keys().map(String::as_str).collect();
            rodeo_domain::FieldError::new(
                field,
                format!("must be sev1..sev5 or one of: {}", aliases.join(", ")),
            )
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// The window when a request names none, in days.
    pub default_window_days: u32,
    /// Commit authors matching any of these globs are left out of lead time.
    pub bot_patterns: Vec<String>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            default_window_days: 30,
            bot_patterns: vec!["*[bot]".into(), "dependabot*".into(), "renovate*".into()],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Serve `/metrics` on this address instead of the main listener.
    pub metrics_listen: Option<SocketAddr>,
    pub body_limit_bytes: usize,
    pub webhook_body_limit_bytes: usize,
    pub shutdown_grace_secs: u64,
    /// Seconds a verified token stays cached; a revocation on another replica takes
    /// effect within this time (immediately on the replica that revoked it).
    pub token_cache_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)),
            metrics_listen: None,
            body_limit_bytes: 1024 * 1024,
            webhook_body_limit_bytes: 25 * 1024 * 1024,
            shutdown_grace_secs: 30,
            token_cache_secs: 5,
        }
    }
}

/// rodeo's default port.
pub const DEFAULT_PORT: u16 = 7777;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://path` (or a bare path) or `postgres://user@host/db`.
    pub url: String,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://rodeo.db".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    pub auto_register: bool,
    pub first_deploy_horizon_days: u32,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            auto_register: true,
            first_deploy_horizon_days: 30,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    pub github_secret: Option<String>,
    pub gitlab_token: Option<String>,
    /// The signing secret of a PagerDuty V3 webhook subscription.
    pub pagerduty_secret: Option<String>,
    /// The bearer token Alertmanager sends (`http_config.authorization.credentials`).
    pub alertmanager_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `human` or `json`.
    pub format: LogFormat,
    /// A tracing filter: `info`, `rodeo_server=debug,info`, ...
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Human,
            level: "info".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Human,
    Json,
}

/// Every key with its default and what it does; `rodeo config print-default` prints it.
pub const DEFAULT_TOML: &str = include_str!("default_config.toml");

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(#[source] Box<figment::Error>);

impl Config {
    /// Defaults, then `file` (if given; it must exist), then `RODEO_SECTION__KEY`
    /// variables from the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(file, std::env::vars())
    }

    /// As [`Config::load`], with the environment passed in (for tests).
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(f) = file {
            if !f.exists() {
                return Err(ConfigError(Box::new(figment::Error::from(format!(
                    "config file {} does not exist",
                    f.display()
                )))));
            }
            fig = fig.merge(Toml::file(f));
        }
        // Variables without a double underscore (RODEO_URL, RODEO_TOKEN, ...) belong to
        // the CLI client or to flags, not to this file's sections.
        let vars: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with("RODEO_") && k.contains("__"))
            .collect();
        for (k, v) in vars {
            let key = k["RODEO_".len()..].to_ascii_lowercase().replace("__", ".");
            let value: figment::value::Value = v
                .parse::<figment::value::Value>()
                .unwrap_or_else(|_| figment::value::Value::from(v.clone()));
            fig = fig.merge(Serialized::global(&key, value));
        }
        fig.extract().map_err(|e| ConfigError(Box::new(e)))
    }

    /// Parses a TOML document on top of the defaults (no environment).
    pub fn from_toml(s: &str) -> Result<Self, ConfigError> {
        Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::string(s))
            .extract()
            .map_err(|e| ConfigError(Box::new(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_printed_default_is_the_default() {
        assert_eq!(Config::from_toml(DEFAULT_TOML).unwrap(), Config::default());
    }

    #[test]
    fn unknown_keys_are_errors() {
        let e = Config::from_toml("[server]\nlisten_addr = \"0.0.0.0:1\"\n").unwrap_err();
        assert!(e.0.to_string().contains("listen_addr"), "{e}");
        let e = Config::load_from(None, [("RODEO_SERVER__NOPE".to_string(), "1".to_string())])
            .unwrap_err();
        assert!(e.0.to_string().contains("nope"), "{e}");
    }

    #[test]
    fn environment_overrides_file_values() {
        let c = Config::load_from(
            None,
            [
                (
                    "RODEO_DATABASE__URL".to_string(),
                    "postgres://x@y/z".to_string(),
                ),
                (
                    "RODEO_INGEST__AUTO_REGISTER".to_string(),
                    "false".to_string(),
                ),
                ("RODEO_URL".to_string(), "http://ignored".to_string()),
            ],
        )
        .unwrap();
        assert_eq!(c.database.url, "postgres://x@y/z");
        assert!(!c.ingest.auto_register);
    }
}
