#![allow(clippy::unwrap_used, clippy::expect_used)]
//! JSON Logic as rodeo evaluates it, through the public API only. Each case is a rule, a
//! context and the value the rule must produce, written in the shape of JSON Logic's own
//! test file (`[rule, data, expected]`). The expected values come from the operations
//! page (jsonlogic.com/operations.html), its official tests (jsonlogic.com/tests.json)
//! and flagd's targeting docs; where rodeo follows flagd rather than json-logic-js, the
//! case says so.
//!
//! A rule's result is not visible directly, only the variant it selects, so each case is
//! read back twice:
//! - the text probe: the rule is the flag's targeting, and the variant named by the
//!   expected value printed as JavaScript's `String(v)` must be chosen (`null` falls back
//!   to the default variant, with reason `DEFAULT`);
//! - the strict probe: `{"if": [same(rule, expected), "same", "different"]}` must choose
//!   `same`, where `same` compares with `===` element by element, so that `1` and `"1"`
//!   or `[]` and `""` (which print alike) are told apart.

use rodeo_flags::{FlagSet, Reason};
use serde_json::{json, Map, Value};

const PROBE: &str = "probe";
const NOW: i64 = 1_700_000_000;
/// The default variant of a text probe: what a rule returning `null` selects.
const NULL_VARIANT: &str = "<null>";

fn one_flag(key: &str, targeting: &Value, variants: &[&str], default: Option<&str>) -> FlagSet {
    let variants: Map<String, Value> = variants
        .iter()
        .map(|v| ((*v).to_owned(), Value::String((*v).to_owned())))
        .collect();
    let doc = json!({"flags": {key: {
        "state": "ENABLED",
        "variants": variants,
        "defaultVariant": default,
        "targeting": targeting,
    }}});
    FlagSet::compile(&doc).unwrap_or_else(|e| panic!("{targeting} does not load: {e:?}"))
}

/// JavaScript's `String(v)`, written independently of the engine's, for expected values.
fn js_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(f)) if f.fract() == 0.0 => format!("{f:.0}"),
            (None, Some(f)) => f.to_string(),
            (None, None) => n.to_string(),
        },
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(js_text).collect::<Vec<_>>().join(","),
        Value::Object(_) => "[object Object]".into(),
    }
}

/// A rule that is true when `rule` evaluates to exactly `expected`.
fn same(rule: &Value, expected: &Value) -> Value {
    if expected.is_array() {
        json!({"some": [[rule], matches(expected, "")]})
    } else {
        json!({"===": [rule, expected]})
    }
}

/// A rule over the current item that is true when the value at `path` is `expected`.
fn matches(expected: &Value, path: &str) -> Value {
    let here = json!({"var": path});
    let Value::Array(items) = expected else {
        return json!({"===": [here, expected]});
    };
    let count = |list: Value| json!({"reduce": [list, {"+": [{"var": "accumulator"}, 1]}, 0]});
    // `merge` adds a non-array as one element, so equal counts also prove it is an array.
    let mut all = vec![
        json!({"===": [count(here.clone()), items.len()]}),
        json!({"===": [count(json!({"merge": [here]})), items.len()]}),
    ];
    for (i, item) in items.iter().enumerate() {
        let at = if path.is_empty() {
            i.to_string()
        } else {
            format!("{path}.{i}")
        };
        all.push(matches(item, &at));
    }
    json!({"and": all})
}

fn text_probe(rule: &Value, context: &Map<String, Value>, expected: &Value) -> Result<(), String> {
    let targeting = match rule {
        Value::Object(m) if m.len() == 1 => rule.clone(),
        _ => json!({"if": [true, rule]}),
    };
    let name = js_text(expected);
    let set = one_flag(
        PROBE,
        &targeting,
        &[NULL_VARIANT, &name],
        Some(NULL_VARIANT),
    );
    let r = set.evaluate(PROBE, context, NOW);
    let (want_variant, want_reason) = if expected.is_null() {
        (NULL_VARIANT, Reason::Default)
    } else {
        (name.as_str(), Reason::TargetingMatch)
    };
    if r.variant == Some(want_variant) && r.reason == want_reason {
        Ok(())
    } else {
        Err(format!(
            "text probe chose {:?} ({:?}, {:?}), wanted {want_variant:?}",
            r.variant,
            r.reason,
            r.error.map(|e| e.details)
        ))
    }
}

fn strict_probe(
    rule: &Value,
    context: &Map<String, Value>,
    expected: &Value,
) -> Result<(), String> {
    let targeting = json!({"if": [same(rule, expected), "same", "different"]});
    let set = one_flag(PROBE, &targeting, &["same", "different"], None);
    let r = set.evaluate(PROBE, context, NOW);
    if r.variant == Some("same") {
        Ok(())
    } else {
        Err(format!(
            "strict probe chose {:?} ({:?})",
            r.variant, r.error
        ))
    }
}

