//! The evaluation-logic suites of flagd-testbed (`gherkin/targeting.feature`,
//! `evaluation.feature`, `disabled.feature`, `metadata.feature`) run over OFREP against a
//! real server, with the testbed's flag files applied to environments the way flagd's
//! providers select them: every file except `selector-*` together (flagd's
//! `allFlags.json`), and each `selector-*` file alone for the scenarios that select it.
//! The runner acts as an OFREP provider would: a missing value means the code default,
//! a value of another type is `TYPE_MISMATCH`.
//!
//! Skipped, with the reason printed for each:
//! - `@fractional-v1`, `@fractional-v3`: rodeo implements flagd's v2 bucketing;
//! - `@deprecated` (`@no-default`): the old-protocol answer `FLAG_NOT_FOUND` for a flag
//!   without a default variant, replaced in the suite by `@no-default-variant`, which runs;
//! - scenarios about a flag that rodeo refuses to store (it names a `$ref` to an evaluator
//!   that does not exist): an apply fails with the JSON Pointer instead, and the engine's
//!   `PARSE_ERROR` for such a flag is covered by the evaluator suite in rodeo-flags.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use rodeo_flags::testbed::{self, Outcome, Resolve};
use rodeo_flags::Requested;
use rodeo_server::{Application, Config};
use serde_json::{json, Map, Value};

const SUITES: [&str; 4] = [
    "targeting.feature",
    "evaluation.feature",
    "disabled.feature",
    "metadata.feature",
];
const ALL: &str = "all";

