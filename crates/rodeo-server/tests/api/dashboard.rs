//! The dashboard over HTTP: every page renders, markup in data renders inert, logins,
//! CSRF, read-only tokens and public mode. The browser suite (crates/rodeo/tests/
//! browser.rs) drives the same pages in Chromium on the demo data.

use chrono::{Duration, Utc};
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use serde_json::{json, Value};

use crate::flags::checkout_flags;
use crate::helpers::{commit, sha, spawn_app, spawn_with, TestApp};

/// A browser without a cookie store: keeps the session cookie itself and never
/// follows redirects, so each answer can be checked.
struct Visitor {
    base: String,
    client: reqwest::Client,
    cookies: Vec<(String, String)>,
}

fn set_cookies(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The value of the first hidden `_csrf` field on a page.
fn csrf(html: &str) -> String {
    let at = html
        .find("name=\"_csrf\" value=\"")
        .expect("a form with a CSRF token");
    let rest = &html[at + "name=\"_csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

impl Visitor {
    fn new(app: &TestApp) -> Self {
        Self {
            base: app.base.clone(),
            client: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            cookies: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn remember(&mut self, headers: &HeaderMap) {
        for (k, v) in set_cookies(headers) {
            self.cookies.retain(|(name, _)| *name != k);
            if !v.is_empty() {
                self.cookies.push((k, v));
            }
        }
    }

    /// Sends with the kept cookies; returns the status and the `Location` (or the body).
    async fn send(&mut self, req: reqwest::RequestBuilder) -> (u16, String) {
        let r = req
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.remember(r.headers());
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get(LOCATION)
            .map(|l| l.to_str().unwrap().to_owned());
        let body = r.text().await.unwrap();
        (status, location.unwrap_or(body))
    }

    async fn get(&mut self, path: &str) -> (u16, String) {
        let req = self.client.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        self.post_with(path, form, None).await
    }

    async fn post_with(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        origin: Option<&str>,
    ) -> (u16, String) {
        let mut req = self.client.post(format!("{}{path}", self.base)).form(form);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        self.send(req).await
    }

    /// Logs in with `token`; returns the status and where it sent us.
    async fn login(&mut self, token: &str) -> (u16, String) {
        let (status, page) = self.get("/login?next=/flags").await;
        assert_eq!(status, 200);
        let token_csrf = csrf(&page);
        self.post(
            "/login",
            &[("_csrf", &token_csrf), ("next", "/flags"), ("token", token)],
        )
        .await
    }

    async fn page(&mut self, path: &str) -> String {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }
}

/// Two services, staging and production, a drift, an incident with a note, flags.
async fn seed(app: &TestApp) {
    let day = |n: i64| (Utc::now() - Duration::days(n)).to_rfc3339();
    for (env, version, head) in [("staging", "1.2.0", 3), ("production", "1.1.0", 2)] {
        let commits: Vec<Value> = (1..=head)
            .map(|n| commit(n, (n > 1).then(|| n - 1), &day(10 - i64::from(n))))
            .collect();
        app.deploy(
            json!({"service": "checkout", "environment": env, "version": version,
            "commit_sha": sha(head), "finished_at": day(3), "commits": commits}),
        )
        .await;
    }
    app.deploy(
        json!({"service": "search", "environment": "production", "version": "7",
        "commit_sha": sha(40), "finished_at": day(1),
        "commits": [commit(40, None, &day(2))]}),
    )
    .await;
    let r = app
        .post(
            "/api/v1/incidents",
            &json!({"title": "Checkout errors", "severity": "sev2", "services": ["checkout"]}),
        )
        .await;
    assert_eq!(r.status(), 201);
    app.apply_flags("production", &checkout_flags()).await;
}

async fn first_incident(app: &TestApp) -> String {
    app.get_json("/api/v1/incidents").await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn every_page_renders_for_a_logged_in_token() {
    let app = spawn_app().await;
    seed(&app).await;
    let incident = first_incident(&app).await;
    let deployment = app.get_json("/api/v1/deployments?service=checkout").await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut v = Visitor::new(&app);
    assert_eq!(v.login(&app.admin).await, (303, "/flags".to_owned()));

    let pages: [(&str, &[&str]); 12] = [
        (
            "/",
            &[
                "Deployment frequency",
                "Change failure rate",
                "Checkout errors",
                "checkout",
            ],
        ),
        (
            "/environments",
            &["1.2.0", "1.1.0", "behind staging", "search"],
        ),
        (
            "/services/checkout",
            &[
                "Lead time for changes",
                "Commits awaiting deployment",
                "change 3",
            ],
        ),
        (
            &format!("/deployments/{deployment}"),
            &["checkout", "Commits shipped"],
        ),
        (
            "/compare?service=checkout&from=staging&to=production",
            &["change 3"],
        ),
        ("/incidents", &["Checkout errors"]),
        (
            &format!("/incidents/{incident}"),
            &["Checkout errors", "What changed", "status-form"],
        ),
        ("/flags", &["production"]),
        (
            "/flags/production",
            &["new-checkout", "payments", "legacy-search"],
        ),
        (
            "/flags/production/new-checkout",
            &["toggle-form", "rollout-form", "kill-form", "&#34;$ref&#34;"],
        ),
        ("/events", &["deployment.", "flag.created"]),
        ("/tv", &["Open incidents", "Checkout errors"]),
    ];
    for (path, wants) in pages {
        let body = v.page(path).await;
        for want in wants {
            assert!(body.contains(want), "{path} should show {want:?}");
        }
        assert!(body.starts_with("<!doctype html>"), "{path}");
    }
    assert_eq!(v.get("/services/nope").await.0, 404);
    assert_eq!(v.get("/incidents/999999").await.0, 404);
    assert_eq!(v.get("/flags/production/nope").await.0, 404);
    let (status, body) = v.get("/events?service=Not%20A%20Name").await;
    assert_eq!(status, 422);
    assert!(
        body.contains("service"),
        "the error names the field: {body}"
    );
    app.stop().await;
}

#[tokio::test]
async fn markup_in_names_messages_and_notes_renders_inert() {
    let app = spawn_app().await;
    let now = Utc::now().to_rfc3339();
    // Names are validated at the edge: markup never becomes a service or environment.
    let r = app
        .post(
            "/api/v1/deployments",
            &json!({"service": "<script>x</script>", "environment": "production",
                "version": "1", "commit_sha": sha(1), "finished_at": now}),
        )
        .await;
    assert_eq!(r.status(), 422);
    let mut c = commit(1, None, &now);
    c["message"] = json!("<script>alert('commit')</script> fix");
    c["author"] = json!("<img src=x onerror=alert('author')>");
    // So are URLs: a javascript: link is refused (and pages link only http(s) anyway).
    let r = app
        .post(
            "/api/v1/deployments",
            &json!({"service": "web", "environment": "production", "version": "1",
                "commit_sha": sha(1), "finished_at": now, "url": "javascript:alert('url')"}),
        )
        .await;
    assert_eq!(r.status(), 422);
    let d = app
        .deploy(json!({"service": "web", "environment": "production",
            "version": "v1\"><svg/onload=alert('version')>", "commit_sha": sha(1),
            "finished_at": now, "commits": [c]}))
        .await;
    let r = app
        .post(
            "/api/v1/incidents",
            &json!({"title": "<iframe src=javascript:alert('title')>", "severity": "sev3",
                "services": ["web"]}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let incident = first_incident(&app).await;
    let r = app
        .post(
            &format!("/api/v1/incidents/{incident}/notes"),
            &json!({"text": "<script>alert('note')</script>"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let mut flags = checkout_flags();
    flags["flags"]["new-checkout"]["metadata"]["owner"] = json!("<b onmouseover=alert('owner')>");
    app.apply_flags("production", &flags).await;

    let mut v = Visitor::new(&app);
    v.login(&app.admin).await;
    let id = d["id"].as_str().unwrap();
    for path in [
        "/".to_owned(),
        "/environments".into(),
        "/services/web".into(),
        format!("/deployments/{id}"),
        format!("/incidents/{incident}"),
        "/incidents".into(),
        "/flags/production".into(),
        "/events".into(),
        "/tv".into(),
    ] {
        let body = v.page(&path).await;
        for live in [
            "<script>alert",
            "<img src=x",
            "<svg/onload",
            "<iframe",
            "<b onmouseover",
            "href=\"javascript:",
        ] {
            assert!(!body.contains(live), "{path} renders {live:?} as markup");
        }
    }
    let page = v.page(&format!("/deployments/{id}")).await;
    assert!(
        page.contains("&#60;script&#62;alert(&#39;commit&#39;)&#60;/script&#62;"),
        "{page}"
    );
    assert!(
        page.contains("&#60;svg/onload="),
        "the version is shown, as text"
    );
    let page = v.page(&format!("/incidents/{incident}")).await;
    assert!(page.contains("&#60;script&#62;alert(&#39;note&#39;)"));
    let page = v.page("/flags/production").await;
    assert!(page.contains("&#60;b onmouseover="));
    app.stop().await;
}

#[tokio::test]
async fn pages_need_a_session_and_a_session_needs_a_live_token() {
    let app = spawn_app().await;
    let mut v = Visitor::new(&app);
    assert_eq!(
        v.get("/flags?x=1").await,
        (303, "/login?next=/flags%3Fx%3D1".to_owned())
    );
    // Wrong tokens and SDK keys do not log in.
    let (status, body) = v.login("rodeo_not_a_token").await;
    assert_eq!(status, 401);
    assert!(body.contains("token: not a valid token"), "{body}");
    let sdk = app.sdk_key("web", "sdk_client", "production").await;
    let (status, body) = v.login(&sdk).await;
    assert_eq!(status, 401);
    assert!(body.contains("SDK keys cannot log in"));
    // A login form posted without its nonce cookie is refused.
    let mut stranger = Visitor::new(&app);
    let (status, _) = stranger
        .post("/login", &[("_csrf", "x"), ("token", &app.admin)])
        .await;
    assert_eq!(status, 401);

    let reader = app.token("wall", "read").await;
    let r = v
        .client
        .get(format!("{}/login", app.base))
        .send()
        .await
        .unwrap();
    let cookie = r.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert_eq!(v.login(&reader).await, (303, "/flags".to_owned()));
    let session = v
        .cookies
        .iter()
        .find(|(k, _)| k == "rodeo_session")
        .unwrap()
        .1
        .clone();
    assert!(
        !session.contains(&reader),
        "the cookie never holds the secret"
    );
    let (status, _) = v.get("/").await;
    assert_eq!(status, 200);

    // A tampered cookie is no session.
    let mut forged = Visitor::new(&app);
    forged
        .cookies
        .push(("rodeo_session".into(), session.replacen('1', "2", 1)));
    assert_eq!(forged.get("/").await.0, 303);

    // Revoking the token ends its sessions.
    let tokens = app.get_json("/api/v1/tokens").await;
    let id = tokens["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "wall")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .req(reqwest::Method::DELETE, &format!("/api/v1/tokens/{id}"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    assert_eq!(v.get("/").await.0, 303);
    app.stop().await;
}

#[tokio::test]
async fn form_posts_need_the_csrf_token_the_origin_and_a_write_token() {
    let app = spawn_app().await;
    seed(&app).await;
    let state = |app: &TestApp| {
        let app_base = app.base.clone();
        let admin = app.admin.clone();
        async move {
            let v: Value = reqwest::Client::new()
                .get(format!("{app_base}/api/v1/flags/production/legacy-search"))
                .bearer_auth(admin)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["definition"]["state"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or(v["state"].to_string())
        }
    };
    let before = state(&app).await;
    let path = "/flags/production/legacy-search/toggle";
    let mut v = Visitor::new(&app);
    v.login(&app.admin).await;
    let page = v.page("/flags/production/legacy-search").await;
    let token = csrf(&page);
    let events = app.event_count().await;

    assert_eq!(v.post(path, &[("enabled", "true")]).await.0, 403);
    assert_eq!(
        v.post(path, &[("enabled", "true"), ("_csrf", "forged")])
            .await
            .0,
        403
    );
    let (status, _) = v
        .post_with(
            path,
            &[("enabled", "true"), ("_csrf", &token)],
            Some("https://evil.example"),
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(
        app.event_count().await,
        events,
        "refused posts write nothing"
    );
    assert_eq!(state(&app).await, before);

    let (status, to) = v
        .post(path, &[("enabled", "true"), ("_csrf", &token)])
        .await;
    assert_eq!(
        (status, to.as_str()),
        (303, "/flags/production/legacy-search")
    );
    assert_ne!(state(&app).await, before);
    let last = &app.get_json("/api/v1/events?kind=flag.&limit=1").await["items"][0];
    assert_eq!(last["source"], "dashboard");
    assert_eq!(last["subject"], "flag:production/legacy-search");
    let page = v.page("/flags/production/legacy-search").await;
    assert!(page.contains("flag-history") && page.contains(">toggle<"));

    // Bad values name the field and change nothing.
    let (status, body) = v
        .post(
            "/flags/production/legacy-search/rollout",
            &[("percent", "140"), ("_csrf", &token)],
        )
        .await;
    assert_eq!(status, 422);
    assert!(body.contains("percent"), "{body}");

    // Incident forms: note, status, cause.
    let incident = first_incident(&app).await;
    let (status, _) = v
        .post(
            &format!("/incidents/{incident}/notes"),
            &[("_csrf", &token), ("text", "rolled back the canary")],
        )
        .await;
    assert_eq!(status, 303);
    let (status, _) = v
        .post(
            &format!("/incidents/{incident}/status"),
            &[("_csrf", &token), ("status", "resolved"), ("note", "fixed")],
        )
        .await;
    assert_eq!(status, 303);
    let deployment = app
        .get_json("/api/v1/deployments?service=checkout&environment=production")
        .await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = v
        .post(
            &format!("/incidents/{incident}/cause"),
            &[("_csrf", &token), ("cause", &deployment)],
        )
        .await;
    assert_eq!(status, 303);
    let i = app.get_json(&format!("/api/v1/incidents/{incident}")).await;
    assert_eq!(i["status"], "resolved");
    assert_eq!(i["causes"], json!([deployment]));
    assert!(i["timeline"].to_string().contains("rolled back the canary"));
    let (status, body) = v
        .post(
            &format!("/incidents/{incident}/cause"),
            &[("_csrf", &token), ("other", "abc")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(body.contains("deployments[0]"), "{body}");

    let (status, _) = v
        .post(
            "/flags/production/legacy-search/explode",
            &[("_csrf", &token)],
        )
        .await;
    assert_eq!(status, 404, "an unknown action is no route, not a write");

    // Logging out clears the cookie.
    let (status, to) = v.post("/logout", &[("_csrf", &token)]).await;
    assert_eq!((status, to.as_str()), (303, "/login"));
    assert!(v.cookies.iter().all(|(k, _)| k != "rodeo_session"));
    assert_eq!(v.get("/").await.0, 303);
    app.stop().await;
}

#[tokio::test]
async fn read_tokens_see_no_write_controls_and_cannot_post() {
    let app = spawn_app().await;
    seed(&app).await;
    let reader = app.token("viewer", "read").await;
    let mut v = Visitor::new(&app);
    v.login(&reader).await;
    let page = v.page("/flags/production/legacy-search").await;
    assert!(!page.contains("toggle-form") && !page.contains("kill-form"));
    assert!(page.contains("read-only"));
    let incident = first_incident(&app).await;
    let page = v.page(&format!("/incidents/{incident}")).await;
    assert!(!page.contains("status-form") && !page.contains("note-form"));
    let token = csrf(&page);
    let (status, body) = v
        .post(
            "/flags/production/legacy-search/toggle",
            &[("enabled", "true"), ("_csrf", &token)],
        )
        .await;
    assert_eq!(status, 403);
    assert!(body.contains("write"), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn public_mode_shows_pages_without_login_and_no_write_controls() {
    let app = spawn_with(|c| c.dashboard.public = true).await;
    seed(&app).await;
    let mut v = Visitor::new(&app);
    for path in [
        "/",
        "/tv",
        "/environments",
        "/flags/production/new-checkout",
    ] {
        let page = v.page(path).await;
        assert!(!page.contains("method=\"post\""), "{path} shows a form");
    }
    let (status, _) = v
        .post(
            "/flags/production/legacy-search/toggle",
            &[("enabled", "true")],
        )
        .await;
    assert_eq!(status, 403);
    // Logging in still gives write controls.
    v.login(&app.admin).await;
    assert!(v
        .page("/flags/production/new-checkout")
        .await
        .contains("toggle-form"));
    app.stop().await;
}

#[tokio::test]
async fn pages_carry_a_strict_content_security_policy() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(format!("{}/login", app.base))
        .send()
        .await
        .unwrap();
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    for asset in ["dashboard.css", "dashboard.js", "icon.svg"] {
        let r = app
            .client
            .get(format!("{}/assets/{asset}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{asset}");
    }
    app.stop().await;

    let off = spawn_with(|c| c.dashboard.enabled = false).await;
    let r = off
        .client
        .get(format!("{}/", off.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    off.stop().await;
}
