//! Reports through the API: `POST /posts/{id}/report`, and for moderators
//! `GET /communities/{handle}/reports` and `POST /reports/{id}` (resolve, dismiss, reopen).

use super::{ApiJson, ApiPath, ApiQuery, Auth, posts::community_by_handle};
use crate::{
    domain::reports,
    error::{AppError, AppResult},
    state::AppState,
    store::{self, reports::ReportRow},
};
use axum::{Json, Router, extract::State, http::StatusCode, routing::post};
use serde::{Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/posts/{id}/report", post(report))
        .route("/communities/{handle}/reports", axum::routing::get(list))
        .route("/reports/{id}", post(set_status))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportInput {
    reason: String,
}

#[derive(Serialize)]
struct Reported {
    id: i64,
}

async fn report(
    State(state): State<AppState>,
    Auth(user, _): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ReportInput>,
) -> AppResult<(StatusCode, Json<Reported>)> {
    let post = {
        let mut conn = state.db.pool.acquire().await?;
        store::posts::find_by_id(&mut conn, id)
            .await?
            .ok_or(AppError::NotFound("post"))?
    };
    let id = reports::report(&state, &user.person, &post, &input.reason).await?;
    Ok((StatusCode::CREATED, Json(Reported { id })))
}

#[derive(Deserialize)]
struct ListQuery {
    /// Also resolved and dismissed ones.
    #[serde(default)]
    all: bool,
}

#[derive(Serialize)]
struct ReportList {
    items: Vec<ReportRow>,
}

async fn list(
    State(state): State<AppState>,
    Auth(user, _): Auth,
    ApiPath(handle): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> AppResult<Json<ReportList>> {
    let community = {
        let mut conn = state.db.pool.acquire().await?;
        community_by_handle(&mut conn, &handle).await?
    };
    let items = reports::list(&state, &user.person, &community, q.all).await?;
    Ok(Json(ReportList { items }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusInput {
    /// `resolved`, `dismissed` or `open`.
    status: String,
}

async fn set_status(
    State(state): State<AppState>,
    Auth(user, _): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<StatusInput>,
) -> AppResult<Json<ReportRow>> {
    Ok(Json(
        reports::set_status(&state, &user.person, id, &input.status).await?,
    ))
}
