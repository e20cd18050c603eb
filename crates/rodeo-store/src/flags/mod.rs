//! Flag changes, decided once for both backends: a [`FlagChange`] applied to an
//! environment's current flagd document gives the new document and the per-flag diff
//! the ledger records. The result is validated as a whole — flagd's schema, every rule
//! compiling, rodeo's metadata conventions — and refused whole, so a rejected apply
//! changes nothing.

use std::collections::BTreeSet;

use rodeo_domain::{FieldError, FieldErrors, FlagAction, FlagChange, FlagDiff};
use rodeo_flags::FlagSet;
use serde_json::{json, Map, Value};

use crate::StoreError;

mod stale;

pub use stale::{single_variant, staleness, FlagFacts, Staleness};

/// At most this many flags per environment.
pub const MAX_FLAGS: usize = 5_000;

/// The `type` values rodeo understands in a flag's `metadata`, with the expected
/// lifetime in days a flag of that type gets when `lifetimeDays` is absent (`None`:
/// permanent). The defaults are Unleash's, which its users know.
pub const FLAG_TYPES: [(&str, Option<u32>); 5] = [
    ("release", Some(40)),
    ("experiment", Some(40)),
    ("ops", Some(7)),
    ("kill-switch", None),
    ("permission", None),
];

/// An environment's flags as stored: the document's three parts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stored {
    pub flags: Map<String, Value>,
    pub evaluators: Option<Map<String, Value>>,
    pub metadata: Option<Map<String, Value>>,
}

impl Stored {
    pub fn document(&self) -> Value {
        let mut doc = Map::new();
        doc.insert("flags".into(), Value::Object(self.flags.clone()));
        if let Some(e) = &self.evaluators {
            doc.insert("$evaluators".into(), Value::Object(e.clone()));
        }
        if let Some(m) = &self.metadata {
            doc.insert("metadata".into(), Value::Object(m.clone()));
        }
        Value::Object(doc)
    }

    /// The parts of a flagd document (missing parts are empty).
    pub fn from_document(doc: &Value) -> Self {
        let part = |name: &str| doc.get(name).and_then(Value::as_object).cloned();
        Self {
            flags: part("flags").unwrap_or_default(),
            evaluators: part("$evaluators"),
            metadata: part("metadata"),
        }
    }
}

/// The new state and what changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Changed {
    pub stored: Stored,
    pub diffs: Vec<FlagDiff>,
    pub set_changed: bool,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> StoreError {
    StoreError::Invalid(FieldErrors(vec![FieldError::new(field, message)]))
}

/// Applies `change` to `current`; `Err` when the change or its result is invalid.
pub fn apply(current: &Stored, change: &FlagChange) -> Result<Changed, StoreError> {
    let mut next = current.clone();
    match change {
        FlagChange::Apply { document } => {
            if !document.is_object() {
                return Err(invalid("/", "a flag definition is a JSON object"));
            }
            validate(document)?;
            next = Stored::from_document(document);
        }
        FlagChange::Put { key, definition } => {
            next.flags.insert(key.clone(), definition.clone());
        }
        FlagChange::Delete { key } => {
            if next.flags.remove(key).is_none() {
                return Err(StoreError::not_found("flag", key));
            }
        }
        FlagChange::Toggle { key, enabled } => {
            let flag = flag_mut(&mut next, key)?;
            flag.insert(
                "state".into(),
                json!(if *enabled { "ENABLED" } else { "DISABLED" }),
            );
        }
        FlagChange::Rollout {
            key,
            percent,
            variant,
            otherwise,
        } => {
            if *percent > 100 {
                return Err(invalid("percent", "a percentage is 0 to 100"));
            }
            let flag = flag_mut(&mut next, key)?;
            rollout(flag, *percent, variant.as_deref(), otherwise.as_deref())?;
        }
        FlagChange::Kill { key, variant } => {
            let flag = flag_mut(&mut next, key)?;
            let off = pick_variant(flag, variant.as_deref(), false, "variant")?;
            flag.insert("state".into(), json!("ENABLED"));
            flag.insert("defaultVariant".into(), json!(off));
            flag.remove("targeting");
        }
    }
    if !matches!(change, FlagChange::Apply { .. }) {
        validate(&next.document())?;
    }
    let keys: BTreeSet<&String> = current.flags.keys().chain(next.flags.keys()).collect();
    let diffs = keys
        .into_iter()
        .filter_map(|key| {
            let (before, after) = (current.flags.get(key), next.flags.get(key));
            let action = match (before, after) {
                (None, Some(_)) => FlagAction::Created,
                (Some(_), None) => FlagAction::Deleted,
                (Some(b), Some(a)) if b != a => FlagAction::Updated,
                _ => return None,
            };
            Some(FlagDiff {
                key: key.clone(),
                action,
                before: before.cloned(),
                after: after.cloned(),
            })
        })
        .collect();
    let set_changed = current.evaluators != next.evaluators || current.metadata != next.metadata;
    Ok(Changed {
        stored: next,
        diffs,
        set_changed,
    })
}

