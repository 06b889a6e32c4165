//! Leadership models through the API (issue #6): `GET`/`POST /communities/{handle}/leadership`,
//! `POST /communities/{handle}/leadership/pass` (the facilitator passes the role on early),
//! `GET /communities/{handle}/proposals` and `POST /proposals/{id}` (shared leadership).

use super::{ApiJson, ApiPath, Auth, MaybeAuth, posts::community_by_handle};
use crate::{
    domain::leadership::{self, Change, ModelInput},
    error::AppResult,
    state::AppState,
    store::{self, leadership::Proposal},
};
use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::{Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/communities/{handle}/leadership", get(show).post(set))
        .route("/communities/{handle}/leadership/pass", post(pass))
        .route("/communities/{handle}/leadership/swap", post(swap))
        .route("/communities/{handle}/proposals", get(proposals))
        .route("/proposals/{id}", post(decide))
}

/// The model, the term, the roster in turn order and who facilitates now.
#[derive(Serialize)]
pub struct LeadershipJson {
    #[serde(flatten)]
    pub leadership: store::leadership::Leadership,
    pub roster: Vec<String>,
    pub facilitators: Vec<String>,
    /// Open requests to swap terms (`proposed_by` asks `person`).
    pub swaps: Vec<Proposal>,
}

async fn show(
    State(state): State<AppState>,
    who: MaybeAuth,
    ApiPath(handle): ApiPath<String>,
) -> AppResult<Json<LeadershipJson>> {
    let mut conn = state.db.pool.acquire().await?;
    let c = community_by_handle(&mut conn, &handle).await?;
    // Who is on a private community's roster is for its members.
    crate::domain::privacy::check_read(&mut conn, &c, who.reader()).await?;
    let leadership = store::leadership::get(&mut conn, c.id).await?;
    let roster = store::leadership::roster(&mut conn, c.id)
        .await?
        .into_iter()
        .map(|(_, ap_id)| ap_id)
        .collect();
    let facilitators = store::roles::role_holders(&mut conn, c.id, "facilitator")
        .await?
        .into_iter()
        .map(|h| h.ap_id)
        .collect();
    let swaps = store::leadership::open_proposals(&mut conn, c.id)
        .await?
        .into_iter()
        .filter(|p| p.action == "swap")
        .collect();
    Ok(Json(LeadershipJson {
        leadership,
        roster,
        facilitators,
        swaps,
    }))
}

/// A moderator sets the model: 200 with the new leadership, or 202 with the proposal in a
/// shared-leadership community.
async fn set(
    State(state): State<AppState>,
    Auth(user, _): Auth,
    ApiPath(handle): ApiPath<String>,
    ApiJson(input): ApiJson<ModelInput>,
) -> AppResult<Response> {
    let c = {
        let mut conn = state.db.pool.acquire().await?;
        community_by_handle(&mut conn, &handle).await?
    };
    match leadership::set_model(&state, &user.person, &c, &input, false).await? {
        change @ Change::Proposed { .. } => {
            Ok((StatusCode::ACCEPTED, Json(change)).into_response())
        }
        Change::Done => Ok(show(State(state), MaybeAuth(Some(user)), ApiPath(handle))
            .await?
            .into_response()),
    }
}

async fn pass(
    State(state): State<AppState>,
    Auth(user, _): Auth,
    ApiPath(handle): ApiPath<String>,
) -> AppResult<Json<LeadershipJson>> {
    let c = {
        let mut conn = state.db.pool.acquire().await?;
        community_by_handle(&mut conn, &handle).await?
    };
    leadership::pass_on(&state, &user.person, &c).await?;
    show(State(state), MaybeAuth(Some(user)), ApiPath(handle)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SwapInput {
    /// The other person on the roster: ActivityPub id or local username.
    with: String,
}

/// Someone on the roster asks to swap terms: 202 with the proposal, which the other person
/// (or a moderator) approves with `POST /proposals/{id}`.
async fn swap(
    State(state): State<AppState>,
    Auth(user, _): Auth,
    ApiPath(handle): ApiPath<String>,
    ApiJson(input): ApiJson<SwapInput>,
) -> AppResult<Response> {
    let c = {
        let mut conn = state.db.pool.acquire().await?;
        community_by_handle(&mut conn, &handle).await?
    };
    let proposal =
        crate::domain::proposals::ask_swap(&state, &user.person, &c, &input.with).await?;
    Ok((StatusCode::ACCEPTED, Json(Change::Proposed { proposal })).into_response())
}

#[derive(Serialize)]
struct ProposalList {
    items: Vec<Proposal>,
}

async fn proposals(
    State(state): State<AppState>,
    Auth(user, _): Auth,
    ApiPath(handle): ApiPath<String>,
) -> AppResult<Json<ProposalList>> {
    let c = {
        let mut conn = state.db.pool.acquire().await?;
        community_by_handle(&mut conn, &handle).await?
    };
    let items = crate::domain::proposals::proposals(&state, &user.person, &c).await?;
    Ok(Json(ProposalList { items }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecideInput {
    approve: bool,
}

async fn decide(
    State(state): State<AppState>,
    Auth(user, _): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<DecideInput>,
) -> AppResult<Json<Proposal>> {
    Ok(Json(
        crate::domain::proposals::decide(&state, &user.person, id, input.approve).await?,
    ))
}
