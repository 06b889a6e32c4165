//! URLs of posts, replies and activities of ours, with content negotiation: ActivityPub
//! JSON (a `Tombstone` with 410 once deleted), the HTML thread page otherwise.

use super::{
    ap_response, authorized_fetch::check_member_fetch, collections::OrderedCollection,
    objects::post::post_json, wants_activity_json,
};
use crate::{error::AppError, state::AppState, store};
use activitypub_federation::config::Data;
use axum::{
    Router,
    extract::Path,
    http::{StatusCode, request::Parts},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use url::Url;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/post/{key}", get(post))
        .route("/post/{key}/context", get(context))
        .route("/activities/{kind}/{key}", get(activity))
}

async fn local_post(state: &AppState, key: &str) -> Result<store::posts::DbPost, AppError> {
    let ap_id = state.url(&format!("/post/{key}"));
    let mut conn = state.db.pool.acquire().await?;
    store::posts::find_by_ap_id(&mut conn, ap_id.as_str())
        .await?
        .filter(|p| p.local)
        .ok_or(AppError::NotFound("post"))
}

/// A private community's posts are served to a signed fetch by an instance with a member.
async fn check_fetch(
    data: &Data<AppState>,
    req: &Parts,
    p: &store::posts::DbPost,
) -> Result<(), AppError> {
    let community = {
        let mut conn = data.db.pool.acquire().await?;
        store::communities::find_by_id(&mut conn, p.community_id).await?
    };
    check_member_fetch(data, req, &community).await
}

async fn post(
    data: Data<AppState>,
    Path(key): Path<String>,
    req: Parts,
) -> Result<Response, AppError> {
    let state: &AppState = &data;
    let p = local_post(state, &key).await?;
    if !wants_activity_json(&req.headers) {
        return Ok(Redirect::to(&format!("/thread/{}", p.id)).into_response());
    }
    check_fetch(&data, &req, &p).await?;
    if p.is_gone() {
        let mut res = ap_response(&Tombstone {
            id: p.ap_id.clone(),
            kind: "Tombstone",
        });
        *res.status_mut() = StatusCode::GONE;
        return Ok(res);
    }
    let mut conn = state.db.pool.acquire().await?;
    Ok(ap_response(&post_json(&mut conn, p).await?))
}

/// What a deleted post is served as (410).
#[derive(serde::Serialize)]
struct Tombstone {
    id: Url,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// FEP-7888: the thread of a post, as an ordered collection of the post and its replies.
async fn context(
    data: Data<AppState>,
    Path(key): Path<String>,
    req: Parts,
) -> Result<Response, AppError> {
    let state: &AppState = &data;
    let p = local_post(state, &key).await?;
    check_fetch(&data, &req, &p).await?;
    let root_id = p.root_id.unwrap_or(p.id);
    let mut conn = state.db.pool.acquire().await?;
    let root = store::posts::find_by_id(&mut conn, root_id)
        .await?
        .ok_or(AppError::NotFound("post"))?;
    let mut items = vec![root.ap_id.to_string()];
    items.extend(
        store::posts::thread(&mut conn, root.id)
            .await?
            .into_iter()
            .filter(|r| !r.is_gone())
            .map(|r| r.ap_id.to_string()),
    );
    let id =
        Url::parse(&format!("{}/context", p.ap_id)).map_err(|e| AppError::Internal(e.into()))?;
    Ok(ap_response(&OrderedCollection {
        kind: "OrderedCollection",
        id,
        attributed_to: Some(root.ap_id),
        total_items: items.len() as i64,
        ordered_items: items,
        part_of: None,
        next: None,
    }))
}

/// An activity we emitted, at its id (Mastodon dereferences an announced Create by id).
async fn activity(
    data: Data<AppState>,
    Path((kind, key)): Path<(String, String)>,
    req: Parts,
) -> Result<Response, AppError> {
    let state: &AppState = &data;
    let ap_id = state.url(&format!("/activities/{kind}/{key}"));
    let mut conn = state.db.pool.acquire().await?;
    let a = store::activities::find_by_ap_id(&mut conn, ap_id.as_str())
        .await?
        .ok_or(AppError::NotFound("activity"))?;
    // Follows and their answers, reports and their resolution, invitations: between the
    // parties; only public activities are served.
    const PRIVATE: &[&str] = &["Follow", "Accept", "Reject", "Flag", "Resolve", "Invite"];
    let value: serde_json::Value =
        serde_json::from_str(&a.json).map_err(|e| AppError::Internal(e.into()))?;
    let inner = value
        .get("object")
        .and_then(|o| o.get("type"))
        .and_then(serde_json::Value::as_str);
    if PRIVATE.contains(&a.kind.as_str())
        || (a.kind == "Announce" && inner.is_some_and(|k| PRIVATE.contains(&k)))
    {
        return Err(AppError::NotFound("activity"));
    }
    // An activity about a private community, ours or one our people take part in (it names
    // the community: as actor, audience, addressee or target) is for its members' instances
    // (for another's community, as its home instance says).
    for community in store::communities::members_only(&mut conn).await? {
        let quoted = format!("\"{}\"", community.ap_id);
        let under = format!("\"{}/", community.ap_id);
        if a.json.contains(&quoted) || a.json.contains(&under) {
            drop(conn);
            check_member_fetch(&data, &req, &community).await?;
            break;
        }
    }
    let mut res = axum::Json(value).into_response();
    res.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static(super::AP_CONTENT_TYPE),
    );
    Ok(res)
}