fn flag_mut<'s>(
    stored: &'s mut Stored,
    key: &str,
) -> Result<&'s mut Map<String, Value>, StoreError> {
    match stored.flags.get_mut(key) {
        Some(Value::Object(flag)) => Ok(flag),
        Some(_) => Err(invalid(format!("/flags/{key}"), "a flag is an object")),
        None => Err(StoreError::not_found("flag", key)),
    }
}

/// The named variant, or for a boolean flag the variant whose value is `value`.
fn pick_variant(
    flag: &Map<String, Value>,
    named: Option<&str>,
    value: bool,
    field: &str,
) -> Result<String, StoreError> {
    let variants = flag
        .get("variants")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    match named {
        Some(name) if variants.contains_key(name) => Ok(name.to_owned()),
        Some(name) => Err(invalid(
            field,
            format!("{name:?} is not one of the flag's variants"),
        )),
        None => variants
            .iter()
            .find(|(_, v)| v.as_bool() == Some(value))
            .map(|(k, _)| k.clone())
            .ok_or_else(|| {
                invalid(
                    field,
                    format!("name the variant: the flag has no variant whose value is {value}"),
                )
            }),
    }
}

/// Writes a `fractional` rule serving `on` to `percent` % of targeting keys. An existing
/// fractional rule — the whole targeting, or the final `else` of an `if` — is replaced
/// (keeping its bucketing expression); an `if` without an `else` gets the rollout as its
/// `else`, so rules that pin some users keep doing so; any other rule is refused rather
/// than lost.
fn rollout(
    flag: &mut Map<String, Value>,
    percent: u8,
    on: Option<&str>,
    off: Option<&str>,
) -> Result<(), StoreError> {
    let on = pick_variant(flag, on, true, "variant")?;
    let off = pick_variant(flag, off, false, "otherwise")?;
    let buckets = [json!([on, percent]), json!([off, 100 - percent])];
    let fractional = |old: Option<&Value>| {
        let mut args: Vec<Value> = match old.and_then(Value::as_array).and_then(|a| a.first()) {
            Some(key) if !key.is_array() => vec![key.clone()],
            _ => Vec::new(),
        };
        args.extend(buckets.iter().cloned());
        json!({ "fractional": args })
    };
    let targeting = flag.get_mut("targeting");
    match targeting {
        None => {
            flag.insert("targeting".into(), fractional(None));
        }
        Some(Value::Object(rule)) if rule.is_empty() => *rule = as_object(fractional(None)),
        Some(Value::Object(rule)) if rule.len() == 1 && rule.contains_key("fractional") => {
            let new = fractional(rule.get("fractional"));
            *rule = as_object(new);
        }
        Some(Value::Object(rule)) => {
            let args = rule
                .get_mut("if")
                .and_then(Value::as_array_mut)
                .filter(|a| a.len() >= 2);
            let Some(args) = args else {
                return Err(StoreError::Conflict(
                    "the flag has a custom targeting rule; edit its definition to change the rollout".into(),
                ));
            };
            if args.len() % 2 == 0 {
                // An `if` without an `else`: the rollout becomes the `else`.
                args.push(fractional(None));
            } else if let Some(last) = args.last_mut().filter(|l| l.get("fractional").is_some()) {
                *last = fractional(last.get("fractional"));
            } else {
                return Err(StoreError::Conflict(
                    "the flag's rule ends in a fixed variant; edit its definition to change the rollout".into(),
                ));
            }
        }
        Some(_) => return Err(invalid("targeting", "the flag's targeting is not a rule")),
    }
    Ok(())
}

