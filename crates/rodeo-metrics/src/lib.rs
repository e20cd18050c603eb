//! rodeo's delivery metrics, as pure functions over facts read from the ledger.
//!
//! Every definition here is written out in `docs/metrics.md` and implemented exactly
//! once; the server only gathers the facts ([`Facts`]) for a scope and a window and
//! serializes what comes back. Nothing here does I/O or reads a clock, so every
//! definition is tested with hand-computed tables and properties.
//!
//! Missing data is missing: a metric with no data points has `None` as its value and
//! its band, never 0 and never elite.

mod bands;
mod bots;
mod dora;
mod facts;
mod incidents;
mod stats;
mod window;

pub use bands::{median_band, Band, BANDS};
pub use bots::BotPatterns;
pub use dora::{
    dora, dora_by_service, dora_by_service_in, dora_in, ChangeFailureRate, DeploymentFrequency,
    Dora, LeadTime, LeadTimeStages, RecoveryTime, ReworkRate, Stage,
};
pub use dora::{first_shipments, pull_request_shipments};
pub use facts::{
    Facts, FirstShipment, Incident, IncidentKind, ProdDeployment, PullRequestShipment,
    PullRequestTimes, Shipment,
};
pub use incidents::{incident_metrics, IncidentMetrics, Interval, ServiceMtbf};
pub use stats::{mean, median, quantile, quantile_of_sorted};
pub use window::{Bucket, Window};
