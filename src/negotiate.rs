//! Actor URLs with content negotiation (`/c/{name}`, `/u/{name}`): ActivityPub JSON for
//! federation clients (`federation::actors`), the HTML page for browsers (`web`), with
//! `Vary: Accept` on both. The one place that knows both sides, so that neither layer
//! reaches into the other.

use crate::{
    error::AppError,
    federation,
    state::AppState,
    web::{
        self,
        extract::{WebPath, WebQuery},
    },
};
use axum::{Router, extract::State, http::HeaderMap, response::Response, routing::get};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/c/{name}", get(community))
        .route("/u/{name}", get(person))
}

#[derive(serde::Deserialize)]
struct PageQuery {
    sort: Option<crate::store::posts::Sort>,
}

async fn community(
    State(state): State<AppState>,
    WebPath(name): WebPath<String>,
    headers: HeaderMap,
    WebQuery(q): WebQuery<PageQuery>,
) -> Result<Response, AppError> {
    let res = if federation::wants_activity_json(&headers) {
        federation::actors::community(&state, &name).await?
    } else {
        let viewer = web::viewer_from_headers(&state, &headers).await;
        web::community_page(&state, &viewer, &name, q.sort).await?
    };
    Ok(federation::vary(res))
}

async fn person(
    State(state): State<AppState>,
    WebPath(name): WebPath<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let res = if federation::wants_activity_json(&headers) {
        federation::actors::person(&state, &name).await?
    } else {
        let viewer = web::viewer_from_headers(&state, &headers).await;
        web::person_page(&state, &viewer, &name).await?
    };
    Ok(federation::vary(res))
}
