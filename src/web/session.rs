//! Signing in on the HTML side: a session cookie holding a bearer token (the same sessions
//! as the API), login, registration and logout forms, and the same-origin check every form
//! POST passes (the cookie is also `SameSite=Lax`).

use super::extract::WebForm;
use super::{
    error_page, escape,
    forms::{self, Field, Kind},
    page, see_other,
};
use crate::{
    domain::accounts::{self, LocalUser, NewAccount},
    error::AppError,
    state::AppState,
};
use axum::{
    Router,
    extract::{FromRequestParts, State},
    http::{HeaderMap, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;

const COOKIE: &str = "gh_session";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/register", get(register_form).post(register))
        .route("/logout", post(logout))
}

/// Who is looking at a page: a signed-in local user, or nobody.
pub struct Viewer(Option<(LocalUser, String)>);

impl Viewer {
    pub fn user(&self) -> Option<&LocalUser> {
        self.0.as_ref().map(|(u, _)| u)
    }

    /// Who reads, for `domain::privacy`.
    pub fn reader(&self) -> crate::domain::privacy::Reader<'_> {
        crate::domain::privacy::Reader::person(self.user().map(|u| &u.person))
    }

    /// The signed-in user, or an error for a form that needs one.
    pub fn require(&self) -> Result<&LocalUser, AppError> {
        self.user()
            .ok_or_else(|| AppError::Unauthorized("log in first".into()))
    }
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}

/// The viewer of a request, from its session cookie.
pub async fn viewer_from_headers(state: &AppState, headers: &HeaderMap) -> Viewer {
    let Some(token) = cookie_token(headers) else {
        return Viewer(None);
    };
    match accounts::authenticate(state, &token).await {
        Ok(user) => Viewer(Some((user, token))),
        Err(_) => Viewer(None),
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(viewer_from_headers(state, &parts.headers).await)
    }
}

/// Refuses a form POST sent from another site (`Origin`, else `Referer`, must be ours).
pub fn check_origin(state: &AppState, headers: &HeaderMap) -> Result<(), AppError> {
    let ours = state.url("/").as_str().trim_end_matches('/').to_string();
    let from = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    match from {
        Some(f) if f != ours && !f.starts_with(&format!("{ours}/")) => Err(AppError::forbidden(
            "cross_site",
            "this form was sent from another site",
        )),
        _ => Ok(()),
    }
}

fn set_cookie(state: &AppState, token: &str, max_age_secs: i64) -> String {
    let secure = if state.config.server.base_url.scheme() == "https" {
        "; Secure"
    } else {
        ""
    };
    format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}")
}

/// The login or registration page: empty, or refused with what was typed and the message
/// beside its field (with the error's status).
fn credentials_page(
    state: &AppState,
    viewer: &Viewer,
    register: bool,
    typed: Option<&Credentials>,
    error: Option<&AppError>,
) -> Response {
    let (action, title) = if register {
        ("/register", "Register")
    } else {
        ("/login", "Log in")
    };
    let typed_value = |f: fn(&Credentials) -> Option<&str>| typed.and_then(f).unwrap_or_default();
    let mut fields = vec![
        Field::new(
            "username",
            "Name",
            Kind::Text,
            typed_value(|c| Some(&c.username)),
        )
        .required()
        .attrs(" autocomplete=\"username\""),
        Field::new("password", "Password", Kind::Password, "").required(),
    ];
    if register {
        fields.push(Field::new(
            "email",
            "E-mail (optional)",
            Kind::Text,
            typed_value(|c| c.email.as_deref()),
        ));
        fields.push(Field::new(
            "reason",
            "Why you want to join (needed when an admin approves new accounts)",
            Kind::Textarea,
            typed_value(|c| c.reason.as_deref()),
        ));
    }
    let body = format!(
        "<h1>{title}</h1>{}",
        forms::render(action, &fields, title, error)
    );
    let status = error.map_or(StatusCode::OK, AppError::status);
    (status, page(state, viewer, title, &body)).into_response()
}

async fn login_form(State(state): State<AppState>, viewer: Viewer) -> Response {
    credentials_page(&state, &viewer, false, None, None)
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    WebForm(f): WebForm<Credentials>,
) -> Response {
    if let Err(e) = check_origin(&state, &headers) {
        return error_page(&state, &viewer, e);
    }
    match accounts::login(&state, &f.username, &f.password).await {
        Ok((token, _)) => {
            let mut res = super::see_other("/");
            if let Ok(v) = set_cookie(&state, &token, 30 * 24 * 3600).parse() {
                res.headers_mut().insert(header::SET_COOKIE, v);
            }
            res
        }
        Err(e) => credentials_page(&state, &viewer, false, Some(&f), Some(&e)),
    }
}

async fn register_form(State(state): State<AppState>, viewer: Viewer) -> Response {
    credentials_page(&state, &viewer, true, None, None)
}

async fn register(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    WebForm(f): WebForm<Credentials>,
) -> Response {
    if let Err(e) = check_origin(&state, &headers) {
        return error_page(&state, &viewer, e);
    }
    let input = NewAccount {
        username: f.username.clone(),
        password: f.password.clone(),
        email: f.email.clone().filter(|e| !e.trim().is_empty()),
        display_name: None,
        reason: f.reason.clone().filter(|r| !r.trim().is_empty()),
    };
    match accounts::register(&state, input).await {
        Ok(u) if u.account.approved => see_other("/login"),
        Ok(u) => {
            let body = format!(
                "<h1>Thank you</h1><p>The account <strong>{}</strong> waits for an admin's approval.</p>",
                escape(&u.person.name)
            );
            page(&state, &viewer, "Registered", &body).into_response()
        }
        Err(e) => credentials_page(&state, &viewer, true, Some(&f), Some(&e)),
    }
}

async fn logout(State(state): State<AppState>, viewer: Viewer, headers: HeaderMap) -> Response {
    if let Err(e) = check_origin(&state, &headers) {
        return error_page(&state, &viewer, e);
    }
    if let Some((_, token)) = &viewer.0 {
        let _ = accounts::logout(&state, token).await;
    }
    let mut res = see_other("/");
    if let Ok(v) = set_cookie(&state, "", 0).parse() {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}
