//! `rodeo flags`: apply and export flagd definitions, change single flags, and read the
//! stale report. Files may be JSON or YAML; the server speaks JSON.

use std::path::Path;

use reqwest::Method;
use serde_json::{json, Value};

use super::{stdout, Context};
use crate::cli::{FileFormat, FlagsCmd, OnOff, OutputFormat};
use crate::client::Reply;
use crate::error::CliError;

/// Reads a flagd document from JSON or YAML (`-`: standard input). YAML is tried only
/// when the text is not JSON, so a JSON file is never reinterpreted.
pub(crate) fn read_document(path: &Path) -> Result<Value, CliError> {
    let fail = |message: String| CliError::FlagFile {
        path: path.to_owned(),
        message,
    };
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).map_err(|e| fail(e.to_string()))?
    } else {
        std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(v) => Ok(v),
        Err(json_error) => {
            let yaml_like = path.extension().is_some_and(|e| e == "yaml" || e == "yml")
                || !text.trim_start().starts_with(['{', '[']);
            if !yaml_like {
                return Err(fail(format!("not valid JSON: {json_error}")));
            }
            serde_yaml_ng::from_str::<Value>(&text)
                .map_err(|e| fail(format!("not valid JSON or YAML: {e}")))
        }
    }
}

/// `rodeo flags validate`: the same checks the server applies, offline.
pub(super) fn validate(path: &Path, format: OutputFormat) -> Result<(), CliError> {
    let doc = read_document(path)?;
    match rodeo_store::flags::validate(&doc) {
        Ok(()) => {
            let n = doc["flags"].as_object().map_or(0, serde_json::Map::len);
            match format {
                OutputFormat::Json => stdout(&json!({"valid": true, "flags": n}).to_string()),
                OutputFormat::Text => stdout(&format!("{}: {n} flags, valid", path.display())),
            }
        }
        Err(rodeo_store::StoreError::Invalid(errors)) => Err(CliError::InvalidFlags(errors)),
        Err(other) => Err(CliError::Store(other)),
    }
}

