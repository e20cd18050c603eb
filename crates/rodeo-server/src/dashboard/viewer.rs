//! Who is looking: a logged-in token, or an anonymous visitor in public mode; the
//! login and logout forms; and the checks every form post goes through.

use std::collections::BTreeMap;

use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use rodeo_domain::{Scope, Source, Token};

use super::session::{cookie, nonce, same_origin, LOGIN_COOKIE, SESSION_COOKIE};
use super::{html, PageError};
use crate::error::ApiError;
use crate::http::auth::{hash_secret, verify, verify_hash, Caller};
use crate::state::AppState;

/// The visitor of a page.
pub(crate) struct Viewer {
    /// `None`: an anonymous visitor of a public dashboard.
    token: Option<Token>,
    /// The session cookie's value, which the CSRF token is derived from.
    session: String,
    csrf: String,
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let keys = &state.dashboard.keys;
        if let Some(value) = cookie(&parts.headers, SESSION_COOKIE) {
            if let Some(hash) = keys.open(value, rodeo_domain::now()) {
                match verify_hash(state, hash).await {
                    Ok(token) if token.scope.allows(Scope::Read) => {
                        return Ok(Self {
                            csrf: keys.csrf(value),
                            session: value.to_owned(),
                            token: Some(token),
                        })
                    }
                    Ok(_) | Err(ApiError::Unauthenticated) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        if state.config.dashboard.public {
            return Ok(Self {
                token: None,
                session: String::new(),
                csrf: String::new(),
            });
        }
        let next = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        Err(PageError::Login(next))
    }
}

impl Viewer {
    pub(crate) fn can_write(&self) -> bool {
        self.token
            .as_ref()
            .is_some_and(|t| t.scope.allows(Scope::Write))
    }

    /// The frame of a page: title, navigation, who is logged in.
    pub(crate) fn layout(&self, title: impl Into<String>, nav: &'static str) -> Layout {
        Layout {
            title: title.into(),
            nav,
            user: self.token.as_ref().map(|t| t.name.to_string()),
            can_write: self.can_write(),
            csrf: self.csrf.clone(),
        }
    }

    /// The caller a form post acts as, after the CSRF and origin checks.
    pub(crate) fn writer(
        &self,
        headers: &HeaderMap,
        form: &BTreeMap<String, String>,
        state: &AppState,
    ) -> Result<Caller, PageError> {
        let Some(token) = self.token.clone().filter(|_| self.can_write()) else {
            return Err(ApiError::Forbidden("writing (log in with a write or admin token)").into());
        };
        let given = form.get("_csrf").map_or("", String::as_str);
        if !same_origin(headers) || !state.dashboard.keys.check_csrf(&self.session, given) {
            return Err(ApiError::Forbidden(
                "this form post (its CSRF token is missing or stale; reload the page)",
            )
            .into());
        }
        Ok(Caller {
            token,
            source: Source::Dashboard,
        })
    }
}

/// What every page's frame shows.
pub(crate) struct Layout {
    pub(crate) title: String,
    /// Which navigation entry is current.
    pub(crate) nav: &'static str,
    pub(crate) user: Option<String>,
    pub(crate) can_write: bool,
    pub(crate) csrf: String,
}

impl Layout {
    pub(crate) fn current(&self, nav: &str) -> &'static str {
        if self.nav == nav {
            "page"
        } else {
            "false"
        }
    }
}

#[derive(askama::Template)]
#[template(path = "login.html")]
struct LoginPage {
    next: String,
    csrf: String,
    error: Option<String>,
}

/// Only local paths are followed after a login, so a link cannot send a fresh session
/// elsewhere.
fn local_path(next: Option<&String>) -> String {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .cloned()
        .unwrap_or_else(|| "/".into())
}

fn login_page(state: &AppState, next: String, error: Option<String>) -> Response {
    let n = nonce();
    let page = LoginPage {
        next,
        csrf: state.dashboard.keys.csrf(&n),
        error,
    };
    let status = if page.error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    match html(&page) {
        Ok(mut r) => {
            *r.status_mut() = status;
            r.headers_mut().append(
                header::SET_COOKIE,
                state.dashboard.keys.login_cookie(Some(&n)),
            );
            r
        }
        Err(e) => e.into_response(),
    }
}

pub(crate) async fn login_form(
    State(state): State<AppState>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    login_page(&state, local_path(q.get("next")), None)
}

/// Exchanges a token for a session cookie.
pub(crate) async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<BTreeMap<String, String>>,
) -> Response {
    let next = local_path(form.get("next"));
    let keys = &state.dashboard.keys;
    let nonce_ok = cookie(&headers, LOGIN_COOKIE)
        .is_some_and(|n| keys.check_csrf(n, form.get("_csrf").map_or("", String::as_str)));
    if !nonce_ok || !same_origin(&headers) {
        return login_page(
            &state,
            next,
            Some("The form expired; enter the token again.".into()),
        );
    }
    let secret = form.get("token").map_or("", |t| t.trim());
    let token = match verify(&state, secret).await {
        Ok(t) if t.scope.allows(Scope::Read) => t,
        Ok(_) => {
            return login_page(
                &state,
                next,
                Some("token: SDK keys cannot log in; use a read, write or admin token.".into()),
            )
        }
        Err(ApiError::Unauthenticated) => {
            return login_page(
                &state,
                next,
                Some("token: not a valid token (revoked, mistyped or unknown).".into()),
            )
        }
        Err(e) => return PageError::from(e).into_response(),
    };
    tracing::info!(token = %token.name, "dashboard login");
    let value = keys.issue(&hash_secret(secret), rodeo_domain::now());
    let mut r = super::see_other(&next);
    r.headers_mut()
        .append(header::SET_COOKIE, keys.session_cookie(Some(&value)));
    r.headers_mut()
        .append(header::SET_COOKIE, keys.login_cookie(None));
    r
}

pub(crate) async fn logout(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<BTreeMap<String, String>>,
) -> Response {
    let given = form.get("_csrf").map_or("", String::as_str);
    if !same_origin(&headers) || !state.dashboard.keys.check_csrf(&viewer.session, given) {
        return PageError::from(ApiError::Forbidden(
            "this form post (its CSRF token is missing or stale; reload the page)",
        ))
        .into_response();
    }
    let mut r = super::see_other("/login");
    r.headers_mut().append(
        header::SET_COOKIE,
        state.dashboard.keys.session_cookie(None),
    );
    r
}
