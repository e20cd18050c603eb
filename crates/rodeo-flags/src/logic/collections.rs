//! JSON Logic's operators over arrays (`map`, `filter`, `all`, `none`, `some`, `reduce`,
//! `merge`) and over the data's keys (`missing`, `missing_some`). The array operators
//! evaluate their body once per element, with `var` reading the element.

use std::borrow::Cow;

use serde_json::Value;

use super::eval::{all_args, arg, eval, find, Data, Env, Val, NULL};
use super::{Expr, Op};
use crate::value::{to_number, to_text, truthy};

pub(super) fn merge<'a>(args: &'a [Expr], env: &Env<'a>, data: Data<'a>) -> Val<'a> {
    let mut out = Vec::new();
    for v in all_args(args, env, data) {
        match v.into_owned() {
            Value::Array(items) => out.extend(items),
            other => out.push(other),
        }
    }
    Cow::Owned(Value::Array(out))
}

pub(super) fn missing_some<'a>(args: &'a [Expr], env: &Env<'a>, data: Data<'a>) -> Val<'a> {
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

fn is_missing(key: &Value, env: &Env<'_>, data: Data<'_>) -> bool {
    let path = to_text(key);
    match find(path.split('.'), env, data) {
        None => true,
        Some(v) => matches!(&*v, Value::Null) || matches!(&*v, Value::String(s) if s.is_empty()),
    }
}

pub(super) fn missing<'a>(args: &'a [Expr], env: &Env<'a>, data: Data<'a>) -> Val<'a> {
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

pub(super) fn each<'a>(op: Op, args: &'a [Expr], env: &Env<'a>, data: Data<'a>) -> Val<'a> {
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

pub(super) fn reduce<'a>(args: &'a [Expr], env: &Env<'a>, data: Data<'a>) -> Val<'a> {
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