pub(super) async fn flags(ctx: &Context, cmd: FlagsCmd) -> Result<(), CliError> {
    let c = &ctx.client;
    match cmd {
        FlagsCmd::Validate { file } => validate(&file, ctx.format),
        FlagsCmd::Apply { file, env, dry_run } => {
            let doc = read_document(&file)?;
            if let Err(rodeo_store::StoreError::Invalid(errors)) =
                rodeo_store::flags::validate(&doc)
            {
                return Err(CliError::InvalidFlags(errors));
            }
            let env = env.env.to_string();
            let segments = ["api", "v1", "flags", env.as_str(), "definition"];
            let query: &[(&str, &str)] = if dry_run { &[("dry_run", "true")] } else { &[] };
            let reply: Reply<Value> = c.write_query(Method::PUT, &segments, query, &doc).await?;
            ctx.print(&reply, |v| render_changes(v, &env))
        }
        FlagsCmd::Export { env, format } => {
            let env = env.env.to_string();
            let reply: Reply<Value> = c
                .get(&["api", "v1", "flags", &env, "definition"], &[])
                .await?;
            match format {
                FileFormat::Json => {
                    stdout(&serde_json::to_string_pretty(&reply.value).unwrap_or_default())
                }
                FileFormat::Yaml => stdout(
                    serde_yaml_ng::to_string(&reply.value)
                        .map_err(|e| CliError::Usage(format!("cannot write YAML: {e}")))?
                        .trim_end(),
                ),
            }
        }
        FlagsCmd::List { env } => {
            let env = env.env.to_string();
            let reply: Reply<Value> = c.get(&["api", "v1", "flags", &env], &[]).await?;
            ctx.print(&reply, render_list)
        }
        FlagsCmd::Get { key, env } => {
            let env = env.env.to_string();
            let reply: Reply<Value> = c.get(&["api", "v1", "flags", &env, &key], &[]).await?;
            ctx.print(&reply, |v| {
                serde_json::to_string_pretty(&v["definition"]).unwrap_or_default()
            })
        }
        FlagsCmd::Put { key, file, env } => {
            let definition = read_document(&file)?;
            let env = env.env.to_string();
            let reply: Reply<Value> = c
                .write(
                    Method::PUT,
                    &["api", "v1", "flags", &env, &key],
                    &definition,
                    None,
                )
                .await?;
            ctx.print(&reply, |v| render_changes(v, &env))
        }
        FlagsCmd::Toggle { key, state, env } => {
            let env = env.env.to_string();
            let body = json!({"enabled": state == OnOff::On});
            let reply: Reply<Value> = c
                .write(
                    Method::POST,
                    &["api", "v1", "flags", &env, &key, "toggle"],
                    &body,
                    None,
                )
                .await?;
            ctx.print(&reply, |v| render_changes(v, &env))
        }
        FlagsCmd::Rollout {
            key,
            percent,
            variant,
            otherwise,
            env,
        } => {
            let env = env.env.to_string();
            let body = json!({"percent": percent, "variant": variant, "otherwise": otherwise});
            let reply: Reply<Value> = c
                .write(
                    Method::POST,
                    &["api", "v1", "flags", &env, &key, "rollout"],
                    &body,
                    None,
                )
                .await?;
            ctx.print(&reply, |v| render_changes(v, &env))
        }
        FlagsCmd::Kill { key, variant, env } => {
            let env = env.env.to_string();
            let body = json!({"variant": variant});
            let reply: Reply<Value> = c
                .write(
                    Method::POST,
                    &["api", "v1", "flags", &env, &key, "kill"],
                    &body,
                    None,
                )
                .await?;
            ctx.print(&reply, |v| render_changes(v, &env))
        }
        FlagsCmd::Delete { key, env } => {
            let env = env.env.to_string();
            let reply = c.delete(&["api", "v1", "flags", &env, &key]).await?;
            ctx.print(&reply, |v| render_changes(v, &env))
        }
        FlagsCmd::Stale { env } => {
            let env = env.env.to_string();
            let reply: Reply<Value> = c.get(&["api", "v1", "flags", &env, "stale"], &[]).await?;
            ctx.print(&reply, render_stale)
        }
    }
}

/// A change response as lines: `+ key` created, `- key` deleted, `~ key` with each
/// top-level field that changed, before → after.
pub(crate) fn render_changes(v: &Value, env: &str) -> String {
    let changes = v["changes"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let dry = v["dry_run"] == true;
    let mut out = Vec::new();
    for c in changes {
        let key = c["key"].as_str().unwrap_or_default();
        match c["action"].as_str() {
            Some("created") => out.push(format!("+ {key}")),
            Some("deleted") => out.push(format!("- {key}")),
            _ => {
                out.push(format!("~ {key}"));
                let (before, after) = (&c["before"], &c["after"]);
                let mut fields: Vec<&String> = before
                    .as_object()
                    .into_iter()
                    .chain(after.as_object())
                    .flat_map(|m| m.keys())
                    .collect();
                fields.sort();
                fields.dedup();
                for f in fields {
                    if before.get(f) != after.get(f) {
                        out.push(format!(
                            "    {f}: {} → {}",
                            short(before.get(f)),
                            short(after.get(f))
                        ));
                    }
                }
            }
        }
    }
    if v["set_changed"] == true {
        out.push("~ $evaluators / metadata".into());
    }
    for w in v["warnings"].as_array().into_iter().flatten() {
        out.push(format!(
            "warning: {}: {}",
            w["pointer"].as_str().unwrap_or_default(),
            w["message"].as_str().unwrap_or_default()
        ));
    }
    let version = &v["version"];
    let summary = match (changes.is_empty() && v["set_changed"] != true, dry) {
        (true, _) => format!("{env}: no changes (version {version})"),
        (false, true) => format!(
            "{env}: {} flag(s) would change (dry run; nothing applied)",
            changes.len()
        ),
        (false, false) => format!(
            "{env}: {} flag(s) changed, now version {version}",
            changes.len()
        ),
    };
    out.push(summary);
    out.join("\n")
}

fn short(v: Option<&Value>) -> String {
    let text = v.map_or_else(|| "(none)".to_owned(), Value::to_string);
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(59).collect::<String>())
    } else {
        text
    }
}

