//! Walks a compiled [`Expr`] against a context. Values borrow from the rule and the
//! context wherever they can; only computed results are allocated. Operators with a
//! fixed number of operands evaluate them one by one rather than into a `Vec`, and
//! evaluate only those that can decide the result: evaluation has no side effects.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::{collections, fractional, semver, Arg, Expr, Op, SemVer, Var, VarPath};
use crate::value::{compare, loose_eq, number, strict_eq, to_number, to_text, truthy};

/// What a rule sees: the evaluation context plus flagd's `$flagd` properties.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Env<'a> {
    pub(crate) context: &'a Map<String, Value>,
    pub(crate) flag_key: &'a str,
    /// Unix seconds, as `$flagd.timestamp`.
    pub(crate) timestamp: i64,
}

/// The data `var` reads: the context at the top, the current element inside
/// `map`, `filter`, `all`, `none`, `some` and `reduce`.
#[derive(Clone, Copy)]
pub(super) enum Data<'a> {
    Root,
    Item(&'a Value),
}

pub(super) type Val<'a> = Cow<'a, Value>;

pub(super) const NULL: Val<'static> = Cow::Owned(Value::Null);

impl Expr {
    pub(crate) fn evaluate<'a>(&'a self, env: &Env<'a>) -> Val<'a> {
        eval(self, env, Data::Root)
    }
}

pub(super) fn eval<'a>(e: &'a Expr, env: &Env<'a>, data: Data<'a>) -> Val<'a> {
    match e {
        Expr::Literal(v) => Cow::Borrowed(v),
        Expr::Array(items) => Cow::Owned(Value::Array(
            items
                .iter()
                .map(|i| eval(i, env, data).into_owned())
                .collect(),
        )),
        Expr::Var(var) => lookup(var, env, data),
        Expr::Op(op, args) => apply(*op, args, env, data),
        Expr::SemVer(rule) => sem_ver(rule, env, data),
    }
}

fn lookup<'a>(var: &'a Var, env: &Env<'a>, data: Data<'a>) -> Val<'a> {
    let found: Option<Val<'a>> = match &var.path {
        VarPath::Whole => Some(match data {
            Data::Root => Cow::Owned(Value::Object(env.context.clone())),
            Data::Item(v) => Cow::Borrowed(v),
        }),
        VarPath::Keys(keys) => find(keys.iter().map(String::as_str), env, data),
        VarPath::Computed(path) => {
            let path = eval(path, env, data);
            let text = to_text(&path).into_owned();
            if text.is_empty() {
                Some(match data {
                    Data::Root => Cow::Owned(Value::Object(env.context.clone())),
                    Data::Item(v) => Cow::Borrowed(v),
                })
            } else {
                find(text.split('.'), env, data).map(|v| Cow::Owned(v.into_owned()))
            }
        }
    };
    match found {
        Some(v) if !v.is_null() => v,
        _ => var.default.as_ref().map_or(NULL, |d| eval(d, env, data)),
    }
}

pub(super) fn find<'a, 'k>(
    mut keys: impl Iterator<Item = &'k str>,
    env: &Env<'a>,
    data: Data<'a>,
) -> Option<Val<'a>> {
    let first = keys.next()?;
    let mut at: &'a Value = match data {
        Data::Item(v) => step(v, first)?,
        Data::Root if first == "$flagd" => return flagd(keys, env),
        Data::Root => env.context.get(first)?,
    };
    for key in keys {
        at = step(at, key)?;
    }
    Some(Cow::Borrowed(at))
}

fn step<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Object(map) => map.get(key),
        Value::Array(items) => items.get(key.parse::<usize>().ok()?),
        _ => None,
    }
}

fn flagd<'a, 'k>(mut keys: impl Iterator<Item = &'k str>, env: &Env<'a>) -> Option<Val<'a>> {
    let value = match keys.next() {
        None => serde_json::json!({"flagKey": env.flag_key, "timestamp": env.timestamp}),
        Some("flagKey") => Value::String(env.flag_key.to_owned()),
        Some("timestamp") => Value::from(env.timestamp),
        Some(_) => return None,
    };
    keys.next().is_none().then_some(Cow::Owned(value))
}

fn bool_val<'a>(b: bool) -> Val<'a> {
    Cow::Owned(Value::Bool(b))
}

