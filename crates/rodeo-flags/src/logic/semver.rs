//! `sem_ver`: flagd's semantic-version comparison. Versions follow Go's
//! `golang.org/x/mod/semver`, which flagd uses: a leading `v` (added when missing, `V`
//! accepted), shorthands `1` and `1.2` meaning `1.0.0` and `1.2.0`, pre-releases ordered
//! by SemVer 2.0 precedence, build metadata ignored. Any invalid input yields `null`.
//!
//! Comparing strings allocates nothing: a [`Version`] borrows its parts from the operand's
//! text, and a literal operand is parsed once, when the rule is compiled ([`Parsed`]).

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::Value;

use crate::value::to_text;

#[derive(Debug, PartialEq, Eq)]
struct Version<'a> {
    major: &'a str,
    minor: &'a str,
    patch: &'a str,
    pre: Option<&'a str>,
}

/// A literal version, parsed when the rule was compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed {
    major: Box<str>,
    minor: Box<str>,
    patch: Box<str>,
    pre: Option<Box<str>>,
}

impl Parsed {
    /// `None` when `v` is not a version.
    pub(crate) fn of(v: &Value) -> Option<Self> {
        let text = text(v)?;
        let version = parse(&text)?;
        Some(Self {
            major: version.major.into(),
            minor: version.minor.into(),
            patch: version.patch.into(),
            pre: version.pre.map(Into::into),
        })
    }

    fn version(&self) -> Version<'_> {
        Version {
            major: &self.major,
            minor: &self.minor,
            patch: &self.patch,
            pre: self.pre.as_deref(),
        }
    }
}

/// `sem_ver`'s comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `~`: same major and minor.
    Tilde,
    /// `^`: same major.
    Caret,
}

impl Cmp {
    /// `None` for anything but one of flagd's operator strings.
    pub(crate) fn of(v: &Value) -> Option<Self> {
        let Value::String(op) = v else { return None };
        Some(match op.as_str() {
            "=" => Self::Eq,
            "!=" => Self::Ne,
            "<" => Self::Lt,
            "<=" => Self::Le,
            ">" => Self::Gt,
            ">=" => Self::Ge,
            "~" => Self::Tilde,
            "^" => Self::Caret,
            _ => return None,
        })
    }

    fn holds(self, a: &Version<'_>, b: &Version<'_>) -> bool {
        match self {
            Self::Eq => precedence(a, b) == Ordering::Equal,
            Self::Ne => precedence(a, b) != Ordering::Equal,
            Self::Lt => precedence(a, b) == Ordering::Less,
            Self::Le => precedence(a, b) != Ordering::Greater,
            Self::Gt => precedence(a, b) == Ordering::Greater,
            Self::Ge => precedence(a, b) != Ordering::Less,
            Self::Tilde => {
                numeric(a.major, b.major).then(numeric(a.minor, b.minor)) == Ordering::Equal
            }
            Self::Caret => numeric(a.major, b.major) == Ordering::Equal,
        }
    }
}

/// A version operand as evaluation has it.
pub(crate) enum Operand<'a> {
    /// A literal parsed at compile time (`None`: it was not a version).
    Parsed(Option<&'a Parsed>),
    /// A value computed for this context.
    Value(Cow<'a, Value>),
}

/// `left cmp right` → `Some(bool)`, or `None` (flagd's `null`) when either side is not
/// a version.
pub(crate) fn compare(left: &Operand<'_>, cmp: Cmp, right: &Operand<'_>) -> Option<bool> {
    with_version(left, |a| with_version(right, |b| Some(cmp.holds(&a, &b))))
}

/// Calls `f` with the operand's version; a callback rather than a return value because a
/// number's version borrows from text made here.
fn with_version<R>(operand: &Operand<'_>, f: impl FnOnce(Version<'_>) -> Option<R>) -> Option<R> {
    match operand {
        Operand::Parsed(parsed) => f(parsed.as_ref()?.version()),
        Operand::Value(v) => f(parse(&text(v)?)?),
    }
}

/// Go's `fmt.Sprint` of the JSON value, for the values that can be versions.
fn text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(_) => Some(to_text(v)),
        _ => None,
    }
}

/// Go's syntax, with the leading `v` optional: flagd adds it when missing, after turning
/// a leading `V` into `v`, so stripping either is the same as normalising first.
fn parse(text: &str) -> Option<Version<'_>> {
    let rest = text.strip_prefix(['v', 'V']).unwrap_or(text);
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
    // By byte: a digit is one byte, and no byte of a multi-byte character is a digit.
    let end = s
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(s.len());
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

    /// `a op b`, with each side both parsed ahead (as a literal is) and computed: the two
    /// must agree.
    fn sv(a: Value, op: &str, b: &str) -> Option<bool> {
        let cmp = Cmp::of(&json!(op))?;
        let b = json!(b);
        let (a_parsed, b_parsed) = (Parsed::of(&a), Parsed::of(&b));
        let computed = compare(
            &Operand::Value(Cow::Owned(a)),
            cmp,
            &Operand::Value(Cow::Owned(b)),
        );
        let parsed = compare(
            &Operand::Parsed(a_parsed.as_ref()),
            cmp,
            &Operand::Parsed(b_parsed.as_ref()),
        );
        assert_eq!(computed, parsed);
        computed
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
        assert_eq!(sv(json!("vv1.0.0"), "=", "1.0.0"), None);
        assert_eq!(sv(json!("Vv1.0.0"), "=", "1.0.0"), None);
        assert_eq!(sv(json!(""), "=", "1.0.0"), None);
        assert_eq!(Cmp::of(&json!(1)), None);
    }
}
