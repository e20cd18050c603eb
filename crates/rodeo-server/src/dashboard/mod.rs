//! The web dashboard: server-rendered pages over the same store the API reads, with
//! askama templates (compiled, auto-escaping) under `crates/rodeo-server/templates`.
//!
//! Every page works without JavaScript; `assets/dashboard.js` only adds live updates
//! (it re-fetches the page when the ledger changes). Pages need a session (see
//! [`session`]) unless `dashboard.public` is on; write controls appear, and write
//! routes answer, only for sessions of write tokens.

use std::sync::Arc;

use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::error::ApiError;
use crate::state::AppState;

mod assets;
mod events;
mod flags;
mod format;
mod incidents;
mod live;
mod metrics_cache;
mod overview;
mod plot;
mod rows;
mod services;
pub(crate) mod session;
mod viewer;

pub(crate) use metrics_cache::DoraCache;
pub(crate) use viewer::{Layout, Viewer};

/// What the dashboard keeps between requests.
pub(crate) struct Shared {
    pub(crate) keys: session::Keys,
    pub(crate) dora: Arc<DoraCache>,
}

impl Shared {
    pub(crate) fn new(config: &crate::config::Config, store: &Arc<dyn rodeo_store::Store>) -> Self {
        let d = &config.dashboard;
        if d.session_secret.is_none() && d.enabled {
            tracing::info!(
                "dashboard.session_secret is not set: dashboard logins end when rodeo restarts"
            );
        }
        Self {
            keys: session::Keys::new(
                d.session_secret.as_deref(),
                d.session_hours,
                d.secure_cookies,
            ),
            dora: DoraCache::start(store, std::time::Duration::from_secs(d.metrics_cache_secs)),
        }
    }
}

/// The dashboard's routes; merged at `/` when `dashboard.enabled`.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(overview::overview))
        .route("/tv", get(overview::tv))
        .route("/environments", get(services::environments))
        .route("/services/{name}", get(services::service))
        .route("/deployments/{id}", get(services::deployment))
        .route("/compare", get(services::compare))
        .route("/incidents", get(incidents::list))
        .route("/incidents/{id}", get(incidents::page))
        .route("/incidents/{id}/{action}", post(incidents::act))
        .route("/flags", get(flags::environments))
        .route("/flags/{env}", get(flags::list))
        .route("/flags/{env}/{key}", get(flags::page))
        .route("/flags/{env}/{key}/{action}", post(flags::act))
        .route("/events", get(events::list))
        .route("/live", get(live::stream))
        .route("/login", get(viewer::login_form).post(viewer::login))
        .route("/logout", post(viewer::logout))
        .route("/assets/{file}", get(assets::serve))
        .layer(axum::middleware::from_fn(security_headers))
}

/// A strict Content-Security-Policy (no inline scripts or styles anywhere), no framing,
/// no sniffing, and no caching of pages that may show write controls.
async fn security_headers(req: axum::extract::Request, next: Next) -> Response {
    let is_asset = req.uri().path().starts_with("/assets/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !is_asset && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// Why a page could not be shown.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PageError {
    /// No session: go log in, then come back to this path.
    #[error("log in first")]
    Login(String),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("rendering a template")]
    Template(#[from] askama::Error),
}

impl From<rodeo_store::StoreError> for PageError {
    fn from(e: rodeo_store::StoreError) -> Self {
        Self::Api(e.into())
    }
}

impl PageError {
    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        Self::Api(ApiError::NotFound(what.into()))
    }

    pub(crate) fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Api(ApiError::invalid(field, message))
    }
}

#[derive(askama::Template)]
#[template(path = "error.html")]
struct ErrorPage {
    status: u16,
    title: &'static str,
    detail: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, detail) = match &self {
            Self::Login(next) => {
                let to = format!("/login?next={}", format::query_escape(next));
                return Redirect::to(&to).into_response();
            }
            Self::Api(e @ ApiError::Internal(_)) => {
                tracing::error!(error = ?e, "dashboard page failed");
                let (s, t, _) = e.parts();
                (
                    s,
                    t,
                    "Something went wrong on our side; it has been logged.".to_owned(),
                )
            }
            Self::Api(e) => {
                let (s, t, _) = e.parts();
                (s, t, e.to_string())
            }
            Self::Template(e) => {
                tracing::error!(error = ?e, "dashboard template failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal server error",
                    "A page template failed; it has been logged.".to_owned(),
                )
            }
        };
        let page = ErrorPage {
            status: status.as_u16(),
            title,
            detail,
        };
        match askama::Template::render(&page) {
            Ok(body) => (status, Html(body)).into_response(),
            Err(_) => (status, title).into_response(),
        }
    }
}

/// Renders a template as a 200 page.
pub(crate) fn html(t: &impl askama::Template) -> Result<Response, PageError> {
    Ok(Html(t.render()?).into_response())
}

/// After a successful form post: back to the page (303, so a reload does not re-post).
pub(crate) fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}
