//! Walks a compiled [`Expr`] against a context. Values borrow from the rule and the
//! context wherever they can; only computed results are allocated.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::{fractional, semver, Expr, Op, Var, VarPath};
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
enum Data<'a> {
    Root,
    Item(&'a Value),
}

type Val<'a> = Cow<'a, Value>;

const NULL: Val<'static> = Cow::Owned(Value::Null);

impl Expr {
    pub(crate) fn evaluate<'a>(&'a self, env: &Env<'a>) -> Val<'a> {
        eval(self, env, Data::Root)
    }
}

fn eval<'a>(e: &'a Expr, env: &Env<'a>, data: Data<'a>) -> Val<'a> {
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

fn find<'a, 'k>(
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

fn all_args<'a>(args: &'a [Expr], env: &Env<'a>, data: Data<'a>) -> Vec<Val<'a>> {
    args.iter().map(|a| eval(a, env, data)).collect()
}

fn arg<'a>(args: &'a [Expr], i: usize, env: &Env<'a>, data: Data<'a>) -> Val<'a> {
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
        Op::Lt | Op::Le | Op::Gt | Op::Ge => relation(op, &all_args(args, env, data)),
        Op::Max | Op::Min => {
            let nums: Option<Vec<f64>> = all_args(args, env, data)
                .iter()
                .map(|v| to_number(v))
                .collect();
            let nums = nums.unwrap_or_default();
            if nums.is_empty() {
                return NULL;
            }
            let pick = if op == Op::Max { f64::max } else { f64::min };
            num_val(nums.into_iter().reduce(pick))
        }
        Op::Add | Op::Mul => {
            let mut acc = if op == Op::Add { 0.0 } else { 1.0 };
            for v in all_args(args, env, data) {
                let Some(n) = to_number(&v) else { return NULL };
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
            for v in all_args(args, env, data).iter().filter(|v| !v.is_null()) {
                out.push_str(&to_text(v));
            }
            Cow::Owned(Value::String(out))
        }
        Op::Substr => substr(&all_args(args, env, data)),
        Op::Merge => {
            let mut out = Vec::new();
            for v in all_args(args, env, data) {
                match v.into_owned() {
                    Value::Array(items) => out.extend(items),
                    other => out.push(other),
                }
            }
            Cow::Owned(Value::Array(out))
        }
        Op::Missing => missing(args, env, data),
        Op::MissingSome => {
            let need = to_number(&arg(args, 0, env, data)).unwrap_or(0.0);
            let keys = arg(args, 1, env, data);
            let Value::Array(keys) = &*keys else {
                return Cow::Owned(Value::Array(Vec::new()));
            };
            let absent: Vec<Value> = keys
                .iter()
                .filter(|k| is_missing(k, env, data))
                .cloned()
                .collect();
            #[allow(clippy::cast_precision_loss)]
            let present = (keys.len() - absent.len()) as f64;
            Cow::Owned(Value::Array(if present >= need {
                Vec::new()
            } else {
                absent
            }))
        }
        Op::Map | Op::Filter | Op::All | Op::None | Op::Some => each(op, args, env, data),
        Op::Reduce => reduce(args, env, data),
        Op::Log => arg(args, 0, env, data),
        Op::Fractional => fractional_op(args, env, data),
        Op::StartsWith | Op::EndsWith => {
            let vals = all_args(args, env, data);
            match vals.as_slice() {
                [a, b] => match (&**a, &**b) {
                    (Value::String(s), Value::String(t)) => bool_val(if op == Op::StartsWith {
                        s.starts_with(t.as_str())
                    } else {
                        s.ends_with(t.as_str())
                    }),
                    _ => NULL,
                },
                _ => NULL,
            }
        }
        Op::SemVer => semver::evaluate(&all_args(args, env, data)).map_or(NULL, bool_val),
    }
}

fn relation<'a>(op: Op, vals: &[Val<'a>]) -> Val<'a> {
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
    match vals {
        [a, b] => bool_val(holds(a, b)),
        [a, b, c] if matches!(op, Op::Lt | Op::Le) => bool_val(holds(a, b) && holds(b, c)),
        [a, b, ..] => bool_val(holds(a, b)),
        _ => bool_val(false),
    }
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

fn is_missing(key: &Value, env: &Env<'_>, data: Data<'_>) -> bool {
    let path = to_text(key);
    match find(path.split('.'), env, data) {
        None => true,
        Some(v) => matches!(&*v, Value::Null) || matches!(&*v, Value::String(s) if s.is_empty()),
    }
}

fn missing<'a>(args: &'a [Expr], env: &Env<'a>, data: Data<'a>) -> Val<'a> {
    let vals = all_args(args, env, data);
    let keys: Vec<&Value> = match vals.first().map(|v| &**v) {
        Some(Value::Array(items)) => items.iter().collect(),
        _ => vals.iter().map(|v| &**v).collect(),
    };
    Cow::Owned(Value::Array(
        keys.into_iter()
            .filter(|k| is_missing(k, env, data))
            .cloned()
            .collect(),
    ))
}

fn each<'a>(op: Op, args: &'a [Expr], env: &Env<'a>, data: Data<'a>) -> Val<'a> {
    let list = arg(args, 0, env, data);
    let empty = Vec::new();
    let items = match &*list {
        Value::Array(items) => items,
        _ => &empty,
    };
    let Some(body) = args.get(1) else { return NULL };
    let test = |item: &Value| truthy(&eval(body, env, Data::Item(item)));
    Cow::Owned(match op {
        Op::Map => Value::Array(
            items
                .iter()
                .map(|i| eval(body, env, Data::Item(i)).into_owned())
                .collect(),
        ),
        Op::Filter => Value::Array(items.iter().filter(|i| test(i)).cloned().collect()),
        Op::All => Value::Bool(!items.is_empty() && items.iter().all(test)),
        Op::None => Value::Bool(!items.iter().any(test)),
        _ => Value::Bool(items.iter().any(test)),
    })
}

fn reduce<'a>(args: &'a [Expr], env: &Env<'a>, data: Data<'a>) -> Val<'a> {
    let list = arg(args, 0, env, data);
    let mut acc = arg(args, 2, env, data).into_owned();
    let (Value::Array(items), Some(body)) = (&*list, args.get(1)) else {
        return Cow::Owned(acc);
    };
    for item in items {
        let scope = serde_json::json!({"current": item, "accumulator": acc});
        acc = eval(body, env, Data::Item(&scope)).into_owned();
    }
    Cow::Owned(acc)
}

fn fractional_op<'a>(args: &'a [Expr], env: &Env<'a>, data: Data<'a>) -> Val<'a> {
    let vals = all_args(args, env, data);
    let (key, buckets) = match vals.first().map(|v| &**v) {
        None => return NULL,
        Some(Value::String(key)) => (key.clone(), &vals[1..]),
        Some(first) => {
            let Some(key) = fractional::default_key(env.flag_key, env.context.get("targetingKey"))
            else {
                return NULL;
            };
            (
                key,
                if first.is_null() {
                    &vals[1..]
                } else {
                    &vals[..]
                },
            )
        }
    };
    fractional::choose(&key, buckets).map_or(NULL, |v| Cow::Owned(v.clone()))
}
