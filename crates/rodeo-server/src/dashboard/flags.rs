//! Feature flags: each environment's flags with state, owner, type, staleness and
//! evaluation counts; a flag's page with its definition, its history from the ledger,
//! and the toggle, rollout and kill controls.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Form;
use rodeo_domain::{EnvironmentName, EventFilter, FlagChange};
use serde_json::Value;

use super::format::{ago, iso, query_escape};
use super::{html, see_other, Layout, PageError, Viewer};
use crate::api::flags::{change, summaries};
use crate::error::ApiError;
use crate::state::AppState;

fn environment(env: &str) -> Result<EnvironmentName, PageError> {
    EnvironmentName::parse_field("environment", env)
        .map_err(|e| PageError::Api(ApiError::Invalid(e.into())))
}

struct EnvRow {
    name: String,
    flags: usize,
    version: i64,
    ago: String,
}

#[derive(askama::Template)]
#[template(path = "flag_envs.html")]
struct Envs {
    layout: Layout,
    envs: Vec<EnvRow>,
}

pub(crate) async fn environments(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    let now = rodeo_domain::now();
    let sets = state.store.flag_sets().await?;
    html(&Envs {
        layout: viewer.layout("Flags", "flags"),
        envs: sets
            .iter()
            .map(|s| EnvRow {
                name: s.environment.to_string(),
                flags: s.flags.len(),
                version: s.version,
                ago: ago(s.updated_at, now),
            })
            .collect(),
    })
}

struct FlagRow {
    key: String,
    href: String,
    enabled: bool,
    serving: String,
    targeting: bool,
    owner: String,
    flag_type: String,
    evaluations: u64,
    last_evaluated: String,
    updated: String,
    updated_iso: String,
    stale: Vec<String>,
}

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// What a staleness finding says, in words.
fn stale_words(s: &Value) -> String {
    let n = |k: &str| s[k].as_i64().unwrap_or_default();
    match s["reason"].as_str().or_else(|| {
        s.as_object()
            .and_then(|o| o.keys().next().map(String::as_str))
    }) {
        Some("past_lifetime") => format!(
            "{} days old, past its {}-day lifetime",
            n("age_days"),
            n("lifetime_days")
        ),
        Some("fully_rolled_out") => format!(
            "served '{}' to everyone for {} days",
            text(s.get("variant")),
            n("days")
        ),
        Some("disabled") => format!("disabled for {} days", n("days")),
        Some("unused") => format!("not evaluated for {} days", n("days")),
        _ => s.to_string(),
    }
}

#[derive(askama::Template)]
#[template(path = "flags.html")]
struct List {
    layout: Layout,
    env: String,
    envs: Vec<String>,
    version: i64,
    flags: Vec<FlagRow>,
}

pub(crate) async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(env): Path<String>,
) -> Result<Response, PageError> {
    let now = rodeo_domain::now();
    let name = environment(&env)?;
    let (version, flags) = match summaries(&state, &name).await? {
        Some((v, _, flags)) => (v, flags),
        None => {
            if !state
                .store
                .list_environments()
                .await?
                .iter()
                .any(|e| e.name == name)
            {
                return Err(PageError::not_found(format!(
                    "environment '{name}' not found"
                )));
            }
            (0, Vec::new())
        }
    };
    let envs = state
        .store
        .flag_sets()
        .await?
        .into_iter()
        .map(|s| s.environment.to_string())
        .collect();
    let rows = flags
        .iter()
        .map(|f| {
            let key = text(f.get("key"));
            let at = |k: &str| {
                f.get(k)
                    .and_then(Value::as_str)
                    .and_then(|s| rodeo_domain::parse_timestamp(k, s).ok())
            };
            FlagRow {
                href: format!("/flags/{name}/{}", query_escape(&key)),
                key,
                enabled: f["state"] == "ENABLED",
                serving: text(f.get("serving")),
                targeting: f["targeting"].as_bool().unwrap_or(false),
                owner: text(f.get("owner")),
                flag_type: text(f.get("type")),
                evaluations: f["evaluations"]["total"].as_u64().unwrap_or(0),
                last_evaluated: f["evaluations"]["last_evaluated_at"]
                    .as_str()
                    .and_then(|s| rodeo_domain::parse_timestamp("t", s).ok())
                    .map_or_else(|| "never".into(), |t| ago(t, now)),
                updated: at("updated_at").map(|t| ago(t, now)).unwrap_or_default(),
                updated_iso: at("updated_at").map(iso).unwrap_or_default(),
                stale: f["stale"]
                    .as_array()
                    .map(|a| a.iter().map(stale_words).collect())
                    .unwrap_or_default(),
            }
        })
        .collect();
    html(&List {
        layout: viewer.layout(format!("Flags in {name}"), "flags"),
        env: name.to_string(),
        envs,
        version,
        flags: rows,
    })
}

