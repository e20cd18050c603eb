//! `rodeo demo` as a user runs it: the history is recorded by its own write token
//! `demo`, and the read and admin tokens it prints work.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::Value;
use support::Rodeo;

async fn get(url: &str, token: &str) -> Value {
    let resp = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{url}: {}", resp.status());
    resp.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_history_is_written_by_the_demo_token() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let args = [
        "--output",
        "json",
        "demo",
        "--days",
        "7",
        "--database",
        db.to_str().unwrap(),
    ];
    let mut rodeo = Rodeo::start(&args, &[], &dir.path().join("err"));
    let ready: Value = serde_json::from_str(&rodeo.stdout_line().await).unwrap();
    let (url, read) = (
        ready["url"].as_str().unwrap(),
        ready["read_token"].as_str().unwrap(),
    );
    let admin = ready["admin_token"].as_str().unwrap();
    assert!(ready["deployments"].as_u64().unwrap() > 0, "{ready}");

    let mut events = Vec::new();
    let mut page = get(&format!("{url}/api/v1/events?limit=1000"), read).await;
    loop {
        events.extend(page["items"].as_array().unwrap().iter().cloned());
        let Some(cursor) = page["next_cursor"].as_str() else {
            break;
        };
        page = get(
            &format!("{url}/api/v1/events?limit=1000&cursor={cursor}"),
            read,
        )
        .await;
    }
    let (tokens, history): (Vec<&Value>, Vec<&Value>) = events
        .iter()
        .partition(|e| e["kind"].as_str().unwrap().starts_with("token."));
    assert!(history.len() > 100, "{}", history.len());
    for e in history {
        assert_eq!(
            (&e["actor"], &e["source"]),
            (&"demo".into(), &"demo".into()),
            "{e}"
        );
    }
    // rodeo made the admin token at the first start; the admin made the demo's two.
    let mut made: Vec<(&str, &str)> = tokens
        .iter()
        .map(|e| {
            (
                e["payload"]["name"].as_str().unwrap(),
                e["actor"].as_str().unwrap(),
            )
        })
        .collect();
    made.sort_unstable();
    assert_eq!(
        made,
        [
            ("admin", "rodeo"),
            ("demo", "admin"),
            ("demo-reader", "admin"),
            ("demo-web", "admin")
        ]
    );

    // The demo's merged pull requests give lead time its stages, first commits included.
    let dora = get(&format!("{url}/api/v1/metrics/dora"), read).await;
    let stages = &dora["lead_time"]["stages"];
    assert!(stages["pull_requests"].as_u64().unwrap() > 0, "{stages}");
    assert!(stages["coding"]["count"].as_u64().unwrap() > 0, "{stages}");
    assert!(
        stages["review"]["median_seconds"].as_i64().unwrap() > 0,
        "{stages}"
    );

    let listed = get(&format!("{url}/api/v1/tokens"), admin).await;
    let mut names: Vec<(&str, &str)> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap(), t["scope"].as_str().unwrap()))
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            ("admin", "admin"),
            ("demo", "write"),
            ("demo-reader", "read"),
            ("demo-web", "sdk_client")
        ]
    );

    // Flags: every environment has a definition, the changes after it are in the ledger,
    // and the printed SDK key evaluates prod-eu's flags over OFREP.
    let flags = get(&format!("{url}/api/v1/flags/prod-eu"), read).await;
    assert!(flags["flags"].as_array().unwrap().len() >= 8, "{flags}");
    let rollouts = get(
        &format!("{url}/api/v1/events?kind=flag.updated&environment=prod-eu"),
        read,
    )
    .await;
    assert_eq!(
        rollouts["items"][0]["payload"]["change"], "rollout",
        "{rollouts}"
    );
    let sdk = ready["sdk_key"].as_str().unwrap();
    let evaluated: Value = reqwest::Client::new()
        .post(format!("{url}/ofrep/v1/evaluate/flags/new-checkout"))
        .bearer_auth(sdk)
        .json(&serde_json::json!({"context": {"targetingKey": "user-42", "email": "ops@northwind.example"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (evaluated["value"].as_bool(), evaluated["reason"].as_str()),
        (Some(true), Some("TARGETING_MATCH")),
        "{evaluated}"
    );
    rodeo.kill().await;
}