/// Runs a table in the shape of JSON Logic's `tests.json`: `[rule, data, expected]`
/// entries, with strings as section headings. Every failure is reported, not the first.
fn check(table: &str) {
    let cases: Vec<Value> = serde_json::from_str(table).expect("the table is JSON");
    let mut section = String::new();
    let mut failures = Vec::new();
    let mut ran = 0;
    for case in &cases {
        match case {
            Value::String(heading) => section.clone_from(heading),
            Value::Array(entry) if entry.len() == 3 => {
                let (rule, data, expected) = (&entry[0], &entry[1], &entry[2]);
                let context = match data {
                    Value::Object(m) => m.clone(),
                    Value::Null => Map::new(),
                    other => panic!("contexts are objects: {other}"),
                };
                for result in [
                    text_probe(rule, &context, expected),
                    strict_probe(rule, &context, expected),
                ] {
                    if let Err(e) = result {
                        failures.push(format!(
                            "[{section}] {rule} with {data} should give {expected}: {e}"
                        ));
                    }
                }
                ran += 1;
            }
            other => panic!("not a case: {other}"),
        }
    }
    assert!(ran > 0, "the table has no cases");
    assert!(
        failures.is_empty(),
        "{} of {ran} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_probes_can_fail() {
    // The harness itself: a wrong expectation must be caught by each probe.
    let ctx = Map::new();
    let rule = json!({"+": [1, 1]});
    assert!(text_probe(&rule, &ctx, &json!(3)).is_err());
    assert!(strict_probe(&rule, &ctx, &json!(3)).is_err());
    assert!(strict_probe(&rule, &ctx, &json!("2")).is_err());
    assert!(text_probe(&rule, &ctx, &json!(null)).is_err());
    let list = json!({"merge": [[1], [2]]});
    assert!(strict_probe(&list, &ctx, &json!([1, 2])).is_ok());
    assert!(strict_probe(&list, &ctx, &json!([1, "2"])).is_err());
    assert!(strict_probe(&list, &ctx, &json!([1])).is_err());
    assert!(strict_probe(&list, &ctx, &json!([1, 2, 3])).is_err());
    assert!(strict_probe(&list, &ctx, &json!("1,2")).is_err());
    assert!(strict_probe(&json!({"merge": []}), &ctx, &json!([])).is_ok());
    assert!(strict_probe(&json!(""), &ctx, &json!([])).is_err());
    assert!(strict_probe(&json!({"merge": [[[1]]]}), &ctx, &json!([1])).is_err());
}

#[test]
fn var_reads_the_context() {
    check(
        r#"[
        "plain keys, with or without the array form",
        [{"var": "a"}, {"a": 1}, 1],
        [{"var": ["a"]}, {"a": 1}, 1],
        [{"var": "b"}, {"a": 1}, null],
        [{"var": ["b"]}, {"a": 1}, null],
        [{"var": "a"}, null, null],

        "defaults apply when the value is absent",
        [{"var": ["a", 1]}, null, 1],
        [{"var": ["b", 2]}, {"a": 1}, 2],
        [{"var": ["b", {"+": [1, 1]}]}, {}, 2],
        [{"var": ["a", 9]}, {"a": false}, false],
        [{"var": ["a", 9]}, {"a": 0}, 0],
        [{"var": ["a", 9]}, {"a": ""}, ""],

        "rodeo, like flagd (Go jsonlogic), also uses the default for a present null; json-logic-js returns null",
        [{"var": ["a", 9]}, {"a": null}, 9],

        "dotted paths and array indexes",
        [{"var": "a.b"}, {"a": {"b": "c"}}, "c"],
        [{"var": "a.q"}, {"a": {"b": "c"}}, null],
        [{"var": ["a.q", 9]}, {"a": {"b": "c"}}, 9],
        [{"var": "a.b.c"}, {"a": null}, null],
        [{"var": "a.b.c"}, {"a": {"b": null}}, null],
        [{"var": "a.b.c"}, {"a": "apple"}, null],
        [{"var": "list.1"}, {"list": ["apple", "banana"]}, "banana"],
        [{"var": "list.1.1"}, {"list": ["apple", ["banana", "beer"]]}, "beer"],
        [{"var": "list.2"}, {"list": ["apple", "banana"]}, null],
        [{"var": "list.x"}, {"list": ["apple", "banana"]}, null],
        [{"var": "users.0.name"}, {"users": [{"name": "ada"}]}, "ada"],
        [{"var": "1"}, {"1": "one"}, "one"],
        [{"var": 1}, {"1": "one"}, "one"],
        [{"var": "a.1"}, {"a": {"1": "one"}}, "one"],

        "a computed path",
        [{"var": [{"if": [{"<": [{"var": "temp"}, 110]}, "pie.filling", "pie.eta"]}]},
         {"temp": 100, "pie": {"filling": "apple", "eta": "60s"}}, "apple"],
        [{"var": {"cat": ["pie.", "eta"]}}, {"pie": {"filling": "apple", "eta": "60s"}}, "60s"],

        "the empty path is the whole data: the context, or the current element",
        [{"map": [[{"var": ""}], {"var": "name"}]}, {"name": "ada"}, ["ada"]],
        [{"map": [[{"var": null}], {"var": "name"}]}, {"name": "ada"}, ["ada"]],
        [{"map": [[{"var": []}], {"var": "name"}]}, {"name": "ada"}, ["ada"]],
        [{"map": [{"var": "lists"}, {"var": 1}]}, {"lists": [["apple", "banana"]]}, ["banana"]],
        [{"map": [{"var": "n"}, {"var": ""}]}, {"n": [1, 2]}, [1, 2]],

        "flagd's $flagd properties: the flag's key and the evaluation time (Unix seconds)",
        [{"var": "$flagd.flagKey"}, {}, "probe"],
        [{"var": "$flagd.timestamp"}, {}, 1700000000],
        [{"var": "$flagd.nothing"}, {}, null],
        [{"var": "$flagd.flagKey.x"}, {}, null],
        [{"var": "$flagd.flagKey"}, {"$flagd": {"flagKey": "spoofed"}}, "probe"],
        [{"<": [{"var": "$flagd.timestamp"}, 1700000001]}, {}, true]
        ]"#,
    );
}

#[test]
fn truthiness_follows_json_logic() {
    check(
        r#"[
        "empty arrays are falsy (JSON Logic's one departure from JavaScript)",
        [{"if": [[], "apple", "banana"]}, null, "banana"],
        [{"if": [[1], "apple", "banana"]}, null, "apple"],
        [{"if": [[0], "apple", "banana"]}, null, "apple"],
        [{"if": [{"var": "list"}, "apple", "banana"]}, {"list": []}, "banana"],

        "the empty string is falsy, every other string is truthy",
        [{"if": ["", "apple", "banana"]}, null, "banana"],
        [{"if": ["zucchini", "apple", "banana"]}, null, "apple"],
        [{"if": ["0", "apple", "banana"]}, null, "apple"],
        [{"if": ["false", "apple", "banana"]}, null, "apple"],

        "zero is falsy, every other number is truthy",
        [{"if": [0, "apple", "banana"]}, null, "banana"],
        [{"if": [0.0, "apple", "banana"]}, null, "banana"],
        [{"if": [1, "apple", "banana"]}, null, "apple"],
        [{"if": [3.1416, "apple", "banana"]}, null, "apple"],
        [{"if": [-1, "apple", "banana"]}, null, "apple"],

        "null, booleans and objects",
        [{"if": [null, "apple", "banana"]}, null, "banana"],
        [{"if": [{"var": "missing"}, "apple", "banana"]}, null, "banana"],
        [{"if": [false, "apple", "banana"]}, null, "banana"],
        [{"if": [true, "apple", "banana"]}, null, "apple"],
        [{"if": [{"var": "obj"}, "apple", "banana"]}, {"obj": {}}, "apple"],

        "a string becomes a number with unary +",
        [{"===": [0, "0"]}, null, false],
        [{"===": [0, {"+": "0"}]}, null, true],
        [{"if": [{"+": "0"}, "apple", "banana"]}, null, "banana"],
        [{"if": [{"+": "1"}, "apple", "banana"]}, null, "apple"],

        "! and !! use the same definition",
        [{"!": [[]]}, {}, true],
        [{"!!": [[]]}, {}, false],
        [{"!": [0]}, {}, true],
        [{"!!": [0]}, {}, false],
        [{"!": [""]}, {}, true],
        [{"!!": [""]}, {}, false],
        [{"!": ["0"]}, {}, false],
        [{"!!": ["0"]}, {}, true],
        [{"!": [false]}, {}, true],
        [{"!": false}, {}, true],
        [{"!": [true]}, {}, false],
        [{"!": true}, {}, false],
        [{"!": 0}, {}, true],
        [{"!": 1}, {}, false],
        [{"!": [null]}, {}, true],
        [{"!!": ["a"]}, {}, true],
        [{"!!": [{"var": "obj"}]}, {"obj": {}}, true],
        [{"!": {"var": "missing"}}, {}, true]
        ]"#,
    );
}

