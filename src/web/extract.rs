//! Extractors for the HTML pages whose rejections are pages too (issue 12 §4): a path
//! segment, query or form that does not parse answers an error page in the site's layout
//! (with the viewer's header), never axum's plain text. And the answers for addresses that
//! do not exist or do not take a method: HTML for browsers, our JSON shape for the others.

use super::{Viewer, error_page, not_found, viewer_from_headers};
use crate::{
    error::{AppError, refuse_nul},
    state::AppState,
};
use axum::{
    extract::{Form, FromRequest, FromRequestParts, Path, Query, Request, State},
    http::{HeaderMap, header, request::Parts},
    response::{IntoResponse, Response},
};
use serde::de::DeserializeOwned;

/// Whether the client asked for HTML (a browser), not JSON or ActivityPub.
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/html"))
}

async fn refused(state: &AppState, headers: &HeaderMap, e: AppError) -> Response {
    let viewer = viewer_from_headers(state, headers).await;
    error_page(state, &viewer, e)
}

/// A page's path parameters (`/thread/{id}`).
pub struct WebPath<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for WebPath<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let parsed = match refuse_nul(parts.uri.path(), "invalid_path") {
            Ok(()) => Path::<T>::from_request_parts(parts, state)
                .await
                .map_err(AppError::from),
            Err(e) => Err(e),
        };
        match parsed {
            Ok(Path(v)) => Ok(WebPath(v)),
            Err(e) => Err(refused(state, &parts.headers, e).await),
        }
    }
}

/// A page's query parameters (`?page=2`).
pub struct WebQuery<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for WebQuery<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let parsed = match refuse_nul(parts.uri.query().unwrap_or_default(), "invalid_query") {
            Ok(()) => Query::<T>::from_request_parts(parts, state)
                .await
                .map_err(AppError::from),
            Err(e) => Err(e),
        };
        match parsed {
            Ok(Query(v)) => Ok(WebQuery(v)),
            Err(e) => Err(refused(state, &parts.headers, e).await),
        }
    }
}

/// A form's fields (`application/x-www-form-urlencoded`).
pub struct WebForm<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for WebForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let headers = req.headers().clone();
        match Form::<T>::from_request(req, state).await {
            Ok(Form(v)) => Ok(WebForm(v)),
            Err(r) => Err(refused(state, &headers, AppError::from(r)).await),
        }
    }
}

/// An address nothing answers: an HTML 404 page for browsers, else JSON.
pub async fn fallback(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
) -> Response {
    if wants_html(&headers) {
        not_found(&state, &viewer, "page")
    } else {
        AppError::NotFound("page").into_response()
    }
}

/// A known address asked with a method it does not take (405; the router adds `Allow`).
pub async fn method_not_allowed(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
) -> Response {
    if wants_html(&headers) {
        error_page(&state, &viewer, AppError::MethodNotAllowed)
    } else {
        AppError::MethodNotAllowed.into_response()
    }
}
