//! `spawn_app()`: one server per test, on its own database, stopped and removed at the end.

use std::sync::Arc;

use reqwest::{Method, RequestBuilder, Response};
use rodeo_server::{Application, Config};
use rodeo_store::Store;
use serde_json::{json, Value};

pub const GITHUB_SECRET: &str = "It's a Secret to Everybody";
pub const GITLAB_TOKEN: &str = "gitlab-token-123";

pub struct TestApp {
    pub base: String,
    pub admin: String,
    pub client: reqwest::Client,
    #[allow(dead_code)]
    pub store: Arc<dyn Store>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    config.database.url = format!("sqlite://{}", dir.path().join("rodeo.db").display());
    config.webhooks.github_secret = Some(GITHUB_SECRET.into());
    config.webhooks.gitlab_token = Some(GITLAB_TOKEN.into());
    config.server.shutdown_grace_secs = 5;
    adjust(&mut config);
    let app = Application::build(config).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    let admin = app
        .admin_secret()
        .expect("a fresh database creates an admin token")
        .to_owned();
    let store = app.store();
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        app.run_until(async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    TestApp {
        base,
        admin,
        client: reqwest::Client::new(),
        store,
        stop: Some(stop),
        task: Some(task),
        _dir: dir,
    }
}

impl TestApp {
    pub fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.admin)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.req(Method::GET, path).send().await.unwrap()
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.req(Method::POST, path)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Creates a token with `scope` and returns its secret.
    pub async fn token(&self, name: &str, scope: &str) -> String {
        let r = self
            .post("/api/v1/tokens", &json!({ "name": name, "scope": scope }))
            .await;
        assert_eq!(r.status(), 201);
        r.json::<Value>().await.unwrap()["secret"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Records a deployment and returns the response body, asserting 201.
    pub async fn deploy(&self, body: Value) -> Value {
        let r = self.post("/api/v1/deployments", &body).await;
        let status = r.status();
        let v: Value = r.json().await.unwrap();
        assert_eq!(status, 201, "{v}");
        v
    }

    /// How many events the ledger holds: the witness that a rejected write left no trace.
    pub async fn event_count(&self) -> usize {
        let mut n = 0;
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/events?limit=1000&cursor={c}"),
                None => "/api/v1/events?limit=1000".to_owned(),
            };
            let page = self.get_json(&path).await;
            n += page["items"].as_array().unwrap().len();
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return n,
            }
        }
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap();
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// A deterministic 40-hex sha from a small number.
pub fn sha(n: u32) -> String {
    format!("{n:040x}")
}

/// A commit JSON with one parent (or none for 0).
pub fn commit(n: u32, parent: Option<u32>, at: &str) -> Value {
    json!({
        "sha": sha(n),
        "parents": parent.map(|p| vec![sha(p)]).unwrap_or_default(),
        "author": "Ada Lovelace",
        "author_email": "ada@example.com",
        "authored_at": at,
        "committed_at": at,
        "message": format!("change {n}"),
    })
}

/// Asserts an RFC 9457 problem with `status`, returning the body.
pub async fn problem(r: Response, status: u16) -> Value {
    assert_eq!(r.status().as_u16(), status);
    assert_eq!(
        r.headers().get("content-type").unwrap().to_str().unwrap(),
        "application/problem+json"
    );
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], status);
    assert!(v["type"]
        .as_str()
        .unwrap()
        .starts_with("urn:rodeo:problem:"));
    assert!(v["title"].is_string() && v["detail"].is_string());
    v
}

/// The field names of a validation problem.
pub fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["field"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

impl TestApp {
    /// An SDK key (`sdk_client` or `sdk_server`) of `environment`; returns its secret.
    pub async fn sdk_key(&self, name: &str, scope: &str, environment: &str) -> String {
        let r = self
            .post(
                "/api/v1/tokens",
                &json!({ "name": name, "scope": scope, "environment": environment }),
            )
            .await;
        assert_eq!(r.status(), 201);
        r.json::<Value>().await.unwrap()["secret"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Applies a flagd document to `environment`, asserting success.
    pub async fn apply_flags(&self, environment: &str, document: &Value) -> Value {
        let r = self
            .req(
                Method::PUT,
                &format!("/api/v1/flags/{environment}/definition"),
            )
            .json(document)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let v: Value = r.json().await.unwrap();
        assert_eq!(status, 200, "{v}");
        v
    }

    /// An OFREP request authenticated with `key`.
    pub fn ofrep(&self, key: &str, path: &str) -> RequestBuilder {
        self.client
            .post(format!("{}/ofrep/v1/evaluate/flags{path}", self.base))
            .bearer_auth(key)
    }
}

/// Reads an SSE body until `done` holds for the text so far (at most 10 s).
pub async fn read_sse_until(
    body: &mut (impl futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    text: &mut String,
    done: impl Fn(&str) -> bool,
) {
    use futures::StreamExt;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !done(text) {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .unwrap_or_else(|_| panic!("no matching event within 10 s; got {text}"))
            .expect("stream open")
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
}

/// The `data:` payloads of an SSE text, parsed.
pub fn sse_data(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| l.strip_prefix("data: ").or_else(|| l.strip_prefix("data:")))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}
