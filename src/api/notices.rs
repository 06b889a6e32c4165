//! `/api/v1/notices`: what a signed-in person should hear of in their communities (today:
//! facilitator hand-overs), and marking them read.

use super::Auth;
use crate::{
    error::AppResult,
    state::AppState,
    store::{self, notices::Notice},
};
use axum::{
    Json, Router,
    extract::State,
    routing::{get, post},
};
use serde::Serialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/notices", get(list))
        .route("/notices/read", post(read))
}

#[derive(Serialize)]
struct NoticesOutput {
    /// Newest first, at most 100.
    items: Vec<Notice>,
    unread: i64,
}

async fn list(
    State(state): State<AppState>,
    Auth(user, _): Auth,
) -> AppResult<Json<NoticesOutput>> {
    let mut conn = state.db.pool.acquire().await?;
    let items = store::notices::list(&mut conn, user.person.id, 100).await?;
    let unread = store::notices::unread(&mut conn, user.person.id).await?;
    Ok(Json(NoticesOutput { items, unread }))
}

#[derive(Serialize)]
struct ReadOutput {
    marked: u64,
}

async fn read(State(state): State<AppState>, Auth(user, _): Auth) -> AppResult<Json<ReadOutput>> {
    let mut conn = state.db.write_conn().await?;
    let marked = store::notices::mark_read(&mut conn, user.person.id).await?;
    Ok(Json(ReadOutput { marked }))
}
