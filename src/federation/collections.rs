//! Collections of local actors: outbox, followers, featured, moderators. Outbox and featured
//! are empty until posts exist (federation issue); followers and moderators are real.

use super::{
    ap_response,
    authorized_fetch::{check_is_follower_query, check_member_fetch},
};
use crate::{error::AppError, state::AppState, store};
use activitypub_federation::config::Data;
use axum::http::request::Parts;
use axum::{
    Router,
    extract::{Path, State},
    response::Response,
    routing::get,
};
use serde::Serialize;
use url::Url;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/c/{name}/outbox", get(community_outbox))
        .route("/c/{name}/featured", get(community_featured))
        .route("/c/{name}/followers", get(community_followers))
        .route("/c/{name}/moderators", get(community_moderators))
        .route("/c/{name}/facilitators", get(community_facilitators))
        .route("/c/{name}/mentors", get(community_mentors))
        .route("/u/{name}/outbox", get(person_outbox))
        .route("/actor/outbox", get(instance_outbox))
}

/// An `OrderedCollection` (or one page of it, `OrderedCollectionPage`) with its items
/// inline (Lemmy's shape for these collections).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderedCollection<T: Serialize> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: Url,
    /// The thread's first post (FEP-7888 context collections).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributed_to: Option<Url>,
    pub total_items: i64,
    pub ordered_items: Vec<T>,
    /// The whole collection, on a page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part_of: Option<Url>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<Url>,
}

/// A `Collection` that states its size but lists no members (followers: as Lemmy and
/// Mastodon do, members are not published).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CountedCollection {
    #[serde(rename = "type")]
    kind: &'static str,
    id: Url,
    total_items: i64,
    items: Vec<Url>,
}

fn ordered<T: Serialize>(id: Url, items: Vec<T>) -> Response {
    ap_response(&OrderedCollection {
        kind: "OrderedCollection",
        id,
        attributed_to: None,
        total_items: items.len() as i64,
        ordered_items: items,
        part_of: None,
        next: None,
    })
}

async fn local_community(
    state: &AppState,
    name: &str,
) -> Result<store::communities::DbCommunity, AppError> {
    let mut conn = state.db.pool.acquire().await?;
    store::communities::find_local_by_name(&mut conn, name)
        .await?
        .ok_or(AppError::NotFound("community"))
}

#[derive(serde::Deserialize)]
struct OutboxQuery {
    /// Keyset paging: items older than this activity row id.
    before: Option<i64>,
}

/// Items per outbox page.
const OUTBOX_PAGE: i64 = 20;

/// The community outbox, newest first: `Announce(Create(Page))` of each post. The first
/// page is inline in `orderedItems` (Lemmy reads only that); `next` links older pages.
async fn community_outbox(
    data: Data<AppState>,
    Path(name): Path<String>,
    axum::extract::Query(q): axum::extract::Query<OutboxQuery>,
    req: Parts,
) -> Result<Response, AppError> {
    let state: &AppState = &data;
    let c = local_community(state, &name).await?;
    check_member_fetch(&data, &req, &c).await?;
    let mut conn = state.db.pool.acquire().await?;
    let total = store::activities::outbox_count(&mut conn, c.id).await?;
    let rows = store::activities::outbox_page(&mut conn, c.id, q.before, OUTBOX_PAGE).await?;
    let base = state.url(&format!("/c/{}/outbox", c.name));
    let page_of = |before: i64| {
        let mut u = base.clone();
        u.set_query(Some(&format!("before={before}")));
        u
    };
    let next = (rows.len() as i64 == OUTBOX_PAGE)
        .then(|| rows.last().map(|a| page_of(a.id)))
        .flatten();
    let items: Vec<serde_json::Value> = rows
        .iter()
        .filter_map(|a| serde_json::from_str::<serde_json::Value>(&a.json).ok())
        .map(crate::federation::activities::following::strip_context)
        .collect();
    Ok(ap_response(&OrderedCollection {
        kind: if q.before.is_some() {
            "OrderedCollectionPage"
        } else {
            "OrderedCollection"
        },
        id: q.before.map_or_else(|| base.clone(), page_of),
        attributed_to: None,
        total_items: total,
        ordered_items: items,
        part_of: q.before.map(|_| base.clone()),
        next,
    }))
}

