//! Feature flags in the server: the compiled flag set each environment serves (kept in
//! memory, replaced when the ledger says a flag changed), the SSE streams that announce
//! changes, and the evaluation counters flushed to the database.

mod cache;
mod counts;

pub(crate) use cache::{FlagCache, Served};
pub(crate) use counts::{flush_counts, now_micros};
