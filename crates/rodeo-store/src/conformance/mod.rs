//! The storage conformance suite: the behaviour every [`Store`] backend must show,
//! written once and run against each backend.
//!
//! A backend's `tests/conformance.rs` provides an `async fn open() -> Option<TestDb>`
//! that creates a fresh, empty database (or `None` when the backend is not reachable,
//! e.g. no PostgreSQL server) and invokes
//!
//! ```ignore
//! rodeo_store::conformance_suite!(open);
//! ```
//!
//! which expands into one `#[tokio::test]` per case, so a failure names the behaviour
//! that broke. Cases drive the store only through the [`Store`] trait and check what a
//! user can observe (outcomes, reads, the ledger), never tables.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::Store;

pub mod catalog;
pub mod commits;
pub mod deployments;
pub mod events;
pub mod facts;
mod fixtures;
pub mod flags;
pub mod incidents;
pub mod shipped;
pub mod status;
pub mod writes;

type Teardown = Pin<Box<dyn Future<Output = ()> + Send>>;

/// One test's database: the store, and whatever must live as long as it and be cleaned
/// up afterwards (a temporary directory, a scratch PostgreSQL database).
pub struct TestDb {
    store: Arc<dyn Store>,
    guard: Box<dyn Send>,
    teardown: Option<Teardown>,
}

impl TestDb {
    /// `guard` is dropped after the test, also when it fails (so its `Drop` should
    /// clean up synchronously).
    pub fn new(store: Arc<dyn Store>, guard: impl Send + 'static) -> Self {
        Self {
            store,
            guard: Box::new(guard),
            teardown: None,
        }
    }

    /// Asynchronous clean-up run after a case that finished (dropping a scratch
    /// database needs the pool closed first, which [`TestDb::finish`] does).
    pub fn with_teardown(mut self, teardown: impl Future<Output = ()> + Send + 'static) -> Self {
        self.teardown = Some(Box::pin(teardown));
        self
    }

    pub fn store(&self) -> Arc<dyn Store> {
        Arc::clone(&self.store)
    }

    /// Closes the store, runs the teardown, then drops the guard.
    pub async fn finish(self) {
        self.store.close().await;
        drop(self.store);
        if let Some(t) = self.teardown {
            t.await;
        }
        drop(self.guard);
    }
}

/// Says loudly that a case did not run, so a skipped suite is never mistaken for a
/// passing one.
pub fn skipped(case: &str) {
    eprintln!(
        "\n######## SKIPPED conformance case `{case}`: the storage backend is not available ########\n"
    );
}

/// Expands into one `#[tokio::test]` per conformance case. `$open` is a path to an
/// `async fn() -> Option<TestDb>`; the invoking crate needs `tokio` as a dependency.
#[macro_export]
macro_rules! conformance_suite {
    ($open:path) => {
        $crate::__conformance_cases!($open;
            catalog::teams_crud,
            catalog::team_with_services_cannot_be_deleted,
            catalog::services_crud,
            catalog::service_with_deployments_cannot_be_deleted,
            catalog::environments_crud,
            catalog::tokens_lifecycle,
            catalog::pull_requests_upsert,
            commits::commits_are_recorded_once,
            commits::generations_are_repaired_across_calls,
            commits::commits_within_a_call_may_come_children_first,
            deployments::one_call_success,
            deployments::start_then_finish,
            deployments::finishing_twice_conflicts,
            deployments::finish_is_validated,
            deployments::external_id_upserts,
            deployments::auto_registration_on,
            deployments::auto_registration_off,
            deployments::list_and_lookups,
            shipped::linear_history,
            shipped::merge_of_a_branch_forked_long_ago,
            shipped::unknown_parent_is_incomplete,
            shipped::first_deployment_is_bounded_by_the_horizon,
            shipped::unknown_previous_sha_is_incomplete,
            shipped::unknown_deployed_sha_ships_nothing,
            shipped::finishing_recomputes_against_the_latest_previous,
            shipped::monorepo_commits_of_other_services_are_dropped,
            shipped::sent_commits_below_the_previous_sha_are_not_shipped,
            shipped::sent_parents_of_an_older_commit_are_not_shipped,
            status::automatic_rollback,
            status::explicit_rollback,
            status::matrix_and_drift,
            status::reordering_environments_recomputes_drift,
            status::compare_both_directions,
            events::writes_append_stamped_events,
            events::event_filters,
            events::event_pagination,
            events::subscribers_see_committed_events_only,
            writes::idempotency_replay_and_mismatch,
            writes::delivery_dedup,
            writes::failed_call_writes_nothing,
            writes::metacharacters_and_unicode_round_trip,
            writes::concurrent_writers,
            incidents::incident_lifecycle,
            incidents::incident_causes_and_edits,
            incidents::alerts_attach_by_key_then_service,
            incidents::incident_list_filters,
            incidents::deployments_finished_in_a_range,
            facts::metric_facts_read_the_window_and_its_edges,
            facts::first_shipments_follow_the_earliest_production_deployment,
            facts::pull_request_stages_ride_on_the_merge_commit,
            flags::apply_is_atomic_idempotent_and_recorded,
            flags::a_rejected_change_changes_nothing,
            flags::single_flag_changes_carry_before_and_after,
            flags::sdk_keys_belong_to_one_environment,
            flags::evaluation_counts_accumulate,
            flags::concurrent_flag_changes_are_serialised,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_cases {
    ($open:path; $($module:ident :: $case:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let Some(db) = $open().await else {
                    $crate::conformance::skipped(stringify!($case));
                    return;
                };
                $crate::conformance::$module::$case(db.store()).await;
                db.finish().await;
            }
        )*
    };
}
