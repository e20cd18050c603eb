//! The dashboard in a real browser: headless Chromium driven over WebDriver
//! (chromedriver + fantoccini) on the demo's data. Every page is visited, screenshotted
//! to `target/screenshots/`, and checked for console errors, error pages and a few
//! accessibility basics; then the write forms are used as an operator would (toggle a
//! flag, resolve an incident), a live update is watched arrive without a reload, and a
//! read token is shown no write controls.
//!
//! Needs `chromedriver` (env `CHROMEDRIVER`, else on `PATH`, else /usr/bin) and a
//! Chromium it can start (env `CHROME_BIN` picks one). Without chromedriver the suite
//! is skipped loudly, except under CI, where that is a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::fmt::Display;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use support::Rodeo;
use tokio::time::Instant;
use url::Url;

/// How long a page may take to show what a step waits for.
const WAIT: Duration = Duration::from_secs(15);
/// A page that takes longer than this to load is a problem, even if it loads.
const SLOW: Duration = Duration::from_secs(10);
/// The desktop window, and the phone one the responsive screenshots use.
const DESKTOP: (u32, u32) = (1366, 900);
const PHONE: (u32, u32) = (390, 844);
/// Full-page screenshots grow the window to the page's height, up to this.
const MAX_SHOT_HEIGHT: u32 = 8000;

type Step<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

trait Context<T> {
    fn context(self, what: impl Display) -> Step<T>;
}

impl<T, E: Display> Context<T> for Result<T, E> {
    fn context(self, what: impl Display) -> Step<T> {
        self.map_err(|e| format!("{what}: {e}").into())
    }
}

