//! Scratch PostgreSQL databases for tests: each test creates its own database and drops
//! it afterwards, also when the test fails.
//!
//! The server is `RODEO_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). When it cannot be reached the tests
//! fail if `CI` is `true`, and are loudly skipped otherwise.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn admin_url() -> String {
    std::env::var("RODEO_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// `url` with its database name replaced by `db`.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let root = match base[authority_start..].find('/') {
        Some(i) => &base[..authority_start + i],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{db}?{q}"),
        None => format!("{root}/{db}"),
    }
}

fn unique_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "rodeo_test_{}_{}_{:08x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

/// A database that exists for as long as this value does.
#[derive(Debug)]
pub(crate) struct ScratchDb {
    name: String,
    admin_url: String,
    url: String,
}

impl ScratchDb {
    /// Creates a fresh database; `None` (after a loud notice) when PostgreSQL is not
    /// reachable outside CI.
    pub(crate) async fn create() -> Option<Self> {
        let admin_url = admin_url();
        let mut admin =
            match tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(&admin_url))
                .await
            {
                Ok(Ok(conn)) => conn,
                Ok(Err(e)) => return unreachable(&admin_url, &e.to_string()),
                Err(_) => return unreachable(&admin_url, "timed out after 5 s"),
            };
        let name = unique_name();
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .expect("CREATE DATABASE for a test");
        let _ = admin.close().await;
        let url = with_database(&admin_url, &name);
        Some(Self {
            name,
            admin_url,
            url,
        })
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }
}

fn unreachable(url: &str, why: &str) -> Option<ScratchDb> {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("PostgreSQL unreachable at {url} ({why}) and CI=true: the PostgreSQL tests must run in CI");
    }
    eprintln!(
        "\n######## SKIPPED: PostgreSQL unreachable at {url} ({why}); set RODEO_TEST_POSTGRES_URL ########\n"
    );
    None
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        // Drop may run inside a runtime (a failing test) or outside one: a fresh thread
        // with its own small runtime works in both.
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async {
                let pool = PgPoolOptions::new()
                    .max_connections(1)
                    .connect(&admin_url)
                    .await
                    .map_err(|e| e.to_string())?;
                let r = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&pool)
                    .await
                    .map_err(|e| e.to_string());
                pool.close().await;
                r.map(|_| ())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop test database {}: {e}", self.name),
            Err(_) => eprintln!(
                "could not drop test database {}: the thread panicked",
                self.name
            ),
        }
    }
}

#[test]
fn database_names_are_replaced_in_urls() {
    assert_eq!(
        with_database("postgres://u@h:5432/postgres", "x"),
        "postgres://u@h:5432/x"
    );
    assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    assert_eq!(
        with_database("postgres://u@h/p?sslmode=disable", "x"),
        "postgres://u@h/x?sslmode=disable"
    );
}
