//! The `rodeo` command: a client for rodeo's HTTP API, the demo data generator, and
//! (wired from `rodeo-server`) the server itself. `main.rs` only parses and dispatches;
//! everything here can be called from tests.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod api;
pub mod cli;
pub mod client;
pub mod commands;
pub mod demo;
pub mod error;
pub mod git;
pub mod render;
pub mod server;
pub mod tail;
pub mod telemetry;

#[cfg(test)]
mod test_support;

pub use error::CliError;