/// What the demo printed: where it listens and the tokens it made.
struct Demo {
    url: String,
    admin: String,
    read: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_works_in_a_real_browser() {
    let started = std::time::Instant::now();
    let chromedriver = match chromedriver_binary() {
        Ok(path) => path,
        Err(why) if in_ci() => panic!(
            "the browser suite needs chromedriver under CI: {why}; \
             install chromium and chromium-driver (.ci/run does)"
        ),
        Err(why) => {
            eprintln!(
                "\n**********\n** browser suite SKIPPED: {why}.\n** Install chromium and \
                 chromium-driver, or set CHROMEDRIVER, to run it.\n**********\n"
            );
            return;
        }
    };

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let args = [
        "--output",
        "json",
        "demo",
        "--days",
        "14",
        "--database",
        db.to_str().unwrap(),
    ];
    let mut rodeo = Rodeo::start(&args, &[], &dir.path().join("err"));
    let ready: Value = serde_json::from_str(&rodeo.stdout_line().await).unwrap();
    let field = |k: &str| ready[k].as_str().unwrap_or_else(|| panic!("{k}: {ready}"));
    let demo = Demo {
        url: field("url").to_owned(),
        admin: field("admin_token").to_owned(),
        read: field("read_token").to_owned(),
    };

    let driver = Chromedriver::start(&chromedriver, &dir.path().join("chromedriver.log")).await;
    // Two rustls providers are compiled in (see Cargo.toml): use reqwest's. An Err only
    // says one is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = ClientBuilder::rustls()
        .unwrap()
        .capabilities(capabilities())
        .connect(&driver.url())
        .await
        .unwrap_or_else(|e| panic!("starting Chromium: {e}\n{}", driver.log()));
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let mut b = Browser {
        client,
        base: demo.url.clone(),
        shots,
        problems: Vec::new(),
        shot_names: Vec::new(),
        log_path: None,
    };

    let outcome = run(&mut b, &demo).await;
    if let Err(e) = b.console("the last page").await {
        b.problems
            .push(format!("reading the console at the end: {e}"));
    }
    if let Err(e) = b.client.clone().close().await {
        b.problems.push(format!("closing the browser: {e}"));
    }
    if let Err(e) = outcome {
        b.problems
            .insert(0, format!("the suite stopped early: {e}"));
    }
    eprintln!(
        "browser suite: {:.1?}, console read via {}, screenshots in {}: {}",
        started.elapsed(),
        b.log_path.unwrap_or("nothing (no log endpoint worked)"),
        b.shots.display(),
        b.shot_names.join(", ")
    );
    assert!(
        b.problems.is_empty(),
        "the browser suite found {} problem(s):\n- {}\n\nrodeo's stderr:\n{}",
        b.problems.len(),
        b.problems.join("\n- "),
        rodeo.stderr()
    );
    rodeo.kill().await;
}

async fn run(b: &mut Browser, demo: &Demo) -> Step {
    b.client.goto(&format!("{}/", demo.url)).await?;
    b.expect_path("/login?next=/", "an anonymous visit to /")
        .await?;
    b.check_page("login").await;
    b.shot("login").await?;
    b.log_in(&demo.admin).await?;

    let links = tour(b).await?;
    toggle_flag(b, &links.flag).await?;
    resolve_incident(b, demo).await?;
    live_update(b, demo).await?;
    read_only(b, demo, &links).await
}

/// Links found on the way that the actions need.
struct Links {
    flag: String,
    incident: String,
}

/// Every page, in the order a visitor might click through them.
async fn tour(b: &mut Browser) -> Step<Links> {
    b.visit("overview", "/").await?;
    b.shot("overview").await?;
    b.resize(PHONE).await?;
    b.shot("overview-phone").await?;
    b.resize(DESKTOP).await?;
    let deployment = b.first_link("main a[href^=\"/deployments/\"]").await?;
    let mut compare = b.first_link("a[href^=\"/compare\"]").await?;

    b.visit("environments", "/environments").await?;
    b.shot("environments").await?;
    let service = b.first_link("main a[href^=\"/services/\"]").await?;
    if compare.is_none() {
        compare = b.first_link("a[href^=\"/compare\"]").await?;
    }

    for (name, href) in [
        ("service", service),
        ("deployment", deployment),
        ("compare", compare),
    ] {
        match href {
            Some(href) => {
                b.visit(name, &href).await?;
                b.shot(name).await?;
            }
            None => {
                eprintln!("note: no {name} link on the overview or environments; no {name} page")
            }
        }
    }

    b.visit("incidents", "/incidents?status=all").await?;
    b.shot("incidents").await?;
    let incident = b
        .numeric_incident_link()
        .await?
        .ok_or("no incident link on /incidents?status=all")?;
    b.visit("incident", &incident).await?;
    b.shot("incident").await?;
    b.resize(PHONE).await?;
    b.shot("incident-phone").await?;
    b.resize(DESKTOP).await?;

    b.visit("flags", "/flags").await?;
    b.shot("flags").await?;
    b.visit("flags-env", "/flags/prod-eu").await?;
    b.shot("flags-env").await?;
    let flag = b
        .first_link("main a[href^=\"/flags/prod-eu/\"]")
        .await?
        .ok_or("no flag link on /flags/prod-eu")?;
    b.visit("flag", &flag).await?;
    b.shot("flag").await?;

    b.visit("events", "/events").await?;
    b.shot("events").await?;
    b.visit("tv", "/tv").await?;
    b.shot("tv").await?;
    Ok(Links { flag, incident })
}

/// Turns the flag over with its form, checks the page and the history say so, and
/// turns it back.
async fn toggle_flag(b: &mut Browser, flag: &str) -> Step {
    b.visit("flag", flag).await?;
    for round in ["toggle", "toggle back"] {
        let before = b.text("#flag-state").await?;
        let (after, class) = match before.as_str() {
            "on" => ("off", "off"),
            "off" => ("on", "ok"),
            other => return Err(format!("#flag-state reads {other:?}, not on or off").into()),
        };
        b.click("#toggle-form button[type=submit]").await?;
        b.wait_for(
            &format!("#flag-state.{class}"),
            &format!("the flag page after the {round}"),
        )
        .await?;
        b.expect_path(flag, &format!("the {round}")).await?;
        b.check_page(&format!("flag after the {round}")).await;
        let state = b.text("#flag-state").await?;
        if state != after {
            b.problems.push(format!(
                "{round}: #flag-state reads {state:?}, expected {after:?}"
            ));
        }
        let latest = b.text("#flag-history li").await?;
        if !latest.contains("toggle") {
            b.problems.push(format!(
                "{round}: the first #flag-history entry does not mention the toggle: {latest:?}"
            ));
        }
    }
    Ok(())
}

/// Resolves an unresolved incident (opening one through the API if there is none)
/// with a note, through the status form.
async fn resolve_incident(b: &mut Browser, demo: &Demo) -> Step {
    const NOTE: &str = "Resolved by the browser suite";
    b.visit("incidents (unresolved)", "/incidents").await?;
    let href = match b.numeric_incident_link().await? {
        Some(href) => href,
        None => {
            let body = json!({"title": "Browser suite incident", "severity": "sev3",
                              "services": ["checkout"]});
            let opened = api_post(demo, "/api/v1/incidents", &body).await?;
            let id = opened["id"]
                .as_str()
                .ok_or("the opened incident has no id")?;
            format!("/incidents/{id}")
        }
    };
    b.visit("incident to resolve", &href).await?;
    b.find("#new-status")
        .await?
        .select_by_value("resolved")
        .await
        .context("#new-status")?;
    b.find("#status-note").await?.send_keys(NOTE).await?;
    b.click("#status-form button[type=submit]").await?;
    b.wait_for("#incident-status.ok", "the incident after resolving it")
        .await?;
    b.check_page("incident after resolving it").await;
    let status = b.text("#incident-status").await?;
    if status != "resolved" {
        b.problems.push(format!(
            "{href}: #incident-status reads {status:?} after resolving"
        ));
    }
    let timeline = b.text("#timeline-section").await?;
    if !timeline.contains(NOTE) {
        b.problems.push(format!(
            "{href}: the timeline lacks the note {NOTE:?}: {timeline:?}"
        ));
    }
    Ok(())
}

/// A deployment recorded through the API appears on the open overview without a
/// reload: dashboard.js hears of it on /live and swaps <main>.
async fn live_update(b: &mut Browser, demo: &Demo) -> Step {
    const VERSION: &str = "browser-suite-1";
    b.visit("overview (live)", "/").await?;
    // Subscribed before the write, or the change could pass unheard.
    let live = "//footer//*[contains(@class,'live-state')][normalize-space()='Live']";
    b.wait_until(Locator::XPath(live), "the overview's live connection")
        .await?;
    b.client
        .execute("window.browserSuiteMarker = true;", vec![])
        .await?;
    let body = json!({"service": "checkout", "environment": "staging", "version": VERSION,
                      "commit_sha": "3f786850e387550fdab836ed7e6dc881de23001b",
                      "status": "succeeded"});
    api_post(demo, "/api/v1/deployments", &body).await?;
    let seen = b
        .client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(&format!("//main[contains(., '{VERSION}')]")))
        .await;
    if seen.is_err() {
        b.problems.push(format!(
            "overview: {VERSION} did not appear in <main> within 10 s of recording it; footer says {:?}",
            b.text("footer .live-state").await.unwrap_or_default()
        ));
    }
    let kept = b
        .client
        .execute("return window.browserSuiteMarker === true;", vec![])
        .await?;
    if kept != Value::Bool(true) {
        b.problems
            .push("overview: the page reloaded instead of swapping <main>".into());
    }
    b.console("overview after the live update").await
}