fn num_val<'a>(f: Option<f64>) -> Val<'a> {
    Cow::Owned(f.filter(|f| f.is_finite()).map_or(Value::Null, number))
}

/// For the operators that take any number of operands and need them all at once.
pub(super) fn all_args<'a>(args: &'a [Expr], env: &Env<'a>, data: Data<'a>) -> Vec<Val<'a>> {
    args.iter().map(|a| eval(a, env, data)).collect()
}

pub(super) fn arg<'a>(args: &'a [Expr], i: usize, env: &Env<'a>, data: Data<'a>) -> Val<'a> {
    args.get(i).map_or(NULL, |a| eval(a, env, data))
}

fn apply<'a>(op: Op, args: &'a [Expr], env: &Env<'a>, data: Data<'a>) -> Val<'a> {
    match op {
        Op::If => {
            let mut i = 0;
            while i + 1 < args.len() {
                if truthy(&eval(&args[i], env, data)) {
                    return eval(&args[i + 1], env, data);
                }
                i += 2;
            }
            if i < args.len() {
                eval(&args[i], env, data)
            } else {
                NULL
            }
        }
        Op::Or | Op::And => {
            let mut last = NULL;
            for a in args {
                last = eval(a, env, data);
                if truthy(&last) == (op == Op::Or) {
                    return last;
                }
            }
            last
        }
        Op::Not => bool_val(!truthy(&arg(args, 0, env, data))),
        Op::Truthy => bool_val(truthy(&arg(args, 0, env, data))),
        Op::Eq | Op::Ne | Op::StrictEq | Op::StrictNe => {
            let (a, b) = (arg(args, 0, env, data), arg(args, 1, env, data));
            let same = if matches!(op, Op::Eq | Op::Ne) {
                loose_eq(&a, &b)
            } else {
                strict_eq(&a, &b)
            };
            bool_val(same == matches!(op, Op::Eq | Op::StrictEq))
        }
        Op::Lt | Op::Le | Op::Gt | Op::Ge => relation(op, args, env, data),
        Op::Max | Op::Min => {
            let pick = if op == Op::Max { f64::max } else { f64::min };
            let mut acc = None;
            for a in args {
                let Some(n) = to_number(&eval(a, env, data)) else {
                    return NULL;
                };
                acc = Some(acc.map_or(n, |acc| pick(acc, n)));
            }
            num_val(acc)
        }
        Op::Add | Op::Mul => {
            let mut acc = if op == Op::Add { 0.0 } else { 1.0 };
            for a in args {
                let Some(n) = to_number(&eval(a, env, data)) else {
                    return NULL;
                };
                acc = if op == Op::Add { acc + n } else { acc * n };
            }
            if op == Op::Mul && args.is_empty() {
                return NULL;
            }
            num_val(Some(acc))
        }
        Op::Sub | Op::Div | Op::Mod => {
            let a = to_number(&arg(args, 0, env, data));
            if op == Op::Sub && args.len() == 1 {
                return num_val(a.map(|a| -a));
            }
            let b = to_number(&arg(args, 1, env, data));
            num_val(a.zip(b).map(|(a, b)| match op {
                Op::Sub => a - b,
                Op::Div => a / b,
                _ => a % b,
            }))
        }
        Op::In => {
            let (needle, hay) = (arg(args, 0, env, data), arg(args, 1, env, data));
            bool_val(match &*hay {
                Value::String(s) => s.contains(to_text(&needle).as_ref()),
                Value::Array(items) => items.iter().any(|i| strict_eq(i, &needle)),
                _ => false,
            })
        }
        Op::Cat => {
            let mut out = String::new();
            // `null` prints as nothing, as in json-logic-js (`Array.join`) and flagd.
            for a in args {
                let v = eval(a, env, data);
                if !v.is_null() {
                    out.push_str(&to_text(&v));
                }
            }
            Cow::Owned(Value::String(out))
        }
        Op::Substr => substr(&all_args(args, env, data)),
        Op::Merge => collections::merge(args, env, data),
        Op::Missing => collections::missing(args, env, data),
        Op::MissingSome => collections::missing_some(args, env, data),
        Op::Map | Op::Filter | Op::All | Op::None | Op::Some => {
            collections::each(op, args, env, data)
        }
        Op::Reduce => collections::reduce(args, env, data),
        Op::Log => arg(args, 0, env, data),
        Op::Fractional => fractional_op(args, env, data),
        Op::StartsWith | Op::EndsWith => {
            let [a, b] = args else { return NULL };
            match (&*eval(a, env, data), &*eval(b, env, data)) {
                (Value::String(s), Value::String(t)) => bool_val(if op == Op::StartsWith {
                    s.starts_with(t.as_str())
                } else {
                    s.ends_with(t.as_str())
                }),
                _ => NULL,
            }
        }
        // Three operands compile to `Expr::SemVer`; any other count is flagd's `null`.
        Op::SemVer => NULL,
    }
}

