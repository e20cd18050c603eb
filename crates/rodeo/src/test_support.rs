//! Helpers for tests of the client side: a throwaway HTTP server on port 0, and git
//! repositories built hermetically with fixed dates.

use std::path::Path;
use std::process::Command;

use axum::Router;
use rodeo_domain::Sha;

/// Serves `app` on a background task until the test's runtime ends; returns its URL.
pub(crate) async fn spawn(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// Runs git in `dir` without user or system config, with a fixed identity and `date`.
pub(crate) fn git(dir: &Path, date: &str, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Zoë Ångström")
        .env("GIT_AUTHOR_EMAIL", "zoe@example.org")
        .env("GIT_COMMITTER_NAME", "CI Bot")
        .env("GIT_COMMITTER_EMAIL", "ci@example.org")
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Makes an empty commit and returns its sha.
pub(crate) fn commit(dir: &Path, date: &str, message: &str) -> Sha {
    git(dir, date, &["commit", "-q", "--allow-empty", "-m", message]);
    Sha::parse(&git(dir, date, &["rev-parse", "HEAD"])).unwrap()
}