struct Server {
    base: String,
    admin: String,
    _runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

fn start() -> Server {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    config.database.url = format!("sqlite://{}", dir.path().join("rodeo.db").display());
    let app = runtime.block_on(Application::build(config)).unwrap();
    let base = format!("http://{}", app.local_addr());
    let admin = app.admin_secret().unwrap().to_owned();
    runtime.spawn(async move { app.run_until(std::future::pending()).await });
    Server {
        base,
        admin,
        _runtime: runtime,
        _dir: dir,
    }
}

/// Applies `doc` to `env`, dropping the flags rodeo refuses (returned with the reason).
fn apply(
    http: &reqwest::blocking::Client,
    s: &Server,
    env: &str,
    mut doc: Value,
) -> BTreeMap<String, String> {
    let mut refused = BTreeMap::new();
    loop {
        let r = http
            .put(format!("{}/api/v1/flags/{env}/definition", s.base))
            .bearer_auth(&s.admin)
            .json(&doc)
            .send()
            .unwrap();
        if r.status() == 200 {
            return refused;
        }
        let problem: Value = r.json().unwrap();
        let errors = problem["errors"].as_array().cloned().unwrap_or_default();
        let mut dropped = false;
        for e in errors {
            let field = e["field"].as_str().unwrap_or_default();
            if let Some(key) = field
                .strip_prefix("/flags/")
                .and_then(|f| f.split('/').next())
            {
                if doc["flags"].as_object_mut().unwrap().remove(key).is_some() {
                    refused.insert(
                        key.to_owned(),
                        format!("{field}: {}", e["message"].as_str().unwrap_or_default()),
                    );
                    dropped = true;
                }
            }
        }
        assert!(
            dropped,
            "the testbed flags for {env} were refused as a whole: {problem}"
        );
    }
}

fn sdk_key(http: &reqwest::blocking::Client, s: &Server, env: &str) -> String {
    let r = http
        .post(format!("{}/api/v1/tokens", s.base))
        .bearer_auth(&s.admin)
        .json(&json!({"name": format!("sdk-{env}"), "scope": "sdk_client", "environment": env}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json::<Value>().unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned()
}

struct Ofrep {
    http: reqwest::blocking::Client,
    base: String,
    /// SDK key per environment.
    keys: BTreeMap<String, String>,
}

/// The environment a scenario's `selector` option names.
fn environment(selector: Option<&str>) -> String {
    match selector {
        None | Some("flags/allFlags.json") => ALL.to_owned(),
        Some(s) => s
            .rsplit('/')
            .next()
            .unwrap_or(s)
            .trim_end_matches(".json")
            .to_owned(),
    }
}

fn fits(requested: Requested, v: &Value) -> bool {
    match requested {
        Requested::Boolean => v.is_boolean(),
        Requested::String => v.is_string(),
        Requested::Integer => v.is_i64() || v.is_u64(),
        Requested::Float => v.is_number(),
        Requested::Object => v.is_object(),
        Requested::Any => true,
    }
}

impl Resolve for Ofrep {
    fn resolve(
        &mut self,
        selector: Option<&str>,
        key: &str,
        requested: Requested,
        context: &Map<String, Value>,
    ) -> Outcome {
        let env = environment(selector);
        let sdk_key = self
            .keys
            .get(&env)
            .unwrap_or_else(|| panic!("no environment for selector {selector:?}"));
        let r = self
            .http
            .post(format!("{}/ofrep/v1/evaluate/flags/{key}", self.base))
            .bearer_auth(sdk_key)
            .json(&json!({ "context": context }))
            .send()
            .unwrap();
        let status = r.status().as_u16();
        let body: Value = r.json().unwrap();
        let metadata = body["metadata"].as_object().cloned().unwrap_or_default();
        if status != 200 {
            return Outcome {
                reason: "ERROR".into(),
                error_code: body["errorCode"].as_str().map(str::to_owned),
                metadata,
                ..Outcome::default()
            };
        }
        match body.get("value") {
            Some(v) if !fits(requested, v) => Outcome {
                reason: "ERROR".into(),
                error_code: Some("TYPE_MISMATCH".into()),
                metadata,
                ..Outcome::default()
            },
            value => Outcome {
                value: value.cloned(),
                variant: body["variant"].as_str().map(str::to_owned),
                reason: body["reason"].as_str().unwrap_or_default().to_owned(),
                error_code: None,
                metadata,
            },
        }
    }
}

fn merged(files: &[std::path::PathBuf]) -> Value {
    let mut flags = Map::new();
    let mut evaluators = Map::new();
    for f in files {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        flags.extend(doc["flags"].as_object().cloned().unwrap_or_default());
        evaluators.extend(doc["$evaluators"].as_object().cloned().unwrap_or_default());
    }
    json!({"flags": flags, "$evaluators": evaluators})
}

#[test]
fn flagd_testbed_provider_suites_over_ofrep() {
    let Some(dir) = testbed::testbed_dir() else {
        eprintln!("\n!!! SKIPPED: ../shared/conformance/flagd-testbed is absent; the OFREP testbed suites did not run !!!\n");
        return;
    };
    let server = start();
    let http = reqwest::blocking::Client::new();
    let mut files: Vec<_> = std::fs::read_dir(dir.join("flags"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let (selectors, rest): (Vec<_>, Vec<_>) = files.into_iter().partition(|p| {
        p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("selector")
    });
    let mut refused = apply(&http, &server, ALL, merged(&rest));
    let mut keys = BTreeMap::new();
    keys.insert(ALL.to_owned(), sdk_key(&http, &server, ALL));
    for file in &selectors {
        let env = environment(Some(&file.to_string_lossy()));
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        refused.extend(apply(&http, &server, &env, doc));
        keys.insert(env.clone(), sdk_key(&http, &server, &env));
    }

    let features: Vec<_> = SUITES.iter().map(|f| dir.join("gherkin").join(f)).collect();
    let cases = testbed::load(&features).unwrap();
    let mut ofrep = Ofrep {
        http,
        base: server.base.clone(),
        keys,
    };
    let (mut passed, mut failures) = (0, Vec::new());
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    for case in &cases {
        let reason = if case.has_tag("fractional-v1") || case.has_tag("fractional-v3") {
            Some("fractional v1/v3 bucketing (rodeo implements flagd's v2)".to_owned())
        } else if case.has_tag("deprecated") {
            Some("@deprecated old-protocol FLAG_NOT_FOUND for a flag without a default variant (@no-default-variant runs instead)".to_owned())
        } else {
            let keys: BTreeSet<&String> = refused.keys().collect();
            case.steps.iter().find_map(|s| {
                keys.iter()
                    .find(|k| s.contains(&format!("\"{k}\"")))
                    .map(|k| format!("flag {k} is refused on apply ({})", refused[*k]))
            })
        };
        if let Some(reason) = reason {
            *skipped.entry(reason).or_default() += 1;
            continue;
        }
        match testbed::run(case, &mut ofrep) {
            Ok(()) => passed += 1,
            Err(e) => failures.push(format!("{} / {}: {e}", case.file, case.name)),
        }
    }
    eprintln!(
        "flagd-testbed provider suites over OFREP: {passed} passed, {} failed",
        failures.len()
    );
    for (reason, n) in &skipped {
        eprintln!("  skipped {n}: {reason}");
    }
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
    assert!(
        passed > 100,
        "only {passed} cases ran: the suites were not read"
    );
    assert!(
        refused.len() == 3,
        "rodeo refused more testbed flags than expected: {refused:?}"
    );
}
