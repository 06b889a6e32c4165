//! The client JSON API under `/api/v1`: one router per resource, a bearer-token extractor,
//! and body, query and path extractors whose rejections use our error format.

pub mod accounts;
pub mod admin;
pub mod communities;
pub mod invitations;
pub mod leadership;
pub mod notices;
pub mod posts;
pub mod reports;

use crate::{
    domain::accounts::{LocalUser, authenticate},
    error::{AppError, refuse_nul},
    state::AppState,
};
use axum::{
    Router,
    extract::{FromRequest, FromRequestParts, Request},
    http::{HeaderValue, header, request::Parts},
    response::{IntoResponse, Response},
    routing::get,
};
use serde::de::DeserializeOwned;

/// The OpenAPI description of this API.
pub const OPENAPI: &str = include_str!("openapi.json");

pub fn router() -> Router<AppState> {
    let api = Router::new()
        .merge(accounts::router())
        .merge(admin::router())
        .merge(communities::router())
        .merge(posts::router())
        .merge(leadership::router())
        .merge(invitations::router())
        .merge(reports::router())
        .merge(notices::router())
        .route("/openapi.json", get(openapi))
        // After every route: a known address with another method is a 405 in our shape
        // (the router adds `Allow`); an unknown one a 404, whatever the client accepts.
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed })
        .fallback(|| async { AppError::NotFound("endpoint") });
    Router::new().nest("/api/v1", api)
}

async fn openapi() -> Response {
    let mut res = OPENAPI.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

/// A JSON body; malformed JSON, a wrong content type, missing or unknown fields become a
/// 400 `invalid_json` in our `{"error", "message"}` shape (413 `too_large` over the limit).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(v) = axum::Json::<T>::from_request(req, state).await?;
        Ok(ApiJson(v))
    }
}

/// Query parameters; a malformed query (a number past `i64`, a word for a number, a NUL)
/// is a 400 `invalid_query` in our shape.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        refuse_nul(parts.uri.query().unwrap_or_default(), "invalid_query")?;
        let axum::extract::Query(v) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(ApiQuery(v))
    }
}

/// Path parameters; a segment that does not parse (`/posts/abc`) is a 400 `invalid_path`
/// in our shape.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        refuse_nul(parts.uri.path(), "invalid_path")?;
        let axum::extract::Path(v) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(ApiPath(v))
    }
}

/// The bearer token of a request, if any.
fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The signed-in user (401 without a valid `Authorization: Bearer` token).
pub struct Auth(pub LocalUser, pub String);

impl FromRequestParts<AppState> for Auth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = bearer(parts)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                AppError::Unauthorized("an Authorization: Bearer token is required".into())
            })?
            .to_string();
        let user = authenticate(state, &token).await?;
        Ok(Auth(user, token))
    }
}

/// The signed-in user if a token is given (401 for a bad one), else nobody: for what
/// anyone may read but members see more of (private communities).
pub struct MaybeAuth(pub Option<LocalUser>);

impl MaybeAuth {
    /// Who reads, for `domain::privacy`.
    pub fn reader(&self) -> crate::domain::privacy::Reader<'_> {
        crate::domain::privacy::Reader::person(self.0.as_ref().map(|u| &u.person))
    }
}

impl FromRequestParts<AppState> for MaybeAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if parts.headers.get(header::AUTHORIZATION).is_none() {
            return Ok(MaybeAuth(None));
        }
        Auth::from_request_parts(parts, state)
            .await
            .map(|Auth(user, _)| MaybeAuth(Some(user)))
    }
}

/// A JSON body that may be left out: empty (or only whitespace) is `T::default()`;
/// anything else must parse (400 `invalid_json`).
pub fn optional_json<T: Default + serde::de::DeserializeOwned>(
    body: &[u8],
) -> crate::error::AppResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| AppError::bad_request("invalid_json", e.to_string()))
}
