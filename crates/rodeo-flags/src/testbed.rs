//! A runner for the flagd-testbed Gherkin suites (open-feature/flagd-testbed), read in
//! place from `../shared/conformance/flagd-testbed`. Scenario outlines are expanded per
//! example row; each case is a list of steps that a [`Resolve`]r — the engine directly,
//! or an OFREP client against a running server — must satisfy.
//!
//! Only the step vocabulary of the evaluation-logic suites is understood; a step outside
//! it fails the case loudly rather than being skipped.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::Requested;

/// The testbed folder, or `None` (callers skip loudly) when the conformance data is absent.
pub fn testbed_dir() -> Option<PathBuf> {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/flagd-testbed");
    dir.is_dir().then_some(dir)
}

/// One expanded scenario.
#[derive(Debug, Clone)]
pub struct Case {
    pub file: String,
    pub name: String,
    pub tags: Vec<String>,
    pub steps: Vec<String>,
    /// Data tables attached to steps, by step index.
    pub tables: Vec<Option<Vec<Vec<String>>>>,
}

impl Case {
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }
}

/// What an evaluation produced, as an OpenFeature provider reports it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outcome {
    /// `None`: the caller's default applies.
    pub value: Option<Value>,
    pub variant: Option<String>,
    pub reason: String,
    pub error_code: Option<String>,
    pub metadata: Map<String, Value>,
}

/// Evaluates flags for the runner.
pub trait Resolve {
    /// `selector` is the flag source a scenario asked for with the `selector` option
    /// (`None`: every flag file), as flagd's providers name it.
    fn resolve(
        &mut self,
        selector: Option<&str>,
        key: &str,
        requested: Requested,
        context: &Map<String, Value>,
    ) -> Outcome;
}

/// Loads `feature` files and expands them into cases.
pub fn load(paths: &[PathBuf]) -> Result<Vec<Case>, String> {
    let mut cases = Vec::new();
    for path in paths {
        // The suites escape quotes in table cells (`\"`) and write `\u` escapes, which
        // Gherkin keeps literally but the parser rejects: a quote means a plain quote,
        // and `\u` stays as written (only fractional-v3 examples, never run, use it).
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let text = text.replace("\\\"", "\"").replace("\\u", "\\\\u");
        let feature = gherkin::Feature::parse(text, gherkin::GherkinEnv::default())
            .map_err(|e| format!("{}: {e:?}", path.display()))?;
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let background: Vec<&gherkin::Step> =
            feature.background.iter().flat_map(|b| &b.steps).collect();
        for scenario in &feature.scenarios {
            let base_tags: Vec<String> = feature
                .tags
                .iter()
                .chain(&scenario.tags)
                .map(|t| t.trim_start_matches('@').to_owned())
                .collect();
            let steps: Vec<&gherkin::Step> =
                background.iter().copied().chain(&scenario.steps).collect();
            if scenario.examples.is_empty() {
                cases.push(expand(&file, &scenario.name, base_tags, &steps, &[], &[]));
                continue;
            }
            for examples in &scenario.examples {
                let mut tags = base_tags.clone();
                tags.extend(
                    examples
                        .tags
                        .iter()
                        .map(|t| t.trim_start_matches('@').to_owned()),
                );
                let Some(table) = &examples.table else {
                    continue;
                };
                let Some((header, rows)) = table.rows.split_first() else {
                    continue;
                };
                for row in rows {
                    let name = format!("{} [{}]", scenario.name, row.join(" | "));
                    cases.push(expand(&file, &name, tags.clone(), &steps, header, row));
                }
            }
        }
    }
    Ok(cases)
}

fn expand(
    file: &str,
    name: &str,
    tags: Vec<String>,
    steps: &[&gherkin::Step],
    header: &[String],
    row: &[String],
) -> Case {
    let fill = |text: &str| {
        let mut out = text.to_owned();
        for (h, v) in header.iter().zip(row) {
            out = out.replace(&format!("<{h}>"), v);
        }
        out
    };
    Case {
        file: file.to_owned(),
        name: name.to_owned(),
        tags,
        steps: steps.iter().map(|s| fill(&s.value)).collect(),
        tables: steps
            .iter()
            .map(|s| s.table.as_ref().map(|t| t.rows.clone()))
            .collect(),
    }
}

/// The quoted arguments of a step, in order. Values may themselves contain quotes (JSON
/// objects), so the last argument runs to the step's final quote.
fn quoted(step: &str) -> Vec<String> {
    let mut args: Vec<String> = step
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    let last_open = ["value \"", "be \""]
        .iter()
        .filter_map(|m| step.find(m).map(|i| i + m.len()))
        .max();
    if let (Some(start), true) = (last_open, step.ends_with('"')) {
        let last = step[start..step.len() - 1].to_owned();
        let before = step[..start].matches('"').count() / 2;
        args.truncate(before);
        args.push(last);
    }
    args
}

fn requested(kind: &str) -> Result<Requested, String> {
    Ok(match kind {
        "Boolean" => Requested::Boolean,
        "String" => Requested::String,
        "Integer" => Requested::Integer,
        "Float" => Requested::Float,
        "Object" => Requested::Object,
        other => return Err(format!("unknown flag type {other:?}")),
    })
}

