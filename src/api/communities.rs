//! `/api/v1/communities`: create, get, list (keyset paging by name).

use super::{ApiJson, ApiPath, ApiQuery, Auth};
use crate::domain::leadership::Change;
use crate::domain::paging::{self, Paging};
use crate::{
    domain::communities::{self, CommunityView, NewCommunityInput},
    error::AppResult,
    federation::objects::time_of,
    state::AppState,
};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, extract::State, http::StatusCode, routing::get};
use serde::{Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/communities", get(list).post(create))
        .route("/communities/{name}", get(show).patch(settings))
        .route("/communities/{handle}/pending", get(pending).post(decide))
        .route(
            "/communities/{handle}/moderators",
            get(moderators).post(appoint),
        )
        .route("/communities/{handle}/roles", get(roles).post(set_role))
}

#[derive(Serialize)]
struct ModeratorsOutput {
    /// Longest-serving first: a moderator can remove those listed after them.
    items: Vec<crate::store::roles::RoleHolder>,
}

/// The moderators of a community, local or remote (as its instance announced them).
async fn moderators(
    State(state): State<AppState>,
    ApiPath(handle): ApiPath<String>,
) -> AppResult<Json<ModeratorsOutput>> {
    let mut conn = state.db.pool.acquire().await?;
    let c = super::posts::community_by_handle(&mut conn, &handle).await?;
    let items = crate::store::roles::role_holders(&mut conn, c.id, "moderator").await?;
    Ok(Json(ModeratorsOutput { items }))
}

#[derive(Deserialize)]
struct AppointInput {
    /// ActivityPub id of the person, or a local username.
    person: String,
    /// false: remove them as moderator.
    #[serde(default = "yes")]
    moderator: bool,
}

fn yes() -> bool {
    true
}

/// A moderator appoints (or, with `"moderator": false`, removes) a moderator.
async fn appoint(
    data: activitypub_federation::config::Data<AppState>,
    Auth(user, _): Auth,
    ApiPath(handle): ApiPath<String>,
    ApiJson(input): ApiJson<AppointInput>,
) -> AppResult<Response> {
    let change = give_role(
        &data,
        &user.person,
        &handle,
        &input.person,
        "moderator",
        input.moderator,
    )
    .await?;
    if let Change::Proposed { .. } = change {
        return Ok((StatusCode::ACCEPTED, Json(change)).into_response());
    }
    let list = moderators(State((*data).clone()), ApiPath(handle)).await?;
    Ok(list.into_response())
}

/// Gives (or takes away) `role`; someone from another instance we have not met yet is
/// fetched from their instance first.
async fn give_role(
    data: &activitypub_federation::config::Data<AppState>,
    moderator: &crate::store::people::DbPerson,
    handle: &str,
    person: &str,
    role: &str,
    granted: bool,
) -> AppResult<Change> {
    let (community, known) = {
        let mut conn = data.db.pool.acquire().await?;
        let c = super::posts::community_by_handle(&mut conn, handle).await?;
        let known = crate::store::people::find_by_ap_id(&mut conn, person)
            .await?
            .is_some();
        (c, known)
    };
    if !known && let Ok(url) = url::Url::parse(person) {
        activitypub_federation::fetch::object_id::ObjectId::<crate::store::people::DbPerson>::from(
            url,
        )
        .dereference(data)
        .await?;
    }
    crate::domain::moderation::appoint(data, moderator, &community, person, role, granted).await
}