struct History {
    kind: String,
    change: String,
    actor: String,
    source: &'static str,
    ago: String,
    iso: String,
    state: String,
}

#[derive(askama::Template)]
#[template(path = "flag.html")]
struct FlagPage {
    layout: Layout,
    env: String,
    key: String,
    /// The key as a path segment.
    key_url: String,
    enabled: bool,
    variants: Vec<String>,
    default_variant: String,
    definition: String,
    evaluations: Vec<(String, u64)>,
    history: Vec<History>,
}

pub(crate) async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((env, key)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let now = rodeo_domain::now();
    let name = environment(&env)?;
    let missing = || PageError::not_found(format!("flag '{key}' not found in {name}"));
    let record = state.store.flag_set(&name).await?.ok_or_else(missing)?;
    let def = record.document["flags"]
        .get(&key)
        .cloned()
        .ok_or_else(missing)?;
    let mut evaluations = BTreeMap::new();
    for c in state.store.flag_evaluations(&name).await? {
        if c.key == key {
            let v = c.variant.unwrap_or_else(|| "(default)".into());
            *evaluations.entry(v).or_insert(0) += c.count;
        }
    }
    let subject = format!("flag:{name}/{key}");
    // The ledger has no subject filter: read the newest flag events and keep this
    // flag's. By kind alone, not environment: the environment index would walk all of
    // the environment's deployments to find its few flag events.
    let events = state
        .store
        .list_events(&EventFilter {
            kind: Some("flag.".into()),
            limit: rodeo_domain::MAX_PAGE_SIZE,
            ..EventFilter::default()
        })
        .await?
        .items;
    let history = events
        .iter()
        .filter(|e| e.subject.as_deref() == Some(subject.as_str()))
        .take(100)
        .map(|e| History {
            kind: e.kind.clone(),
            change: text(e.payload.get("change")),
            actor: e.actor.clone(),
            source: e.source.as_str(),
            ago: ago(e.at, now),
            iso: iso(e.at),
            state: e.payload["after"]["state"]
                .as_str()
                .map_or_else(|| "deleted".into(), str::to_owned),
        })
        .collect();
    html(&FlagPage {
        layout: viewer.layout(format!("{key} in {name}"), "flags"),
        enabled: def["state"] == "ENABLED",
        variants: def["variants"]
            .as_object()
            .map(|v| v.keys().cloned().collect())
            .unwrap_or_default(),
        default_variant: text(def.get("defaultVariant")),
        definition: serde_json::to_string_pretty(&def).unwrap_or_default(),
        evaluations: evaluations.into_iter().collect(),
        history,
        env: name.to_string(),
        key_url: query_escape(&key),
        key,
    })
}

type FormData = Form<BTreeMap<String, String>>;

fn back(env: &EnvironmentName, key: &str) -> String {
    format!("/flags/{env}/{}", query_escape(key))
}

fn optional(form: &BTreeMap<String, String>, name: &str) -> Option<String> {
    form.get(name)
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// The flag controls: `toggle` (`enabled`), `rollout` (`percent`, `variant`,
/// `otherwise`) and `kill` (`variant`), through the same change as the API.
pub(crate) async fn act(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path((env, key, action)): Path<(String, String, String)>,
    Form(form): FormData,
) -> Result<Response, PageError> {
    let caller = viewer.writer(&headers, &form, &state)?;
    let env = environment(&env)?;
    let to = back(&env, &key);
    let c = match action.as_str() {
        "toggle" => FlagChange::Toggle {
            key,
            enabled: match form.get("enabled").map(String::as_str) {
                Some("true") => true,
                Some("false") => false,
                _ => return Err(PageError::invalid("enabled", "must be true or false")),
            },
        },
        "rollout" => FlagChange::Rollout {
            key,
            percent: form
                .get("percent")
                .and_then(|p| p.trim().parse::<u8>().ok())
                .filter(|p| *p <= 100)
                .ok_or_else(|| {
                    PageError::invalid("percent", "must be a whole number from 0 to 100")
                })?,
            variant: optional(&form, "variant"),
            otherwise: optional(&form, "otherwise"),
        },
        "kill" => FlagChange::Kill {
            key,
            variant: optional(&form, "variant"),
        },
        _ => return Err(PageError::not_found(format!("no flag action '{action}'"))),
    };
    change(&state, &caller, &env, c).await?;
    Ok(see_other(&to))
}
