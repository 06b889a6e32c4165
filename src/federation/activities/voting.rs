//! Like and Dislike (up- and down-votes) and their Undo. Lemmy's votes carry no `to`/`cc`,
//! only `audience`; its Undo wraps a new inner id, and 0.19 undoes a Dislike with an inner
//! `Like` — so an Undo clears whatever vote the actor has on the object.

use super::{ActorRef, Outcome, announce, same_origin, send, type_of, url_field};
use crate::{
    error::AppError,
    state::AppState,
    store::{self, communities::DbCommunity, people::DbPerson, posts::DbPost},
};
use activitypub_federation::{config::Data, fetch::object_id::ObjectId};
use serde_json::{Value, json};
use sqlx::AnyConnection;

/// An inbound Like or Dislike.
pub async fn receive(
    json: Value,
    actor: ActorRef,
    data: &Data<AppState>,
) -> Result<Outcome, AppError> {
    let value = if type_of(&json) == Some("Dislike") {
        -1
    } else {
        1
    };
    apply(&json, &json, actor, data, value, true).await
}

/// An inbound Undo(Like|Dislike).
pub async fn receive_undo(
    undo: &Value,
    inner: Value,
    actor: ActorRef,
    data: &Data<AppState>,
) -> Result<Outcome, AppError> {
    apply(undo, &inner, actor, data, 0, true).await
}

/// Records the vote of `activity`'s actor on `vote`'s object; `relay` lets a local community
/// announce it.
pub async fn apply(
    activity: &Value,
    vote: &Value,
    actor: ActorRef,
    data: &Data<AppState>,
    value: i64,
    relay: bool,
) -> Result<Outcome, AppError> {
    let id = url_field(activity, "id")?;
    same_origin(&id, actor.ap_id())?;
    let object = url_field(vote, "object")?;
    let ActorRef::Person(person) = actor else {
        return Ok(Outcome::Ignored);
    };
    let post: DbPost = match ObjectId::<DbPost>::from(object).dereference(data).await {
        Ok(p) => p,
        Err(AppError::NotFound(_)) => return Ok(Outcome::Ignored),
        Err(e) => return Err(e),
    };
    let mut tx = data.db.begin().await?;
    let community = store::communities::find_by_id(&mut tx, post.community_id).await?;
    if community.local && value != 0 {
        // Someone banned from our community does not vote in it (withdrawing a vote is fine).
        crate::domain::moderation::check_not_banned(&mut tx, community.id, person.id).await?;
        // Nor does someone outside a private community of ours.
        if community.members_only {
            crate::domain::membership::check_member(&mut tx, &community, person.id).await?;
        }
    }
    store::posts::set_vote(&mut tx, post.id, person.id, value, Some(id.as_str())).await?;
    if relay && community.local {
        announce::relay(&mut tx, data, &community, activity, None).await?;
    }
    tx.commit().await?;
    send::wake(data);
    Ok(Outcome::Done)
}

/// Federates a local person's vote (`value` 1, -1, or 0 to withdraw `previous`).
pub async fn send(
    conn: &mut AnyConnection,
    state: &AppState,
    person: &DbPerson,
    post: &DbPost,
    community: &DbCommunity,
    value: i64,
    previous: i64,
) -> Result<(), AppError> {
    let vote = |v: i64| {
        json!({
            "id": state.new_id(if v > 0 { "activities/like" } else { "activities/dislike" }),
            "type": if v > 0 { "Like" } else { "Dislike" },
            "actor": person.ap_id,
            "object": post.ap_id,
            "audience": community.ap_id,
        })
    };
    let activity = match (value, previous) {
        (0, 0) => return Ok(()),
        (0, p) => json!({
            "id": state.new_id("activities/undo"),
            "type": "Undo",
            "actor": person.ap_id,
            "object": vote(p),
            "audience": community.ap_id,
        }),
        (v, _) => vote(v),
    };
    send::to_community(
        conn,
        state,
        person.ap_id.as_str(),
        community,
        &activity,
        None,
    )
    .await?;
    Ok(())
}
