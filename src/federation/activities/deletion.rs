//! Delete and Undo(Delete) of posts and replies: by their author (deleted) or by a
//! moderator of their community (removed, Lemmy's `Delete` with a `summary`).

use super::{ActorRef, Outcome, announce, same_origin, send, url_field};
use crate::{
    error::AppError,
    federation::objects::post::audience_of,
    state::AppState,
    store::{self, communities::DbCommunity, people::DbPerson, posts::DbPost},
};
use activitypub_federation::config::Data;
use serde_json::{Value, json};
use sqlx::AnyConnection;

/// What a Delete does to a post, given who sent it.
async fn authority(
    conn: &mut AnyConnection,
    person: &DbPerson,
    post: &DbPost,
    vouched_by: Option<&DbCommunity>,
) -> Result<Option<bool>, AppError> {
    if post.author_id == person.id {
        return Ok(Some(false)); // the author's own deletion
    }
    let community = store::communities::find_by_id(conn, post.community_id).await?;
    Ok(super::moderates(conn, &community, person, vouched_by)
        .await?
        .then_some(true))
}

/// An inbound Delete (direct, or relayed by `vouched_by`).
pub async fn receive(
    json: Value,
    actor: ActorRef,
    data: &Data<AppState>,
) -> Result<Outcome, AppError> {
    apply(json, actor, data, None, true).await
}

/// Applies a Delete (`gone` = true) or its Undo (`gone` = false).
pub async fn apply(
    json: Value,
    actor: ActorRef,
    data: &Data<AppState>,
    vouched_by: Option<&DbCommunity>,
    gone: bool,
) -> Result<Outcome, AppError> {
    let id = url_field(&json, "id")?;
    same_origin(&id, actor.ap_id())?;
    let object = url_field(&json, "object")?;
    let ActorRef::Person(person) = actor else {
        return Ok(Outcome::Ignored);
    };
    if object == person.ap_id {
        return Ok(Outcome::Ignored); // account deletion: not handled yet
    }
    let mut tx = data.db.begin().await?;
    let Some(post) = store::posts::find_by_ap_id(&mut tx, object.as_str()).await? else {
        return Ok(Outcome::Ignored);
    };
    if post.local && vouched_by.is_some() && post.author_id != person.id {
        // Our own content is only removed by our own moderators or its author.
        let community = store::communities::find_by_id(&mut tx, post.community_id).await?;
        if community.local {
            return Ok(Outcome::Ignored);
        }
    }
    let Some(removed) = authority(&mut tx, &person, &post, vouched_by).await? else {
        return Err(AppError::forbidden(
            "not_allowed",
            "only the author or a moderator can delete this",
        ));
    };
    store::posts::set_gone(&mut tx, post.id, removed, gone).await?;
    let community = store::communities::find_by_id(&mut tx, post.community_id).await?;
    if removed {
        store::modlog::insert(
            &mut tx,
            store::modlog::NewEntry {
                community_id: community.id,
                actor_id: Some(person.id),
                action: if gone { "remove" } else { "restore" },
                post_id: Some(post.id),
                person_id: None,
                reason: json.get("summary").and_then(Value::as_str),
                activity_id: Some(id.as_str()),
            },
        )
        .await?;
    }
    if community.local && vouched_by.is_none() {
        announce::relay(&mut tx, data, &community, &json, None).await?;
    }
    tx.commit().await?;
    send::wake(data);
    tracing::info!(post = %post.ap_id, by = %person.ap_id, removed, gone, "delete applied");
    Ok(Outcome::Done)
}

/// An inbound Undo(Delete): restores the post (same authority as the Delete).
pub async fn receive_undo(
    undo: &Value,
    inner: Value,
    actor: ActorRef,
    data: &Data<AppState>,
) -> Result<Outcome, AppError> {
    let undo_id = url_field(undo, "id")?;
    same_origin(&undo_id, actor.ap_id())?;
    let outcome = apply(inner, actor, data, None, false).await?;
    Ok(outcome)
}

/// Federates a local person's deletion (or a local moderator's removal, with `reason`).
pub async fn send(
    conn: &mut AnyConnection,
    state: &AppState,
    actor: &DbPerson,
    post: &DbPost,
    community: &DbCommunity,
    reason: Option<&str>,
) -> Result<(), AppError> {
    let mut activity = json!({
        "id": state.new_id("activities/delete"),
        "type": "Delete",
        "actor": actor.ap_id,
        "to": audience_of(community),
        "cc": [community.ap_id],
        "audience": community.ap_id,
        "object": post.ap_id,
    });
    if let Some(reason) = reason {
        activity["summary"] = json!(reason);
    }
    send::to_community(
        conn,
        state,
        actor.ap_id.as_str(),
        community,
        &activity,
        None,
    )
    .await?;
    Ok(())
}
