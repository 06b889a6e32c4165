//! Invitations through the API (issue #6): moderators invite (`POST
//! /communities/{handle}/invitations`), invitees list and accept theirs (`GET /invitations`,
//! `POST /invitations/{id}/accept`), and anyone signed in uses a link
//! (`POST /invitations/link/{token}`).

use super::{ApiJson, ApiPath, Auth, posts::community_by_handle};
use crate::{
    domain::invitations, error::AppResult, state::AppState, store::invitations::Invitation,
};
use activitypub_federation::config::Data;
use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/communities/{handle}/invitations", post(invite))
        .route("/invitations", get(mine))
        .route("/invitations/{id}/accept", post(accept))
        .route("/invitations/link/{token}", post(accept_link))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InviteInput {
    /// ActivityPub id or local username; absent: a link anyone signed in here can use.
    #[serde(default)]
    person: Option<String>,
    /// How long it lasts (1–90, default 7).
    #[serde(default)]
    days: Option<i64>,
}

async fn invite(
    data: Data<AppState>,
    Auth(user, _): Auth,
    ApiPath(handle): ApiPath<String>,
    ApiJson(input): ApiJson<InviteInput>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let community = {
        let mut conn = data.db.pool.acquire().await?;
        community_by_handle(&mut conn, &handle).await?
    };
    let made = invitations::invite(
        &data,
        &user.person,
        &community,
        input.person.as_deref(),
        input.days,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(made)))
}

#[derive(Serialize)]
struct InvitationList {
    items: Vec<Invitation>,
}

async fn mine(
    State(state): State<AppState>,
    Auth(user, _): Auth,
) -> AppResult<Json<InvitationList>> {
    let items = invitations::mine(&state, &user.person).await?;
    Ok(Json(InvitationList { items }))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AcceptInput {
    /// The community's guidelines are accepted (where it asks for it).
    #[serde(default)]
    accept_guidelines: bool,
}

async fn accept(
    State(state): State<AppState>,
    Auth(user, _): Auth,
    ApiPath(id): ApiPath<i64>,
    body: axum::body::Bytes,
) -> AppResult<Json<Value>> {
    let input: AcceptInput = super::optional_json(&body)?;
    let s = invitations::accept(&state, &user.person, id, input.accept_guidelines).await?;
    Ok(Json(json!({ "state": s })))
}

async fn accept_link(
    State(state): State<AppState>,
    Auth(user, _): Auth,
    ApiPath(token): ApiPath<String>,
    body: axum::body::Bytes,
) -> AppResult<Json<Value>> {
    let input: AcceptInput = super::optional_json(&body)?;
    let (c, s) =
        invitations::accept_link(&state, &user.person, &token, input.accept_guidelines).await?;
    Ok(Json(json!({ "community": c.name, "state": s })))
}
