//! rodeo's feature-flag engine. A flagd flag definition is compiled once into a
//! [`FlagSet`] (targeting rules become a JSON Logic tree with `$ref`s inlined and
//! operators resolved) and evaluated against a context with no I/O, no clock and no
//! allocation beyond what a rule computes. The server and the Rust SDK share it.
//!
//! Semantics follow flagd: JSON Logic plus `fractional` (v2 bucketing), `starts_with`,
//! `ends_with`, `sem_ver`, `$ref` to shared `$evaluators`, and the `$flagd.flagKey` /
//! `$flagd.timestamp` context. The flagd-testbed evaluator suite runs against it
//! (`tests/flagd_testbed.rs`).

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod definition;
mod evaluate;
mod logic;
mod value;

#[cfg(feature = "testbed")]
pub mod testbed;

pub use definition::{Flag, FlagSet, Problem, State, ValueKind};
pub use evaluate::{check_context, ErrorCode, EvalError, Reason, Requested, Resolution};
pub use logic::{MAX_DEPTH, MAX_NODES};
