//! Hostile input: truncated bodies, garbage, and every field of every fixture replaced
//! by values of the wrong type. Parsing must answer, never panic, and an error must
//! name the field that was broken (or one inside it).

use serde_json::{json, Value};

use super::{fixture, mapping};
use crate::webhooks::json::Obj;
use crate::webhooks::{github, gitlab, parse_github, parse_gitlab, Mapping, Parsed, WebhookError};

type Parse = fn(&str, &[u8], &Mapping) -> Result<Parsed, WebhookError>;

/// One fixture per event type rodeo reads.
const CASES: [(&str, &str, &str); 8] = [
    ("github", "push", fixture!("github/push.json")),
    (
        "github",
        "pull_request",
        fixture!("github/pull_request_closed_merged.json"),
    ),
    ("github", "deployment", fixture!("github/deployment.json")),
    (
        "github",
        "deployment_status",
        fixture!("github/deployment_status_success.json"),
    ),
    ("github", "ping", fixture!("github/ping.json")),
    ("gitlab", "Push Hook", fixture!("gitlab/push.json")),
    (
        "gitlab",
        "Merge Request Hook",
        fixture!("gitlab/merge_request_merge.json"),
    ),
    (
        "gitlab",
        "Deployment Hook",
        fixture!("gitlab/deployment_success.json"),
    ),
];

fn parser(source: &str) -> Parse {
    if source == "github" {
        parse_github
    } else {
        parse_gitlab
    }
}

#[test]
fn every_fixture_parses_as_is() {
    let mapping = mapping();
    for (source, event, body) in CASES {
        let parsed = parser(source)(event, body.as_bytes(), &mapping);
        assert!(
            matches!(parsed, Ok(Parsed::Commands { .. } | Parsed::Ping)),
            "{source} {event}: {parsed:?}"
        );
    }
}

#[test]
fn truncated_bodies_are_json_errors() {
    let mapping = mapping();
    for (source, event, body) in CASES {
        let body = body.trim_end().as_bytes();
        let step = (body.len() / 150).max(1);
        for end in (0..body.len()).step_by(step) {
            let result = parser(source)(event, &body[..end], &mapping);
            assert!(
                matches!(result, Err(WebhookError::Json(_))),
                "{source} {event} cut at {end}: {result:?}"
            );
        }
    }
}

#[test]
fn garbage_bodies_are_errors() {
    let mapping = mapping();
    let garbage: [&[u8]; 10] = [
        b"",
        b"null",
        b"[]",
        b"42",
        b"\"push\"",
        b"{",
        b"{}",
        b"{\"commits\": [1, 2, 3]}",
        b"\xff\xfe\x00garbage",
        b"{\"a\": \"\xc3\x28\"}",
    ];
    for (source, event, _) in CASES {
        for body in garbage {
            let result = parser(source)(event, body, &mapping);
            // A ping is any JSON object.
            let ping = event == "ping"
                && serde_json::from_slice::<serde_json::Map<String, Value>>(body).is_ok();
            assert!(
                if ping {
                    result.is_ok()
                } else {
                    result.is_err()
                },
                "{source} {event} {:?}: {result:?}",
                String::from_utf8_lossy(body)
            );
        }
    }
}

/// Values no field rodeo reads accepts, or accepts only as "absent".
fn wrong_values() -> Vec<Value> {
    vec![
        Value::Null,
        json!(true),
        json!(-1),
        json!(u64::MAX),
        json!(1.5),
        json!(""),
        json!("x"),
        json!("é".repeat(70_000)),
        json!([]),
        json!([{}]),
        json!({}),
    ]
}

/// JSON pointers and the matching field paths (`/commits/0/id`, `commits[0].id`) of
/// every value in the document except the root.
fn paths(value: &Value, pointer: String, field: String, out: &mut Vec<(String, String)>) {
    let children: Vec<(String, String, &Value)> = match value {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                let f = if field.is_empty() {
                    k.clone()
                } else {
                    format!("{field}.{k}")
                };
                (
                    format!("{pointer}/{}", k.replace('~', "~0").replace('/', "~1")),
                    f,
                    v,
                )
            })
            .collect(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("{pointer}/{i}"), format!("{field}[{i}]"), v))
            .collect(),
        _ => Vec::new(),
    };
    for (p, f, v) in children {
        out.push((p.clone(), f.clone()));
        paths(v, p, f, out);
    }
}

fn handler(source: &str, event: &str) -> crate::webhooks::Handler {
    let found = if source == "github" {
        github::handler(event)
    } else {
        gitlab::handler(event)
    };
    found.unwrap()
}

fn within(field: &str, mutated: &str) -> bool {
    field == mutated
        || field.starts_with(&format!("{mutated}."))
        || field.starts_with(&format!("{mutated}["))
}

#[test]
fn wrong_types_anywhere_never_panic_and_errors_point_at_them() {
    let mapping = mapping();
    let values = wrong_values();
    for (source, event, body) in CASES {
        let original: Value = serde_json::from_str(body).unwrap();
        let read = handler(source, event);
        let mut all = Vec::new();
        paths(&original, String::new(), String::new(), &mut all);
        for (pointer, field) in all {
            for wrong in &values {
                let mut doc = original.clone();
                if let Some(slot) = doc.pointer_mut(&pointer) {
                    *slot = wrong.clone();
                }
                let root = Obj::root(&doc).unwrap();
                if let Err(e) = read(&root, &mapping) {
                    assert!(
                        within(&e.field, &field),
                        "{source} {event}: set {field} to {}, error names {}: {}",
                        wrong.to_string().chars().take(40).collect::<String>(),
                        e.field,
                        e.message
                    );
                }
            }
        }
    }
}
