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
        // A month, not a week: the history is relative to today, and some weeks of it
        // hold no incident, which the dashboard walk below needs.
        "--days",
        "30",
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

    dashboard_pages_render(url, read).await;
    rodeo.kill().await;
}

/// Every dashboard page renders on the demo data for the printed read token, showing
/// the demo's records (the browser suite drives the same pages in Chromium).
async fn dashboard_pages_render(url: &str, token: &str) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = client.get(format!("{url}/login")).send().await.unwrap();
    let nonce = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = login.text().await.unwrap();
    let at = html.find("name=\"_csrf\" value=\"").unwrap() + 20;
    let csrf = &html[at..at + html[at..].find('"').unwrap()];
    let r = client
        .post(format!("{url}/login"))
        .header("cookie", nonce)
        .form(&[("_csrf", csrf), ("token", token), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let session = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let page = |path: String| {
        let (client, session) = (client.clone(), session.clone());
        async move {
            let r = client
                .get(format!("{url}{path}"))
                .header("cookie", session)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{path}");
            r.text().await.unwrap()
        }
    };
    let link = |html: &str, prefix: &str| -> String {
        let at = html
            .find(&format!("href=\"{prefix}"))
            .unwrap_or_else(|| panic!("a link to {prefix}"))
            + 6;
        html[at..at + html[at..].find('"').unwrap()]
            .replace("&amp;", "&")
            .replace("&#38;", "&")
    };
    let overview = page("/".into()).await;
    for want in [
        "Deployment frequency",
        "Lead time for changes",
        "Recent deployments",
        "Recent flag changes",
    ] {
        assert!(overview.contains(want), "the overview shows {want}");
    }
    let environments = page("/environments".into()).await;
    assert!(environments.contains("prod-eu") && environments.contains("prod-us"));
    let service = page(link(&environments, "/services/")).await;
    assert!(service.contains("Production deployments per week"));
    page(link(&overview, "/deployments/")).await;
    let incidents = page("/incidents?status=all".into()).await;
    page(link(&incidents, "/incidents/")).await;
    let flags = page("/flags/prod-eu".into()).await;
    assert!(flags.contains("new-checkout"));
    page(link(&flags, "/flags/prod-eu/")).await;
    page("/events".into()).await;
    page("/tv".into()).await;
}
