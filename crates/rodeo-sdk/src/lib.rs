//! rodeo's Rust feature-flag SDK. It follows one environment's flag definition on a
//! rodeo server and evaluates flags locally, in memory, with the same engine the server
//! uses ([`rodeo_flags`]): an evaluation is a function call, not a request.
//!
//! # Usage
//!
//! Create a server-side SDK key for the environment (`rodeo token create --name backend
//! --scope sdk_server --env production`, or `POST /api/v1/tokens`), then:
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use rodeo_sdk::RodeoFlags;
//! use serde_json::{Map, Value};
//!
//! # async fn run() -> Result<(), rodeo_sdk::Error> {
//! let flags = RodeoFlags::builder("https://rodeo.example.com", "production", "rodeo_…")
//!     .wait_timeout(Duration::from_secs(3))
//!     .connect()
//!     .await?;
//!
//! let mut context = Map::new();
//! context.insert("targetingKey".into(), Value::from("user-42"));
//! context.insert("email".into(), Value::from("ada@example.com"));
//!
//! if flags.bool_value("new-checkout", &context, false) {
//!     // the new checkout
//! }
//! let details = flags.evaluate("banner", &context);
//! println!("{:?} because {}", details.value, details.reason.as_str());
//!
//! // React to changes (they arrive within about a second of being made).
//! let mut changes = flags.changes();
//! tokio::spawn(async move {
//!     while let Some(version) = changes.changed().await {
//!         println!("now serving flag definition version {version}");
//!     }
//! });
//! # Ok(()) }
//! ```
//!
//! Or through the standard OpenFeature API (`open-feature` 0.3), with [`RodeoFlags`] as
//! the provider:
//!
//! ```no_run
//! # async fn run(flags: rodeo_sdk::RodeoFlags) {
//! use open_feature::{EvaluationContext, OpenFeature};
//!
//! let mut api = OpenFeature::singleton_mut().await;
//! api.set_provider(flags.clone()).await;
//! let client = api.create_client();
//! drop(api);
//!
//! let context = EvaluationContext::default()
//!     .with_targeting_key("user-42")
//!     .with_custom_field("email", "ada@example.com");
//! let on = client
//!     .get_bool_value("new-checkout", Some(&context), None)
//!     .await
//!     .unwrap_or(false);
//! # }
//! ```
//!
//! # How it stays current
//!
//! [`Builder::connect`] starts a background task that fetches
//! `GET /api/v1/flags/{env}/definition` and then follows the event stream
//! `GET /api/v1/flags/{env}/definition/stream`, which sends each new definition within
//! about a second of a change. When the stream drops, the task reconnects with
//! exponential backoff (0.5 s doubling to 30 s, with jitter) and `Last-Event-ID`, and
//! polls the definition with `If-None-Match` on every attempt, so a proxy that refuses
//! event streams still gets changes at the backoff's pace. [`RodeoFlags::connection`]
//! says where it stands; [`RodeoFlags::last_error`] says why.
//!
//! # When the server is down
//!
//! - A client that has a definition keeps evaluating it, unchanged, for as long as the
//!   server is unreachable, and picks up changes when it comes back.
//! - [`Builder::connect`] waits for the first definition (5 s by default) and fails
//!   with [`Error::Timeout`] if none comes, or at once with [`Error::Refused`] if the
//!   server refuses the key (a client-side key, another environment's key, a revoked
//!   one). With [`Builder::no_wait`] it returns at once instead: until the first
//!   definition arrives, every evaluation answers the caller's default with reason
//!   `ERROR` and code `PROVIDER_NOT_READY` (the OpenFeature provider reports status
//!   `NotReady`), and the task keeps retrying. Choose it when the application must
//!   start without rodeo; the code defaults are then what it runs with.
//! - A definition that does not compile (a newer server, a bug) is logged and
//!   skipped; the previous one keeps serving.
//!
//! # Evaluation
//!
//! Evaluation is local and takes no lock beyond cloning an `Arc`. Outcomes follow
//! flagd: a disabled flag, or one with no default variant that no rule matched, answers
//! the caller's default (reason `DISABLED` / `DEFAULT`); an unknown flag, a type
//! mismatch or a broken rule answers the default with reason `ERROR` and an
//! [`ErrorCode`]. `$flagd.timestamp` is the local clock.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod backoff;
mod builder;
mod client;
mod convert;
mod details;
mod error;
mod follow;
mod provider;
mod sse;

pub use builder::Builder;
pub use client::{Changes, Connection, RodeoFlags};
pub use details::{Details, ErrorCode, EvalError};
pub use error::Error;
pub use rodeo_flags::{Reason, Requested};
