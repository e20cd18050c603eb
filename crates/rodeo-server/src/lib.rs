//! rodeo's server: the REST API, webhooks, health and metrics endpoints, built on axum
//! over a [`rodeo_store::Store`]. [`Application::build`] binds the listeners (port 0 in
//! tests) and [`Application::run_until`] serves until a shutdown signal, then drains
//! in-flight requests and closes the store so queued writes are flushed.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod api;
mod app;
mod bootstrap;
pub mod config;
mod dashboard;
mod error;
mod flags;
mod health;
mod hooks;
mod http;
mod incidents;
mod ofrep;
mod state;
mod status_cache;
pub mod webhooks;

pub use app::{open_store, shutdown_signal, Application, StartError};
pub use bootstrap::{bootstrap_admin_token, create_sdk_key_offline, create_token_offline};
pub use config::{Config, LogFormat, DEFAULT_PORT, DEFAULT_TOML};
pub use http::auth::{hash_secret, new_secret, NewSecret};