#[test]
fn equality_loose_and_strict() {
    check(
        r#"[
        "== coerces like JavaScript",
        [{"==": [1, 1]}, {}, true],
        [{"==": [1, "1"]}, {}, true],
        [{"==": ["1", 1]}, {}, true],
        [{"==": [1, 2]}, {}, false],
        [{"==": [1, "2"]}, {}, false],
        [{"==": [1, 1.0]}, {}, true],
        [{"==": [0, false]}, {}, true],
        [{"==": [1, true]}, {}, true],
        [{"==": ["1", true]}, {}, true],
        [{"==": ["", 0]}, {}, true],
        [{"==": ["0", false]}, {}, true],
        [{"==": [null, null]}, {}, true],
        [{"==": [null, 0]}, {}, false],
        [{"==": [null, false]}, {}, false],
        [{"==": [null, ""]}, {}, false],
        [{"==": ["a", 0]}, {}, false],
        [{"==": ["abc", "abc"]}, {}, true],
        [{"==": ["abc", "ABC"]}, {}, false],
        [{"==": [[1, 2], "1,2"]}, {}, true],
        [{"==": [[], false]}, {}, true],
        [{"==": [[1], 1]}, {}, true],
        [{"==": [{"var": "n"}, 42]}, {"n": "42"}, true],
        [{"==": [{"var": "missing"}, null]}, {}, true],
        [{"==": [true, {"==": [1, 1]}]}, {}, true],
        [{"==": [false, {"==": [0, 1]}]}, {}, true],

        "=== compares type and value; containers are never equal",
        [{"===": [1, 1]}, {}, true],
        [{"===": [1, 1.0]}, {}, true],
        [{"===": [1, "1"]}, {}, false],
        [{"===": [1, 2]}, {}, false],
        [{"===": [0, false]}, {}, false],
        [{"===": [null, null]}, {}, true],
        [{"===": ["a", "a"]}, {}, true],
        [{"===": [[1], [1]]}, {}, false],
        [{"===": [{"var": "n"}, 42]}, {"n": "42"}, false],

        "!= and !== are the negations",
        [{"!=": [1, 2]}, {}, true],
        [{"!=": [1, 1]}, {}, false],
        [{"!=": [1, "1"]}, {}, false],
        [{"!=": [null, 0]}, {}, true],
        [{"!==": [1, 2]}, {}, true],
        [{"!==": [1, 1]}, {}, false],
        [{"!==": [1, "1"]}, {}, true],
        [{"!==": [[1], [1]]}, {}, true]
        ]"#,
    );
}

#[test]
fn and_or_return_the_deciding_value() {
    check(
        r#"[
        "or: the first truthy value, else the last",
        [{"or": [true, true]}, {}, true],
        [{"or": [false, true]}, {}, true],
        [{"or": [true, false]}, {}, true],
        [{"or": [false, false]}, {}, false],
        [{"or": [false, false, true]}, {}, true],
        [{"or": [false]}, {}, false],
        [{"or": [true]}, {}, true],
        [{"or": [1, 3]}, {}, 1],
        [{"or": [3, false]}, {}, 3],
        [{"or": [false, 3]}, {}, 3],
        [{"or": [[], true]}, {}, true],
        [{"or": [0, true]}, {}, true],
        [{"or": ["", true]}, {}, true],
        [{"or": ["0", true]}, {}, "0"],
        [{"or": [0, ""]}, {}, ""],
        [{"or": [{"var": "nick"}, {"var": "name"}]}, {"name": "ada"}, "ada"],

        "and: the first falsy value, else the last",
        [{"and": [true, true]}, {}, true],
        [{"and": [false, true]}, {}, false],
        [{"and": [true, false]}, {}, false],
        [{"and": [true, true, true]}, {}, true],
        [{"and": [true, true, false]}, {}, false],
        [{"and": [false]}, {}, false],
        [{"and": [true]}, {}, true],
        [{"and": [1, 3]}, {}, 3],
        [{"and": [3, false]}, {}, false],
        [{"and": [false, 3]}, {}, false],
        [{"and": [[], true]}, {}, []],
        [{"and": [0, true]}, {}, 0],
        [{"and": ["", true]}, {}, ""],
        [{"and": ["0", true]}, {}, true],

        "compound rules",
        [{"and": [{">": [3, 1]}, true]}, {}, true],
        [{"and": [{">": [3, 1]}, false]}, {}, false],
        [{"and": [{">": [3, 1]}, {"!": true}]}, {}, false],
        [{"and": [{">": [3, 1]}, {"<": [1, 3]}]}, {}, true],
        [{"and": [{"<": [{"var": "temp"}, 110]}, {"==": [{"var": "pie.filling"}, "apple"]}]},
         {"temp": 100, "pie": {"filling": "apple"}}, true]
        ]"#,
    );
}