/// A table cell or step argument as a JSON value of the given Gherkin type.
fn typed(kind: &str, text: &str) -> Result<Value, String> {
    let text = text.replace("\\\"", "\"");
    let bad = |_| format!("{text:?} is not a {kind}");
    Ok(match kind {
        "Boolean" => Value::Bool(text.parse::<bool>().map_err(|e| bad(e.to_string()))?),
        "String" => Value::String(text),
        "Integer" => Value::from(text.parse::<i64>().map_err(|e| bad(e.to_string()))?),
        "Float" => {
            serde_json::Number::from_f64(text.parse::<f64>().map_err(|e| bad(e.to_string()))?)
                .map(Value::Number)
                .ok_or_else(|| bad(String::new()))?
        }
        "Object" => serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?,
        other => return Err(format!("unknown type {other:?}")),
    })
}

fn same(kind: Requested, got: &Value, want: &Value) -> bool {
    match kind {
        Requested::Float | Requested::Integer => got.as_f64() == want.as_f64(),
        _ => got == want,
    }
}

/// Runs one case; `Err` says which step failed and why.
pub fn run(case: &Case, resolver: &mut dyn Resolve) -> Result<(), String> {
    let mut selector: Option<String> = None;
    let mut flag: Option<(Requested, &'static str, String, Value)> = None;
    let mut context = Map::new();
    let mut outcome: Option<Outcome> = None;
    for (i, step) in case.steps.iter().enumerate() {
        let args = quoted(step);
        let fail = |why: String| Err(format!("step {:?}: {why}", step));
        if step == "an evaluator" || step.ends_with("flagd provider") {
            continue;
        }
        if step.starts_with("an option ") {
            if args.first().map(String::as_str) == Some("selector") {
                selector = args.get(2).cloned();
            }
            continue;
        }
        if let Some(rest) = step
            .strip_prefix("a ")
            .filter(|_| step.contains("-flag with key"))
        {
            let kind_name = rest.split('-').next().unwrap_or_default();
            let kind = requested(kind_name)?;
            let kind_static: &'static str = match kind {
                Requested::Boolean => "Boolean",
                Requested::String => "String",
                Requested::Integer => "Integer",
                Requested::Float => "Float",
                _ => "Object",
            };
            let [key, default] = args.as_slice() else {
                return fail("expected a key and a default".into());
            };
            flag = Some((kind, kind_static, key.clone(), typed(kind_static, default)?));
            continue;
        }
        if step.starts_with("a context containing a key ") {
            let [key, kind, value] = args.as_slice() else {
                return fail("expected key, type, value".into());
            };
            context.insert(key.clone(), typed(kind, value)?);
            continue;
        }
        if step.starts_with("a context containing a targeting key") {
            context.insert(
                "targetingKey".into(),
                Value::String(args.first().cloned().unwrap_or_default()),
            );
            continue;
        }
        if step.starts_with("a context containing a nested property") {
            let [outer, inner, value] = args.as_slice() else {
                return fail("expected outer, inner, value".into());
            };
            let mut nested = Map::new();
            nested.insert(inner.clone(), Value::String(value.clone()));
            context.insert(outer.clone(), Value::Object(nested));
            continue;
        }
        if step == "the flag was evaluated with details" {
            let Some((kind, _, key, _)) = &flag else {
                return fail("no flag given".into());
            };
            outcome = Some(resolver.resolve(selector.as_deref(), key, *kind, &context));
            continue;
        }
        let (Some((kind, kind_name, key, default)), Some(got)) = (&flag, &outcome) else {
            return fail("nothing was evaluated".into());
        };
        if step.starts_with("the resolved details value should be") {
            let want = typed(kind_name, args.first().map_or("", String::as_str))?;
            let value = got.value.as_ref().unwrap_or(default);
            if !same(*kind, value, &want) {
                return fail(format!("{key}: got {value}, want {want} ({got:?})"));
            }
        } else if step.starts_with("the reason should be") {
            if Some(got.reason.as_str()) != args.first().map(String::as_str) {
                return fail(format!("{key}: reason {:?} ({got:?})", got.reason));
            }
        } else if step.starts_with("the error-code should be") {
            let want = args.first().filter(|a| !a.is_empty());
            if got.error_code.as_ref() != want {
                return fail(format!("{key}: error code {:?} ({got:?})", got.error_code));
            }
        } else if step == "the resolved metadata is empty" {
            if !got.metadata.is_empty() {
                return fail(format!("{key}: metadata {:?}", got.metadata));
            }
        } else if step == "the resolved metadata should contain" {
            let Some(Some(rows)) = case.tables.get(i) else {
                return fail("no table".into());
            };
            for row in rows.iter().skip(1) {
                let [name, kind, value] = row.as_slice() else {
                    return fail(format!("bad row {row:?}"));
                };
                let want = typed(kind, value)?;
                match got.metadata.get(name) {
                    Some(v)
                        if v == &want
                            || v.as_f64().zip(want.as_f64()).is_some_and(|(a, b)| a == b) => {}
                    other => {
                        return fail(format!("{key}: metadata {name} is {other:?}, want {want}"))
                    }
                }
            }
        } else {
            return fail("unknown step".into());
        }
    }
    Ok(())
}
