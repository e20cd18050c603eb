//! HTTP plumbing shared by every handler: JSON bodies that name the bad field, bearer
//! token authentication, idempotency keys, and request metrics.

pub(crate) mod auth;
pub(crate) mod body;
pub(crate) mod idempotency;
pub(crate) mod metrics;
pub(crate) mod query;
