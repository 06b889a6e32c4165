//! Announce: our communities relay every accepted activity to their followers (FEP-1b12),
//! and we unwrap what remote communities we follow relay to us.

use super::{
    ActorRef, Outcome, appointing, banning, deletion, dispatch, find_or_fetch_actor,
    following::strip_context,
    locking, reporting, same_origin,
    send::{self, Delivery},
    type_of, url_field,
};
use crate::{
    error::AppError,
    federation::objects::post::{audience_of, followers_of, value_id},
    state::AppState,
    store::{self, communities::DbCommunity, posts::DbPost},
};
use activitypub_federation::{
    config::Data,
    fetch::{fetch_object_http, object_id::ObjectId},
};
use serde_json::{Value, json};
use sqlx::AnyConnection;

const ACTIVITY_TYPES: &[&str] = &[
    "Create", "Update", "Delete", "Like", "Dislike", "Undo", "Announce", "Follow", "Accept",
    "Reject", "Add", "Remove", "Block", "Lock", "Flag", "Resolve",
];

/// The community's `Announce` of `object` (an activity, unchanged, or a bare post):
/// `to: [Public]`, `cc: [followers]`; for a private community `to: [followers]` only.
fn announce_of(state: &AppState, community: &DbCommunity, object: &Value) -> Value {
    let cc = if community.members_only {
        vec![]
    } else {
        vec![followers_of(community)]
    };
    json!({
        "id": state.new_id("activities/announce"),
        "type": "Announce",
        "actor": community.ap_id,
        "to": audience_of(community),
        "cc": cc,
        "object": strip_context(object.clone()),
    })
}

/// A local community announces `activity` (unchanged) to its remote followers; for a new
/// top-level post also the bare object, which is what Mastodon shows (Lemmy does both;
/// announcing replies too flooded Mastodon timelines, Lemmy #2224/#2606).
pub async fn relay(
    conn: &mut AnyConnection,
    state: &AppState,
    community: &DbCommunity,
    activity: &Value,
    bare_object: Option<&Value>,
) -> Result<(), AppError> {
    let is_new_post = type_of(activity) == Some("Create") && bare_object.is_some();
    // A private community's announces go to its members only, and never in a form that
    // Mastodon would show as a boost (no bare object).
    let bare_object = bare_object.filter(|_| !community.members_only);
    let announce = announce_of(state, community, activity);
    send::queue(
        conn,
        &announce,
        Delivery {
            signer: community.ap_id.as_str(),
            inboxes: vec![],
            followers_of: Some(community.id),
            community_id: Some(community.id),
            in_outbox: is_new_post,
        },
    )
    .await?;
    if let Some(object) = bare_object {
        let plain = announce_of(state, community, object);
        send::queue(
            conn,
            &plain,
            Delivery {
                signer: community.ap_id.as_str(),
                inboxes: vec![],
                followers_of: Some(community.id),
                community_id: None,
                in_outbox: false,
            },
        )
        .await?;
    }
    Ok(())
}

/// A local community announces `activity` to one inbox besides its followers: a ban to the
/// banned person's instance, which (having no other member there) would not hear of it.
pub async fn relay_to_inbox(
    conn: &mut AnyConnection,
    state: &AppState,
    community: &DbCommunity,
    activity: &Value,
    inbox: String,
) -> Result<(), AppError> {
    let announce = announce_of(state, community, activity);
    send::queue(
        conn,
        &announce,
        Delivery {
            signer: community.ap_id.as_str(),
            inboxes: vec![inbox],
            followers_of: None,
            community_id: None,
            in_outbox: false,
        },
    )
    .await?;
    Ok(())
}

/// An Announce from a remote community that local people follow.
pub async fn receive(
    json: Value,
    actor: ActorRef,
    data: &Data<AppState>,
) -> Result<Outcome, AppError> {
    let ActorRef::Group(group) = actor else {
        return Ok(Outcome::Ignored); // a boost by a person: not a community relay
    };
    let id = url_field(&json, "id")?;
    same_origin(&id, &group.ap_id)?;
    if group.local || !followed_locally(&group, data).await? {
        return Ok(Outcome::Ignored);
    }
    let inner = match json.get("object") {
        Some(Value::String(url)) => {
            let url = url::Url::parse(url)
                .map_err(|_| AppError::bad_request("invalid_activity", "object is not a URL"))?;
            fetch_object_http::<AppState, Value>(&url, data)
                .await?
                .object
        }
        Some(v @ Value::Object(_)) => v.clone(),
        _ => {
            return Err(AppError::bad_request(
                "invalid_activity",
                "Announce without an object",
            ));
        }
    };
    let is_activity = type_of(&inner).is_some_and(|t| ACTIVITY_TYPES.contains(&t))
        && inner.get("actor").is_some();
    if !is_activity {
        return receive_object(inner, &group, data).await;
    }
    let inner_id = url_field(&inner, "id")?;
    {
        let mut conn = data.db.write_conn().await?;
        if !store::activities::mark_received(&mut conn, inner_id.as_str()).await? {
            return Ok(Outcome::Ignored); // seen directly or through another Announce
        }
    }
    let outcome = receive_activity(inner, inner_id.clone(), &group, data).await;
    tracing::debug!(inner = %inner_id, ?outcome, "announce: relayed activity handled");
    if outcome.is_err() {
        // Let a later copy try again.
        let mut conn = data.db.write_conn().await?;
        store::activities::forget_received(&mut conn, inner_id.as_str()).await?;
    }
    outcome
}