/// Who holds each role in a community, longest-serving first: `owner`, `moderator`, and the
/// community-of-practice roles `facilitator` and `mentor`.
async fn roles(
    State(state): State<AppState>,
    ApiPath(handle): ApiPath<String>,
) -> AppResult<Json<serde_json::Value>> {
    let mut conn = state.db.pool.acquire().await?;
    let c = super::posts::community_by_handle(&mut conn, &handle).await?;
    let mut out = serde_json::Map::new();
    for role in ["owner", "moderator", "facilitator", "mentor"] {
        let holders = crate::store::roles::role_holders(&mut conn, c.id, role).await?;
        out.insert(
            role.into(),
            serde_json::to_value(holders).unwrap_or_default(),
        );
    }
    Ok(Json(out.into()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleInput {
    /// ActivityPub id of the person, or a local username.
    person: String,
    /// `moderator`, `facilitator` or `mentor`.
    role: String,
    /// false: take the role away.
    #[serde(default = "yes")]
    granted: bool,
}

/// A moderator gives or takes away a role. Answers every role's holders.
async fn set_role(
    data: activitypub_federation::config::Data<AppState>,
    Auth(user, _): Auth,
    ApiPath(handle): ApiPath<String>,
    ApiJson(input): ApiJson<RoleInput>,
) -> AppResult<Response> {
    let change = give_role(
        &data,
        &user.person,
        &handle,
        &input.person,
        &input.role,
        input.granted,
    )
    .await?;
    if let Change::Proposed { .. } = change {
        return Ok((StatusCode::ACCEPTED, Json(change)).into_response());
    }
    Ok(roles(State((*data).clone()), ApiPath(handle))
        .await?
        .into_response())
}

/// A community as the API shows it.
#[derive(Serialize)]
pub struct CommunityJson {
    pub name: String,
    pub title: String,
    pub handle: String,
    pub actor_id: String,
    pub summary: String,
    pub summary_html: String,
    pub guidelines: String,
    pub guidelines_html: String,
    pub topics: Vec<String>,
    pub owners: Vec<String>,
    pub moderators: Vec<String>,
    pub followers: i64,
    pub posting_restricted_to_mods: bool,
    /// New members wait for a moderator's approval.
    pub approval_required: bool,
    /// Private: posts and replies are for accepted members only.
    pub private: bool,
    /// Joining from this instance needs `"accept_guidelines": true`.
    pub guidelines_required: bool,
    /// Newcomers (first week, first three posts) post no links.
    pub newcomer_limits: bool,
    /// The moderation log says "a moderator" instead of naming them.
    pub modlog_anonymous: bool,
    pub sensitive: bool,
    pub published: chrono::DateTime<chrono::Utc>,
}

pub fn to_json(state: &AppState, v: CommunityView) -> CommunityJson {
    let c = v.community;
    CommunityJson {
        handle: if c.local {
            format!("!{}@{}", c.name, state.domain)
        } else {
            format!("!{}", super::posts::handle_of(&c.name, &c.ap_id, false))
        },
        actor_id: c.ap_id.to_string(),
        name: c.name,
        title: c.title,
        summary: c.summary_source,
        summary_html: c.summary_html,
        guidelines: c.guidelines_source,
        guidelines_html: c.guidelines_html,
        topics: v.topics,
        owners: v.owners.into_iter().map(|o| o.ap_id).collect(),
        moderators: v.moderators.into_iter().map(|m| m.ap_id).collect(),
        followers: v.followers,
        posting_restricted_to_mods: c.posting_restricted_to_mods,
        approval_required: c.approval_required,
        private: c.members_only,
        guidelines_required: v.settings.guidelines_required,
        newcomer_limits: v.settings.newcomer_limits,
        modlog_anonymous: v.settings.modlog_anonymous,
        sensitive: c.sensitive,
        published: time_of(c.published),
    }
}

async fn create(
    State(state): State<AppState>,
    Auth(user, _): Auth,
    ApiJson(input): ApiJson<NewCommunityInput>,
) -> AppResult<(StatusCode, Json<CommunityJson>)> {
    let created = communities::create(&state, &user.person, input).await?;
    let view = communities::view_local(&state, &created.name).await?;
    Ok((StatusCode::CREATED, Json(to_json(&state, view))))
}

async fn show(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> AppResult<Json<CommunityJson>> {
    let view = communities::view_local(&state, &name).await?;
    Ok(Json(to_json(&state, view)))
}

#[derive(Deserialize)]
struct ListQuery {
    /// Page size, 1–100 (default 20).
    limit: Option<i64>,
    /// The `next` value of the previous page.
    after: Option<String>,
}

#[derive(Serialize)]
struct ListOutput {
    items: Vec<CommunityJson>,
    next: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> AppResult<Json<ListOutput>> {
    let (views, next) = communities::list_local(
        &state,
        q.after.as_deref(),
        Paging::size(q.limit, paging::DIRECTORY),
    )
    .await?;
    let items = views.into_iter().map(|v| to_json(&state, v)).collect();
    Ok(Json(ListOutput { items, next }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsInput {
    /// New members wait for a moderator's approval.
    #[serde(default)]
    approval_required: Option<bool>,
    /// Private: posts and replies for accepted members only (implies approval).
    #[serde(default)]
    private: Option<bool>,
    /// Joining from here needs an explicit acceptance of the guidelines.
    #[serde(default)]
    guidelines_required: Option<bool>,
    /// Newcomers post no links.
    #[serde(default)]
    newcomer_limits: Option<bool>,
    /// The public moderation log says "a moderator" instead of naming them.
    #[serde(default)]
    modlog_anonymous: Option<bool>,
}

/// A moderator changes a local community's settings (today: approval of new members).
async fn settings(
    State(state): State<AppState>,
    Auth(user, _): Auth,
    ApiPath(name): ApiPath<String>,
    ApiJson(input): ApiJson<SettingsInput>,
) -> AppResult<Json<CommunityJson>> {
    let community = {
        let mut conn = state.db.pool.acquire().await?;
        super::posts::community_by_handle(&mut conn, &name).await?
    };
    crate::domain::membership::update_settings(
        &state,
        &user.person,
        &community,
        crate::domain::membership::SettingsPatch {
            approval_required: input.approval_required,
            private: input.private,
            guidelines_required: input.guidelines_required,
            newcomer_limits: input.newcomer_limits,
            modlog_anonymous: input.modlog_anonymous,
        },
    )
    .await?;
    show(State(state), ApiPath(name)).await
}

#[derive(Serialize)]
struct PendingOutput {
    items: Vec<crate::store::followers::Follower>,
}

/// People waiting to join an approval-only community, for its moderators.
async fn pending(
    State(state): State<AppState>,
    Auth(user, _): Auth,
    ApiPath(handle): ApiPath<String>,
) -> AppResult<Json<PendingOutput>> {
    let community = {
        let mut conn = state.db.pool.acquire().await?;
        super::posts::community_by_handle(&mut conn, &handle).await?
    };
    let items = crate::domain::membership::pending(&state, &user.person, &community).await?;
    Ok(Json(PendingOutput { items }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecideInput {
    /// ActivityPub id of the person, or a local username.
    person: String,
    /// false: turn them away.
    accept: bool,
}

/// A moderator accepts or turns away someone waiting to join. Answers who still waits.
async fn decide(
    State(state): State<AppState>,
    Auth(user, token): Auth,
    ApiPath(handle): ApiPath<String>,
    ApiJson(input): ApiJson<DecideInput>,
) -> AppResult<Json<PendingOutput>> {
    let community = {
        let mut conn = state.db.pool.acquire().await?;
        super::posts::community_by_handle(&mut conn, &handle).await?
    };
    crate::domain::membership::decide(
        &state,
        &user.person,
        &community,
        &input.person,
        input.accept,
    )
    .await?;
    pending(State(state), Auth(user, token), ApiPath(handle)).await
}