fn render_list(v: &Value) -> String {
    let mut rows = vec![[
        "FLAG",
        "STATE",
        "SERVING",
        "TYPE",
        "OWNER",
        "EVALUATIONS",
        "STALE",
    ]
    .map(String::from)
    .to_vec()];
    for f in v["flags"].as_array().into_iter().flatten() {
        let text = |x: &Value| x.as_str().map_or_else(|| "-".to_owned(), str::to_owned);
        let serving = match (&f["serving"], f["targeting"] == true) {
            (Value::String(s), _) => s.clone(),
            (_, true) => "(targeting)".into(),
            _ => "-".into(),
        };
        let stale: Vec<String> = f["stale"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["reason"].as_str().map(str::to_owned))
            .collect();
        rows.push(vec![
            text(&f["key"]),
            text(&f["state"]),
            serving,
            text(&f["type"]),
            text(&f["owner"]),
            f["evaluations"]["total"].to_string(),
            if stale.is_empty() {
                "-".into()
            } else {
                stale.join(",")
            },
        ]);
    }
    table(&rows)
}

fn render_stale(v: &Value) -> String {
    let items = v["items"].as_array().map(Vec::as_slice).unwrap_or_default();
    if items.is_empty() {
        return "no stale flags".into();
    }
    let mut rows = vec![["FLAG", "OWNER", "WHY"].map(String::from).to_vec()];
    for f in items {
        let why: Vec<String> = f["reasons"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| match r["reason"].as_str() {
                Some("past_lifetime") => format!(
                    "{} flag older than {} days",
                    r["flag_type"].as_str().unwrap_or("?"),
                    r["lifetime_days"]
                ),
                Some("fully_rolled_out") => {
                    format!("everyone gets {} for {} days", r["variant"], r["days"])
                }
                Some("disabled") => format!("disabled for {} days", r["days"]),
                Some("unused") => format!("not evaluated for {} days", r["days"]),
                _ => r.to_string(),
            })
            .collect();
        rows.push(vec![
            f["key"].as_str().unwrap_or_default().to_owned(),
            f["owner"].as_str().unwrap_or("-").to_owned(),
            why.join("; "),
        ]);
    }
    table(&rows)
}

fn table(rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    rows.iter()
        .map(|r| {
            r.iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_render_as_a_diff() {
        let v = json!({"version": 3, "dry_run": false, "set_changed": false, "changes": [
            {"key": "a", "action": "created", "before": null, "after": {}},
            {"key": "b", "action": "updated", "before": {"state": "ENABLED", "defaultVariant": "on"},
             "after": {"state": "DISABLED", "defaultVariant": "on"}},
            {"key": "c", "action": "deleted", "before": {}, "after": null}]});
        assert_eq!(
            render_changes(&v, "production"),
            "+ a\n~ b\n    state: \"ENABLED\" → \"DISABLED\"\n- c\nproduction: 3 flag(s) changed, now version 3"
        );
        let none = json!({"version": 3, "changes": [], "set_changed": false});
        assert_eq!(
            render_changes(&none, "production"),
            "production: no changes (version 3)"
        );
    }

    #[test]
    fn yaml_and_json_files_read_alike() {
        let dir = tempfile::tempdir().unwrap();
        let json_path = dir.path().join("flags.json");
        let yaml_path = dir.path().join("flags.yaml");
        std::fs::write(&json_path, r#"{"flags": {"a": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on"}}}"#).unwrap();
        std::fs::write(&yaml_path, "flags:\n  a:\n    state: ENABLED\n    variants:\n      on: true\n    defaultVariant: \"on\"\n").unwrap();
        assert_eq!(
            read_document(&json_path).unwrap(),
            read_document(&yaml_path).unwrap()
        );
        std::fs::write(&json_path, "{\"flags\": ").unwrap();
        assert!(matches!(
            read_document(&json_path),
            Err(CliError::FlagFile { .. })
        ));
    }
}
