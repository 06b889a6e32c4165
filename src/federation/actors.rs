//! The JSON of our actors: communities and people (served at `/c/{name}` and `/u/{name}`
//! through `negotiate`, which gives browsers the pages) and the instance actor `/actor`.

use super::{ap_response, objects, wants_activity_json};
use crate::{error::AppError, state::AppState, store};
use axum::{
    Router,
    extract::State,
    http::HeaderMap,
    response::{IntoResponse, Redirect, Response},
    routing::get,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/actor", get(instance_actor))
}

/// A local community's `Group` (the JSON side of `/c/{name}`, see `negotiate`).
pub async fn community(state: &AppState, name: &str) -> Result<Response, AppError> {
    let mut conn = state.db.pool.acquire().await?;
    let community = store::communities::find_local_by_name(&mut conn, name)
        .await?
        .ok_or(AppError::NotFound("community"))?;
    Ok(ap_response(
        &objects::group::local_group_json(state, &mut conn, community).await?,
    ))
}

/// A local person's `Person` (the JSON side of `/u/{name}`).
pub async fn person(state: &AppState, name: &str) -> Result<Response, AppError> {
    let mut conn = state.db.pool.acquire().await?;
    let person = store::people::find_local_by_name(&mut conn, name)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    Ok(ap_response(&objects::person::person_json(person)))
}

async fn instance_actor(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !wants_activity_json(&headers) {
        return super::vary(Redirect::to("/").into_response());
    }
    super::vary(ap_response(&objects::instance::application_json(&state)))
}
