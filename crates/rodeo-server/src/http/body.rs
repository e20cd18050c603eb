//! Request bodies: size-limited, parsed as JSON with the path of the first bad field.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use rodeo_domain::FieldError;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::AppState;

/// The raw bytes of a body, with a 413 problem when over the route's limit.
pub(crate) struct RawBody(pub(crate) Bytes);

impl FromRequest<AppState> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let webhook = req.uri().path().starts_with("/webhooks/");
        match Bytes::from_request(req, state).await {
            Ok(b) => Ok(Self(b)),
            Err(rej) if rej.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::TooLarge {
                limit: if webhook {
                    state.config.server.webhook_body_limit_bytes
                } else {
                    state.config.server.body_limit_bytes
                },
            }),
            Err(rej) => Err(ApiError::Malformed(
                FieldError::new("", rej.body_text()).into(),
            )),
        }
    }
}

/// A JSON body deserialized into `T`; keeps the bytes for idempotency fingerprints.
pub(crate) struct JsonBody<T> {
    pub(crate) value: T,
    pub(crate) bytes: Bytes,
}

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        let value = parse_json(&bytes)?;
        Ok(Self { value, bytes })
    }
}

/// Parses JSON, naming the path of the offending field (`commits[2].sha`).
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::Malformed(
            FieldError::new("", "the request needs a JSON body").into(),
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { String::new() } else { path };
        let inner = e.into_inner();
        let message = match inner.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                format!("the body is not valid JSON: {inner}")
            }
            _ => strip_position(&inner.to_string()),
        };
        // serde reports a missing field at its parent's path; name the field itself.
        let field = match missing_field(&message) {
            Some(name) if field.is_empty() => name.to_owned(),
            Some(name) => format!("{field}.{name}"),
            None => field,
        };
        ApiError::Malformed(FieldError::new(field, message).into())
    })
}

fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

/// serde_json appends " at line 1 column 42"; the field path says more.
fn strip_position(s: &str) -> String {
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_owned(),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        items: Vec<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        n: u32,
    }

    fn field_of(e: ApiError) -> (String, String) {
        match e {
            ApiError::Malformed(f) => (f.0[0].field.clone(), f.0[0].message.clone()),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn names_the_path_of_a_wrong_type() {
        let e = parse_json::<Outer>(br#"{"items":[{"n":1},{"n":"x"}]}"#).unwrap_err();
        let (field, message) = field_of(e);
        assert_eq!(field, "items[1].n");
        assert!(message.contains("invalid type"), "{message}");
    }

    #[test]
    fn syntax_errors_and_unknown_fields_are_malformed() {
        let (_, m) = field_of(parse_json::<Outer>(b"{\"items\": [").unwrap_err());
        assert!(m.contains("not valid JSON"), "{m}");
        let (f, m) = field_of(parse_json::<Outer>(br#"{"items":[],"extra":1}"#).unwrap_err());
        assert!(m.contains("unknown field `extra`"), "{f}: {m}");
        let (f, m) = field_of(parse_json::<Outer>(br#"{"items":[{}]}"#).unwrap_err());
        assert_eq!(f, "items[0].n", "{m}");
    }
}
