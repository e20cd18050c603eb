//! Building and running the server.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::Router;
use rodeo_store::{Store, StoreError};
use rodeo_store_postgres::PgStore;
use rodeo_store_sqlite::SqliteStore;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::Config;
use crate::error::ApiError;
use crate::http::auth::TokenCache;
use crate::state::AppState;
use crate::webhooks::Mapping;
use crate::{api, bootstrap, health, hooks, http};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the database")]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid [mapping] configuration: {0}")]
    Mapping(String),
}

/// Opens the backend named by the URL: `postgres://` or `postgresql://` is PostgreSQL,
/// anything else (`sqlite://file`, a bare path) is SQLite.
pub async fn open_store(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect(url).await?))
    } else {
        Ok(Arc::new(SqliteStore::open_url(url)?))
    }
}

/// A built server, listening, not yet serving.
pub struct Application {
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    router: Router,
    metrics_router: Option<Router>,
    state: AppState,
    admin_secret: Option<String>,
    shutdown: tokio::sync::watch::Sender<bool>,
}

impl Application {
    /// Opens the database from the configuration, then as [`Application::with_store`].
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let store = open_store(&config.database.url).await?;
        Self::with_store(config, store).await
    }

    /// Binds the listeners, creates the first admin token on an empty database, and
    /// assembles the routes.
    pub async fn with_store(config: Config, store: Arc<dyn Store>) -> Result<Self, StartError> {
        let mapping = Mapping::from_config(&config.mapping)
            .map_err(|e| StartError::Mapping(e.to_string()))?;
        let bind = |addr: SocketAddr| async move {
            TcpListener::bind(addr)
                .await
                .map_err(|source| StartError::Bind { addr, source })
        };
        let listener = bind(config.server.listen).await?;
        let metrics_listener = match config.server.metrics_listen {
            Some(a) => Some(bind(a).await?),
            None => None,
        };
        let admin_secret = bootstrap::bootstrap_admin_token(&store).await?;
        let (shutdown, shutdown_rx) = tokio::sync::watch::channel(false);
        let status_cache = crate::status_cache::StatusCache::start(&store);
        let flags = crate::flags::FlagCache::load(&store).await?;
        let dashboard = Arc::new(crate::dashboard::Shared::new(&config, &store));
        let state = AppState {
            dashboard,
            status_cache,
            store,
            config: Arc::new(config),
            mapping: Arc::new(mapping),
            tokens: Arc::new(TokenCache::default()),
            metrics: http::metrics::handle(),
            shutdown: shutdown_rx,
            dora_gauges: Arc::default(),
            flags,
            channels: Arc::default(),
        };
        let separate_metrics = metrics_listener.is_some();
        let router = router(&state, !separate_metrics);
        let metrics_router = separate_metrics.then(|| {
            Router::new()
                .route("/metrics", get(http::metrics::render))
                .with_state(state.clone())
        });
        Ok(Self {
            listener,
            metrics_listener,
            router,
            metrics_router,
            state,
            admin_secret,
            shutdown,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| self.state.config.server.listen)
    }

    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    pub fn store(&self) -> Arc<dyn Store> {
        self.state.store.clone()
    }

    /// The admin token created on this start, if the database had none.
    pub fn admin_secret(&self) -> Option<&str> {
        self.admin_secret.as_deref()
    }

    /// Serves until `signal` resolves, then stops accepting connections, lets in-flight
    /// requests finish (at most `shutdown_grace_secs`), ends event streams, and closes
    /// the store, which commits every write already queued.
    pub async fn run_until(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let grace = Duration::from_secs(self.state.config.server.shutdown_grace_secs);
        let (fired_tx, mut fired_rx) = tokio::sync::watch::channel(false);
        let shutdown = self.shutdown;
        let signal = async move {
            signal.await;
            tracing::info!("shutting down: finishing in-flight requests");
            let _ = shutdown.send(true);
            let _ = fired_tx.send(true);
        };
        if let (Some(l), Some(r)) = (self.metrics_listener, self.metrics_router) {
            let mut stop = fired_rx.clone();
            tokio::spawn(async move {
                let _ = axum::serve(l, r)
                    .with_graceful_shutdown(async move {
                        let _ = stop.wait_for(|f| *f).await;
                    })
                    .await;
            });
        }
        tokio::spawn(crate::incidents::auto_attribution(self.state.clone()));
        let flags = &self.state.flags;
        tokio::spawn(
            Arc::clone(flags).follow(self.state.store.clone(), self.state.shutdown.clone()),
        );
        let counts = tokio::spawn(crate::flags::flush_counts(
            Arc::clone(flags),
            self.state.store.clone(),
            Duration::from_secs(self.state.config.flags.flush_interval_secs.max(1)),
            self.state.shutdown.clone(),
        ));
        let serve = axum::serve(self.listener, self.router).with_graceful_shutdown(signal);
        let deadline = async move {
            let _ = fired_rx.wait_for(|f| *f).await;
            tokio::time::sleep(grace).await;
        };
        let result = tokio::select! {
            r = serve => r,
            () = deadline => {
                tracing::warn!("shutdown grace period over; dropping remaining connections");
                Ok(())
            }
        };
        // The last evaluation counts are written before the store closes.
        let _ = tokio::time::timeout(Duration::from_secs(5), counts).await;
        self.state.store.close().await;
        tracing::info!("stopped");
        result
    }
}

fn router(state: &AppState, with_metrics: bool) -> Router {
    let limits = &state.config.server;
    let (api, spec) = api::router().split_for_parts();
    let (ops, ops_spec) = OpenApiRouter::new()
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .split_for_parts();
    let (hooks, hooks_spec) = OpenApiRouter::new()
        .routes(routes!(hooks::github))
        .routes(routes!(hooks::gitlab))
        .routes(routes!(hooks::pagerduty))
        .routes(routes!(hooks::alertmanager))
        .split_for_parts();
    let mut spec = spec;
    spec.merge(ops_spec);
    spec.merge(hooks_spec);
    let spec = Arc::new(spec);
    let mut app = Router::new()
        .merge(api.layer(DefaultBodyLimit::max(limits.body_limit_bytes)))
        .merge(hooks.layer(DefaultBodyLimit::max(limits.webhook_body_limit_bytes)))
        .merge(ops)
        .route(
            "/api/v1/openapi.json",
            get(move || async move { axum::Json(spec.as_ref().clone()) }),
        );
    if with_metrics {
        app = app.route("/metrics", get(http::metrics::render_authed));
    }
    if state.config.dashboard.enabled {
        app = app.merge(crate::dashboard::router());
    }
    app.fallback(|| async { ApiError::NoRoute })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(axum::middleware::from_fn(http::metrics::track))
        .layer(TraceLayer::new_for_http())
        .with_state(state.clone())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