/// A read token sees the flag and incident pages without their write forms.
async fn read_only(b: &mut Browser, demo: &Demo, links: &Links) -> Step {
    b.click("form[action=\"/logout\"] button").await?;
    b.wait_for("form.login #token", "the login page after logging out")
        .await?;
    b.expect_path("/login", "logging out").await?;
    b.check_page("login after logging out").await;
    b.log_in(&demo.read).await?;
    for (page, href, form) in [
        ("flag (read-only)", &links.flag, "#toggle-form"),
        ("incident (read-only)", &links.incident, "#status-form"),
    ] {
        b.visit(page, href).await?;
        if !b.client.find_all(Locator::Css(form)).await?.is_empty() {
            b.problems
                .push(format!("{page}: a read token is shown {form}"));
        }
    }
    Ok(())
}

async fn api_post(demo: &Demo, path: &str, body: &Value) -> Step<Value> {
    let r = reqwest::Client::new()
        .post(format!("{}{path}", demo.url))
        .bearer_auth(&demo.admin)
        .json(body)
        .send()
        .await?;
    let status = r.status();
    let answer: Value = r.json().await?;
    if status.as_u16() != 201 {
        return Err(format!("POST {path}: {status} {answer}").into());
    }
    Ok(answer)
}

/// The WebDriver session and what the checks found so far.
struct Browser {
    client: Client,
    base: String,
    shots: PathBuf,
    /// Failed checks; the suite goes on after one and fails at the end.
    problems: Vec<String>,
    shot_names: Vec<String>,
    /// The chromedriver endpoint that returned the console, once one has.
    log_path: Option<&'static str>,
}