#[test]
fn comparisons_and_between() {
    check(
        r#"[
        "numbers",
        [{">": [2, 1]}, {}, true],
        [{">": [1, 1]}, {}, false],
        [{">": [1, 2]}, {}, false],
        [{">=": [2, 1]}, {}, true],
        [{">=": [1, 1]}, {}, true],
        [{">=": [1, 2]}, {}, false],
        [{"<": [2, 1]}, {}, false],
        [{"<": [1, 1]}, {}, false],
        [{"<": [1, 2]}, {}, true],
        [{"<=": [2, 1]}, {}, false],
        [{"<=": [1, 1]}, {}, true],
        [{"<=": [1, 2]}, {}, true],
        [{"<": [1.5, 1.75]}, {}, true],
        [{">": [{"var": "age"}, 17]}, {"age": 18}, true],

        "a numeric string against a number compares numerically",
        [{">": ["2", 1]}, {}, true],
        [{">=": ["2", 1]}, {}, true],
        [{"<": ["1", 2]}, {}, true],
        [{"<=": ["1", 2]}, {}, true],
        [{"<": ["10", 9]}, {}, false],
        [{"<": [null, 1]}, {}, true],
        [{">=": [null, 0]}, {}, true],
        [{">": [true, false]}, {}, true],

        "two strings compare as strings (by UTF-16 code unit), not as numbers",
        [{"<": ["a", "b"]}, {}, true],
        [{">": ["b", "a"]}, {}, true],
        [{"<": ["10", "9"]}, {}, true],
        [{"<": ["apple", "apples"]}, {}, true],
        [{"<": ["Z", "a"]}, {}, true],
        [{">=": ["abc", "abc"]}, {}, true],
        [{">": [{"var": "day"}, "2024-01-31"]}, {"day": "2024-02-01"}, true],

        "anything that is not a number makes every comparison false",
        [{"<": ["x", 1]}, {}, false],
        [{">=": ["x", 1]}, {}, false],
        [{"<=": [{"var": "obj"}, 1]}, {"obj": {}}, false],

        "between: < and <= with three arguments",
        [{"<": [1, 2, 3]}, {}, true],
        [{"<": [1, 1, 3]}, {}, false],
        [{"<": [1, 3, 3]}, {}, false],
        [{"<": [1, 4, 3]}, {}, false],
        [{"<=": [1, 2, 3]}, {}, true],
        [{"<=": [1, 1, 3]}, {}, true],
        [{"<=": [1, 3, 3]}, {}, true],
        [{"<=": [1, 4, 3]}, {}, false],
        [{"<": [0, {"var": "temp"}, 100]}, {"temp": 50}, true],
        [{"<=": [0, {"var": "temp"}, 100]}, {"temp": 101}, false],

        "> and >= take two arguments: a third is ignored, as in json-logic-js",
        [{">": [3, 2, 5]}, {}, true],
        [{">=": [3, 3, 9]}, {}, true]
        ]"#,
    );
}

#[test]
fn arithmetic() {
    check(
        r#"[
        "+ and * take any number of arguments and cast strings",
        [{"+": [1, 2]}, {}, 3],
        [{"+": [2, 2, 2]}, {}, 6],
        [{"+": [1]}, {}, 1],
        [{"+": ["1", 1]}, {}, 2],
        [{"+": "3.14"}, {}, 3.14],
        [{"+": [0.1, 0.2]}, {}, 0.30000000000000004],
        [{"+": []}, {}, 0],
        [{"*": [3, 2]}, {}, 6],
        [{"*": [2, 2, 2]}, {}, 8],
        [{"*": [1]}, {}, 1],
        [{"*": ["1", 1]}, {}, 1],
        [{"*": [{"var": "price"}, 0.5]}, {"price": "9"}, 4.5],

        "- subtracts, and negates with one argument",
        [{"-": [2, 3]}, {}, -1],
        [{"-": [3, 2]}, {}, 1],
        [{"-": [3]}, {}, -3],
        [{"-": "2"}, {}, -2],
        [{"-": ["1", 1]}, {}, 0],
        [{"-": [{"var": "n"}]}, {"n": 5}, -5],

        "/ and %",
        [{"/": [4, 2]}, {}, 2],
        [{"/": [2, 4]}, {}, 0.5],
        [{"/": ["1", 1]}, {}, 1],
        [{"%": [1, 2]}, {}, 1],
        [{"%": [2, 2]}, {}, 0],
        [{"%": [3, 2]}, {}, 1],
        [{"%": [-7, 3]}, {}, -1],
        [{"%": [7.5, 2]}, {}, 1.5],

        "min and max",
        [{"max": [1, 2, 3]}, {}, 3],
        [{"max": [1, 3, 3]}, {}, 3],
        [{"max": [3, 2, 1]}, {}, 3],
        [{"max": [1]}, {}, 1],
        [{"max": ["7", 2]}, {}, 7],
        [{"min": [1, 2, 3]}, {}, 1],
        [{"min": [1, 1, 3]}, {}, 1],
        [{"min": [3, 2, 1]}, {}, 1],
        [{"min": [1]}, {}, 1],
        [{"min": [-1.5, 2]}, {}, -1.5],

        "JavaScript's NaN and Infinity are not JSON: they become null, as JSON.stringify does",
        [{"/": [1, 0]}, {}, null],
        [{"%": [1, 0]}, {}, null],
        [{"+": ["x", 1]}, {}, null],
        [{"-": ["x", 1]}, {}, null],
        [{"*": [{"var": "obj"}, 2]}, {"obj": {}}, null],
        [{"max": [1, "x"]}, {}, null],
        [{"max": []}, {}, null],
        [{"min": []}, {}, null]
        ]"#,
    );
}