/// `<`, `<=`, `>`, `>=` on two operands; `<` and `<=` also on three ("between").
fn relation<'a>(op: Op, args: &'a [Expr], env: &Env<'a>, data: Data<'a>) -> Val<'a> {
    use std::cmp::Ordering::{Equal, Greater, Less};
    let holds = |a: &Value, b: &Value| {
        matches!(
            (op, compare(a, b)),
            (Op::Lt, Some(Less))
                | (Op::Le, Some(Less | Equal))
                | (Op::Gt, Some(Greater))
                | (Op::Ge, Some(Greater | Equal))
        )
    };
    let [a, b, rest @ ..] = args else {
        return bool_val(false);
    };
    let (a, b) = (eval(a, env, data), eval(b, env, data));
    bool_val(match rest {
        [c] if matches!(op, Op::Lt | Op::Le) => holds(&a, &b) && holds(&b, &eval(c, env, data)),
        _ => holds(&a, &b),
    })
}

fn substr<'a>(vals: &[Val<'a>]) -> Val<'a> {
    let text = vals
        .first()
        .map(|v| to_text(v).into_owned())
        .unwrap_or_default();
    let chars: Vec<char> = text.chars().collect();
    #[allow(clippy::cast_possible_wrap, clippy::cast_possible_truncation)]
    let len = chars.len() as i64;
    #[allow(clippy::cast_possible_truncation)]
    let int = |v: Option<&Val<'a>>| v.and_then(|v| to_number(v)).map(|f| f.trunc() as i64);
    let start = int(vals.get(1)).unwrap_or(0);
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start.min(len)
    };
    let end = match int(vals.get(2)) {
        None => len,
        Some(n) if n < 0 => (len + n).max(start),
        // The length can come from the context: 1e300 saturates to i64::MAX.
        Some(n) => start.saturating_add(n).min(len),
    };
    #[allow(clippy::cast_sign_loss, clippy::cast_possible_truncation)]
    let out: String = chars[start as usize..end.max(start) as usize]
        .iter()
        .collect();
    Cow::Owned(Value::String(out))
}

/// A first operand that evaluates to a string is the bucketing key; `null` there asks for
/// the default key, and anything else is already the first bucket.
fn fractional_op<'a>(args: &'a [Expr], env: &Env<'a>, data: Data<'a>) -> Val<'a> {
    let Some(first) = args.first() else {
        return NULL;
    };
    let (hash, buckets) = match &*eval(first, env, data) {
        Value::String(key) => (fractional::key_hash(key), &args[1..]),
        first => {
            let targeting_key = env.context.get("targetingKey");
            let Some(hash) = fractional::default_key_hash(env.flag_key, targeting_key) else {
                return NULL;
            };
            (hash, if first.is_null() { &args[1..] } else { args })
        }
    };
    let buckets = buckets.iter().map(move |b| eval(b, env, data));
    fractional::choose(hash, buckets).unwrap_or(NULL)
}

fn sem_ver<'a>(rule: &'a SemVer, env: &Env<'a>, data: Data<'a>) -> Val<'a> {
    let cmp = match &rule.cmp {
        Arg::Literal(cmp) => *cmp,
        Arg::Computed(e) => semver::Cmp::of(&eval(e, env, data)),
    };
    let Some(cmp) = cmp else { return NULL };
    let version = |arg: &'a Arg<semver::Parsed>| match arg {
        Arg::Literal(parsed) => semver::Operand::Parsed(parsed.as_ref()),
        Arg::Computed(e) => semver::Operand::Value(eval(e, env, data)),
    };
    let (left, right) = (version(&rule.left), version(&rule.right));
    semver::compare(&left, cmp, &right).map_or(NULL, bool_val)
}
