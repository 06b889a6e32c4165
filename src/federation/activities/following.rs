//! Follow, Accept, Reject and Undo(Follow): people following communities, both ways.

use super::{
    ActorRef, Outcome,
    send::{self, Delivery},
    url_field,
};
use crate::{
    domain::privacy,
    error::AppError,
    state::AppState,
    store::{self, communities::DbCommunity, people::DbPerson},
};
use activitypub_federation::config::Data;
use serde_json::{Value, json};
use sqlx::AnyConnection;

/// A remote person follows one of our communities: recorded and accepted at once.
pub async fn receive_follow(
    json: Value,
    actor: ActorRef,
    data: &Data<AppState>,
) -> Result<Outcome, AppError> {
    let ActorRef::Person(person) = actor else {
        return Err(AppError::forbidden(
            "not_a_person",
            "only people can follow communities",
        ));
    };
    let object = url_field(&json, "object")?;
    let follow_id = url_field(&json, "id")?;
    let community = {
        let mut conn = data.db.pool.acquire().await?;
        store::communities::find_by_ap_id(&mut conn, object.as_str()).await?
    };
    let Some(community) = community.filter(|c| c.local) else {
        return Ok(Outcome::Ignored); // following a person, someone else's, or unknown
    };
    // An invitation lets someone into a private community only from software that keeps
    // its posts private (asked before the write transaction: it may fetch NodeInfo).
    let keeps_private = privacy::check_keeps_private(data, &community, &person.ap_id, person.local)
        .await
        .is_ok();
    let mut tx = data.db.begin().await?;
    let known = store::followers::follow_state(&mut tx, community.id, person.id).await?;
    // Someone we invited is welcome at once.
    let invited = store::invitations::is_invited(&mut tx, community.id, person.id).await?;
    if invited {
        store::invitations::accept(&mut tx, community.id, person.id).await?;
    }
    if community.approval_required
        && known.as_deref() != Some("accepted")
        && !(invited && keeps_private)
    {
        // Waits for a moderator (`domain::membership::decide`), who then sends the Accept.
        store::followers::upsert_follower(
            &mut tx,
            community.id,
            person.id,
            "pending",
            Some(follow_id.as_str()),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(community = %community.name, follower = %person.ap_id, "follow awaits approval");
        return Ok(Outcome::Done);
    }
    store::followers::upsert_follower(
        &mut tx,
        community.id,
        person.id,
        "accepted",
        Some(follow_id.as_str()),
    )
    .await?;
    let accept = json!({
        "id": data.new_id("activities/accept"),
        "type": "Accept",
        "actor": community.ap_id,
        "to": [person.ap_id],
        "object": strip_context(json),
    });
    send::queue(
        &mut tx,
        &accept,
        Delivery {
            followers_of: None,
            signer: community.ap_id.as_str(),
            inboxes: vec![person.inbox.clone()],
            community_id: None,
            in_outbox: false,
        },
    )
    .await?;
    tx.commit().await?;
    send::wake(data);
    tracing::info!(community = %community.name, follower = %person.ap_id, "new follower accepted");
    Ok(Outcome::Done)
}

/// A moderator's answer to a remote person's pending Follow of a local community: an
/// `Accept` or a `Reject` of their Follow (rebuilt from its stored id), to their inbox.
pub async fn send_decision(
    conn: &mut sqlx::AnyConnection,
    state: &AppState,
    community: &store::communities::DbCommunity,
    follower: &store::followers::Follower,
    accepted: bool,
) -> Result<(), AppError> {
    let Some(follow_id) = &follower.follow_id else {
        return Ok(()); // a local follower: nothing to send
    };
    let kind = if accepted { "Accept" } else { "Reject" };
    let activity = json!({
        "id": state.new_id(&format!("activities/{}", kind.to_ascii_lowercase())),
        "type": kind,
        "actor": community.ap_id,
        "to": [follower.ap_id],
        "object": {
            "id": follow_id, "type": "Follow",
            "actor": follower.ap_id, "object": community.ap_id,
        },
    });
    send::queue(
        conn,
        &activity,
        Delivery {
            followers_of: None,
            signer: community.ap_id.as_str(),
            inboxes: vec![follower.inbox.clone()],
            community_id: None,
            in_outbox: false,
        },
    )
    .await?;
    Ok(())
}

/// A remote community accepted a local person's Follow.
pub async fn receive_accept(
    json: Value,
    actor: ActorRef,
    data: &Data<AppState>,
) -> Result<Outcome, AppError> {
    set_follow_state(json, actor, data, "accepted").await
}

/// A remote community refused a local person's Follow.
pub async fn receive_reject(
    json: Value,
    actor: ActorRef,
    data: &Data<AppState>,
) -> Result<Outcome, AppError> {
    set_follow_state(json, actor, data, "rejected").await
}

async fn set_follow_state(
    json: Value,
    actor: ActorRef,
    data: &Data<AppState>,
    state: &str,
) -> Result<Outcome, AppError> {
    let ActorRef::Group(community) = actor else {
        return Ok(Outcome::Ignored); // we only follow groups
    };
    let inner = json.get("object").cloned().unwrap_or(Value::Null);
    let mut conn = data.db.write_conn().await?;
    // The embedded Follow names the follower; a bare id is matched on the stored Follow id.
    let follower = match inner.get("actor") {
        Some(_) => {
            let who = url_field(&inner, "actor")?;
            let target = url_field(&inner, "object")?;
            if target != community.ap_id {
                return Err(AppError::forbidden(
                    "not_your_follow",
                    "a community can only answer follows of itself",
                ));
            }
            store::people::find_by_ap_id(&mut conn, who.as_str()).await?
        }
        None => {
            let follow_id = super::super::objects::post::value_id(&inner).unwrap_or_default();
            follower_by_follow_id(&mut conn, community.id, &follow_id).await?
        }
    };
    let Some(follower) = follower.filter(|p| p.local) else {
        return Ok(Outcome::Ignored);
    };
    if store::followers::follow_state(&mut conn, community.id, follower.id)
        .await?
        .is_none()
    {
        return Ok(Outcome::Ignored); // not a follow we asked for
    }
    if state == "rejected" {
        store::followers::remove_follower(&mut conn, community.id, follower.id).await?;
    } else {
        store::followers::upsert_follower(&mut conn, community.id, follower.id, state, None)
            .await?;
    }
    tracing::info!(community = %community.ap_id, follower = %follower.name, state, "follow answered");
    Ok(Outcome::Done)
}

async fn follower_by_follow_id(
    conn: &mut AnyConnection,
    community_id: i64,
    follow_id: &str,
) -> Result<Option<DbPerson>, AppError> {
    let id: Option<i64> = sqlx::query_scalar(
        "SELECT person_id FROM community_followers WHERE community_id = $1 AND follow_id = $2",
    )
    .bind(community_id)
    .bind(follow_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match id {
        Some(id) => Some(store::people::find_by_id(conn, id).await?),
        None => None,
    })
}

/// A remote person unfollows one of our communities.
pub async fn receive_undo_follow(
    _undo: &Value,
    inner: Value,
    actor: ActorRef,
    data: &Data<AppState>,
) -> Result<Outcome, AppError> {
    let ActorRef::Person(person) = actor else {
        return Ok(Outcome::Ignored);
    };
    let object = url_field(&inner, "object")?;
    let mut conn = data.db.write_conn().await?;
    let Some(community) = store::communities::find_by_ap_id(&mut conn, object.as_str()).await?
    else {
        return Ok(Outcome::Ignored);
    };
    if !community.local
        || !store::followers::remove_follower(&mut conn, community.id, person.id).await?
    {
        return Ok(Outcome::Ignored);
    }
    tracing::info!(community = %community.name, follower = %person.ap_id, "follower left");
    Ok(Outcome::Done)
}

/// A local person follows a remote community: recorded as pending, Follow queued.
pub async fn send_follow(
    state: &AppState,
    person: &DbPerson,
    community: &DbCommunity,
) -> Result<(), AppError> {
    let follow_id = state.new_id("activities/follow");
    let follow = json!({
        "id": follow_id,
        "type": "Follow",
        "actor": person.ap_id,
        "object": community.ap_id,
        "to": [community.ap_id],
    });
    let mut tx = state.db.begin().await?;
    store::followers::upsert_follower(
        &mut tx,
        community.id,
        person.id,
        "pending",
        Some(follow_id.as_str()),
    )
    .await?;
    send::queue(
        &mut tx,
        &follow,
        Delivery {
            followers_of: None,
            signer: person.ap_id.as_str(),
            inboxes: vec![send::community_inbox(community)],
            community_id: None,
            in_outbox: false,
        },
    )
    .await?;
    tx.commit().await?;
    send::wake(state);
    Ok(())
}

/// A local person unfollows a remote community: Undo(Follow) with the original Follow.
pub async fn send_unfollow(
    state: &AppState,
    person: &DbPerson,
    community: &DbCommunity,
) -> Result<(), AppError> {
    let mut tx = state.db.begin().await?;
    let follow_id: Option<String> = sqlx::query_scalar(
        "SELECT follow_id FROM community_followers WHERE community_id = $1 AND person_id = $2",
    )
    .bind(community.id)
    .bind(person.id)
    .fetch_optional(&mut *tx)
    .await?
    .flatten();
    if !store::followers::remove_follower(&mut tx, community.id, person.id).await? {
        return Err(AppError::NotFound("follow"));
    }
    let undo = json!({
        "id": state.new_id("activities/undo"),
        "type": "Undo",
        "actor": person.ap_id,
        "to": [community.ap_id],
        "object": {
            "id": follow_id.unwrap_or_else(|| state.new_id("activities/follow").to_string()),
            "type": "Follow",
            "actor": person.ap_id,
            "object": community.ap_id,
            "to": [community.ap_id],
        },
    });
    send::queue(
        &mut tx,
        &undo,
        Delivery {
            followers_of: None,
            signer: person.ap_id.as_str(),
            inboxes: vec![send::community_inbox(community)],
            community_id: None,
            in_outbox: false,
        },
    )
    .await?;
    tx.commit().await?;
    send::wake(state);
    Ok(())
}

/// An embedded activity without its `@context` (Lemmy 0.19 drops it; harmless either way).
pub fn strip_context(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.shift_remove("@context");
    }
    v
}
