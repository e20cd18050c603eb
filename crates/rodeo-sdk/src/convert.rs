//! Between OpenFeature's types and the JSON the engine reads.
//!
//! Context: `targeting_key` becomes `targetingKey` (over a custom field of that name);
//! date-times become RFC 3339 strings, as OFREP clients send them; non-finite floats
//! become `null`. `Struct` fields, which the SDK stores as `dyn Any`, are read when they
//! hold a `serde_json::Value`, a `serde_json::Map`, an OpenFeature `StructValue` or
//! `Value`, or a `HashMap<String, EvaluationContextFieldValue>`; other types are left
//! out of the context (rules see the attribute as missing).
//!
//! Flag values: JSON `null`s, which OpenFeature values cannot hold, are left out of
//! structs and arrays; integers beyond `i64` become floats. Flag metadata keeps scalars.

use std::collections::HashMap;

use open_feature::{
    EvaluationContext, EvaluationContextFieldValue, FlagMetadata, FlagMetadataValue, StructValue,
};
use serde_json::{Map, Number, Value};
use time::format_description::well_known::Rfc3339;

/// Flag metadata holds scalars only in OpenFeature; other values are left out.
pub(crate) fn flag_metadata(metadata: &Map<String, Value>) -> FlagMetadata {
    let mut out = FlagMetadata::default();
    for (key, value) in metadata {
        let value = match value {
            Value::Bool(b) => FlagMetadataValue::Bool(*b),
            Value::String(s) => FlagMetadataValue::String(s.clone()),
            Value::Number(n) => match n.as_i64() {
                Some(i) => FlagMetadataValue::Int(i),
                None => match n.as_f64() {
                    Some(f) => FlagMetadataValue::Float(f),
                    None => continue,
                },
            },
            Value::Null | Value::Array(_) | Value::Object(_) => continue,
        };
        out.add_value(key.clone(), value);
    }
    out
}

/// The JSON context the engine evaluates: custom fields, then `targetingKey`.
pub(crate) fn context_to_json(context: &EvaluationContext) -> Map<String, Value> {
    let mut out: Map<String, Value> = context
        .custom_fields
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), field_to_json(v)?)))
        .collect();
    if let Some(key) = &context.targeting_key {
        out.insert("targetingKey".to_owned(), Value::String(key.clone()));
    }
    out
}

fn field_to_json(value: &EvaluationContextFieldValue) -> Option<Value> {
    use EvaluationContextFieldValue as F;
    Some(match value {
        F::Bool(b) => Value::Bool(*b),
        F::Int(i) => Value::from(*i),
        F::Float(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
        F::String(s) => Value::String(s.clone()),
        F::DateTime(t) => Value::String(t.format(&Rfc3339).ok()?),
        F::Struct(any) => {
            if let Some(v) = any.downcast_ref::<Value>() {
                v.clone()
            } else if let Some(m) = any.downcast_ref::<Map<String, Value>>() {
                Value::Object(m.clone())
            } else if let Some(s) = any.downcast_ref::<StructValue>() {
                Value::Object(struct_to_json(s))
            } else if let Some(v) = any.downcast_ref::<open_feature::Value>() {
                value_to_json(v)
            } else if let Some(fields) = any.downcast_ref::<HashMap<String, F>>() {
                Value::Object(
                    fields
                        .iter()
                        .filter_map(|(k, v)| Some((k.clone(), field_to_json(v)?)))
                        .collect(),
                )
            } else {
                tracing::debug!(
                    "an evaluation context struct of a type rodeo cannot read was left out"
                );
                return None;
            }
        }
    })
}

fn struct_to_json(s: &StructValue) -> Map<String, Value> {
    s.fields
        .iter()
        .map(|(k, v)| (k.clone(), value_to_json(v)))
        .collect()
}

fn value_to_json(v: &open_feature::Value) -> Value {
    use open_feature::Value as V;
    match v {
        V::Bool(b) => Value::Bool(*b),
        V::Int(i) => Value::from(*i),
        V::Float(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
        V::String(s) => Value::String(s.clone()),
        V::Array(items) => Value::Array(items.iter().map(value_to_json).collect()),
        V::Struct(s) => Value::Object(struct_to_json(s)),
    }
}

/// A flag's object value as OpenFeature's struct; `null`s, which OpenFeature cannot
/// hold, are left out.
pub(crate) fn struct_from_json(object: &Map<String, Value>) -> StructValue {
    StructValue {
        fields: object
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), value_from_json(v)?)))
            .collect(),
    }
}