#[test]
fn in_cat_substr() {
    check(
        r#"[
        "in: a substring, or an element (by ===) of an array",
        [{"in": ["Bart", ["Bart", "Homer", "Lisa", "Marge", "Maggie"]]}, {}, true],
        [{"in": ["Milhouse", ["Bart", "Homer", "Lisa", "Marge", "Maggie"]]}, {}, false],
        [{"in": ["Spring", "Springfield"]}, {}, true],
        [{"in": ["i", "team"]}, {}, false],
        [{"in": ["", "team"]}, {}, true],
        [{"in": [1, [1, 2]]}, {}, true],
        [{"in": ["1", [1, 2]]}, {}, false],
        [{"in": [1, "a1b"]}, {}, true],
        [{"in": ["x", null]}, {}, false],
        [{"in": ["x", 5]}, {}, false],
        [{"in": [{"var": "filling"}, ["apple", "cherry"]]}, {"filling": "apple"}, true],
        [{"in": [{"var": "email"}, {"var": "allow"}]}, {"email": "a@x", "allow": ["a@x", "b@x"]}, true],

        "cat joins the printed values",
        [{"cat": "ice"}, {}, "ice"],
        [{"cat": ["ice"]}, {}, "ice"],
        [{"cat": ["ice", "cream"]}, {}, "icecream"],
        [{"cat": [1, 2]}, {}, "12"],
        [{"cat": ["Robocop", 2]}, {}, "Robocop2"],
        [{"cat": ["we all scream for ", "ice", "cream"]}, {}, "we all scream for icecream"],
        [{"cat": [1.5, true, false]}, {}, "1.5truefalse"],
        [{"cat": [[1, 2], "x"]}, {}, "1,2x"],
        [{"cat": []}, {}, ""],

        "cat prints null as the empty string: json-logic-js joins with Array.join, flagd's Go jsonlogic with ToString(nil) == \"\"",
        [{"cat": ["a", null, "b"]}, {}, "ab"],
        [{"cat": [{"var": "$flagd.flagKey"}, {"var": "email"}]}, {}, "probe"],

        "substr: start and length, negative counting from the end",
        [{"substr": ["jsonlogic", 4]}, null, "logic"],
        [{"substr": ["jsonlogic", -5]}, null, "logic"],
        [{"substr": ["jsonlogic", 0, 1]}, null, "j"],
        [{"substr": ["jsonlogic", -1, 1]}, null, "c"],
        [{"substr": ["jsonlogic", 4, 5]}, null, "logic"],
        [{"substr": ["jsonlogic", -5, 5]}, null, "logic"],
        [{"substr": ["jsonlogic", -5, -2]}, null, "log"],
        [{"substr": ["jsonlogic", 1, -5]}, null, "son"],
        [{"substr": ["jsonlogic", 0, 0]}, null, ""],
        [{"substr": ["jsonlogic", 20]}, null, ""],
        [{"substr": ["jsonlogic", -20]}, null, "jsonlogic"],
        [{"substr": ["jsonlogic", 2, 100]}, null, "onlogic"],
        [{"substr": ["jsonlogic", 1, 1e300]}, null, "sonlogic"],
        [{"substr": ["jsonlogic", -1e300]}, null, "jsonlogic"],
        [{"substr": ["jsonlogic", 3, -100]}, null, ""],
        [{"substr": [12345, 1, 2]}, null, "23"],
        [{"substr": [{"var": "email"}, -6]}, {"email": "ada@x.org"}, "@x.org"],

        "substr counts characters, as flagd's Go jsonlogic does (runes); json-logic-js counts UTF-16 units",
        [{"substr": ["héllo", 1, 3]}, null, "éll"],
        [{"substr": ["😀ab", 1]}, null, "ab"]
        ]"#,
    );
}

#[test]
fn merge_missing_missing_some() {
    check(
        r#"[
        "merge flattens one level",
        [{"merge": []}, null, []],
        [{"merge": [[1]]}, null, [1]],
        [{"merge": [[1], []]}, null, [1]],
        [{"merge": [[1], [2]]}, null, [1, 2]],
        [{"merge": [[1], [2], [3]]}, null, [1, 2, 3]],
        [{"merge": [[1, 2], [3]]}, null, [1, 2, 3]],
        [{"merge": [[1], [2, 3]]}, null, [1, 2, 3]],
        [{"merge": 1}, null, [1]],
        [{"merge": [1, 2]}, null, [1, 2]],
        [{"merge": [1, [2]]}, null, [1, 2]],
        [{"merge": [[1, [2]], 3]}, null, [1, [2], 3]],
        [{"merge": [{"var": "a"}, {"var": "b"}]}, {"a": ["x"], "b": "y"}, ["x", "y"]],

        "missing lists the keys that are absent, null or empty",
        [{"missing": []}, null, []],
        [{"missing": ["a"]}, null, ["a"]],
        [{"missing": "a"}, null, ["a"]],
        [{"missing": "a"}, {"a": "apple"}, []],
        [{"missing": ["a"]}, {"a": "apple"}, []],
        [{"missing": ["a", "b"]}, {"a": "apple"}, ["b"]],
        [{"missing": ["a", "b"]}, {"b": "banana"}, ["a"]],
        [{"missing": ["a", "b"]}, {"a": "apple", "b": "banana"}, []],
        [{"missing": ["a", "b"]}, {}, ["a", "b"]],
        [{"missing": ["a"]}, {"a": null}, ["a"]],
        [{"missing": ["a"]}, {"a": ""}, ["a"]],
        [{"missing": ["a"]}, {"a": 0}, []],
        [{"missing": ["a"]}, {"a": false}, []],
        [{"missing": ["a.b"]}, null, ["a.b"]],
        [{"missing": ["a.b"]}, {"a": "apple"}, ["a.b"]],
        [{"missing": ["a.b"]}, {"a": {"c": "apple cake"}}, ["a.b"]],
        [{"missing": ["a.b"]}, {"a": {"b": "apple brownie"}}, []],
        [{"missing": ["a.b", "a.c"]}, {"a": {"b": "apple brownie"}}, ["a.c"]],
        [{"if": [{"missing": "a"}, "missed it", "found it"]}, {"a": "apple"}, "found it"],
        [{"if": [{"missing": "a"}, "missed it", "found it"]}, {"b": "banana"}, "missed it"],
        [{"missing": {"merge": ["vin", {"if": [{"var": "financing"}, ["apr"], []]}]}},
         {"financing": true}, ["vin", "apr"]],
        [{"missing": {"merge": ["vin", {"if": [{"var": "financing"}, ["apr"], []]}]}},
         {"financing": false}, ["vin"]],

        "missing_some: nothing when enough are present, else the absent ones",
        [{"missing_some": [1, ["a", "b"]]}, {"a": "apple"}, []],
        [{"missing_some": [1, ["a", "b"]]}, {"b": "banana"}, []],
        [{"missing_some": [1, ["a", "b"]]}, {"a": "apple", "b": "banana"}, []],
        [{"missing_some": [1, ["a", "b"]]}, {"c": "carrot"}, ["a", "b"]],
        [{"missing_some": [2, ["a", "b", "c"]]}, {"a": "apple", "b": "banana"}, []],
        [{"missing_some": [2, ["a", "b", "c"]]}, {"a": "apple", "c": "carrot"}, []],
        [{"missing_some": [2, ["a", "b", "c"]]}, {"a": "apple", "b": "banana", "c": "carrot"}, []],
        [{"missing_some": [2, ["a", "b", "c"]]}, {"a": "apple", "d": "durian"}, ["b", "c"]],
        [{"missing_some": [2, ["a", "b", "c"]]}, {"d": "durian", "e": "eggplant"}, ["a", "b", "c"]],
        [{"missing_some": [0, ["a"]]}, {}, []]
        ]"#,
    );
}