/// Run on every page: the checks that need the DOM, answered in one round trip.
const PAGE_CHECKS: &str = r#"
const problems = [];
const count = (sel) => document.querySelectorAll(sel).length;
if (count("main") !== 1) problems.push(`${count("main")} <main> elements`);
if (count("h1") !== 1) problems.push(`${count("h1")} <h1> elements`);
for (const img of document.querySelectorAll("img")) {
  if (!img.hasAttribute("alt")) problems.push(`<img src="${img.getAttribute("src")}"> has no alt`);
}
for (const c of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
  const labelled = (c.id && document.querySelector(`label[for="${CSS.escape(c.id)}"]`))
    || c.hasAttribute("aria-label") || c.hasAttribute("aria-labelledby");
  if (!labelled) problems.push(`<${c.tagName.toLowerCase()} name="${c.name}"> has no label`);
}
const h1 = document.querySelector("main h1");
const nav = performance.getEntriesByType("navigation")[0];
return { problems, h1: h1 ? h1.textContent.trim() : null,
         status: nav && nav.responseStatus ? nav.responseStatus : null };
"#;

impl Browser {
    /// Opens `path` and checks the page.
    async fn visit(&mut self, name: &str, path: &str) -> Step {
        let t = std::time::Instant::now();
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .context(format!("opening {path}"))?;
        let loaded = t.elapsed();
        if loaded > SLOW {
            self.problems
                .push(format!("{name} ({path}): took {loaded:.1?} to load"));
        }
        eprintln!("{name} {path}: loaded in {loaded:.1?}");
        self.check_page(name).await;
        Ok(())
    }

    /// Checks the page now showing: not an error page, its structure, its console.
    /// Records what fails rather than stopping.
    async fn check_page(&mut self, name: &str) {
        let at = self.path().await;
        let page = format!("{name} ({at})");
        match self.client.execute(PAGE_CHECKS, vec![]).await {
            Ok(found) => {
                if let Some(status) = found["status"].as_u64().filter(|s| *s != 200) {
                    self.problems.push(format!("{page}: HTTP {status}"));
                }
                let h1 = found["h1"].as_str().unwrap_or("");
                if h1.starts_with(|c: char| c.is_ascii_digit()) {
                    self.problems.push(format!("{page}: an error page: {h1:?}"));
                }
                for p in found["problems"].as_array().into_iter().flatten() {
                    self.problems
                        .push(format!("{page}: {}", p.as_str().unwrap_or_default()));
                }
            }
            Err(e) => self
                .problems
                .push(format!("{page}: running the page checks: {e}")),
        }
        if let Err(e) = self.console(&page).await {
            self.problems
                .push(format!("{page}: reading the console: {e}"));
        }
    }

    /// Reads (and so empties) the browser's console log; SEVERE entries are problems.
    async fn console(&mut self, page: &str) -> Step {
        let entries = match self.log_path {
            Some(path) => self.client.issue_cmd(BrowserLog { path }).await?,
            None => self.find_log_endpoint().await?,
        };
        for e in entries.as_array().into_iter().flatten() {
            let message = e["message"].as_str().unwrap_or_default();
            match e["level"].as_str() {
                Some("SEVERE") => self
                    .problems
                    .push(format!("{page}: console error: {message}")),
                Some("WARNING") => eprintln!("{page}: console warning: {message}"),
                _ => {}
            }
        }
        Ok(())
    }