fn value_from_json(v: &Value) -> Option<open_feature::Value> {
    use open_feature::Value as V;
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => V::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => V::Int(i),
            None => V::Float(n.as_f64()?),
        },
        Value::String(s) => V::String(s.clone()),
        Value::Array(items) => V::Array(items.iter().filter_map(value_from_json).collect()),
        Value::Object(o) => V::Struct(struct_from_json(o)),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;
    use time::OffsetDateTime;

    use super::*;

    #[test]
    fn context_fields_of_every_type_become_json() {
        let nested: HashMap<String, EvaluationContextFieldValue> =
            HashMap::from([("tier".to_owned(), "gold".into())]);
        let context = EvaluationContext::default()
            .with_targeting_key("user-1")
            .with_custom_field("admin", true)
            .with_custom_field("age", 42)
            .with_custom_field("score", 0.5)
            .with_custom_field("nan", f64::NAN)
            .with_custom_field("email", "a@example.com")
            .with_custom_field(
                "signed_up",
                OffsetDateTime::from_unix_timestamp(1_714_979_289).unwrap(),
            )
            .with_custom_field(
                "account",
                EvaluationContextFieldValue::new_struct(json!({"plan": "pro", "seats": 3})),
            )
            .with_custom_field(
                "org",
                EvaluationContextFieldValue::new_struct(
                    StructValue::default()
                        .with_field("id", 7)
                        .with_field("tags", vec!["a", "b"])
                        .with_field("parent", StructValue::default().with_field("id", 1)),
                ),
            )
            .with_custom_field(
                "map",
                EvaluationContextFieldValue::new_struct(
                    json!({"k": 1}).as_object().cloned().unwrap(),
                ),
            )
            .with_custom_field("fields", Arc::new(nested))
            .with_custom_field("opaque", EvaluationContextFieldValue::new_struct(42_u128));
        let got = Value::Object(context_to_json(&context));
        assert_eq!(
            got,
            json!({
                "targetingKey": "user-1",
                "admin": true,
                "age": 42,
                "score": 0.5,
                "nan": null,
                "email": "a@example.com",
                "signed_up": "2024-05-06T07:08:09Z",
                "account": {"plan": "pro", "seats": 3},
                "org": {"id": 7, "tags": ["a", "b"], "parent": {"id": 1}},
                "map": {"k": 1},
                "fields": {"tier": "gold"},
            })
        );
    }

    #[test]
    fn the_targeting_key_wins_over_a_custom_field_of_the_same_name() {
        let context = EvaluationContext::default()
            .with_custom_field("targetingKey", "field")
            .with_targeting_key("key");
        assert_eq!(context_to_json(&context)["targetingKey"], "key");
    }

    #[test]
    fn object_values_become_structs_without_nulls() {
        let s = struct_from_json(
            json!({"a": 1, "b": 1.5, "c": [true, null, "x"], "d": {"e": null}, "f": null, "big": u64::MAX})
                .as_object()
                .unwrap(),
        );
        let expected = StructValue::default()
            .with_field("a", 1)
            .with_field("b", 1.5)
            .with_field(
                "c",
                open_feature::Value::Array(vec![true.into(), "x".into()]),
            )
            .with_field("d", StructValue::default())
            .with_field("big", u64::MAX as f64);
        assert_eq!(s, expected);
    }

    #[test]
    fn metadata_keeps_scalars() {
        let m = flag_metadata(
            json!({"owner": "payments", "n": 3, "ratio": 0.25, "live": true, "tags": ["x"], "none": null})
                .as_object()
                .unwrap(),
        );
        let expected = FlagMetadata::default()
            .with_value("owner", "payments")
            .with_value("n", 3)
            .with_value("ratio", 0.25)
            .with_value("live", true);
        assert_eq!(m, expected);
    }
}
