//! "A process crash (kill -9) after an acknowledgement loses nothing", checked on the
//! real binary: `rodeo serve` on a SQLite file takes deployments from concurrent
//! clients, is killed with SIGKILL, and is started again on the same file. Every
//! deployment it answered 201 for must be there with its commits, and the ledger must
//! hold exactly one `deployment.finished` and one `commits.recorded` event for each
//! deployment it holds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use serde_json::{json, Value};
use support::Rodeo;
use tokio::sync::mpsc;

const CLIENTS: usize = 16;
const SERVICES: [&str; 4] = ["api", "web", "worker", "billing"];
const ENVIRONMENTS: [&str; 2] = ["staging", "production"];

/// A deployment the server acknowledged: its id, deployed sha and the commits sent.
#[derive(Debug, Clone)]
struct Acked {
    id: String,
    sha: String,
    commits: BTreeSet<String>,
}

/// Deployment `n`: a chain of two new commits (the root has no parents, so the graph
/// is complete), deployed at the second. Shas, versions and targets never repeat a
/// combination, so none is classified as a rollback.
fn deployment(n: usize) -> (Value, BTreeSet<String>) {
    let (root, head) = (format!("a{n:039x}"), format!("b{n:039x}"));
    let at = chrono::Utc::now().to_rfc3339();
    let commit = |sha: &str, parents: &[&str]| {
        json!({"sha": sha, "parents": parents, "author": "Ada <ada@example.org>",
               "authored_at": at, "committed_at": at, "message": format!("change {sha}")})
    };
    let body = json!({
        "service": SERVICES[n % SERVICES.len()],
        "environment": ENVIRONMENTS[n / SERVICES.len() % ENVIRONMENTS.len()],
        "version": format!("1.0.{n}"),
        "commit_sha": head,
        "status": "succeeded",
        "kind": "normal",
        "commits": [commit(&root, &[]), commit(&head, &[&root])],
    });
    (body, [root, head].into())
}

/// A client that talks to one server with one token.
#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Api {
    async fn post(&self, path: &str, body: &Value) -> reqwest::Result<reqwest::Response> {
        let url = format!("{}/api/v1/{path}", self.url);
        let req = self.http.post(url).bearer_auth(&self.token).json(body);
        req.send().await
    }

    async fn get(&self, path: &str) -> (reqwest::StatusCode, Value) {
        let url = format!("{}/api/v1/{path}", self.url);
        let resp = self.http.get(url).bearer_auth(&self.token).send().await;
        let resp = resp.unwrap();
        (resp.status(), resp.json().await.unwrap_or(Value::Null))
    }

    /// Every item of a list endpoint, following the cursors.
    async fn all(&self, path: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor = String::new();
        loop {
            let (status, page) = self.get(&format!("{path}?limit=1000{cursor}")).await;
            assert!(status.is_success(), "{path}: {status} {page}");
            items.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = format!("&cursor={c}"),
                None => return items,
            }
        }
    }
}

/// Starts `rodeo serve` on a new database, registers the services and environments
/// (so each deployment appends exactly two events), and returns the server, a client
/// and the number of events before any deployment.
async fn fresh_server(db: &Path, dir: &Path) -> (Rodeo, Api, usize) {
    let mut rodeo = Rodeo::serve(db, &[], &dir.join("first.log"));
    let token = rodeo.admin_token().await;
    rodeo.wait_healthy().await;
    let api = Api {
        http: reqwest::Client::new(),
        url: rodeo.url.clone(),
        token,
    };
    for s in SERVICES {
        let resp = api.post("services", &json!({"name": s})).await.unwrap();
        assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    }
    for (order, e) in ENVIRONMENTS.iter().enumerate() {
        let body = json!({"name": e, "production": *e == "production", "order": order});
        let resp = api.post("environments", &body).await.unwrap();
        assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    }
    let before = api.all("events").await.len();
    (rodeo, api, before)
}

/// `CLIENTS` tasks send deployments `0..total`, each its share in turn, and stop at the
/// first request without an answer. Every 201 goes to the returned channel as `Ok`; any
/// other answer as `Err`, which fails the test.
fn send_concurrently(api: &Api, total: usize) -> mpsc::UnboundedReceiver<Result<Acked, String>> {
    let (acks, acked) = mpsc::unbounded_channel();
    for client in 0..CLIENTS {
        let (api, acks) = (api.clone(), acks.clone());
        tokio::spawn(async move {
            for n in (client..total).step_by(CLIENTS) {
                let (body, commits) = deployment(n);
                let Ok(resp) = api.post("deployments", &body).await else {
                    return; // the server is gone
                };
                let status = resp.status();
                let Ok(answer) = resp.json::<Value>().await else {
                    return; // it died while answering: not acknowledged
                };
                let ack = match answer["id"].as_str() {
                    Some(id) if status == 201 => Ok(Acked {
                        id: id.to_owned(),
                        sha: body["commit_sha"].as_str().unwrap().to_owned(),
                        commits,
                    }),
                    _ => Err(format!("deployment {n}: {status} {answer}")),
                };
                let stop = ack.is_err();
                if acks.send(ack).is_err() || stop {
                    return;
                }
            }
        });
    }
    acked
}