#[test]
fn array_operations() {
    check(
        r#"[
        "filter",
        [{"filter": [{"var": "integers"}, true]}, {"integers": [1, 2, 3]}, [1, 2, 3]],
        [{"filter": [{"var": "integers"}, false]}, {"integers": [1, 2, 3]}, []],
        [{"filter": [{"var": "integers"}, {">=": [{"var": ""}, 2]}]}, {"integers": [1, 2, 3]}, [2, 3]],
        [{"filter": [{"var": "integers"}, {"%": [{"var": ""}, 2]}]}, {"integers": [1, 2, 3]}, [1, 3]],
        [{"filter": [{"var": "missing"}, true]}, {}, []],

        "map",
        [{"map": [{"var": "integers"}, {"*": [{"var": ""}, 2]}]}, {"integers": [1, 2, 3]}, [2, 4, 6]],
        [{"map": [{"var": "integers"}, {"*": [{"var": ""}, 2]}]}, null, []],
        [{"map": [{"var": "desserts"}, {"var": "qty"}]},
         {"desserts": [{"name": "apple", "qty": 1}, {"name": "brownie", "qty": 2}, {"name": "cupcake", "qty": 3}]},
         [1, 2, 3]],
        [{"map": [[1, 2], {"var": "$flagd.flagKey"}]}, {}, [null, null]],

        "reduce",
        [{"reduce": [{"var": "integers"}, {"+": [{"var": "current"}, {"var": "accumulator"}]}, 0]},
         {"integers": [1, 2, 3, 4]}, 10],
        [{"reduce": [{"var": "integers"}, {"+": [{"var": "current"}, {"var": "accumulator"}]}, 0]},
         null, 0],
        [{"reduce": [{"var": "integers"}, {"*": [{"var": "current"}, {"var": "accumulator"}]}, 1]},
         {"integers": [1, 2, 3, 4]}, 24],
        [{"reduce": [{"var": "integers"}, {"*": [{"var": "current"}, {"var": "accumulator"}]}, 0]},
         {"integers": [1, 2, 3, 4]}, 0],
        [{"reduce": [{"var": "desserts"}, {"+": [{"var": "accumulator"}, {"var": "current.qty"}]}, 0]},
         {"desserts": [{"name": "apple", "qty": 1}, {"name": "brownie", "qty": 2}, {"name": "cupcake", "qty": 3}]},
         6],
        [{"reduce": [["a", "b"], {"cat": [{"var": "accumulator"}, {"var": "current"}]}, ">"]}, {}, ">ab"],

        "all is false on an empty list",
        [{"all": [{"var": "integers"}, {">=": [{"var": ""}, 1]}]}, {"integers": [1, 2, 3]}, true],
        [{"all": [{"var": "integers"}, {"==": [{"var": ""}, 1]}]}, {"integers": [1, 2, 3]}, false],
        [{"all": [{"var": "integers"}, {"<": [{"var": ""}, 1]}]}, {"integers": [1, 2, 3]}, false],
        [{"all": [{"var": "integers"}, {"<": [{"var": ""}, 1]}]}, {"integers": []}, false],
        [{"all": [{"var": "items"}, {">=": [{"var": "qty"}, 1]}]},
         {"items": [{"qty": 1, "sku": "apple"}, {"qty": 2, "sku": "banana"}]}, true],
        [{"all": [{"var": "items"}, {">": [{"var": "qty"}, 1]}]},
         {"items": [{"qty": 1, "sku": "apple"}, {"qty": 2, "sku": "banana"}]}, false],
        [{"all": [{"var": "items"}, {">=": [{"var": "qty"}, 1]}]}, {"items": []}, false],

        "none is true on an empty list",
        [{"none": [{"var": "integers"}, {">=": [{"var": ""}, 1]}]}, {"integers": [1, 2, 3]}, false],
        [{"none": [{"var": "integers"}, {"==": [{"var": ""}, 1]}]}, {"integers": [1, 2, 3]}, false],
        [{"none": [{"var": "integers"}, {"<": [{"var": ""}, 1]}]}, {"integers": [1, 2, 3]}, true],
        [{"none": [{"var": "integers"}, {"<": [{"var": ""}, 1]}]}, {"integers": []}, true],
        [{"none": [{"var": "items"}, {"<": [{"var": "qty"}, 1]}]},
         {"items": [{"qty": 1, "sku": "apple"}, {"qty": 2, "sku": "banana"}]}, true],

        "some is false on an empty list",
        [{"some": [{"var": "integers"}, {">=": [{"var": ""}, 1]}]}, {"integers": [1, 2, 3]}, true],
        [{"some": [{"var": "integers"}, {"==": [{"var": ""}, 1]}]}, {"integers": [1, 2, 3]}, true],
        [{"some": [{"var": "integers"}, {"<": [{"var": ""}, 1]}]}, {"integers": [1, 2, 3]}, false],
        [{"some": [{"var": "integers"}, {"<": [{"var": ""}, 1]}]}, {"integers": []}, false],
        [{"some": [{"var": "items"}, {">": [{"var": "qty"}, 1]}]},
         {"items": [{"qty": 1, "sku": "apple"}, {"qty": 2, "sku": "banana"}]}, true],
        [{"some": [{"var": "items"}, {"<": [{"var": "qty"}, 1]}]},
         {"items": [{"qty": 1, "sku": "apple"}, {"qty": 2, "sku": "banana"}]}, false],

        "arrays in a rule are evaluated element by element",
        [[1, {"var": "x"}, 3], {"x": 2}, [1, 2, 3]],
        [{"if": [{"var": "x"}, [{"var": "y"}], 99]}, {"x": true, "y": 42}, [42]]
        ]"#,
    );
}

