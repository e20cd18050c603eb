//! `sem_ver`: flagd's semantic-version comparison. Versions follow Go's
//! `golang.org/x/mod/semver`, which flagd uses: a leading `v` (added when missing, `V`
//! accepted), shorthands `1` and `1.2` meaning `1.0.0` and `1.2.0`, pre-releases ordered
//! by SemVer 2.0 precedence, build metadata ignored. Any invalid input yields `null`.

use std::borrow::Borrow;
use std::cmp::Ordering;

use serde_json::Value;

#[derive(Debug, PartialEq, Eq)]
struct Version<'a> {
    major: &'a str,
    minor: &'a str,
    patch: &'a str,
    pre: Option<&'a str>,
}

/// `[version, operator, version]` → `Some(bool)`, or `None` for flagd's `null`.
pub(crate) fn evaluate<B: Borrow<Value>>(args: &[B]) -> Option<bool> {
    let [left, op, right] = args else { return None };
    let (left, right) = (normalize(left.borrow())?, normalize(right.borrow())?);
    let (a, b) = (parse(&left)?, parse(&right)?);
    let Value::String(op) = op.borrow() else {
        return None;
    };
    Some(match op.as_str() {
        "=" => precedence(&a, &b) == Ordering::Equal,
        "!=" => precedence(&a, &b) != Ordering::Equal,
        "<" => precedence(&a, &b) == Ordering::Less,
        "<=" => precedence(&a, &b) != Ordering::Greater,
        ">" => precedence(&a, &b) == Ordering::Greater,
        ">=" => precedence(&a, &b) != Ordering::Less,
        "~" => numeric(a.major, b.major).then(numeric(a.minor, b.minor)) == Ordering::Equal,
        "^" => numeric(a.major, b.major) == Ordering::Equal,
        _ => return None,
    })
}

/// Go's `fmt.Sprint` of the JSON value, with the `v` prefix ensured.
fn normalize(v: &Value) -> Option<String> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(_) => crate::value::to_text(v).into_owned(),
        _ => return None,
    };
    if text.starts_with('v') {
        Some(text)
    } else {
        Some(format!("v{}", text.strip_prefix('V').unwrap_or(&text)))
    }
}

fn parse(v: &str) -> Option<Version<'_>> {
    let rest = v.strip_prefix('v')?;
    let (major, rest) = take_number(rest)?;
    if rest.is_empty() {
        return Some(Version {
            major,
            minor: "0",
            patch: "0",
            pre: None,
        });
    }
    let (minor, rest) = take_number(rest.strip_prefix('.')?)?;
    if rest.is_empty() {
        return Some(Version {
            major,
            minor,
            patch: "0",
            pre: None,
        });
    }
    let (patch, mut rest) = take_number(rest.strip_prefix('.')?)?;
    let mut pre = None;
    if let Some(p) = rest.strip_prefix('-') {
        let end = p.find('+').unwrap_or(p.len());
        let ids = &p[..end];
        if !ids.split('.').all(|id| identifier(id, true)) {
            return None;
        }
        pre = Some(ids);
        rest = &p[end..];
    }
    if let Some(build) = rest.strip_prefix('+') {
        if !build.split('.').all(|id| identifier(id, false)) {
            return None;
        }
        rest = "";
    }
    rest.is_empty().then_some(Version {
        major,
        minor,
        patch,
        pre,
    })
}

fn take_number(s: &str) -> Option<(&str, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n = &s[..end];
    (!n.is_empty() && (n == "0" || !n.starts_with('0'))).then_some((n, &s[end..]))
}

fn identifier(id: &str, pre_release: bool) -> bool {
    !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !(pre_release && id.len() > 1 && id.starts_with('0') && is_numeric(id))
}

fn is_numeric(id: &str) -> bool {
    id.bytes().all(|b| b.is_ascii_digit())
}

/// Numbers of any length, without leading zeros: longer is larger, then by digits.
fn numeric(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn precedence(a: &Version<'_>, b: &Version<'_>) -> Ordering {
    numeric(a.major, b.major)
        .then_with(|| numeric(a.minor, b.minor))
        .then_with(|| numeric(a.patch, b.patch))
        .then_with(|| match (a.pre, b.pre) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) => pre_release(x, y),
        })
}

fn pre_release(a: &str, b: &str) -> Ordering {
    let mut left = a.split('.');
    let mut right = b.split('.');
    loop {
        match (left.next(), right.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let order = match (is_numeric(x), is_numeric(y)) {
                    (true, true) => numeric(x, y),
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    (false, false) => x.cmp(y),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sv(a: Value, op: &str, b: &str) -> Option<bool> {
        evaluate(&[a, json!(op), json!(b)])
    }

    #[test]
    fn semver_precedence_table() {
        // From semver.org §11: 1.0.0-alpha < 1.0.0-alpha.1 < 1.0.0-alpha.beta < 1.0.0-beta
        // < 1.0.0-beta.2 < 1.0.0-beta.11 < 1.0.0-rc.1 < 1.0.0.
        let chain = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
        ];
        for pair in chain.windows(2) {
            assert_eq!(sv(json!(pair[0]), "<", pair[1]), Some(true), "{pair:?}");
            assert_eq!(sv(json!(pair[1]), "<", pair[0]), Some(false), "{pair:?}");
        }
    }

    #[test]
    fn go_shorthands_prefixes_and_invalid_input() {
        assert_eq!(sv(json!("1"), "=", "1.0.0"), Some(true));
        assert_eq!(sv(json!("V1.2"), "=", "v1.2.0"), Some(true));
        assert_eq!(sv(json!(1.2), ">", "1.1"), Some(true));
        assert_eq!(sv(json!("1.0.0+abc"), "=", "1.0.0+def"), Some(true));
        assert_eq!(sv(json!("3.0.9"), "~", "3.0.0"), Some(true));
        assert_eq!(sv(json!("3.9.0"), "^", "3.0.0"), Some(true));
        assert_eq!(sv(json!("2.0.0.0"), "=", "2.0.0"), None);
        assert_eq!(sv(json!("1.2-pre"), "=", "1.2.0"), None);
        assert_eq!(sv(json!("01.0.0"), "=", "1.0.0"), None);
        assert_eq!(sv(json!(true), "=", "1.0.0"), None);
        assert_eq!(sv(json!("1.0.0"), "===", "1.0.0"), None);
        assert_eq!(evaluate(&[json!("1.0.0"), json!("=")]), None);
    }
}
