//! The shared storage conformance suite, run against SQLite on a temporary file per
//! test (the directory is removed when the test ends, pass or fail).

#![allow(clippy::expect_used)]

use std::sync::Arc;

use rodeo_store::conformance::TestDb;
use rodeo_store_sqlite::{SqliteOptions, SqliteStore};

async fn open() -> Option<TestDb> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(&dir.path().join("rodeo.db"), SqliteOptions::default())
        .expect("open a fresh SQLite store");
    Some(TestDb::new(Arc::new(store), dir))
}

rodeo_store::conformance_suite!(open);
