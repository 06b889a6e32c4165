//! Guildhall: a federated server for Communities of Practice. Every community is an
//! ActivityPub `Group` actor (FEP-1b12).
//!
//! Layers (see docs/ARCHITECTURE.md): `api`, `web` and `federation` handle HTTP and call
//! `domain` use-cases, which validate and run one transaction over `store`, the only place
//! with SQL.

pub mod api;
pub mod cli;
pub mod config;
pub mod delivery;
pub mod domain;
pub mod error;
pub mod federation;
pub mod metrics;
pub mod negotiate;
pub mod pagecache;
pub mod ratelimit;
pub mod state;
pub mod store;
pub mod web;

use activitypub_federation::config::FederationMiddleware;
use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, State},
    http::StatusCode,
    response::IntoResponse,
    routing::get,
};
use state::AppState;
use std::time::Duration;
use tower_http::{
    compression::CompressionLayer, limit::RequestBodyLimitLayer, timeout::TimeoutLayer,
    trace::TraceLayer,
};

/// The whole HTTP application. Tests drive it with `tower::ServiceExt::oneshot`.
pub async fn app(state: AppState) -> anyhow::Result<Router> {
    let limit = state.config.server.body_limit_bytes;
    let timeout = Duration::from_secs(state.config.server.request_timeout_secs);
    let federation = federation::client::federation_config(&state).await?;
    Ok(Router::new()
        .merge(api::router())
        .merge(federation::router())
        .merge(negotiate::router())
        .merge(web::router())
        .merge(metrics::router())
        .route("/healthz", get(healthz))
        // After every route. Browsers get HTML pages, everyone else our JSON shape
        // (`/api/v1` has its own, JSON whatever is accepted).
        .method_not_allowed_fallback(web::extract::method_not_allowed)
        .fallback(web::extract::fallback)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ratelimit::reads,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            pagecache::middleware,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ratelimit::limit,
        ))
        .with_state(state)
        .layer(DefaultBodyLimit::max(limit))
        .layer(RequestBodyLimitLayer::new(limit))
        .layer(CompressionLayer::new())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(axum::middleware::from_fn(
            federation::authorized_fetch::require_signature,
        ))
        .layer(FederationMiddleware::new(federation))
        .layer(TraceLayer::new_for_http()))
}

/// 200 when the database answers, 503 otherwise.
async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, Json(serde_json::json!({ "status": "ok" }))),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "status": "error", "database": "unreachable" })),
            )
        }
    }
}