async fn followed_locally(group: &DbCommunity, data: &Data<AppState>) -> Result<bool, AppError> {
    let mut conn = data.db.pool.acquire().await?;
    // Followed by someone here, or someone here is banned there (the ban ended their
    // follow; its Undo still concerns us).
    let n: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM community_followers f JOIN people p ON p.id = f.person_id \
           WHERE f.community_id = $1 AND p.local = 1) \
         + (SELECT COUNT(*) FROM community_bans b JOIN people p ON p.id = b.person_id \
           WHERE b.community_id = $1 AND p.local = 1)",
    )
    .bind(group.id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(n > 0)
}

/// A bare object (Lemmy's second Announce, for Mastodon): stored unless known, always
/// fetched from its own origin.
async fn receive_object(
    object: Value,
    group: &DbCommunity,
    data: &Data<AppState>,
) -> Result<Outcome, AppError> {
    let Some(object_id) = value_id(&object).and_then(|s| url::Url::parse(&s).ok()) else {
        return Err(AppError::bad_request(
            "invalid_activity",
            "announced object has no id",
        ));
    };
    {
        let mut conn = data.db.pool.acquire().await?;
        if store::posts::find_by_ap_id(&mut conn, object_id.as_str())
            .await?
            .is_some()
        {
            return Ok(Outcome::Ignored);
        }
    }
    let post: DbPost = ObjectId::<DbPost>::from(object_id)
        .dereference(data)
        .await?;
    if post.community_id != group.id {
        tracing::info!(post = %post.ap_id, group = %group.ap_id, "announced object belongs to another community");
    }
    Ok(Outcome::Done)
}

/// An activity relayed by `group`. Activities from the group's own origin are covered by
/// its signature; from elsewhere, objects are refetched from their origin.
async fn receive_activity(
    mut inner: Value,
    inner_id: url::Url,
    group: &DbCommunity,
    data: &Data<AppState>,
) -> Result<Outcome, AppError> {
    let inner_actor_id = url_field(&inner, "actor")?;
    same_origin(&inner_id, &inner_actor_id)?;
    let trusted = same_origin(&inner_id, &group.ap_id).is_ok();
    let kind = type_of(&inner).unwrap_or_default().to_string();
    match kind.as_str() {
        "Create" | "Update" | "Like" | "Dislike" | "Undo" | "Delete" | "Lock" | "Add"
        | "Remove" | "Block" | "Flag" | "Resolve" => {}
        other => {
            tracing::info!(kind = other, group = %group.ap_id, "ignoring a relayed activity we do not handle yet");
            return Ok(Outcome::Ignored);
        }
    }
    if data.is_blocked(&inner_actor_id).await? {
        return Ok(Outcome::Ignored); // relayed content from a blocked instance
    }
    let inner_actor = find_or_fetch_actor(&inner_actor_id, data, false).await?;
    match kind.as_str() {
        "Create" | "Update" if !trusted => {
            // Use the object as its origin serves it, not as embedded.
            if let Some(object_id) = inner.get("object").and_then(value_id) {
                inner["object"] = Value::String(object_id);
            }
            Box::pin(dispatch(inner, inner_actor, data)).await
        }
        "Delete" => {
            if !trusted {
                let object = url_field(&inner, "object")?;
                if fetch_object_http::<AppState, Value>(&object, data)
                    .await
                    .is_ok()
                {
                    // Still served by its origin: the Delete is not confirmed.
                    return Ok(Outcome::Ignored);
                }
            }
            deletion::apply(inner, inner_actor, data, Some(group), true).await
        }
        "Lock" => locking::apply(&inner, &inner, inner_actor, data, Some(group), true).await,
        "Add" | "Remove" => appointing::add_or_remove(&inner, inner_actor, data, Some(group)).await,
        "Block" => banning::apply(&inner, &inner, inner_actor, data, Some(group), true).await,
        // Lemmy forwards reports to its remote moderators' instances this way, reporter
        // included; we keep the report and not the reporter.
        "Flag" => reporting::receive(&inner, inner_actor, data, Some(group)).await,
        "Resolve" => reporting::receive_resolve(&inner, inner_actor, data, Some(group)).await,
        "Undo" if type_of(&inner["object"]) == Some("Block") => {
            let block = inner["object"].clone();
            banning::apply(&block, &inner, inner_actor, data, Some(group), false).await
        }
        "Undo" if type_of(&inner["object"]) == Some("Lock") => {
            let lock = inner["object"].clone();
            locking::apply(&lock, &inner, inner_actor, data, Some(group), false).await
        }
        "Undo" if type_of(&inner["object"]) == Some("Delete") => {
            let undone = inner["object"].clone();
            deletion::apply(undone, inner_actor, data, Some(group), false).await
        }
        _ => Box::pin(dispatch(inner, inner_actor, data)).await,
    }
}
