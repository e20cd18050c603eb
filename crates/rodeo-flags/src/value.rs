//! JSON Logic's value semantics, which follow JavaScript's: truthiness, loose and strict
//! equality, numeric coercion and how a value prints inside `cat` or as a variant name.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::{Number, Value};

/// JavaScript truthiness, with JSON Logic's one exception: an empty array is false.
pub(crate) fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(_) => true,
    }
}

/// JavaScript's `Number(v)`; `None` stands for NaN.
pub(crate) fn to_number(v: &Value) -> Option<f64> {
    match v {
        Value::Null => Some(0.0),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() {
                Some(0.0)
            } else {
                t.parse::<f64>().ok().filter(|f| f.is_finite())
            }
        }
        Value::Array(a) => match a.as_slice() {
            [] => Some(0.0),
            [one] => to_number(one),
            _ => None,
        },
        Value::Object(_) => None,
    }
}

/// A number as JSON: integral values stay integers so that `1 + 1` prints `2`, not `2.0`.
pub(crate) fn number(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 {
        #[allow(clippy::cast_possible_truncation)]
        Value::Number(Number::from(f as i64))
    } else {
        Number::from_f64(f).map_or(Value::Null, Value::Number)
    }
}

/// JavaScript's `String(v)` for the values JSON Logic produces.
pub(crate) fn to_text(v: &Value) -> Cow<'_, str> {
    match v {
        Value::Null => Cow::Borrowed("null"),
        Value::Bool(true) => Cow::Borrowed("true"),
        Value::Bool(false) => Cow::Borrowed("false"),
        Value::String(s) => Cow::Borrowed(s),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Cow::Owned(i.to_string()),
            (_, Some(u), _) => Cow::Owned(u.to_string()),
            (_, _, Some(f)) => Cow::Owned(float_text(f)),
            _ => Cow::Owned(n.to_string()),
        },
        Value::Array(a) => Cow::Owned(
            a.iter()
                .map(|x| match x {
                    Value::Null => Cow::Borrowed(""),
                    other => to_text(other),
                })
                .collect::<Vec<_>>()
                .join(","),
        ),
        Value::Object(_) => Cow::Borrowed("[object Object]"),
    }
}

fn float_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e21 {
        format!("{f:.0}")
    } else {
        f.to_string()
    }
}

/// JavaScript's `===` on JSON values (numbers compare by value, containers never equal).
pub(crate) fn strict_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(_) | Value::Object(_), _) | (_, Value::Array(_) | Value::Object(_)) => false,
        _ => a == b,
    }
}

/// JavaScript's `==` (the abstract equality algorithm, restricted to JSON values).
pub(crate) fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(_), Value::Number(_)) => strict_eq(a, b),
        (Value::Array(_) | Value::Object(_), Value::Array(_) | Value::Object(_)) => false,
        (Value::Array(_) | Value::Object(_), other)
        | (other, Value::Array(_) | Value::Object(_)) => {
            let container = if matches!(a, Value::Array(_) | Value::Object(_)) {
                a
            } else {
                b
            };
            loose_eq(&Value::String(to_text(container).into_owned()), other)
        }
        _ => match (to_number(a), to_number(b)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
    }
}

/// JavaScript's relational comparison: two strings compare by code unit, anything else
/// numerically; `None` when either side is NaN (every comparison is then false).
pub(crate) fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    if let (Value::String(x), Value::String(y)) = (a, b) {
        return Some(x.encode_utf16().cmp(y.encode_utf16()));
    }
    let (x, y) = (to_number(a)?, to_number(b)?);
    x.partial_cmp(&y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn truthiness_follows_json_logic() {
        for falsy in [json!(null), json!(false), json!(0), json!(""), json!([])] {
            assert!(!truthy(&falsy), "{falsy}");
        }
        for yes in [json!(true), json!(-1), json!("0"), json!([0]), json!({})] {
            assert!(truthy(&yes), "{yes}");
        }
    }

    #[test]
    fn loose_equality_coerces_like_javascript() {
        assert!(loose_eq(&json!(1), &json!("1")));
        assert!(loose_eq(&json!(0), &json!(false)));
        assert!(loose_eq(&json!(1.0), &json!(1)));
        assert!(!loose_eq(&json!(null), &json!(0)));
        assert!(!loose_eq(&json!("a"), &json!(0)));
        assert!(!strict_eq(&json!(1), &json!("1")));
    }

    #[test]
    fn numbers_print_like_javascript() {
        assert_eq!(to_text(&number(2.0)), "2");
        assert_eq!(to_text(&json!(1.5)), "1.5");
        assert_eq!(to_text(&json!(1.0)), "1");
        assert_eq!(to_text(&json!([1, null, "a"])), "1,,a");
    }

    #[test]
    fn strings_compare_as_strings_and_mixed_as_numbers() {
        assert_eq!(compare(&json!("10"), &json!("9")), Some(Ordering::Less));
        assert_eq!(compare(&json!("10"), &json!(9)), Some(Ordering::Greater));
        assert_eq!(compare(&json!("x"), &json!(9)), None);
    }
}
