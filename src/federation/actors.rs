//! Actor URLs with content negotiation: ActivityPub JSON for federation clients, the HTML
//! page for browsers (`Vary: Accept` on both).

use super::{ap_response, objects, wants_activity_json};
use crate::{error::AppError, state::AppState, store, web};
use axum::{
    Router,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/c/{name}", get(community))
        .route("/u/{name}", get(person))
        .route("/actor", get(instance_actor))
}

#[derive(serde::Deserialize)]
struct PageQuery {
    sort: Option<crate::store::posts::Sort>,
}

async fn community(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<PageQuery>,
) -> Result<Response, AppError> {
    if !wants_activity_json(&headers) {
        let viewer = web::viewer_from_headers(&state, &headers).await;
        return Ok(vary(
            web::community_page(&state, &viewer, &name, q.sort).await?,
        ));
    }
    let mut conn = state.db.pool.acquire().await?;
    let community = store::communities::find_local_by_name(&mut conn, &name)
        .await?
        .ok_or(AppError::NotFound("community"))?;
    Ok(ap_response(
        &objects::group::local_group_json(&state, &mut conn, community).await?,
    ))
}

async fn person(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if !wants_activity_json(&headers) {
        let viewer = web::viewer_from_headers(&state, &headers).await;
        return Ok(vary(web::person_page(&state, &viewer, &name).await?));
    }
    let mut conn = state.db.pool.acquire().await?;
    let person = store::people::find_local_by_name(&mut conn, &name)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    Ok(ap_response(&objects::person::person_json(person)))
}

async fn instance_actor(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !wants_activity_json(&headers) {
        return vary(Redirect::to("/").into_response());
    }
    ap_response(&objects::instance::application_json(&state))
}

fn vary(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    res
}