    /// chromedriver answers the log command at `se/log` (W3C mode); older ones at `log`.
    async fn find_log_endpoint(&mut self) -> Step<Value> {
        let mut failures = Vec::new();
        for path in ["se/log", "log"] {
            match self.client.issue_cmd(BrowserLog { path }).await {
                Ok(entries) => {
                    self.log_path = Some(path);
                    return Ok(entries);
                }
                Err(e) => failures.push(format!("{path}: {e}")),
            }
        }
        Err(format!("no log endpoint answered ({})", failures.join("; ")).into())
    }

    /// Saves the whole page (the window grown to its height) as `<name>.png`.
    async fn shot(&mut self, name: &str) -> Step {
        let (width, height) = self.client.get_window_size().await?;
        let (width, height) = (u32::try_from(width)?, u32::try_from(height)?);
        let page = self
            .client
            .execute(
                // The window's height includes what the browser draws around the page.
                "return document.documentElement.scrollHeight + window.outerHeight - window.innerHeight;",
                vec![],
            )
            .await?
            .as_u64()
            .and_then(|h| u32::try_from(h).ok())
            .unwrap_or(height);
        self.client
            .set_window_size(width, page.clamp(height, MAX_SHOT_HEIGHT))
            .await?;
        let png = self.client.screenshot().await;
        self.client.set_window_size(width, height).await?;
        let file = self.shots.join(format!("{name}.png"));
        std::fs::write(&file, png?).context(file.display())?;
        self.shot_names.push(name.to_owned());
        Ok(())
    }

    async fn resize(&self, (width, height): (u32, u32)) -> Step {
        Ok(self.client.set_window_size(width, height).await?)
    }

    /// Fills in and sends the login form showing now, and waits to land on `/`.
    async fn log_in(&mut self, token: &str) -> Step {
        self.wait_for("form.login #token", "the login form")
            .await?
            .send_keys(token)
            .await?;
        self.click("form.login button[type=submit]").await?;
        self.wait_for(
            "form[action=\"/logout\"]",
            "the first page after logging in",
        )
        .await?;
        self.expect_path("/", "logging in").await?;
        self.check_page("overview after logging in").await;
        Ok(())
    }

    /// The `href` of the first element matching `css`.
    async fn first_link(&self, css: &str) -> Step<Option<String>> {
        let found = self.client.find_all(Locator::Css(css)).await?;
        match found.first() {
            Some(a) => Ok(a.attr("href").await?),
            None => Ok(None),
        }
    }

    /// The first `/incidents/<number>` link in `main`.
    async fn numeric_incident_link(&self) -> Step<Option<String>> {
        for a in self
            .client
            .find_all(Locator::Css("main a[href^=\"/incidents/\"]"))
            .await?
        {
            let href = a.attr("href").await?.unwrap_or_default();
            let id = href.trim_start_matches("/incidents/");
            if !id.is_empty() && id.bytes().all(|c| c.is_ascii_digit()) {
                return Ok(Some(href));
            }
        }
        Ok(None)
    }

    async fn find(&self, css: &str) -> Step<Element> {
        self.client
            .find(Locator::Css(css))
            .await
            .context(format!("finding {css} on {}", self.path().await))
    }

    async fn text(&self, css: &str) -> Step<String> {
        Ok(self.find(css).await?.text().await?.trim().to_owned())
    }

    async fn click(&self, css: &str) -> Step {
        self.find(css)
            .await?
            .click()
            .await
            .context(format!("clicking {css}"))
    }

    /// Waits for `css` to match, or says where the browser is instead.
    async fn wait_for(&self, css: &str, what: &str) -> Step<Element> {
        self.wait_until(Locator::Css(css), what).await
    }

