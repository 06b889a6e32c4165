//! Finding remote things: a community by handle (`!name@host`, `name@host`, through
//! WebFinger) or URL, with a signed fetch; backfilling a newly found community's recent
//! posts from its outbox. The domain asks for these through `Federate`.

use crate::{
    error::{AppError, AppResult},
    federation::{client::get_small, webfinger::Jrd},
    state::AppState,
    store::{self, communities::DbCommunity, posts::DbPost},
};
use activitypub_federation::{
    config::Data,
    fetch::{fetch_object_http, object_id::ObjectId},
};
use serde_json::Value;
use url::Url;

/// Largest WebFinger document we read.
const JRD_MAX: usize = 256 * 1024;
/// Posts taken from a newly found community's outbox.
const BACKFILL: usize = 20;

/// Finds a community by handle or URL: ours from the store, a remote one from the store or
/// from its server.
pub async fn resolve_community(data: &Data<AppState>, query: &str) -> AppResult<DbCommunity> {
    let q = query.trim();
    let bad = || {
        AppError::bad_request(
            "bad_handle",
            "expected !name@host, name@host or a community URL",
        )
    };
    if q.starts_with("http://") || q.starts_with("https://") {
        let url = Url::parse(q).map_err(|_| bad())?;
        return ObjectId::<DbCommunity>::from(url).dereference(data).await;
    }
    let handle = q.trim_start_matches(['!', '@']);
    let (name, host) = handle.rsplit_once('@').ok_or_else(bad)?;
    if name.is_empty() || host.is_empty() || host.contains('/') {
        return Err(bad());
    }
    let name = name.to_lowercase();
    if host.eq_ignore_ascii_case(&data.domain) {
        let mut conn = data.db.pool.acquire().await?;
        return store::communities::find_local_by_name(&mut conn, &name)
            .await?
            .ok_or(AppError::NotFound("community"));
    }
    let actor_url = webfinger(data, &name, host).await?;
    let community = ObjectId::<DbCommunity>::from(actor_url)
        .dereference(data)
        .await?;
    Ok(community)
}

/// The ActivityPub id WebFinger gives for `acct:name@host`.
async fn webfinger(state: &AppState, name: &str, host: &str) -> AppResult<Url> {
    let allow_private = state.config.federation.allow_private_addresses;
    let scheme = if allow_private { "http" } else { "https" };
    let url = Url::parse(&format!("{scheme}://{host}/.well-known/webfinger"))
        .map_err(|_| AppError::bad_request("bad_handle", "invalid host"))?;
    let mut url = url;
    url.query_pairs_mut()
        .append_pair("resource", &format!("acct:{name}@{host}"));
    let body = get_small(
        state,
        url,
        "application/jrd+json, application/json",
        JRD_MAX,
        "WebFinger",
    )
    .await?
    .ok_or(AppError::NotFound("community"))?;
    let jrd: Jrd =
        serde_json::from_slice(&body).map_err(|e| AppError::Remote(format!("WebFinger: {e}")))?;
    jrd.links
        .iter()
        .filter(|l| l.rel == "self")
        .filter(|l| {
            l.kind.as_deref().is_some_and(|k| {
                k.starts_with("application/activity+json") || k.starts_with("application/ld+json")
            })
        })
        .find_map(|l| l.href.clone())
        .ok_or_else(|| AppError::Remote("WebFinger has no ActivityPub link".into()))
}

/// Fetches the newest posts of a remote community from its outbox (in the background
/// after a first resolve). Each post is fetched from its own origin. Returns how many.
pub async fn backfill(data: &Data<AppState>, community: &DbCommunity) -> AppResult<usize> {
    let Some(outbox) = community
        .outbox_url
        .as_deref()
        .and_then(|u| Url::parse(u).ok())
    else {
        return Ok(0);
    };
    let collection = fetch_object_http::<AppState, Value>(&outbox, data)
        .await?
        .object;
    let mut page = collection.clone();
    // A paged outbox keeps its items in `first` (embedded or a URL).
    if page.get("orderedItems").is_none() && page.get("items").is_none() {
        page = match collection.get("first") {
            Some(Value::String(u)) => {
                let u = Url::parse(u).map_err(|_| AppError::Remote("bad outbox page".into()))?;
                fetch_object_http::<AppState, Value>(&u, data).await?.object
            }
            Some(v @ Value::Object(_)) => v.clone(),
            _ => Value::Null,
        };
    }
    let items = page
        .get("orderedItems")
        .or_else(|| page.get("items"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut stored = 0;
    for item in items.iter().take(BACKFILL) {
        // Announce(Create(Page)) → the Page's id.
        let object = item
            .get("object")
            .and_then(|o| o.get("object"))
            .or_else(|| item.get("object"));
        let Some(id) = object.and_then(crate::federation::objects::post::value_id) else {
            continue;
        };
        let Ok(id) = Url::parse(&id) else { continue };
        match ObjectId::<DbPost>::from(id.clone())
            .dereference(&data.reset_request_count())
            .await
        {
            Ok(_) => stored += 1,
            Err(e) => tracing::info!(object = %id, error = %e, "backfill: skipped an item"),
        }
    }
    Ok(stored)
}
