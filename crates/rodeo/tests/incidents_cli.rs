//! `rodeo incident …` and `rodeo dora` through the binary against a real server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::Value;
use support::Rodeo;

async fn cli(rodeo: &Rodeo, token: &str, args: &[&str]) -> (bool, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_rodeo"))
        .args(["--server", &rodeo.url, "--token", token])
        .args(args)
        .output()
        .await
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap() + &String::from_utf8(out.stderr).unwrap();
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_from_the_command_line_and_dora_as_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let mut rodeo = Rodeo::serve(&dir.path().join("r.db"), &[], &dir.path().join("err"));
    let admin = rodeo.admin_token().await;
    rodeo.wait_healthy().await;
    let sha = format!("{:040x}", 7);
    let (ok, out) = cli(
        &rodeo,
        &admin,
        &[
            "--output",
            "json",
            "deploy",
            "--service",
            "api",
            "--env",
            "production",
            "--version",
            "1.0",
            "--commit",
            &sha,
        ],
    )
    .await;
    assert!(ok, "{out}");
    let deployment: Value = serde_json::from_str(&out).unwrap();
    let deployment = deployment["id"].as_str().unwrap().to_owned();

    let (ok, out) = cli(
        &rodeo,
        &admin,
        &[
            "--output",
            "json",
            "incident",
            "open",
            "--service",
            "api",
            "--severity",
            "sev2",
            "--title",
            "Checkout returns 500",
            "--commander",
            "ana",
        ],
    )
    .await;
    assert!(ok, "{out}");
    let incident: Value = serde_json::from_str(&out).unwrap();
    let id = incident["id"].as_str().unwrap().to_owned();

    let (ok, out) = cli(
        &rodeo,
        &admin,
        &["incident", "ack", &id, "--note", "looking"],
    )
    .await;
    assert!(ok, "{out}");
    assert!(
        out.starts_with(&format!(
            "#{id} acknowledged sev2 Checkout returns 500 (api)"
        )),
        "{out}"
    );
    assert!(
        cli(&rodeo, &admin, &["incident", "note", &id, "rolled back"])
            .await
            .0
    );
    let (ok, out) = cli(&rodeo, &admin, &["incident", "changes", &id]).await;
    assert!(
        ok && out.contains(&format!("Suggested cause: deployment {deployment}")),
        "{out}"
    );
    assert!(
        cli(
            &rodeo,
            &admin,
            &["incident", "cause", &id, "--deployment", &deployment]
        )
        .await
        .0
    );
    for step in ["mitigate", "resolve"] {
        let (ok, out) = cli(&rodeo, &admin, &["incident", step, &id]).await;
        assert!(ok, "{step}: {out}");
    }
    let (ok, out) = cli(&rodeo, &admin, &["incident", "show", &id]).await;
    assert!(ok, "{out}");
    for expected in [
        "resolved",
        "commander    ana",
        &format!("caused by    deployment {deployment}"),
        "note    admin: rolled back",
        "Timeline:",
    ] {
        assert!(out.contains(expected), "{expected:?} in {out}");
    }
    let (ok, out) = cli(
        &rodeo,
        &admin,
        &["incident", "list", "--status", "resolved"],
    )
    .await;
    assert!(ok && out.contains("Checkout returns 500"), "{out}");

    // A mistake is refused with exit 7 and says which field.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_rodeo"))
        .args(["--server", &rodeo.url, "--token", &admin])
        .args(["incident", "open", "--severity", "sev9", "--title", "x"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(7));
    assert!(String::from_utf8_lossy(&out.stderr).contains("severity"));

    let (ok, out) = cli(
        &rodeo,
        &admin,
        &["dora", "--service", "api", "--window", "7d"],
    )
    .await;
    assert!(ok, "{out}");
    assert!(
        out.contains("Deployment frequency    0.14/day (1 total)"),
        "{out}"
    );
    assert!(
        out.contains("Change failure rate     100.0% (1 of 1)"),
        "{out}"
    );
    let (ok, out) = cli(
        &rodeo,
        &admin,
        &["--output", "json", "dora", "--window", "7d"],
    )
    .await;
    assert!(ok, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["services"][0]["service"], "api");
}