    async fn wait_until(&self, at: Locator<'_>, what: &str) -> Step<Element> {
        match self.client.wait().at_most(WAIT).for_element(at).await {
            Ok(e) => Ok(e),
            Err(e) => {
                let main = self.text("main").await.unwrap_or_default();
                let main: String = main.chars().take(300).collect();
                let now = self.path().await;
                Err(
                    format!("{what}: no {at:?} within {WAIT:?} ({e}); at {now} showing {main:?}")
                        .into(),
                )
            }
        }
    }

    /// Fails unless the browser is at `expected` (path and query).
    async fn expect_path(&self, expected: &str, after: &str) -> Step {
        let at = self.path().await;
        if at == expected {
            Ok(())
        } else {
            Err(format!("after {after}: at {at}, expected {expected}").into())
        }
    }

    /// The current path and query.
    async fn path(&self) -> String {
        match self.client.current_url().await {
            Ok(u) => match u.query() {
                Some(q) => format!("{}?{q}", u.path()),
                None => u.path().to_owned(),
            },
            Err(e) => format!("(unknown: {e})"),
        }
    }
}

/// chromedriver's own command for the browser's console log: `POST
/// /session/{id}/{path}` with `{"type": "browser"}`. WebDriver has no standard one.
#[derive(Debug)]
struct BrowserLog {
    path: &'static str,
}

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(&self, base: &Url, session: Option<&str>) -> Result<Url, url::ParseError> {
        base.join(&format!(
            "session/{}/{}",
            session.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _: &Url) -> (reqwest::Method, Option<String>) {
        (
            reqwest::Method::POST,
            Some(json!({"type": "browser"}).to_string()),
        )
    }
}

fn capabilities() -> Capabilities {
    let mut chrome = json!({"args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
        "--disable-gpu", &format!("--window-size={},{}", DESKTOP.0, DESKTOP.1)]});
    if let Some(bin) = std::env::var("CHROME_BIN").ok().filter(|b| !b.is_empty()) {
        chrome["binary"] = bin.into();
    }
    let caps = json!({"goog:chromeOptions": chrome, "goog:loggingPrefs": {"browser": "ALL"}});
    serde_json::from_value(caps).unwrap()
}

/// `CI` set to anything but empty or `false`.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false")
}

/// `CHROMEDRIVER`, else `chromedriver` on `PATH`, else /usr/bin/chromedriver.
fn chromedriver_binary() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("CHROMEDRIVER").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return match path.is_file() {
            true => Ok(path),
            false => Err(format!("CHROMEDRIVER={} is not a file", path.display())),
        };
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("chromedriver"))
        .chain([PathBuf::from("/usr/bin/chromedriver")])
        .find(|p| p.is_file())
        .ok_or_else(|| {
            "chromedriver is neither on PATH nor in /usr/bin, and CHROMEDRIVER is not set".into()
        })
}

/// A chromedriver on a free port. Dropping it asks it to shut down, which also quits
/// the browsers it started (a kill alone would leave them running), then kills it.
struct Chromedriver {
    child: std::process::Child,
    port: u16,
    log: PathBuf,
}

impl Chromedriver {
    async fn start(bin: &Path, log: &Path) -> Self {
        let port = support::free_port();
        let out = std::fs::File::create(log).unwrap();
        let child = std::process::Command::new(bin)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        let mut driver = Self {
            child,
            port,
            log: log.to_owned(),
        };
        let deadline = Instant::now() + support::DEADLINE;
        let status = format!("{}status", driver.url());
        loop {
            if let Some(exit) = driver.child.try_wait().unwrap() {
                panic!("chromedriver exited with {exit}:\n{}", driver.log());
            }
            if let Ok(r) = reqwest::get(&status).await {
                if r.json::<Value>()
                    .await
                    .is_ok_and(|v| v["value"]["ready"] == true)
                {
                    return driver;
                }
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver was not ready within {:?}:\n{}",
                support::DEADLINE,
                driver.log()
            );
            // Not a wait for work: the interval between two readiness probes.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = s.write_all(
                b"GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            );
            let _ = s.read_to_end(&mut Vec::new());
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                _ => return,
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
