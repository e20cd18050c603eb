//! One rodeo server per test on its own database, which can be stopped and started again
//! on the same address; the admin calls the tests make; the flags they apply.

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::Method;
use rodeo_sdk::{Connection, RodeoFlags};
use rodeo_server::{Application, Config};
use serde_json::{json, Map, Value};
use tempfile::TempDir;

pub const ENV: &str = "production";
/// How long a test waits for something the SDK does in the background.
pub const PATIENCE: Duration = Duration::from_secs(15);

pub struct Server {
    pub base: String,
    pub admin: String,
    addr: SocketAddr,
    client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    dir: Option<TempDir>,
}

/// A stopped server: its database and address, to start it again.
pub struct Stopped {
    dir: TempDir,
    addr: SocketAddr,
    admin: String,
}

pub async fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    run(dir, "127.0.0.1:0".parse().unwrap(), None).await
}

async fn run(dir: TempDir, listen: SocketAddr, admin: Option<String>) -> Server {
    let mut config = Config::default();
    config.server.listen = listen;
    config.server.shutdown_grace_secs = 5;
    config.database.url = format!("sqlite://{}", dir.path().join("rodeo.db").display());
    let app = Application::build(config).await.unwrap();
    let addr = app.local_addr();
    let admin = admin
        .or_else(|| app.admin_secret().map(str::to_owned))
        .expect("a fresh database creates an admin token");
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        app.run_until(async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    Server {
        base: format!("http://{addr}"),
        admin,
        addr,
        client: reqwest::Client::new(),
        stop: Some(stop),
        task: Some(task),
        dir: Some(dir),
    }
}

impl Server {
    fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.admin)
    }

    /// Applies a flagd document to `env` and returns the new version.
    pub async fn apply(&self, env: &str, document: &Value) -> i64 {
        let r = self
            .req(Method::PUT, &format!("/api/v1/flags/{env}/definition"))
            .json(document)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        body["version"].as_i64().unwrap()
    }

    /// Turns a flag on or off and returns the new version.
    pub async fn toggle(&self, env: &str, key: &str, enabled: bool) -> i64 {
        let r = self
            .req(Method::POST, &format!("/api/v1/flags/{env}/{key}/toggle"))
            .json(&json!({ "enabled": enabled }))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        body["version"].as_i64().unwrap()
    }

    /// A new SDK key of `env` with `scope` (`sdk_server` or `sdk_client`).
    pub async fn sdk_key(&self, scope: &str, env: &str) -> String {
        let r = self
            .req(Method::POST, "/api/v1/tokens")
            .json(&json!({ "name": format!("{scope}-{env}"), "scope": scope, "environment": env }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        r.json::<Value>().await.unwrap()["secret"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The server's own evaluation of `flag` over OFREP.
    pub async fn ofrep(&self, key: &str, flag: &str, context: &Map<String, Value>) -> Value {
        let r = self
            .client
            .post(format!("{}/ofrep/v1/evaluate/flags/{flag}", self.base))
            .bearer_auth(key)
            .json(&json!({ "context": context }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    /// A client of `env` with a server-side key, connected (first definition held).
    pub async fn flags(&self, key: &str) -> RodeoFlags {
        RodeoFlags::builder(&self.base, ENV, key)
            .backoff(Duration::from_millis(20), Duration::from_millis(200))
            .connect()
            .await
            .unwrap()
    }

    pub async fn stop(mut self) -> Stopped {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap();
        }
        Stopped {
            dir: self.dir.take().unwrap(),
            addr: self.addr,
            admin: self.admin.clone(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

impl Stopped {
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Starts the server again on the same database and address.
    pub async fn restart(self) -> Server {
        run(self.dir, self.addr, Some(self.admin)).await
    }
}

/// Waits until the client's connection is `want`.
pub async fn wait_connection(flags: &RodeoFlags, want: Connection) {
    let mut rx = flags.watch_connection();
    tokio::time::timeout(PATIENCE, rx.wait_for(|c| *c == want))
        .await
        .unwrap_or_else(|_| panic!("connection not {want:?} within {PATIENCE:?}"))
        .unwrap();
}

/// Waits until the client serves `version` or a newer one.
pub async fn wait_version(flags: &RodeoFlags, version: i64) {
    let mut changes = flags.changes();
    let reached = async {
        while flags.version() < Some(version) {
            changes.changed().await.expect("client open");
        }
    };
    tokio::time::timeout(PATIENCE, reached)
        .await
        .unwrap_or_else(|_| panic!("version {version} not served within {PATIENCE:?}"));
}

/// An evaluation context.
pub fn ctx(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("a context is an object, not {other}"),
    }
}

pub fn checkout_flags() -> Value {
    json!({
        "flags": {
            "new-checkout": {
                "state": "ENABLED",
                "variants": {"on": true, "off": false},
                "defaultVariant": "off",
                "targeting": {"if": [{"$ref": "staff"}, "on"]},
                "metadata": {"owner": "payments", "type": "release"}
            },
            "banner": {
                "state": "ENABLED",
                "variants": {"hello": "Hello", "hi": "Hi"},
                "defaultVariant": "hello",
                "targeting": {"fractional": [["hello", 50], ["hi", 50]]}
            },
            "legacy-search": {"state": "DISABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"},
            "max-items": {"state": "ENABLED", "variants": {"few": 3, "many": 30}, "defaultVariant": "few"},
            "sample-rate": {"state": "ENABLED", "variants": {"low": 0.25, "high": 0.75}, "defaultVariant": "low"},
            "theme": {"state": "ENABLED", "variants": {"dark": {"bg": "#000", "contrast": 2}}, "defaultVariant": "dark"},
            "pro-feature": {
                "state": "ENABLED",
                "variants": {"on": true, "off": false},
                "defaultVariant": "off",
                "targeting": {"if": [{"==": [{"var": "account.plan"}, "pro"]}, "on"]}
            }
        },
        "$evaluators": {"staff": {"ends_with": [{"var": "email"}, "@acme.com"]}},
        "metadata": {"team": "web"}
    })
}