async fn community_featured(
    data: Data<AppState>,
    Path(name): Path<String>,
    req: Parts,
) -> Result<Response, AppError> {
    let state: &AppState = &data;
    let c = local_community(state, &name).await?;
    check_member_fetch(&data, &req, &c).await?;
    let mut conn = state.db.pool.acquire().await?;
    // Whole Page objects, as Lemmy serves (and reads) its featured collection.
    let mut items = Vec::new();
    for p in store::posts::featured_in(&mut conn, c.id).await? {
        items.push(crate::federation::objects::post::post_json(&mut conn, p).await?);
    }
    Ok(ordered(
        state.url(&format!("/c/{}/featured", c.name)),
        items,
    ))
}

#[derive(serde::Deserialize)]
struct FollowersQuery {
    /// Lemmy asks whether this actor's instance has a member of a private community.
    is_follower: Option<Url>,
}

async fn community_followers(
    data: Data<AppState>,
    Path(name): Path<String>,
    axum::extract::Query(q): axum::extract::Query<FollowersQuery>,
    req: Parts,
) -> Result<Response, AppError> {
    let state: &AppState = &data;
    let c = local_community(state, &name).await?;
    if let Some(asked) = &q.is_follower {
        check_is_follower_query(&data, &req, &c, asked).await?;
    }
    let mut conn = state.db.pool.acquire().await?;
    let total = store::followers::follower_count(&mut conn, c.id).await?;
    Ok(ap_response(&CountedCollection {
        kind: "Collection",
        id: state.url(&format!("/c/{}/followers", c.name)),
        total_items: total,
        items: vec![],
    }))
}

async fn community_moderators(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    let c = local_community(&state, &name).await?;
    role_collection(&state, &c, "moderator", "moderators").await
}

/// Guildhall's community-of-practice roles, as collections like the moderators one.
/// (A private community's are for its members' instances; its moderators stay public, as
/// Lemmy needs them to follow it.)
async fn community_facilitators(
    data: Data<AppState>,
    Path(name): Path<String>,
    req: Parts,
) -> Result<Response, AppError> {
    let c = local_community(&data, &name).await?;
    check_member_fetch(&data, &req, &c).await?;
    role_collection(&data, &c, "facilitator", "facilitators").await
}

async fn community_mentors(
    data: Data<AppState>,
    Path(name): Path<String>,
    req: Parts,
) -> Result<Response, AppError> {
    let c = local_community(&data, &name).await?;
    check_member_fetch(&data, &req, &c).await?;
    role_collection(&data, &c, "mentor", "mentors").await
}

async fn role_collection(
    state: &AppState,
    c: &store::communities::DbCommunity,
    role: &str,
    path: &str,
) -> Result<Response, AppError> {
    let mut conn = state.db.pool.acquire().await?;
    let holders = store::roles::role_holders(&mut conn, c.id, role).await?;
    let ids = holders
        .into_iter()
        .filter_map(|m| Url::parse(&m.ap_id).ok())
        .collect();
    Ok(ordered::<Url>(
        state.url(&format!("/c/{}/{path}", c.name)),
        ids,
    ))
}

async fn person_outbox(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    let mut conn = state.db.pool.acquire().await?;
    let p = store::people::find_local_by_name(&mut conn, &name)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    Ok(ordered::<Url>(
        state.url(&format!("/u/{}/outbox", p.name)),
        vec![],
    ))
}

async fn instance_outbox(State(state): State<AppState>) -> Response {
    ordered::<Url>(state.url("/actor/outbox"), vec![])
}
