//! OFREP 0.3, the OpenFeature Remote Evaluation Protocol: single and bulk evaluation
//! with SDK keys, an ETag on bulk responses, and the SSE event stream that tells
//! client-side providers to re-fetch. Evaluation runs in memory against the compiled
//! flag set of the key's environment; the database is not touched.
//!
//! Deliberate choices, documented in docs/flags.md: a missing context or `targetingKey`
//! is allowed (rules that need the key fall back to the default, as in flagd); reasons
//! are OpenFeature's, including `DEFAULT`, which flagd also sends.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use rodeo_domain::{EnvironmentName, Scope, Token};
use rodeo_flags::{check_context, ErrorCode, Reason, Resolution};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::flags::Served;
use crate::http::auth::{bearer, verify};
use crate::state::AppState;

/// An SDK key (`Authorization: Bearer …` or `X-API-Key: …`) and its environment.
pub(crate) struct SdkCaller {
    pub(crate) token: Token,
    pub(crate) environment: EnvironmentName,
}

/// The secret of a request: the bearer token, else `X-API-Key`.
pub(crate) fn sdk_secret(headers: &HeaderMap) -> Option<&str> {
    bearer(headers).or_else(|| {
        headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|s| !s.is_empty())
    })
}

impl FromRequestParts<AppState> for SdkCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let secret = sdk_secret(&parts.headers).ok_or(ApiError::Unauthenticated)?;
        let token = verify(state, secret).await?;
        match (&token.environment, token.scope.allows(Scope::SdkClient)) {
            (Some(env), true) => Ok(Self {
                environment: env.clone(),
                token,
            }),
            _ => Err(ApiError::Forbidden(
                "flag evaluation (needs an SDK key of this environment)",
            )),
        }
    }
}

/// What an evaluation request carries.
#[derive(Deserialize)]
struct EvaluationRequest {
    #[serde(default)]
    context: Option<Value>,
}

/// An OFREP failure: `{key?, errorCode, errorDetails}` with its status.
struct Failure {
    status: StatusCode,
    key: Option<String>,
    code: &'static str,
    details: String,
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let mut body = Map::new();
        if let Some(key) = self.key {
            body.insert("key".into(), Value::String(key));
        }
        body.insert("errorCode".into(), Value::String(self.code.into()));
        body.insert("errorDetails".into(), Value::String(self.details));
        (self.status, axum::Json(Value::Object(body))).into_response()
    }
}

/// The context of a request body: absent, empty or `{}` means an empty context; anything
/// that is not `{"context": {…}}` with a string `targetingKey` is `INVALID_CONTEXT`.
fn context(body: &[u8], limit: usize) -> Result<Map<String, Value>, String> {
    if body.len() > limit {
        return Err(format!("the request is larger than {limit} bytes"));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let request: EvaluationRequest =
        serde_json::from_slice(body).map_err(|e| format!("the request is not valid JSON: {e}"))?;
    let context = match request.context {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m,
        Some(_) => return Err("context must be a JSON object".into()),
    };
    check_context(&context).map_err(|e| e.details)?;
    Ok(context)
}

fn unix_now() -> i64 {
    rodeo_domain::now().timestamp()
}

#[derive(Serialize)]
struct Success<'a> {
    key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a Value>,
    reason: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    variant: Option<&'a str>,
    metadata: &'a Map<String, Value>,
}

#[derive(Serialize)]
struct FlagFailure<'a> {
    key: &'a str,
    #[serde(rename = "errorCode")]
    error_code: &'static str,
    #[serde(rename = "errorDetails")]
    error_details: &'a str,
    metadata: &'a Map<String, Value>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Item<'a> {
    Success(Success<'a>),
    Failure(FlagFailure<'a>),
}

fn item<'a>(r: &'a Resolution<'a>) -> Item<'a> {
    match &r.error {
        None => Item::Success(Success {
            key: r.key,
            value: r.value,
            reason: match r.reason {
                Reason::Error => Reason::Default.as_str(),
                other => other.as_str(),
            },
            variant: r.variant,
            metadata: r.metadata,
        }),
        Some(e) => Item::Failure(FlagFailure {
            key: r.key,
            error_code: e.code.as_str(),
            error_details: &e.details,
            metadata: r.metadata,
        }),
    }
}

fn json(status: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            bytes,
        )
            .into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// Evaluate one flag.
#[utoipa::path(post, path = "/ofrep/v1/evaluate/flags/{key}", tag = "flags",
    params(("key" = String, Path, description = "The flag key")),
    request_body(content = serde_json::Value, description = "{context: {targetingKey, …}}"),
    responses(
        (status = 200, description = "Evaluated: {key, value?, reason, variant?, metadata}", body = serde_json::Value),
        (status = 400, description = "{key, errorCode: PARSE_ERROR | INVALID_CONTEXT | GENERAL, errorDetails}", body = serde_json::Value),
        (status = 401, description = "No or unknown SDK key"),
        (status = 403, description = "Not an SDK key"),
        (status = 404, description = "{key, errorCode: FLAG_NOT_FOUND, errorDetails}", body = serde_json::Value)))]
