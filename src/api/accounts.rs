//! `/api/v1/accounts` and `/api/v1/sessions`: register, log in, log out, profiles.

use super::{ApiJson, ApiPath, Auth};
use crate::{
    domain::accounts::{self, LocalUser, NewAccount},
    error::{AppError, AppResult},
    federation::objects::time_of,
    state::AppState,
    store,
};
use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{delete, get, post},
};
use serde::{Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/accounts", post(register))
        .route("/accounts/me", get(me))
        .route("/accounts/{name}", get(profile))
        .route("/sessions", post(login))
        .route("/sessions/current", delete(logout))
}

/// A person as the API shows it.
#[derive(Serialize)]
pub struct PersonView {
    pub name: String,
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub actor_id: String,
    pub local: bool,
    pub published: chrono::DateTime<chrono::Utc>,
}

/// The signed-in person's own view, with account details.
#[derive(Serialize)]
pub struct AccountView {
    #[serde(flatten)]
    pub person: PersonView,
    pub email: Option<String>,
    pub is_admin: bool,
    pub approved: bool,
}

fn person_view(p: &store::people::DbPerson) -> PersonView {
    PersonView {
        name: p.name.clone(),
        display_name: p.display_name.clone(),
        bio: p.bio_html.clone(),
        actor_id: p.ap_id.to_string(),
        local: p.local,
        published: time_of(p.published),
    }
}

fn account_view(u: &LocalUser) -> AccountView {
    AccountView {
        person: person_view(&u.person),
        email: u.account.email.clone(),
        is_admin: u.account.is_admin,
        approved: u.account.approved,
    }
}

/// 201 with the account when it may log in now; 202 when it awaits approval.
async fn register(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<NewAccount>,
) -> AppResult<Response> {
    let user = accounts::register(&state, input).await?;
    let status = if user.account.approved {
        StatusCode::CREATED
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, Json(account_view(&user))).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginInput {
    username: String,
    password: String,
}

#[derive(Serialize)]
struct LoginOutput {
    token: String,
    account: AccountView,
}

async fn login(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<LoginInput>,
) -> AppResult<Response> {
    let (token, user) = accounts::login(&state, &input.username, &input.password).await?;
    let body = LoginOutput {
        token,
        account: account_view(&user),
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn logout(State(state): State<AppState>, Auth(_, token): Auth) -> AppResult<StatusCode> {
    accounts::logout(&state, &token).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(Auth(user, _): Auth) -> Json<AccountView> {
    Json(account_view(&user))
}

async fn profile(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> AppResult<Json<ProfileView>> {
    let mut conn = state.db.pool.acquire().await?;
    let p = store::people::find_local_by_name(&mut conn, &name)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    let roles = store::roles::roles_held(&mut conn, p.id).await?;
    Ok(Json(ProfileView {
        person: person_view(&p),
        roles,
    }))
}

/// A person's public profile: who they are and the roles they hold in communities
/// (mentors are who the mentorship feature will match).
#[derive(Serialize)]
pub struct ProfileView {
    #[serde(flatten)]
    pub person: PersonView,
    pub roles: Vec<store::roles::HeldRole>,
}
