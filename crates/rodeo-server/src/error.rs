//! The one place errors become HTTP responses: RFC 9457 `application/problem+json` with
//! `type`, `title`, `status`, `detail` and, for validation failures, `errors` naming
//! each field. Internal errors are logged with their cause chain and answered opaquely.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rodeo_domain::{FieldError, FieldErrors};
use rodeo_store::StoreError;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// The body is not JSON, or not the expected shape.
    #[error("malformed request: {0}")]
    Malformed(FieldErrors),
    /// Well-formed but invalid values.
    #[error("invalid request: {0}")]
    Invalid(FieldErrors),
    #[error("missing or invalid token")]
    Unauthenticated,
    #[error("this token's scope does not allow {0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the request body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("{0}")]
    BadSignature(String),
    #[error("no route for this path")]
    NoRoute,
    #[error("this method is not allowed on this path")]
    MethodNotAllowed,
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub(crate) fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid(FieldError::new(field, message).into())
    }

    pub(crate) fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(e))
    }

    pub(crate) fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Self::Malformed(_) => (StatusCode::BAD_REQUEST, "malformed", "Malformed request"),
            Self::Invalid(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "Invalid request",
            ),
            Self::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Authentication required",
            ),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Insufficient scope"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            Self::NoRoute => (StatusCode::NOT_FOUND, "no-route", "No such endpoint"),
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            Self::TooLarge { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "Request body too large",
            ),
            Self::BadSignature(_) => (
                StatusCode::UNAUTHORIZED,
                "bad-signature",
                "Webhook signature rejected",
            ),
            Self::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
            ),
            Self::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal server error",
            ),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(errors) => Self::Invalid(errors),
            StoreError::NotFound { what, key } => {
                Self::NotFound(format!("{what} '{key}' not found"))
            }
            StoreError::Conflict(m) => Self::Conflict(m),
            StoreError::IdempotencyMismatch => Self::Conflict(
                "the Idempotency-Key was already used with a different request".into(),
            ),
            StoreError::Closed => Self::Unavailable("rodeo is shutting down".into()),
            e @ (StoreError::Unsupported(_) | StoreError::Database(_)) => {
                Self::Internal(Box::new(e))
            }
        }
    }
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    errors: &'a [FieldError],
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, slug, title) = self.parts();
        let errors: &[FieldError] = match &self {
            Self::Malformed(e) | Self::Invalid(e) => &e.0,
            _ => &[],
        };
        if let Self::Internal(e) = &self {
            let mut chain = e.to_string();
            let mut cause = e.source();
            while let Some(c) = cause {
                chain.push_str(": ");
                chain.push_str(&c.to_string());
                cause = c.source();
            }
            tracing::error!(error = %chain, "request failed");
        }
        let detail = match &self {
            Self::Internal(_) => "the server failed to handle the request; see its log".to_owned(),
            other => other.to_string(),
        };
        let body = Problem {
            kind: format!("urn:rodeo:problem:{slug}"),
            title,
            status: status.as_u16(),
            detail,
            errors,
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let mut resp = (status, bytes).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED && slug == "unauthenticated" {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}