#[test]
fn if_chains() {
    check(
        r#"[
        "too few arguments",
        [{"if": []}, null, null],
        [{"if": [true]}, null, true],
        [{"if": [false]}, null, false],
        [{"if": ["apple"]}, null, "apple"],

        "if / then / else",
        [{"if": [true, "apple"]}, null, "apple"],
        [{"if": [false, "apple"]}, null, null],
        [{"if": [true, "apple", "banana"]}, null, "apple"],
        [{"if": [false, "apple", "banana"]}, null, "banana"],
        [{"?:": [true, 1, 2]}, {}, 1],
        [{"?:": [false, 1, 2]}, {}, 2],
        [{"?:": [{">": [3, 1]}, "visible", "hidden"]}, {}, "visible"],

        "conditions and consequents are rules",
        [{"if": [{">": [2, 1]}, "apple", "banana"]}, null, "apple"],
        [{"if": [{">": [1, 2]}, "apple", "banana"]}, null, "banana"],
        [{"if": [true, {"cat": ["ap", "ple"]}, {"cat": ["ba", "na", "na"]}]}, null, "apple"],
        [{"if": [false, {"cat": ["ap", "ple"]}, {"cat": ["ba", "na", "na"]}]}, null, "banana"],

        "else-if chains: the first true condition wins",
        [{"if": [true, "apple", true, "banana"]}, null, "apple"],
        [{"if": [true, "apple", false, "banana"]}, null, "apple"],
        [{"if": [false, "apple", true, "banana"]}, null, "banana"],
        [{"if": [false, "apple", false, "banana"]}, null, null],
        [{"if": [true, "apple", true, "banana", "carrot"]}, null, "apple"],
        [{"if": [false, "apple", true, "banana", "carrot"]}, null, "banana"],
        [{"if": [false, "apple", false, "banana", "carrot"]}, null, "carrot"],
        [{"if": [false, "apple", false, "banana", false, "carrot"]}, null, null],
        [{"if": [false, "apple", false, "banana", false, "carrot", "date"]}, null, "date"],
        [{"if": [false, "apple", false, "banana", true, "carrot", "date"]}, null, "carrot"],
        [{"if": [false, "apple", true, "banana", false, "carrot", "date"]}, null, "banana"],
        [{"if": [false, "apple", true, "banana", true, "carrot", "date"]}, null, "banana"],
        [{"if": [true, "apple", true, "banana", true, "carrot", "date"]}, null, "apple"],

        "a typical tiering rule",
        [{"if": [{">=": [{"var": "spend"}, 1000]}, "gold", {">=": [{"var": "spend"}, 100]}, "silver", "bronze"]},
         {"spend": 1500}, "gold"],
        [{"if": [{">=": [{"var": "spend"}, 1000]}, "gold", {">=": [{"var": "spend"}, 100]}, "silver", "bronze"]},
         {"spend": 150}, "silver"],
        [{"if": [{">=": [{"var": "spend"}, 1000]}, "gold", {">=": [{"var": "spend"}, 100]}, "silver", "bronze"]},
         {}, "bronze"]
        ]"#,
    );
}

#[test]
fn flagd_string_operators() {
    check(
        r#"[
        "starts_with / ends_with (flagd): case-sensitive, on strings only",
        [{"starts_with": ["user@faas.com", "user@"]}, {}, true],
        [{"starts_with": ["user@faas.com", "faas"]}, {}, false],
        [{"starts_with": ["User@faas.com", "user"]}, {}, false],
        [{"starts_with": ["abc", ""]}, {}, true],
        [{"ends_with": ["user@faas.com", "@faas.com"]}, {}, true],
        [{"ends_with": ["user@faas.com", "@faas.org"]}, {}, false],
        [{"ends_with": [{"var": "email"}, "@example.com"]}, {"email": "ada@example.com"}, true],

        "anything but two strings is an error, which flagd turns into null",
        [{"starts_with": [{"var": "email"}, "a"]}, {}, null],
        [{"starts_with": [123, "1"]}, {}, null],
        [{"ends_with": ["abc"]}, {}, null],
        [{"ends_with": ["abc", "c", "d"]}, {}, null]
        ]"#,
    );
}

#[test]
fn flagd_sem_ver() {
    check(
        r#"[
        "comparisons follow SemVer precedence, numerically",
        [{"sem_ver": ["1.2.3", "=", "1.2.3"]}, {}, true],
        [{"sem_ver": ["1.2.3", "=", "1.2.4"]}, {}, false],
        [{"sem_ver": ["1.2.3", "!=", "1.2.4"]}, {}, true],
        [{"sem_ver": ["1.10.0", ">", "1.9.0"]}, {}, true],
        [{"sem_ver": ["1.9.0", ">", "1.10.0"]}, {}, false],
        [{"sem_ver": ["2.0.0", ">=", "2.0.0"]}, {}, true],
        [{"sem_ver": ["1.2.3", "<", "1.2.3"]}, {}, false],
        [{"sem_ver": ["1.2.3", "<=", "1.2.3"]}, {}, true],
        [{"sem_ver": ["1.0.0-alpha", "<", "1.0.0"]}, {}, true],
        [{"sem_ver": ["1.0.0-rc.2", "<", "1.0.0-rc.10"]}, {}, true],
        [{"sem_ver": ["1.0.0-alpha", "<", "1.0.0-alpha.1"]}, {}, true],

        "a v prefix and build metadata do not matter",
        [{"sem_ver": ["v1.2.3", "=", "1.2.3"]}, {}, true],
        [{"sem_ver": ["1.2.3+build.5", "=", "1.2.3"]}, {}, true],

        "~ matches major and minor, ^ matches major",
        [{"sem_ver": ["1.5.9", "~", "1.5.0"]}, {}, true],
        [{"sem_ver": ["1.6.0", "~", "1.5.0"]}, {}, false],
        [{"sem_ver": ["1.9.9", "^", "1.0.0"]}, {}, true],
        [{"sem_ver": ["2.0.0", "^", "1.0.0"]}, {}, false],

        "from the context",
        [{"sem_ver": [{"var": "version"}, ">=", "2.1.0"]}, {"version": "2.1.10"}, true],
        [{"sem_ver": [{"var": "version"}, ">=", "2.1.0"]}, {"version": "2.0.99"}, false],

        "invalid versions, operators or arity give null",
        [{"sem_ver": [{"var": "version"}, ">=", "2.1.0"]}, {}, null],
        [{"sem_ver": ["not-a-version", "=", "1.0.0"]}, {}, null],
        [{"sem_ver": ["1.0.0", "===", "1.0.0"]}, {}, null],
        [{"sem_ver": ["1.0.0", "="]}, {}, null]
        ]"#,
    );
}

