//! The list commands' text output as separate streams: the table on stdout ends with
//! a newline, and the pointer to the next page is a line of its own on stderr, so a
//! terminal shows it under the table and `| wc -l` counts only rows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::Rodeo;

/// Runs the CLI binary against `rodeo`; returns (stdout, stderr).
async fn cli(rodeo: &Rodeo, token: &str, args: &[&str]) -> (String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_rodeo"))
        .args(["--server", &rodeo.url, "--token", token])
        .args(args)
        .output()
        .await
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    );
    assert!(out.status.success(), "{args:?}: {stdout}{stderr}");
    (stdout, stderr)
}

/// The cursor in `more: repeat with --cursor <c>\n`, which must be all of stderr.
fn cursor(stderr: &str) -> &str {
    stderr
        .strip_prefix("more: repeat with --cursor ")
        .and_then(|rest| rest.strip_suffix('\n'))
        .filter(|c| !c.is_empty() && !c.contains('\n'))
        .unwrap_or_else(|| panic!("stderr is not one `more:` line: {stderr:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_page_hint_is_its_own_line_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let mut rodeo = Rodeo::serve(&dir.path().join("r.db"), &[], &dir.path().join("err"));
    let admin = rodeo.admin_token().await;
    rodeo.wait_healthy().await;
    for i in 1..=3 {
        let version = format!("1.0.{i}");
        let sha = format!("{i:040x}");
        let args = [
            "deploy",
            "--service",
            "api",
            "--env",
            "staging",
            "--version",
            &version,
            "--commit",
            &sha,
        ];
        cli(&rodeo, &admin, &args).await;
    }

    // Deployments print a header; events are one line each.
    for (list, lines) in [
        (&["deployments", "list"][..], 3),
        (&["events", "list"][..], 2),
    ] {
        let first: Vec<&str> = list.iter().copied().chain(["--limit", "2"]).collect();
        let (table, hint) = cli(&rodeo, &admin, &first).await;
        assert!(table.ends_with('\n'), "{list:?}: {table:?}");
        assert_eq!(table.lines().count(), lines, "{list:?}: two items: {table}");
        let next: Vec<&str> = list
            .iter()
            .copied()
            .chain(["--limit", "2", "--cursor", cursor(&hint)])
            .collect();
        let (table, _) = cli(&rodeo, &admin, &next).await;
        assert!(
            table.lines().count() >= lines - 1,
            "{list:?}: the next page: {table}"
        );
    }
    // The last page of deployments says nothing more.
    let (table, hint) = cli(&rodeo, &admin, &["deployments", "list", "--limit", "3"]).await;
    assert_eq!(table.lines().count(), 4, "{table}");
    assert_eq!(hint, "");
    rodeo.kill().await;
}
