//! Finding remote communities (`!name@host`, `name@host` or a URL, through WebFinger and a
//! signed fetch), backfilling their recent posts, and following or leaving communities.

use super::outgoing::Outgoing;
use crate::{
    error::{AppError, AppResult},
    federation::{client::get_small, webfinger::Jrd},
    state::AppState,
    store::{self, communities::DbCommunity, people::DbPerson, posts::DbPost},
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

/// A local person follows a community: at once for ours (or pending, when it approves its
/// members), by Follow for a remote one. `accepts_guidelines`: they accepted the community's
/// guidelines, which a community of ours may require (422 `guidelines_not_accepted`).
pub async fn follow(
    state: &AppState,
    person: &DbPerson,
    community: &DbCommunity,
    accepts_guidelines: bool,
) -> AppResult<String> {
    follow_as(state, person, community, accepts_guidelines, false).await
}

/// `follow`, for someone `invited` (a community of ours then takes them without approval).
pub async fn follow_as(
    state: &AppState,
    person: &DbPerson,
    community: &DbCommunity,
    accepts_guidelines: bool,
    invited: bool,
) -> AppResult<String> {
    let mut conn = state.db.write_conn().await?;
    if let Some(s) = store::followers::follow_state(&mut conn, community.id, person.id).await? {
        // Waiting for approval, then invited: in at once.
        if s == "pending" && invited && community.local {
            store::followers::upsert_follower(&mut conn, community.id, person.id, "accepted", None)
                .await?;
            return Ok("accepted".into());
        }
        return Ok(s);
    }
    if community.local
        && !accepts_guidelines
        && store::settings::get(&mut conn, community.id)
            .await?
            .guidelines_required
    {
        return Err(AppError::invalid(
            "guidelines_not_accepted",
            "this community asks new members to accept its guidelines: \
             read them and join with \"accept_guidelines\": true",
        ));
    }
    if community.local {
        let state = if community.approval_required && !invited {
            "pending" // until a moderator accepts (`membership::decide`)
        } else {
            "accepted"
        };
        store::followers::upsert_follower(&mut conn, community.id, person.id, state, None).await?;
        if accepts_guidelines {
            store::settings::accept_guidelines(&mut conn, community.id, person.id).await?;
        }
        return Ok(state.into());
    }
    drop(conn);
    let follow_id = state.new_id("activities/follow");
    let mut tx = state.db.begin().await?;
    store::followers::upsert_follower(
        &mut tx,
        community.id,
        person.id,
        "pending",
        Some(follow_id.as_str()),
    )
    .await?;
    let follow = Outgoing::Follow {
        person,
        community,
        follow_id: &follow_id,
    };
    state.federate(&mut tx, follow).await?;
    tx.commit().await?;
    state.wake_delivery();
    Ok("pending".into())
}

/// A local person leaves a community.
pub async fn unfollow(
    state: &AppState,
    person: &DbPerson,
    community: &DbCommunity,
) -> AppResult<()> {
    if community.local {
        let mut conn = state.db.write_conn().await?;
        if !store::followers::remove_follower(&mut conn, community.id, person.id).await? {
            return Err(AppError::NotFound("follow"));
        }
        return Ok(());
    }
    let mut tx = state.db.begin().await?;
    let follow_id = store::followers::follow_id(&mut tx, community.id, person.id).await?;
    if !store::followers::remove_follower(&mut tx, community.id, person.id).await? {
        return Err(AppError::NotFound("follow"));
    }
    let unfollow = Outgoing::Unfollow {
        person,
        community,
        follow_id: follow_id.as_deref(),
    };
    state.federate(&mut tx, unfollow).await?;
    tx.commit().await?;
    state.wake_delivery();
    Ok(())
}
