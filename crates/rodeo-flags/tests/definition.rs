#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Flag definitions that must be refused, and what a loaded set answers when it cannot
//! give a value. Structural problems make `FlagSet::compile` fail with a `Problem` whose
//! JSON Pointer names the offending field; rule problems leave the set loadable (the
//! flag answers `PARSE_ERROR` or `GENERAL`, as flagd does) but are listed by
//! `problems()` so that an apply can refuse them. The properties at the end feed
//! arbitrary contexts to a rule of every operator.

use std::collections::BTreeSet;

use proptest::prelude::*;
use rodeo_flags::{ErrorCode, FlagSet, Problem, Reason, Requested, MAX_DEPTH, MAX_NODES};
use serde_json::{json, Map, Value};

const NOW: i64 = 1_700_000_000;

fn pointers(problems: &[Problem]) -> BTreeSet<&str> {
    problems.iter().map(|p| p.pointer.as_str()).collect()
}

/// A valid boolean flag with `patch` applied (a `null` in the patch removes the field).
fn flag(patch: &Value) -> Value {
    let mut f = json!({
        "state": "ENABLED",
        "variants": {"on": true, "off": false},
        "defaultVariant": "off",
    });
    for (k, v) in patch.as_object().unwrap() {
        if v.is_null() {
            f.as_object_mut().unwrap().remove(k);
        } else {
            f[k] = v.clone();
        }
    }
    f
}

