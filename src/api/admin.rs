//! `/api/v1/admin/…`: instance administration for accounts with the admin flag (issue #6):
//! the federation policy (`GET /admin/federation`, and `POST` to change it), instance-wide
//! bans (`GET /admin/bans`, and `POST` to ban or unban), and the activities the inbox
//! refused (`GET /admin/federation/refused`).

use super::{ApiJson, ApiQuery, Auth};
use crate::{
    domain::federation_policy::summary,
    error::{AppError, AppResult},
    state::AppState,
    store,
};
use axum::{Json, Router, extract::State, routing::get};
use serde::Deserialize;
use serde_json::Value;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/federation", get(show).post(change))
        .route("/admin/bans", get(bans).post(ban))
        .route("/admin/federation/refused", get(refused))
}

fn require_admin(auth: &Auth) -> AppResult<()> {
    if auth.0.account.is_admin {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "not_admin",
            "only an instance admin can do this",
        ))
    }
}

/// Mode, allow list, block list.
async fn show(State(state): State<AppState>, auth: Auth) -> AppResult<Json<Value>> {
    require_admin(&auth)?;
    Ok(Json(summary(&state).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyChange {
    /// `mode`, `allow`, `disallow`, `block` or `unblock`.
    action: String,
    /// For every action but `mode`.
    #[serde(default)]
    domain: Option<String>,
    /// For `mode`: `open` or `allowlist`.
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

/// Changes the policy; applies at once to every process. Answers the new policy.
async fn change(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<PolicyChange>,
) -> AppResult<Json<Value>> {
    require_admin(&auth)?;
    crate::domain::federation_policy::change(
        &state,
        &auth.0.person,
        crate::domain::federation_policy::PolicyChange {
            action: &input.action,
            domain: input.domain.as_deref(),
            mode: input.mode.as_deref(),
            reason: input.reason.as_deref(),
        },
    )
    .await?;
    Ok(Json(summary(&state).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefusedQuery {
    /// Only this instance (`host` or `host:port`).
    instance: Option<String>,
    limit: Option<i64>,
}

#[derive(serde::Serialize)]
struct RefusedPage {
    items: Vec<store::refused::RefusedActivity>,
}

/// The activities the inbox refused lately, newest first (`domain::refused`).
async fn refused(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<RefusedQuery>,
) -> AppResult<Json<RefusedPage>> {
    require_admin(&auth)?;
    let limit = crate::domain::paging::Paging::size(q.limit, crate::domain::paging::REFUSED);
    let items = crate::domain::refused::recent(&state, q.instance.as_deref(), limit).await?;
    Ok(Json(RefusedPage { items }))
}

/// Every instance-wide ban, newest first.
async fn bans(
    State(state): State<AppState>,
    auth: Auth,
) -> AppResult<Json<Vec<store::bans::InstanceBan>>> {
    require_admin(&auth)?;
    let mut conn = state.db.pool.acquire().await?;
    Ok(Json(store::bans::instance_bans(&mut conn).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BanInput {
    /// ActivityPub id or local username.
    person: String,
    #[serde(default = "yes")]
    banned: bool,
    #[serde(default)]
    reason: Option<String>,
    /// RFC 3339; absent: until lifted.
    #[serde(default)]
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    remove_data: bool,
}

fn yes() -> bool {
    true
}

/// Bans (or, with `"banned": false`, unbans) someone from the whole instance.
async fn ban(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<BanInput>,
) -> AppResult<Json<Vec<store::bans::InstanceBan>>> {
    require_admin(&auth)?;
    crate::domain::admin::ban(
        &state,
        &auth.0,
        crate::domain::admin::InstanceBanInput {
            person: &input.person,
            banned: input.banned,
            reason: input.reason.as_deref(),
            expires_at: input.expires_at.map(|t| t.timestamp_millis()),
            remove_data: input.remove_data,
        },
    )
    .await?;
    bans(State(state), auth).await
}