fn as_object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Everything an apply must pass: the flagd schema, rules that compile and return real
/// variants, and rodeo's metadata conventions (`type`, `lifetimeDays`, `owner`).
pub fn validate(document: &Value) -> Result<(), StoreError> {
    let mut errors = FieldErrors::new();
    match FlagSet::compile(document) {
        Err(problems) => {
            for p in problems {
                errors.push(FieldError::new(pointer(&p.pointer), p.message));
            }
        }
        Ok(set) => {
            for p in set.problems() {
                errors.push(FieldError::new(pointer(&p.pointer), p.message.clone()));
            }
            if set.len() > MAX_FLAGS {
                errors.push(FieldError::new(
                    "/flags",
                    format!("at most {MAX_FLAGS} flags per environment"),
                ));
            }
            for flag in set.flags() {
                conventions(flag.key(), flag.source(), &mut errors);
            }
        }
    }
    if errors.0.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Invalid(errors))
    }
}

fn pointer(p: &str) -> String {
    if p.is_empty() {
        "/".into()
    } else {
        p.to_owned()
    }
}

fn conventions(key: &str, flag: &Value, errors: &mut FieldErrors) {
    if let Err(e) = rodeo_domain::parse_flag_key(&format!("/flags/{key}"), key) {
        errors.push(e);
    }
    let Some(meta) = flag.get("metadata").and_then(Value::as_object) else {
        return;
    };
    let at = |field: &str| format!("/flags/{key}/metadata/{field}");
    if let Some(kind) = meta.get("type") {
        if !kind
            .as_str()
            .is_some_and(|k| FLAG_TYPES.iter().any(|(t, _)| *t == k))
        {
            let names: Vec<&str> = FLAG_TYPES.iter().map(|(t, _)| *t).collect();
            errors.push(FieldError::new(
                at("type"),
                format!("one of {}", names.join(", ")),
            ));
        }
    }
    if let Some(days) = meta.get("lifetimeDays") {
        if !days.as_u64().is_some_and(|d| (1..=3650).contains(&d)) {
            errors.push(FieldError::new(
                at("lifetimeDays"),
                "a whole number of days, 1 to 3650",
            ));
        }
    }
    if meta.get("owner").is_some_and(|o| !o.is_string()) {
        errors.push(FieldError::new(at("owner"), "a team name"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(doc: Value) -> Stored {
        Stored::from_document(&doc)
    }

    fn boolean_flag() -> Value {
        json!({"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"})
    }

    #[test]
    fn applying_the_same_document_twice_changes_nothing() {
        let doc = json!({"flags": {"a": boolean_flag()}});
        let first = apply(
            &Stored::default(),
            &FlagChange::Apply {
                document: doc.clone(),
            },
        )
        .unwrap();
        assert_eq!(first.diffs.len(), 1);
        assert_eq!(first.diffs[0].action, FlagAction::Created);
        let again = apply(&first.stored, &FlagChange::Apply { document: doc }).unwrap();
        assert!(again.diffs.is_empty() && !again.set_changed);
    }

    #[test]
    fn apply_deletes_flags_missing_from_the_document() {
        let current = stored(json!({"flags": {"a": boolean_flag(), "b": boolean_flag()}}));
        let out = apply(
            &current,
            &FlagChange::Apply {
                document: json!({"flags": {"a": boolean_flag()}}),
            },
        )
        .unwrap();
        assert_eq!(out.diffs.len(), 1);
        assert_eq!(
            (out.diffs[0].key.as_str(), out.diffs[0].action),
            ("b", FlagAction::Deleted)
        );
    }

    #[test]
    fn an_invalid_document_is_refused_with_the_path_of_each_problem() {
        let doc = json!({"flags": {
            "a": {"state": "ON", "variants": {"on": true}, "defaultVariant": "x"},
            "b": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on",
                  "targeting": {"if": [{"$ref": "nope"}, "on", "off"]}}}});
        let Err(StoreError::Invalid(errors)) =
            apply(&Stored::default(), &FlagChange::Apply { document: doc })
        else {
            panic!("accepted")
        };
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"/flags/a/state"), "{fields:?}");
        assert!(fields.contains(&"/flags/a/defaultVariant"), "{fields:?}");
        assert!(
            fields.contains(&"/flags/b/targeting/if/0/$ref"),
            "{fields:?}"
        );
    }

    #[test]
    fn rollout_writes_a_fractional_rule_and_keeps_the_bucketing_key() {
        let current = stored(json!({"flags": {"a": boolean_flag()}}));
        let out = apply(
            &current,
            &FlagChange::Rollout {
                key: "a".into(),
                percent: 25,
                variant: None,
                otherwise: None,
            },
        )
        .unwrap();
        assert_eq!(
            out.stored.flags["a"]["targeting"],
            json!({"fractional": [["on", 25], ["off", 75]]})
        );
        let mut custom = boolean_flag();
        custom["targeting"] = json!({"if": [{"==": [{"var": "plan"}, "beta"]}, "on",
            {"fractional": [{"var": "accountId"}, ["on", 10], ["off", 90]]}]});
        let current = stored(json!({"flags": {"a": custom}}));
        let out = apply(
            &current,
            &FlagChange::Rollout {
                key: "a".into(),
                percent: 50,
                variant: None,
                otherwise: None,
            },
        )
        .unwrap();
        assert_eq!(
            out.stored.flags["a"]["targeting"]["if"][2],
            json!({"fractional": [{"var": "accountId"}, ["on", 50], ["off", 50]]})
        );
    }

    #[test]
    fn rollout_refuses_to_overwrite_a_custom_rule() {
        let mut custom = boolean_flag();
        custom["targeting"] = json!({"if": [{"==": [{"var": "plan"}, "beta"]}, "on", "off"]});
        let current = stored(json!({"flags": {"a": custom}}));
        let out = apply(
            &current,
            &FlagChange::Rollout {
                key: "a".into(),
                percent: 50,
                variant: None,
                otherwise: None,
            },
        );
        assert!(matches!(out, Err(StoreError::Conflict(_))), "{out:?}");
    }

    #[test]
    fn kill_serves_the_off_variant_to_everyone() {
        let mut flag = boolean_flag();
        flag["state"] = json!("DISABLED");
        flag["defaultVariant"] = json!("on");
        flag["targeting"] = json!({"fractional": [["on", 50], ["off", 50]]});
        let current = stored(json!({"flags": {"a": flag}}));
        let out = apply(
            &current,
            &FlagChange::Kill {
                key: "a".into(),
                variant: None,
            },
        )
        .unwrap();
        assert_eq!(
            out.stored.flags["a"],
            json!({"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"})
        );
        assert_eq!(
            out.diffs[0].before.as_ref().unwrap()["targeting"]["fractional"][0],
            json!(["on", 50])
        );
    }

    #[test]
    fn metadata_conventions_are_checked() {
        let mut flag = boolean_flag();
        flag["metadata"] = json!({"type": "forever", "lifetimeDays": 0, "owner": "payments"});
        let Err(StoreError::Invalid(errors)) = apply(
            &Stored::default(),
            &FlagChange::Put {
                key: "a".into(),
                definition: flag,
            },
        ) else {
            panic!("accepted")
        };
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["/flags/a/metadata/type", "/flags/a/metadata/lifetimeDays"]
        );
    }

    #[test]
    fn changes_to_unknown_flags_are_not_found() {
        for change in [
            FlagChange::Delete { key: "x".into() },
            FlagChange::Toggle {
                key: "x".into(),
                enabled: true,
            },
            FlagChange::Kill {
                key: "x".into(),
                variant: None,
            },
        ] {
            assert!(matches!(
                apply(&Stored::default(), &change),
                Err(StoreError::NotFound { .. })
            ));
        }
    }
}