pub(crate) async fn evaluate_flag(
    State(state): State<AppState>,
    caller: SdkCaller,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
    let context = match context(&body, state.config.flags.max_context_bytes) {
        Ok(c) => c,
        Err(details) => {
            return Failure {
                status: StatusCode::BAD_REQUEST,
                key: Some(key),
                code: ErrorCode::InvalidContext.as_str(),
                details,
            }
            .into_response()
        }
    };
    let Some(served) = state.flags.get(caller.environment.as_str()) else {
        return Failure {
            status: StatusCode::NOT_FOUND,
            code: ErrorCode::FlagNotFound.as_str(),
            details: format!("flag {key:?} was not found"),
            key: Some(key),
        }
        .into_response();
    };
    let r = served.set.evaluate(&key, &context, unix_now());
    served.counters.count(&r, crate::flags::now_micros());
    let status = match r.error.as_ref().map(|e| e.code) {
        None => StatusCode::OK,
        Some(ErrorCode::FlagNotFound) => StatusCode::NOT_FOUND,
        Some(_) => StatusCode::BAD_REQUEST,
    };
    json(status, &item(&r))
}

#[derive(Serialize)]
struct EventStream {
    #[serde(rename = "type")]
    kind: &'static str,
    endpoint: Endpoint,
    #[serde(rename = "inactivityDelaySec")]
    inactivity_delay_sec: u32,
}

#[derive(Serialize)]
struct Endpoint {
    #[serde(rename = "requestUri")]
    request_uri: String,
}

#[derive(Serialize)]
struct Bulk<'a> {
    flags: Vec<Item<'a>>,
    metadata: &'a Map<String, Value>,
    #[serde(rename = "eventStreams")]
    event_streams: [EventStream; 1],
}

/// The bulk ETag: the flag definition's and the context's, so a match means the same
/// answer (a new context is always evaluated afresh).
fn bulk_etag(served: Option<&Served>, context: &Map<String, Value>) -> String {
    let mut h = Sha256::new();
    h.update(served.map_or("", |s| s.etag.as_str()).as_bytes());
    h.update(Value::Object(context.clone()).to_string().as_bytes());
    format!("\"{}\"", hex::encode(&h.finalize()[..12]))
}

/// Whether `If-None-Match` names `etag` (or `*`).
pub(crate) fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

/// The opaque channel of an SDK key's event stream: derived from the key's stored hash,
/// so the URL carries no secret and stops working when the key is revoked.
fn channel(token: &Token) -> String {
    let digest = Sha256::digest(format!("ofrep-stream:{}", token.hash).as_bytes());
    hex::encode(&digest[..16])
}

/// Evaluate every flag of the key's environment.
#[utoipa::path(post, path = "/ofrep/v1/evaluate/flags", tag = "flags",
    request_body(content = serde_json::Value, description = "{context: {targetingKey, …}}"),
    params(("If-None-Match" = Option<String>, Header, description = "ETag of a previous response")),
    responses(
        (status = 200, description = "{flags: [success or failure], metadata, eventStreams}; ETag header", body = serde_json::Value),
        (status = 304, description = "Same flags and context as the ETag"),
        (status = 400, description = "{errorCode: INVALID_CONTEXT, errorDetails}", body = serde_json::Value),
        (status = 401, description = "No or unknown SDK key"),
        (status = 403, description = "Not an SDK key")))]
