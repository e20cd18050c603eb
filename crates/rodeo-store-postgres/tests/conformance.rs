//! The shared storage conformance suite, run against PostgreSQL: every case gets its
//! own scratch database, dropped afterwards.

mod support;

use std::sync::Arc;

use rodeo_store::conformance::TestDb;
use rodeo_store_postgres::PgStore;

#[allow(clippy::expect_used)]
async fn open() -> Option<TestDb> {
    let scratch = support::ScratchDb::create().await?;
    let store = PgStore::connect(scratch.url())
        .await
        .expect("connect to the scratch database");
    Some(TestDb::new(Arc::new(store), scratch))
}

rodeo_store::conformance_suite!(open);