#[test]
fn structural_problems_name_the_field() {
    let cases: Vec<(&str, Value, &[&str])> = vec![
        ("an array", json!([]), &[""]),
        ("a string", json!("flags"), &[""]),
        ("null", json!(null), &[""]),
        ("no flags", json!({}), &["/flags"]),
        ("flags not an object", json!({"flags": []}), &["/flags"]),
        (
            "unknown top-level field",
            json!({"flags": {}, "flag": {}}),
            &["/flag"],
        ),
        (
            "unknown top-level field, escaped",
            json!({"flags": {}, "a/b~c": 1}),
            &["/a~1b~0c"],
        ),
        (
            "$evaluators not an object",
            json!({"flags": {}, "$evaluators": []}),
            &["/$evaluators"],
        ),
        (
            "set metadata not an object",
            json!({"flags": {}, "metadata": "x"}),
            &["/metadata"],
        ),
        (
            "set metadata with an object value",
            json!({"flags": {}, "metadata": {"team": {"name": "x"}}}),
            &["/metadata/team"],
        ),
        (
            "flag not an object",
            json!({"flags": {"f": true}}),
            &["/flags/f"],
        ),
        (
            "flag not an object, escaped key",
            json!({"flags": {"a/b": true}}),
            &["/flags/a~1b"],
        ),
        (
            "empty flag key",
            json!({"flags": {"": flag(&json!({}))}}),
            &["/flags/"],
        ),
        (
            "unknown flag field",
            json!({"flags": {"f": flag(&json!({"owner": "x"}))}}),
            &["/flags/f/owner"],
        ),
        (
            "no state",
            json!({"flags": {"f": flag(&json!({"state": null}))}}),
            &["/flags/f/state"],
        ),
        (
            "lower-case state",
            json!({"flags": {"f": flag(&json!({"state": "enabled"}))}}),
            &["/flags/f/state"],
        ),
        (
            "boolean state",
            json!({"flags": {"f": flag(&json!({"state": true}))}}),
            &["/flags/f/state"],
        ),
        (
            "no variants",
            json!({"flags": {"f": flag(&json!({"variants": null, "defaultVariant": null}))}}),
            &["/flags/f/variants"],
        ),
        (
            "empty variants",
            json!({"flags": {"f": flag(&json!({"variants": {}, "defaultVariant": null}))}}),
            &["/flags/f/variants"],
        ),
        (
            "variants not an object",
            json!({"flags": {"f": flag(&json!({"variants": [true], "defaultVariant": null}))}}),
            &["/flags/f/variants"],
        ),
        (
            "variants of mixed types",
            json!({"flags": {"f": flag(&json!({"variants": {"a": true, "b": "yes"}, "defaultVariant": "a"}))}}),
            &["/flags/f/variants/b"],
        ),
        (
            "number and object variants",
            json!({"flags": {"f": flag(&json!({"variants": {"a": 1, "b": {"x": 1}}, "defaultVariant": "a"}))}}),
            &["/flags/f/variants/b"],
        ),
        (
            "a null variant",
            json!({"flags": {"f": flag(&json!({"variants": {"a": true, "b": null}, "defaultVariant": "a"}))}}),
            &["/flags/f/variants/b"],
        ),
        (
            "an array variant",
            json!({"flags": {"f": flag(&json!({"variants": {"a": [1, 2]}, "defaultVariant": "a"}))}}),
            &["/flags/f/variants/a"],
        ),
        (
            "an escaped variant name",
            json!({"flags": {"f": flag(&json!({"variants": {"a/b": null}, "defaultVariant": null}))}}),
            &["/flags/f/variants/a~1b"],
        ),
        (
            "defaultVariant not among the variants",
            json!({"flags": {"f": flag(&json!({"defaultVariant": "nope"}))}}),
            &["/flags/f/defaultVariant"],
        ),
        (
            "defaultVariant not a string",
            json!({"flags": {"f": flag(&json!({"defaultVariant": true}))}}),
            &["/flags/f/defaultVariant"],
        ),
        (
            "flag metadata with an object value",
            json!({"flags": {"f": flag(&json!({"metadata": {"owner": {"team": "x"}}}))}}),
            &["/flags/f/metadata/owner"],
        ),
        (
            "flag metadata with an array value",
            json!({"flags": {"f": flag(&json!({"metadata": {"tags": ["a"]}}))}}),
            &["/flags/f/metadata/tags"],
        ),
        (
            "flag metadata not an object",
            json!({"flags": {"f": flag(&json!({"metadata": [1]}))}}),
            &["/flags/f/metadata"],
        ),
        (
            "targeting a string",
            json!({"flags": {"f": flag(&json!({"targeting": "on"}))}}),
            &["/flags/f/targeting"],
        ),
        (
            "targeting an array",
            json!({"flags": {"f": flag(&json!({"targeting": [{"if": [true, "on"]}]}))}}),
            &["/flags/f/targeting"],
        ),
        (
            "targeting a boolean",
            json!({"flags": {"f": flag(&json!({"targeting": true}))}}),
            &["/flags/f/targeting"],
        ),
        (
            "every problem is reported, not the first",
            json!({
                "flags": {"a": flag(&json!({"state": null})), "b": 5, "c": flag(&json!({}))},
                "x": 1,
            }),
            &["/x", "/flags/a/state", "/flags/b"],
        ),
    ];
    let mut failures = Vec::new();
    for (label, doc, want) in &cases {
        match FlagSet::compile(doc) {
            Ok(_) => failures.push(format!("{label}: {doc} was accepted")),
            Err(problems) => {
                let got = pointers(&problems);
                let want: BTreeSet<&str> = want.iter().copied().collect();
                if got != want || problems.iter().any(|p| p.message.is_empty()) {
                    failures.push(format!("{label}: wanted {want:?}, got {problems:?}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn well_formed_definitions_load() {
    let cases = [
        json!({"flags": {}}),
        json!({"$schema": "https://flagd.dev/schema/v0/flags.json", "flags": {}}),
        json!({"flags": {"f": flag(&json!({}))}, "metadata": {"team": "web", "tier": 1, "beta": true}}),
        json!({"flags": {"f": flag(&json!({"defaultVariant": null}))}}),
        json!({"flags": {"f": flag(&json!({"targeting": {}}))}}),
        json!({"flags": {"f": flag(&json!({"variants": {"a": {"x": 1}, "b": {}}, "defaultVariant": "a"}))}}),
        json!({"flags": {"f": flag(&json!({"variants": {"a": 1, "b": 2.5}, "defaultVariant": "a"}))}}),
    ];
    for doc in &cases {
        let set = FlagSet::compile(doc).unwrap_or_else(|e| panic!("{doc}: {e:?}"));
        assert!(set.problems().is_empty(), "{doc}: {:?}", set.problems());
    }
}

/// A set with a healthy flag `ok` and a flag `f` (variants `on`/`off`) targeted by `rule`.
fn with_rule(rule: &Value, evaluators: &Value) -> FlagSet {
    let doc = json!({
        "flags": {"f": flag(&json!({"targeting": rule})), "ok": flag(&json!({}))},
        "$evaluators": evaluators,
    });
    FlagSet::compile(&doc).unwrap_or_else(|e| panic!("{rule} should load: {e:?}"))
}

#[test]
fn rule_problems_leave_the_set_loadable() {
    // (label, rule, evaluators, pointer, words in the message, error when evaluated)
    let cases = [
        (
            "unknown operator",
            json!({"if": [{"frobnicate": [1]}, "on", "off"]}),
            json!({}),
            "/flags/f/targeting/if/0/frobnicate",
            "unknown operator",
            Some(ErrorCode::ParseError),
        ),
        (
            "unknown operator at the top",
            json!({"frobnicate": 1}),
            json!({}),
            "/flags/f/targeting/frobnicate",
            "unknown operator",
            Some(ErrorCode::ParseError),
        ),
        (
            "a var path that is not a path",
            json!({"var": true}),
            json!({}),
            "/flags/f/targeting/var",
            "var",
            Some(ErrorCode::ParseError),
        ),
        (
            "$ref to a missing evaluator",
            json!({"if": [{"$ref": "nope"}, "on", "off"]}),
            json!({"yes": true}),
            "/flags/f/targeting/if/0/$ref",
            "unknown evaluator",
            Some(ErrorCode::ParseError),
        ),
        (
            "$ref that is not a name",
            json!({"$ref": 1}),
            json!({}),
            "/flags/f/targeting/$ref",
            "$ref",
            Some(ErrorCode::ParseError),
        ),
        (
            "cyclic $ref a → b → a",
            json!({"$ref": "a"}),
            json!({"a": {"$ref": "b"}, "b": {"$ref": "a"}}),
            "/$evaluators/b/$ref",
            "cyclic",
            Some(ErrorCode::ParseError),
        ),
        (
            "an evaluator that refers to itself",
            json!({"if": [{"$ref": "a"}, "on", "off"]}),
            json!({"a": {"or": [{"$ref": "a"}, true]}}),
            "/$evaluators/a/or/0/$ref",
            "cyclic",
            Some(ErrorCode::ParseError),
        ),
        (
            "fractional weights summing to 0",
            json!({"fractional": [["on", 0], ["off", 0]]}),
            json!({}),
            "/flags/f/targeting/fractional",
            "sum to 0",
            // Compiles, and chooses nothing at run time: the default variant applies.
            None,
        ),
        (
            "fractional weights summing to 0, with a bucket key",
            json!({"fractional": [{"var": "email"}, ["on", 0], ["off", 0]]}),
            json!({}),
            "/flags/f/targeting/fractional",
            "sum to 0",
            None,
        ),
        (
            "negative fractional weights count as 0",
            json!({"fractional": [["on", -5], ["off", 0]]}),
            json!({}),
            "/flags/f/targeting/fractional",
            "sum to 0",
            None,
        ),
        (
            "a returned string that is not a variant",
            json!({"if": [{"var": "beta"}, "on", "of"]}),
            json!({}),
            "/flags/f/targeting/if/2",
            "not one of the flag's variants",
            Some(ErrorCode::General),
        ),
        (
            "a returned string in an or",
            json!({"or": [{"var": "pick"}, "onn"]}),
            json!({}),
            "/flags/f/targeting/or/1",
            "not one of the flag's variants",
            Some(ErrorCode::General),
        ),
        (
            "a fractional bucket that is not a variant",
            json!({"fractional": [{"var": "email"}, ["on", 0], ["onn", 1]]}),
            json!({}),
            "/flags/f/targeting/fractional/2/0",
            "not one of the flag's variants",
            Some(ErrorCode::General),
        ),
        (
            "a returned string in a shared evaluator",
            json!({"$ref": "pick"}),
            json!({"pick": {"if": [{"var": "beta"}, "on", "nope"]}}),
            "/$evaluators/pick/if/2",
            "not one of the flag's variants",
            Some(ErrorCode::General),
        ),
    ];
    let mut failures = Vec::new();
    for (label, rule, evaluators, pointer, words, error) in &cases {
        let set = with_rule(rule, evaluators);
        // A returned name that is not a variant is a warning, not a problem: flagd loads
        // such files (its testbed has several), and only the contexts that reach the
        // branch get GENERAL. Everything else blocks an apply.
        let warning = words.contains("not one of the flag's variants");
        let (problems, others) = if warning {
            (set.warnings(), set.problems())
        } else {
            (set.problems(), set.warnings())
        };
        if !others.is_empty() {
            failures.push(format!("{label}: also reported {others:?}"));
        }
        if pointers(problems) != BTreeSet::from([*pointer])
            || !problems.iter().all(|p| p.message.contains(words))
        {
            failures.push(format!(
                "{label}: wanted {pointer} ({words}), got {problems:?}"
            ));
        }
        let ctx = Map::from_iter([
            ("email".to_owned(), json!("ada@example.com")),
            ("beta".to_owned(), json!(false)),
        ]);
        let r = set.evaluate("f", &ctx, NOW);
        let got = r.error.as_ref().map(|e| e.code);
        if got != *error || (got.is_some() && (r.value.is_some() || r.reason != Reason::Error)) {
            failures.push(format!("{label}: wanted error {error:?}, got {r:?}"));
        }
        if got.is_none() && (r.variant, r.reason) != (Some("off"), Reason::Default) {
            failures.push(format!("{label}: wanted the default variant, got {r:?}"));
        }
        let ok = set.evaluate("ok", &ctx, NOW);
        if (ok.variant, ok.reason) != (Some("off"), Reason::Static) {
            failures.push(format!("{label}: the healthy flag answered {ok:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn strings_that_are_not_returned_are_not_checked() {
    let set = with_rule(
        &json!({"if": [{"==": [{"var": "plan"}, "gold"]}, "on", {"in": ["x", "xyz"]}, "on", "off"]}),
        &json!({}),
    );
    assert!(set.problems().is_empty(), "{:?}", set.problems());
}

fn nots(levels: usize, inner: Value) -> Value {
    (0..levels).fold(inner, |rule, _| json!({"!": rule}))
}

#[test]
fn rules_nested_too_deep_are_refused() {
    let fits = with_rule(&nots(MAX_DEPTH, json!(true)), &json!({}));
    assert!(fits.problems().is_empty(), "{:?}", fits.problems());

    let deep = with_rule(&nots(MAX_DEPTH + 1, json!(true)), &json!({}));
    let want = format!("/flags/f/targeting{}", "/!".repeat(MAX_DEPTH + 1));
    assert_eq!(pointers(deep.problems()), BTreeSet::from([want.as_str()]));
    assert!(deep.problems()[0].message.contains(&MAX_DEPTH.to_string()));
    let r = deep.evaluate("f", &Map::new(), NOW);
    assert_eq!(r.error.map(|e| e.code), Some(ErrorCode::ParseError));

    // Depth counts across $ref: two halves that fit alone do not fit together.
    let half = MAX_DEPTH / 2 + 2;
    let split = with_rule(
        &nots(half, json!({"$ref": "deep"})),
        &json!({"deep": nots(half, json!(true))}),
    );
    let problems = split.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].pointer.starts_with("/$evaluators/deep/!"),
        "{problems:?}"
    );
    let r = split.evaluate("f", &Map::new(), NOW);
    assert_eq!(r.error.map(|e| e.code), Some(ErrorCode::ParseError));
}

#[test]
fn rules_with_too_many_nodes_are_refused() {
    // The operator is one node and each argument another.
    let fits = with_rule(&json!({"+": vec![1; MAX_NODES - 1]}), &json!({}));
    assert!(fits.problems().is_empty(), "{:?}", fits.problems());

    let large = with_rule(&json!({"+": vec![1; MAX_NODES]}), &json!({}));
    let want = format!("/flags/f/targeting/+/{}", MAX_NODES - 1);
    assert_eq!(pointers(large.problems()), BTreeSet::from([want.as_str()]));
    assert!(large.problems()[0].message.contains(&MAX_NODES.to_string()));
    let r = large.evaluate("f", &Map::new(), NOW);
    assert_eq!(r.error.map(|e| e.code), Some(ErrorCode::ParseError));

    // Nodes count after $refs are inlined: ten references to ten references, eight
    // levels down, would be 10^9 nodes. Compilation must stop at the limit, not expand.
    let mut evaluators = Map::new();
    evaluators.insert("e0".into(), json!({"+": vec![1; 10]}));
    for i in 1..=8 {
        let refs = vec![json!({"$ref": format!("e{}", i - 1)}); 10];
        evaluators.insert(format!("e{i}"), json!({"+": refs}));
    }
    let bomb = with_rule(&json!({"$ref": "e8"}), &Value::Object(evaluators));
    let problems = bomb.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].pointer.starts_with("/$evaluators/e0/+/"),
        "{problems:?}"
    );
    assert!(problems[0].message.contains(&MAX_NODES.to_string()));
}

#[test]
fn disabled_flags_and_missing_defaults_give_no_value() {
    let doc = json!({"flags": {
        "disabled": flag(&json!({"state": "DISABLED", "defaultVariant": "on"})),
        "disabled-broken": flag(&json!({"state": "DISABLED", "targeting": {"nope": []}})),
        "null-default": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": null},
        "absent-default": {"state": "ENABLED", "variants": {"on": true, "off": false}},
        "targeting-null": flag(&json!({"defaultVariant": null, "targeting": {"if": [{"var": "beta"}, "on"]}})),
        "static": flag(&json!({})),
    }});
    let set = FlagSet::compile(&doc).unwrap();
    let ctx = Map::new();
    let answer = |key: &'static str| {
        let r = set.evaluate(key, &ctx, NOW);
        (
            r.value.cloned(),
            r.variant,
            r.reason,
            r.error.map(|e| e.code),
        )
    };
    assert_eq!(answer("disabled"), (None, None, Reason::Disabled, None));
    assert_eq!(
        answer("disabled-broken"),
        (None, None, Reason::Disabled, None)
    );
    assert_eq!(answer("null-default"), (None, None, Reason::Default, None));
    assert_eq!(
        answer("absent-default"),
        (None, None, Reason::Default, None)
    );
    assert_eq!(
        answer("targeting-null"),
        (None, None, Reason::Default, None)
    );
    assert_eq!(
        answer("static"),
        (Some(json!(false)), Some("off"), Reason::Static, None)
    );
    let beta = Map::from_iter([("beta".to_owned(), json!(true))]);
    let r = set.evaluate("targeting-null", &beta, NOW);
    assert_eq!(
        (r.value, r.variant, r.reason),
        (Some(&json!(true)), Some("on"), Reason::TargetingMatch)
    );
    let r = set.evaluate("missing", &ctx, NOW);
    assert_eq!(
        (r.value, r.reason, r.error.map(|e| e.code)),
        (None, Reason::Error, Some(ErrorCode::FlagNotFound))
    );
}

#[test]
fn requested_types_are_checked() {
    let doc = json!({"flags": {
        "bool": flag(&json!({})),
        "string": flag(&json!({"variants": {"a": "x"}, "defaultVariant": "a"})),
        "int": flag(&json!({"variants": {"a": 3}, "defaultVariant": "a"})),
        "float": flag(&json!({"variants": {"a": 1.5}, "defaultVariant": "a"})),
        "object": flag(&json!({"variants": {"a": {"k": 1}}, "defaultVariant": "a"})),
        "disabled": flag(&json!({"state": "DISABLED", "variants": {"a": "x"}, "defaultVariant": "a"})),
    }});
    let set = FlagSet::compile(&doc).unwrap();
    let ctx = Map::new();
    let fits = [
        ("bool", Requested::Boolean, true),
        ("bool", Requested::String, false),
        ("bool", Requested::Integer, false),
        ("string", Requested::String, true),
        ("string", Requested::Integer, false),
        ("string", Requested::Float, false),
        ("string", Requested::Boolean, false),
        ("string", Requested::Object, false),
        ("string", Requested::Any, true),
        ("int", Requested::Integer, true),
        ("int", Requested::Float, true),
        ("int", Requested::String, false),
        ("float", Requested::Float, true),
        ("float", Requested::Integer, false),
        ("object", Requested::Object, true),
        ("object", Requested::String, false),
        // Nothing to check when the caller's default applies anyway.
        ("disabled", Requested::Integer, true),
    ];
    for (key, requested, ok) in fits {
        let plain = set.evaluate(key, &ctx, NOW);
        let r = set.evaluate(key, &ctx, NOW).expecting(requested);
        if ok {
            assert_eq!(r, plain, "{key} as {requested:?}");
        } else {
            assert_eq!(
                (r.value, r.variant, r.reason, r.error.map(|e| e.code)),
                (None, None, Reason::Error, Some(ErrorCode::TypeMismatch)),
                "{key} as {requested:?}"
            );
        }
    }
}

#[test]
fn metadata_is_the_sets_overlaid_with_the_flags() {
    let doc = json!({
        "flags": {"f": flag(&json!({"metadata": {"owner": "web", "tier": 2}}))},
        "metadata": {"owner": "platform", "env": "prod"},
    });
    let set = FlagSet::compile(&doc).unwrap();
    let r = set.evaluate("f", &Map::new(), NOW);
    assert_eq!(
        Value::Object(r.metadata.clone()),
        json!({"owner": "web", "tier": 2, "env": "prod"})
    );
    assert_eq!(
        Value::Object(set.metadata().clone()),
        json!({"owner": "platform", "env": "prod"})
    );
}

#[test]
fn to_document_round_trips() {
    let doc = json!({
        "flags": {
            "banner": {
                "state": "ENABLED",
                "variants": {"red": "#f00", "blue": "#00f"},
                "defaultVariant": "red",
                "targeting": {"if": [{"$ref": "staff"}, "blue", null]},
                "metadata": {"owner": "web"},
            },
            "limits": {
                "state": "DISABLED",
                "variants": {"small": {"rps": 10}, "large": {"rps": 1000}},
                "defaultVariant": null,
            },
            "rollout": {
                "state": "ENABLED",
                "variants": {"on": true, "off": false},
                "defaultVariant": "off",
                "targeting": {"fractional": [["on", 10], ["off", 90]]},
            },
        },
        "$evaluators": {"staff": {"ends_with": [{"var": "email"}, "@example.com"]}},
        "metadata": {"team": "web"},
    });
    let set = FlagSet::compile(&doc).unwrap();
    assert_eq!(set.to_document(), doc);
    let again = FlagSet::compile(&set.to_document()).unwrap();
    assert_eq!(again, set);
    assert_eq!(again.to_document(), doc);
    // A flag's source is its definition as written.
    assert_eq!(set.get("limits").unwrap().source(), &doc["flags"]["limits"]);
    // `$schema` is an annotation for editors and is not kept.
    let mut with_schema = doc.clone();
    with_schema["$schema"] = json!("https://flagd.dev/schema/v0/flags.json");
    assert_eq!(FlagSet::compile(&with_schema).unwrap().to_document(), doc);
}

// --- Properties ----------------------------------------------------------------------

/// Context keys the rules below read, plus a few that they do not.
static KEYS: [&str; 14] = [
    "a",
    "b",
    "c",
    "s",
    "list",
    "email",
    "version",
    "targetingKey",
    "$flagd",
    "0",
    "1",
    "",
    "a.b",
    "x",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(&KEYS[..]).prop_map(str::to_owned),
        1 => "[a-z0-9.]{0,3}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1_000i64..1_000).prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        prop::sample::select(vec![1e300, -1e300, 0.5, -0.0, 1e21, 5e-324, 2.5e9])
            .prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "[a-z0-9.@ +-]{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "1.2.3",
            "v2.0.0-rc.1+b",
            "01.2",
            "",
            "0",
            "1e3",
            " 12 ",
            "a.b",
            "$flagd.flagKey",
            "😀é",
            "[object Object]",
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn context() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(key(), json_value(), 0..10).prop_map(|m| m.into_iter().collect())
}

/// Every operator rodeo knows, for the coverage check below.
const OPERATORS: [&str; 39] = [
    "var",
    "missing",
    "missing_some",
    "if",
    "?:",
    "==",
    "===",
    "!=",
    "!==",
    "!",
    "!!",
    "or",
    "and",
    ">",
    ">=",
    "<",
    "<=",
    "max",
    "min",
    "+",
    "-",
    "*",
    "/",
    "%",
    "in",
    "cat",
    "substr",
    "merge",
    "map",
    "filter",
    "reduce",
    "all",
    "none",
    "some",
    "log",
    "fractional",
    "starts_with",
    "ends_with",
    "sem_ver",
];

/// Rules of every operator: some with all arguments from the context, and for every
/// operator one context value next to fixed literals, so that a single bad value is
/// enough to reach each argument position.
fn rules() -> Vec<Value> {
    let (a, b, c, s, l) = (
        json!({"var": "a"}),
        json!({"var": "b"}),
        json!({"var": "c"}),
        json!({"var": "s"}),
        json!({"var": "list"}),
    );
    let mut rules = vec![
        json!({"var": a}),
        json!({"var": "a.b.0"}),
        json!({"var": [s, b]}),
        json!({"var": ""}),
        json!({"var": "$flagd"}),
        json!({"missing": [s, "a", "list.0"]}),
        json!({"missing_some": [a, l]}),
        json!({"if": [a, b, c, s, l]}),
        json!({"map": [l, {"+": [{"var": ""}, 1]}]}),
        json!({"map": [a, {"var": "x"}]}),
        json!({"filter": [l, {"var": "a"}]}),
        json!({"reduce": [l, {"cat": [{"var": "accumulator"}, {"var": "current"}]}, a]}),
        json!({"reduce": [l, {"+": [{"var": "accumulator"}, {"var": "current.n"}]}, 0]}),
        json!({"fractional": [s, ["x", a], ["y", b]]}),
        json!({"fractional": [["x", a], ["y", 1]]}),
        json!({"fractional": [["x", 50], ["y", 50]]}),
        json!({"sem_ver": [s, ">=", "1.0.0"]}),
        json!({"sem_ver": ["1.0.0", a, "1.0.0"]}),
    ];
    let literals = [json!(1), json!("jsonlogic"), json!([1, 2]), json!(null)];
    for op in OPERATORS.iter().filter(|op| **op != "var") {
        rules.push(json!({*op: a}));
        rules.push(json!({*op: [l]}));
        rules.push(json!({*op: [a, b, c]}));
        for lit in &literals {
            rules.push(json!({*op: [a, lit]}));
            rules.push(json!({*op: [lit, a]}));
            rules.push(json!({*op: [lit, 1, a]}));
            rules.push(json!({*op: [lit, a, -2]}));
        }
    }
    rules
}

/// Each rule as a flag `op<i>`, and wrapped in `if` as a flag `if<i>`.
static EVERY_OPERATOR: std::sync::LazyLock<FlagSet> = std::sync::LazyLock::new(|| {
    let mut flags = Map::new();
    let variants = json!({"yes": "yes", "no": "no", "x": "x", "y": "y", "jsonlogic": "j"});
    for (i, rule) in rules().into_iter().enumerate() {
        flags.insert(
            format!("if{i}"),
            json!({"state": "ENABLED", "variants": variants, "defaultVariant": "no",
                   "targeting": {"if": [rule, "yes", "no"]}}),
        );
        flags.insert(
            format!("op{i}"),
            json!({"state": "ENABLED", "variants": variants, "defaultVariant": "no", "targeting": rule}),
        );
    }
    FlagSet::compile(&json!({"flags": flags})).unwrap()
});

#[test]
fn the_property_set_covers_every_operator() {
    let text = serde_json::to_string(&rules()).unwrap();
    for op in OPERATORS {
        assert!(text.contains(&format!("{{\"{op}\":")), "no rule uses {op}");
    }
    let set = &*EVERY_OPERATOR;
    assert!(set.problems().is_empty(), "{:?}", set.problems());
    assert!(set.flags().all(|f| f.has_targeting()));
}

fn fractional_set(key: &str, weights: &[u32], explicit: bool) -> FlagSet {
    let mut args: Vec<Value> = Vec::new();
    if explicit {
        args.push(json!({"cat": [{"var": "$flagd.flagKey"}, {"var": "targetingKey"}]}));
    }
    let mut variants = Map::new();
    for (i, w) in weights.iter().enumerate() {
        args.push(json!([format!("v{i}"), w]));
        variants.insert(format!("v{i}"), json!(i));
    }
    let doc = json!({"flags": {key: {
        "state": "ENABLED", "variants": variants, "defaultVariant": null,
        "targeting": {"fractional": args},
    }}});
    FlagSet::compile(&doc).unwrap()
}

proptest! {
    #[test]
    fn arbitrary_contexts_never_break_evaluation(ctx in context()) {
        let set = &*EVERY_OPERATOR;
        let all = set.evaluate_all(&ctx, NOW);
        prop_assert_eq!(all.len(), set.len());
        for (r, flag) in all.iter().zip(set.flags()) {
            match &r.error {
                None => {
                    prop_assert_eq!(r.value, r.variant.and_then(|v| flag.variants().get(v)));
                    prop_assert!(r.variant.is_some());
                    prop_assert!(matches!(r.reason, Reason::TargetingMatch | Reason::Default));
                }
                Some(e) => {
                    // Only a result that names no variant is an error, and never for `if`.
                    prop_assert_eq!(e.code, ErrorCode::General);
                    prop_assert!(flag.key().starts_with("op"), "{}: {:?}", flag.key(), e);
                    prop_assert_eq!((r.value, r.variant, r.reason), (None, None, Reason::Error));
                }
            }
            prop_assert_eq!(r, &set.evaluate(flag.key(), &ctx, NOW));
        }
    }

    #[test]
    fn fractional_assignment_is_stable(
        targeting_key in any::<String>().prop_filter("a key", |k| !k.is_empty()),
        weights in prop::collection::vec(0u32..1_000, 1..6)
            .prop_filter("a positive weight", |w| w.iter().any(|&x| x > 0)),
        noise in context(),
    ) {
        let set = fractional_set("rollout", &weights, false);
        let mut ctx = Map::new();
        ctx.insert("targetingKey".into(), Value::String(targeting_key.clone()));
        let first = set.evaluate("rollout", &ctx, NOW);
        prop_assert!(first.error.is_none(), "{:?}", first.error);
        prop_assert_eq!(first.reason, Reason::TargetingMatch);
        let variant = first.variant.unwrap();
        let bucket: usize = variant[1..].parse().unwrap();
        prop_assert!(weights[bucket] > 0, "a zero-weight bucket was chosen");

        // The same key gets the same variant: again, from a recompiled set, alongside
        // any other context, and with the default key spelled out.
        prop_assert_eq!(set.evaluate("rollout", &ctx, NOW).variant, Some(variant));
        let recompiled = fractional_set("rollout", &weights, false);
        prop_assert_eq!(recompiled.evaluate("rollout", &ctx, NOW).variant, Some(variant));
        let mut noisy = noise;
        noisy.insert("targetingKey".into(), Value::String(targeting_key));
        prop_assert_eq!(set.evaluate("rollout", &noisy, NOW).variant, Some(variant));
        prop_assert_eq!(set.evaluate("rollout", &ctx, NOW + 86_400).variant, Some(variant));
        let explicit = fractional_set("rollout", &weights, true);
        prop_assert_eq!(explicit.evaluate("rollout", &ctx, NOW).variant, Some(variant));
    }
}