pub(crate) async fn evaluate_all(
    State(state): State<AppState>,
    caller: SdkCaller,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let context = match context(&body, state.config.flags.max_context_bytes) {
        Ok(c) => c,
        Err(details) => {
            return Failure {
                status: StatusCode::BAD_REQUEST,
                key: None,
                code: ErrorCode::InvalidContext.as_str(),
                details,
            }
            .into_response()
        }
    };
    let served = state.flags.get(caller.environment.as_str());
    let etag = bulk_etag(served.as_deref(), &context);
    let etag_header = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\""));
    if not_modified(&headers, &etag) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag_header)]).into_response();
    }
    let empty = Map::new();
    let now = unix_now();
    let resolutions: Vec<Resolution<'_>> = match &served {
        Some(s) => {
            let all = s.set.evaluate_all(&context, now);
            let micros = crate::flags::now_micros();
            for r in &all {
                s.counters.count(r, micros);
            }
            all
        }
        None => Vec::new(),
    };
    let body = Bulk {
        flags: resolutions.iter().map(item).collect(),
        metadata: served.as_ref().map_or(&empty, |s| s.set.metadata()),
        event_streams: [EventStream {
            kind: "sse",
            endpoint: Endpoint {
                request_uri: format!("/ofrep/v1/event-stream?channel={}", channel(&caller.token)),
            },
            inactivity_delay_sec: state.config.flags.stream_inactivity_secs,
        }],
    };
    let mut response = json(StatusCode::OK, &body);
    response.headers_mut().insert(header::ETAG, etag_header);
    response
}

/// Channels resolved recently, so a thousand reconnecting clients do not each list the
/// tokens.
#[derive(Default)]
pub(crate) struct Channels(Mutex<HashMap<String, (EnvironmentName, Instant)>>);

impl Channels {
    async fn resolve(&self, state: &AppState, channel: &str) -> Result<EnvironmentName, ApiError> {
        let ttl = Duration::from_secs(state.config.server.token_cache_secs);
        if let Some((env, at)) = self.0.lock().ok().and_then(|m| m.get(channel).cloned()) {
            if at.elapsed() < ttl {
                return Ok(env);
            }
        }
        let tokens = state.store.list_tokens().await?;
        let found = tokens
            .iter()
            .filter(|t| t.revoked_at.is_none() && t.scope.is_sdk())
            .find(|t| self::channel(t) == channel)
            .and_then(|t| t.environment.clone())
            .ok_or(ApiError::Unauthenticated)?;
        if let Ok(mut m) = self.0.lock() {
            if m.len() > 10_000 {
                m.clear();
            }
            m.insert(channel.to_owned(), (found.clone(), Instant::now()));
        }
        Ok(found)
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
pub(crate) struct StreamParams {
    /// The channel from a bulk response's `eventStreams` (or authenticate with the key).
    channel: Option<String>,
}

/// SSE: `refetchEvaluation` each time the environment's flags change.
#[utoipa::path(get, path = "/ofrep/v1/event-stream", tag = "flags", params(StreamParams),
    responses((status = 200, description = "text/event-stream; data: {type: refetchEvaluation, etag, lastModified}"),
              (status = 401, description = "Unknown channel and no SDK key")))]
pub(crate) async fn event_stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<StreamParams>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let env = match (sdk_secret(&headers), q.channel) {
        (Some(secret), _) => {
            let token = verify(&state, secret).await?;
            token
                .environment
                .filter(|_| token.scope.is_sdk())
                .ok_or(ApiError::Forbidden(
                    "flag evaluation (needs an SDK key of this environment)",
                ))?
        }
        (None, Some(channel)) => state.channels.resolve(&state, &channel).await?,
        (None, None) => return Err(ApiError::Unauthenticated),
    };
    let last_seen: Option<i64> = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    Ok(changes(&state, &env, last_seen, false, refetch_event))
}

fn refetch_event(served: &Served) -> SseEvent {
    let data = serde_json::json!({
        "type": "refetchEvaluation",
        "etag": served.etag,
        "lastModified": served.updated_at.map(|t| t.timestamp()),
    });
    SseEvent::default()
        .event("message")
        .id(served.version.to_string())
        .data(data.to_string())
}

/// The SSE stream of an environment's flag changes: one event per new version until the
/// server shuts down. The current version is sent first when the client's
/// `Last-Event-ID` is behind it or, without one, when `current_first` asks for it.
pub(crate) fn changes(
    state: &AppState,
    env: &EnvironmentName,
    last_seen: Option<i64>,
    current_first: bool,
    render: fn(&Served) -> SseEvent,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let mut rx = state.flags.subscribe(env);
    let start = rx.borrow_and_update().version;
    let send_current = last_seen.map_or(current_first, |seen| seen < start);
    let first = send_current.then(|| Arc::clone(&rx.borrow()));
    let updates = futures::stream::unfold(rx, |mut rx| async move {
        rx.changed().await.ok()?;
        let served = Arc::clone(&rx.borrow_and_update());
        Some((served, rx))
    });
    let mut stop = state.shutdown.clone();
    let ended = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    let events = futures::stream::iter(first)
        .chain(updates)
        .map(move |s| Ok(render(&s)))
        .take_until(ended);
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
