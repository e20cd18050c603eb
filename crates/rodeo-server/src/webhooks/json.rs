//! A reader over `serde_json::Value` that knows where it is, so every problem in a
//! payload names its JSON path (`commits[2].author.name`).
//!
//! Webhook payloads are large and mostly irrelevant to rodeo; typed structs would
//! either reject harmless variations or report errors without a path. Reading the few
//! fields rodeo needs through [`Obj`] does neither, and it cannot panic.

use rodeo_domain::{FieldError, Sha, Timestamp};
use serde_json::{Map, Value};

use super::{time, WebhookError};

/// Parses a body that must be a JSON object.
pub(super) fn parse_body(body: &[u8]) -> Result<Value, WebhookError> {
    let value: Value = serde_json::from_slice(body).map_err(WebhookError::Json)?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(FieldError::new("body", "must be a JSON object").into())
    }
}

/// One JSON object and its path from the root.
#[derive(Debug, Clone)]
pub(super) struct Obj<'a> {
    path: String,
    map: &'a Map<String, Value>,
}

impl<'a> Obj<'a> {
    /// The root object (an empty path); other values give an error naming `body`.
    pub(super) fn root(value: &'a Value) -> Result<Self, FieldError> {
        value
            .as_object()
            .map(|map| Self {
                path: String::new(),
                map,
            })
            .ok_or_else(|| FieldError::new("body", "must be a JSON object"))
    }

    /// The path of `key` inside this object.
    pub(super) fn path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn err(&self, key: &str, message: impl Into<String>) -> FieldError {
        FieldError::new(self.path(key), message)
    }