/// A flag that splits traffic four ways by `bucket_key` (the default key when `None`).
fn colors(flag_key: &str, bucket_key: Option<Value>) -> FlagSet {
    let mut args = vec![];
    args.extend(bucket_key);
    for color in ["red", "green", "blue", "yellow"] {
        args.push(json!([color, 25]));
    }
    one_flag(
        flag_key,
        &json!({"fractional": args}),
        &["red", "green", "blue", "yellow", "none"],
        Some("none"),
    )
}

fn ctx(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
        .collect()
}

fn variant_of(set: &FlagSet, key: &str, context: &Map<String, Value>) -> String {
    let r = set.evaluate(key, context, NOW);
    assert!(r.error.is_none(), "{key}: {:?}", r.error);
    r.variant.expect("a variant").to_owned()
}

#[test]
fn fractional_with_an_explicit_bucket_key() {
    // Expected buckets computed outside rodeo, with a separate Python implementation of
    // MurmurHash3 x86_32 (seed 0) and flagd's v2 mapping `(hash * totalWeight) >> 32`.
    let set = colors("colors", Some(json!({"var": "email"})));
    let table = [
        ("alice@example.com", "yellow"),
        ("bob@example.com", "red"),
        ("carol@example.com", "blue"),
        ("dave@example.com", "green"),
        ("erin@example.com", "green"),
        ("frank@example.com", "red"),
    ];
    for (email, want) in table {
        let got = variant_of(&set, "colors", &ctx(&[("email", email)]));
        assert_eq!(got, want, "{email}");
        // The explicit key alone decides: the targeting key and the flag key play no part.
        let with_key = ctx(&[("email", email), ("targetingKey", "someone-else")]);
        assert_eq!(variant_of(&set, "colors", &with_key), want, "{email}");
        let renamed = colors("renamed", Some(json!({"var": "email"})));
        assert_eq!(variant_of(&renamed, "renamed", &with_key), want, "{email}");
    }
}

#[test]
fn fractional_defaults_to_flag_key_and_targeting_key() {
    // Computed as above, with the key "colors" + targetingKey.
    let set = colors("colors", None);
    let table = [
        ("user-1", "yellow"),
        ("user-2", "green"),
        ("user-3", "green"),
        ("user-4", "blue"),
        ("user-5", "blue"),
        ("user-6", "green"),
    ];
    for (user, want) in table {
        assert_eq!(
            variant_of(&set, "colors", &ctx(&[("targetingKey", user)])),
            want,
            "{user}"
        );
    }
    // The default key is exactly flagKey + targetingKey.
    let explicit = colors(
        "colors",
        Some(json!({"cat": [{"var": "$flagd.flagKey"}, {"var": "targetingKey"}]})),
    );
    for i in 0..2_000 {
        let c = ctx(&[("targetingKey", &format!("user-{i}"))]);
        assert_eq!(
            variant_of(&set, "colors", &c),
            variant_of(&explicit, "colors", &c),
            "user-{i}"
        );
    }
    // So two flags with the same split assign users independently.
    let other = colors("shades", None);
    let differ = (0..1_000)
        .filter(|i| {
            let c = ctx(&[("targetingKey", &format!("user-{i}"))]);
            variant_of(&set, "colors", &c) != variant_of(&other, "shades", &c)
        })
        .count();
    assert!((600..900).contains(&differ), "{differ} of 1000 differ");
    // Without a targeting key there is nothing to hash: the default variant applies. An
    // empty one counts as absent, as in flagd's JavaScript core (`!targetingKey`); flagd's
    // Go evaluator would hash the flag key alone.
    let r = set.evaluate("colors", &Map::new(), NOW);
    assert_eq!((r.variant, r.reason), (Some("none"), Reason::Default));
    let r = set.evaluate("colors", &ctx(&[("targetingKey", "")]), NOW);
    assert_eq!((r.variant, r.reason), (Some("none"), Reason::Default));
}

#[test]
fn fractional_is_stable_and_follows_the_weights() {
    let doc = |weights: [u32; 3]| {
        json!({"flags": {"split": {
            "state": "ENABLED",
            "variants": {"a": "a", "b": "b", "c": "c"},
            "defaultVariant": null,
            "targeting": {"fractional": [["a", weights[0]], ["b", weights[1]], ["c", weights[2]]]},
        }}})
    };
    let set = FlagSet::compile(&doc([10, 20, 70])).unwrap();
    let again = FlagSet::compile(&doc([10, 20, 70])).unwrap();
    let mut counts = [0u32; 3];
    for i in 0..10_000 {
        let c = ctx(&[("targetingKey", &format!("{i:08x}-user"))]);
        let v = variant_of(&set, "split", &c);
        assert_eq!(v, variant_of(&set, "split", &c), "the same key, twice");
        assert_eq!(
            v,
            variant_of(&again, "split", &c),
            "the same key, recompiled"
        );
        counts[usize::from(v.as_bytes()[0] - b'a')] += 1;
    }
    for (count, want) in counts.iter().zip([0.10, 0.20, 0.70]) {
        let share = f64::from(*count) / 10_000.0;
        assert!((share - want).abs() < 0.02, "{counts:?}");
    }
    // A zero weight is never chosen; missing weights count 1 each.
    let zero = FlagSet::compile(&doc([0, 1, 1])).unwrap();
    let even = one_flag(
        "even",
        &json!({"fractional": [["a"], ["b"]]}),
        &["a", "b"],
        None,
    );
    let mut a = 0;
    for i in 0..10_000 {
        let c = ctx(&[("targetingKey", &format!("{i}"))]);
        assert_ne!(variant_of(&zero, "split", &c), "a");
        if variant_of(&even, "even", &c) == "a" {
            a += 1;
        }
    }
    assert!((4_800..5_200).contains(&a), "{a} of 10000 in a");
}

#[test]
fn fractional_composes_with_other_rules() {
    let set = one_flag(
        "rollout",
        &json!({"if": [
            {"ends_with": [{"var": "email"}, "@staff.example"]}, "on",
            {"fractional": [{"var": "email"}, ["on", 50], ["off", 50]]}
        ]}),
        &["on", "off"],
        Some("off"),
    );
    assert!(set.problems().is_empty(), "{:?}", set.problems());
    assert_eq!(
        variant_of(&set, "rollout", &ctx(&[("email", "ada@staff.example")])),
        "on"
    );
    let ons = (0..1_000)
        .filter(|i| {
            let email = format!("user{i}@example.com");
            variant_of(&set, "rollout", &ctx(&[("email", &email)])) == "on"
        })
        .count();
    assert!((400..600).contains(&ons), "{ons} of 1000 on");
}
