//! The SDK against a real rodeo server on port 0 over a temporary SQLite database:
//! first fetch and local evaluation, changes through the stream, a server that stops
//! and comes back, refused keys, and the OpenFeature API end to end.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod auth;
mod evaluate;
mod helpers;
mod live;
mod openfeature;
