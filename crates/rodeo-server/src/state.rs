//! What every handler shares.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use rodeo_domain::{Source, WriteContext};
use rodeo_store::Store;

use crate::config::Config;
use crate::http::auth::TokenCache;
use crate::webhooks::Mapping;

#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) config: Arc<Config>,
    pub(crate) mapping: Arc<Mapping>,
    pub(crate) tokens: Arc<TokenCache>,
    pub(crate) metrics: PrometheusHandle,
    /// Becomes true when the server starts shutting down; ends event streams.
    pub(crate) shutdown: tokio::sync::watch::Receiver<bool>,
    pub(crate) status_cache: Arc<crate::status_cache::StatusCache>,
    /// The flags each environment serves.
    pub(crate) flags: Arc<crate::flags::FlagCache>,
    /// OFREP event-stream channels resolved recently.
    pub(crate) channels: Arc<crate::ofrep::Channels>,
    /// Dashboard sessions and cached figures.
    pub(crate) dashboard: Arc<crate::dashboard::Shared>,
    /// When the DORA gauges on `/metrics` were last computed.
    pub(crate) dora_gauges: Arc<tokio::sync::Mutex<Option<std::time::Instant>>>,
}

impl AppState {
    /// A write context stamped now, with the ingest rules from the configuration.
    pub(crate) fn write_context(&self, actor: &str, source: Source) -> WriteContext {
        let mut ctx = WriteContext::new(actor, source, rodeo_domain::now());
        ctx.auto_register = self.config.ingest.auto_register;
        ctx.first_deploy_horizon =
            chrono::Duration::days(i64::from(self.config.ingest.first_deploy_horizon_days));
        ctx
    }
}
