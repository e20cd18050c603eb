//! API tests through a real server on port 0 over a temporary SQLite database.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod alerts;
mod auth;
mod bad_input;
mod dashboard;
mod deployments;
mod flags;
mod helpers;
mod incidents;
mod ledger;
mod metrics;
mod ofrep;
mod operations;
mod webhooks;