/// What a restart finds in the database.
#[derive(Debug, PartialEq, Eq)]
struct Survived {
    deployments: usize,
    events: usize,
}

/// Restarts on `db` after the crash and checks it against what was acknowledged.
async fn restart_and_check(db: &Path, dir: &Path, token: &str, acked: &[Acked]) -> Survived {
    let mut rodeo = Rodeo::serve(db, &[], &dir.join("second.log"));
    rodeo.wait_healthy().await;
    let api = Api {
        http: reqwest::Client::new(),
        url: rodeo.url.clone(),
        token: token.to_owned(),
    };
    for a in acked {
        let (status, d) = api.get(&format!("deployments/{}", a.id)).await;
        assert_eq!(status, 200, "acknowledged deployment {} is lost: {d}", a.id);
        assert_eq!(d["commit_sha"], a.sha.as_str(), "{d}");
        assert_eq!(d["status"], "succeeded", "{d}");
        let shipped: BTreeSet<String> = d["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["sha"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(shipped, a.commits, "the commits of deployment {}", a.id);
    }
    let stored: BTreeSet<String> = api
        .all("deployments")
        .await
        .iter()
        .map(|d| format!("deployment:{}", d["id"].as_str().unwrap()))
        .collect();
    // A deployment and its events are one transaction: both survive or neither does.
    let events = api.all("events").await;
    let mut kinds: HashMap<&str, usize> = HashMap::new();
    let mut finished = BTreeSet::new();
    for e in &events {
        let kind = e["kind"].as_str().unwrap();
        *kinds.entry(kind).or_default() += 1;
        if kind == "deployment.finished" {
            finished.insert(e["subject"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(finished, stored, "one deployment.finished per deployment");
    assert_eq!(kinds.get("deployment.finished"), Some(&stored.len()));
    assert_eq!(kinds.get("commits.recorded"), Some(&stored.len()));
    rodeo.kill().await;
    Survived {
        deployments: stored.len(),
        events: events.len(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_after_the_acknowledgements_loses_nothing() {
    const TOTAL: usize = 200;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rodeo.db");
    let (rodeo, api, before) = fresh_server(&db, dir.path()).await;
    let mut acks = send_concurrently(&api, TOTAL);
    let mut acked = Vec::new();
    while let Some(a) = acks.recv().await {
        acked.push(a.unwrap());
    }
    // Killed at once: no read in between gives a lagging writer time to catch up.
    rodeo.kill().await;
    assert_eq!(acked.len(), TOTAL, "every deployment was acknowledged");
    let ids: BTreeSet<&str> = acked.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids.len(), TOTAL, "each under its own id");

    let survived = restart_and_check(&db, dir.path(), &api.token, &acked).await;
    assert_eq!(
        survived,
        Survived {
            deployments: TOTAL,
            events: before + 2 * TOTAL
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_during_writes_loses_no_acknowledged_deployment() {
    const PLANNED: usize = 4000;
    const KILL_AFTER: usize = 100;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rodeo.db");
    let (rodeo, api, before) = fresh_server(&db, dir.path()).await;
    let mut acks = send_concurrently(&api, PLANNED);
    let mut acked = Vec::new();
    while acked.len() < KILL_AFTER {
        acked.push(
            acks.recv()
                .await
                .expect("the clients stopped early")
                .unwrap(),
        );
    }
    rodeo.kill().await;
    // Answers read before the kill count as acknowledged too.
    while let Some(a) = acks.recv().await {
        acked.push(a.unwrap());
    }
    assert!(acked.len() < PLANNED, "the kill came after all the writes");

    let survived = restart_and_check(&db, dir.path(), &api.token, &acked).await;
    // At most one write per client was committed without its answer arriving.
    let stored = survived.deployments;
    assert!(
        (acked.len()..=acked.len() + CLIENTS).contains(&stored),
        "{stored} stored, {} acknowledged",
        acked.len()
    );
    assert_eq!(survived.events, before + 2 * stored);
}