    /// The value at `key`; JSON `null` counts as absent, as GitHub and GitLab both send
    /// `null` for fields that do not apply.
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn required(&self, key: &str) -> Result<&'a Value, FieldError> {
        self.get(key).ok_or_else(|| self.err(key, "is required"))
    }

    pub(super) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub(super) fn obj(&self, key: &str) -> Result<Obj<'a>, FieldError> {
        self.opt_obj(key)?
            .ok_or_else(|| self.err(key, "is required"))
    }

    pub(super) fn opt_obj(&self, key: &str) -> Result<Option<Obj<'a>>, FieldError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Obj {
                path: self.path(key),
                map,
            })),
            Some(_) => Err(self.err(key, "must be an object")),
        }
    }

    /// The objects of an array at `key`; a missing array is an error.
    pub(super) fn objects(&self, key: &str) -> Result<Vec<Obj<'a>>, FieldError> {
        let Value::Array(items) = self.required(key)? else {
            return Err(self.err(key, "must be an array"));
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let path = format!("{}[{i}]", self.path(key));
                match item {
                    Value::Object(map) => Ok(Obj { path, map }),
                    _ => Err(FieldError::new(path, "must be an object")),
                }
            })
            .collect()
    }

    /// The strings of an array at `key`; missing counts as empty.
    pub(super) fn strings(&self, key: &str) -> Result<Vec<&'a str>, FieldError> {
        let Some(value) = self.get(key) else {
            return Ok(Vec::new());
        };
        let Value::Array(items) = value else {
            return Err(self.err(key, "must be an array of strings"));
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                item.as_str().ok_or_else(|| {
                    FieldError::new(format!("{}[{i}]", self.path(key)), "must be a string")
                })
            })
            .collect()
    }

    pub(super) fn str(&self, key: &str) -> Result<&'a str, FieldError> {
        self.opt_str(key)?
            .ok_or_else(|| self.err(key, "is required"))
    }

    pub(super) fn opt_str(&self, key: &str) -> Result<Option<&'a str>, FieldError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.err(key, "must be a string")),
        }
    }

    /// A string of at most `max` characters (empty allowed).
    pub(super) fn text(&self, key: &str, max: usize) -> Result<&'a str, FieldError> {
        let s = self.str(key)?;
        self.check_len(key, s, max)
    }

    /// An optional string of at most `max` characters; empty counts as absent.
    pub(super) fn opt_text(&self, key: &str, max: usize) -> Result<Option<&'a str>, FieldError> {
        match self.opt_str(key)? {
            None | Some("") => Ok(None),
            Some(s) => self.check_len(key, s, max).map(Some),
        }
    }

    fn check_len(&self, key: &str, s: &'a str, max: usize) -> Result<&'a str, FieldError> {
        if s.chars().count() > max {
            Err(self.err(key, format!("must be at most {max} characters")))
        } else {
            Ok(s)
        }
    }

    /// A required string that is not empty or blank.
    pub(super) fn name(&self, key: &str, max: usize) -> Result<&'a str, FieldError> {
        let s = self.text(key, max)?;
        if s.trim().is_empty() {
            Err(self.err(key, "must not be empty"))
        } else {
            Ok(s)
        }
    }

    pub(super) fn i64(&self, key: &str) -> Result<i64, FieldError> {
        self.required(key)?
            .as_i64()
            .ok_or_else(|| self.err(key, "must be an integer"))
    }

    pub(super) fn opt_i64(&self, key: &str) -> Result<Option<i64>, FieldError> {
        self.get(key)
            .map(|v| {
                v.as_i64()
                    .ok_or_else(|| self.err(key, "must be an integer"))
            })
            .transpose()
    }

    pub(super) fn opt_bool(&self, key: &str) -> Result<Option<bool>, FieldError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.err(key, "must be true or false")),
        }
    }

    pub(super) fn sha(&self, key: &str) -> Result<Sha, FieldError> {
        Sha::parse_field(&self.path(key), self.str(key)?)
    }

    pub(super) fn opt_sha(&self, key: &str) -> Result<Option<Sha>, FieldError> {
        self.opt_str(key)?
            .map(|s| Sha::parse_field(&self.path(key), s))
            .transpose()
    }

    /// A timestamp in any format GitHub or GitLab sends (see [`time::parse`]).
    pub(super) fn timestamp(&self, key: &str) -> Result<Timestamp, FieldError> {
        time::parse(&self.path(key), self.str(key)?)
    }

    pub(super) fn opt_timestamp(&self, key: &str) -> Result<Option<Timestamp>, FieldError> {
        self.opt_str(key)?
            .map(|s| time::parse(&self.path(key), s))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_name_the_full_path() {
        let v = json!({"a": {"list": [{"x": 1}, {"x": "two"}], "n": "3"}});
        let root = Obj::root(&v).unwrap();
        let a = root.obj("a").unwrap();
        let items = a.objects("list").unwrap();
        assert_eq!(items[1].str("x").unwrap(), "two");
        let e = items[0].str("x").unwrap_err();
        assert_eq!(e.to_string(), "a.list[0].x: must be a string");
        assert_eq!(a.i64("n").unwrap_err().field, "a.n");
        assert_eq!(a.str("missing").unwrap_err().message, "is required");
        assert_eq!(root.obj("b").unwrap_err().field, "b");
    }

    #[test]
    fn null_counts_as_absent() {
        let v = json!({"s": null, "o": null, "l": null});
        let root = Obj::root(&v).unwrap();
        assert_eq!(root.opt_str("s").unwrap(), None);
        assert!(root.opt_obj("o").unwrap().is_none());
        assert!(root.strings("l").unwrap().is_empty());
        assert_eq!(root.str("s").unwrap_err().message, "is required");
    }

    #[test]
    fn checks_lengths_and_blank_names() {
        let v = json!({"t": "abcd", "blank": "  ", "e": ""});
        let root = Obj::root(&v).unwrap();
        assert_eq!(
            root.text("t", 3).unwrap_err().message,
            "must be at most 3 characters"
        );
        assert_eq!(root.text("t", 4).unwrap(), "abcd");
        assert_eq!(
            root.name("blank", 10).unwrap_err().message,
            "must not be empty"
        );
        assert_eq!(root.opt_text("e", 10).unwrap(), None);
    }

    #[test]
    fn arrays_of_the_wrong_kind_are_errors() {
        let v = json!({"a": "x", "b": [1], "c": {"k": 1}});
        let root = Obj::root(&v).unwrap();
        assert_eq!(root.objects("a").unwrap_err().message, "must be an array");
        assert_eq!(root.objects("b").unwrap_err().field, "b[0]");
        assert_eq!(root.strings("b").unwrap_err().field, "b[0]");
        assert_eq!(root.strings("c").unwrap_err().field, "c");
    }

    #[test]
    fn the_body_must_be_an_object() {
        assert!(matches!(parse_body(b"[1]"), Err(WebhookError::Invalid(_))));
        assert!(matches!(parse_body(b"{"), Err(WebhookError::Json(_))));
        assert!(parse_body(b"{}").is_ok());
    }
}
