//! Lock and Undo(Lock): a moderator closes a post or reply to new replies, as Lemmy 0.19 and
//! 1.0 send it (`object` = the post's id, `audience` = the community; 1.0 also locks
//! comments). Accepted from a moderator of a local community, or relayed by the remote
//! community the post belongs to (the community vouches for its moderators).

use super::{ActorRef, Outcome, announce, same_origin, send, url_field};
use crate::{
    error::AppError,
    federation::objects::post::audience_of,
    state::AppState,
    store::{self, communities::DbCommunity, modlog::NewEntry, people::DbPerson, posts::DbPost},
};
use activitypub_federation::config::Data;
use serde_json::{Value, json};

/// The Lock (or, when `locked` is false, the Undo(Lock)) of `post` by `moderator`.
pub fn activity(
    state: &AppState,
    moderator: &DbPerson,
    community: &DbCommunity,
    post: &DbPost,
    locked: bool,
    reason: Option<&str>,
) -> Value {
    let mut lock = json!({
        "id": state.new_id("activities/lock"),
        "type": "Lock",
        "actor": moderator.ap_id,
        "to": audience_of(community),
        "cc": [community.ap_id],
        "object": post.ap_id,
        "audience": community.ap_id,
    });
    if let Some(r) = reason.filter(|r| !r.is_empty()) {
        lock["summary"] = Value::String(r.to_string());
    }
    if locked {
        return lock;
    }
    json!({
        "id": state.new_id("activities/undo"),
        "type": "Undo",
        "actor": moderator.ap_id,
        "to": audience_of(community),
        "cc": [community.ap_id],
        "object": lock,
        "audience": community.ap_id,
    })
}

/// An inbound Lock (`locked`) or the Lock inside an Undo (`!locked`); `outer` is the
/// activity as received (relayed unchanged when the community is ours), `vouched_by` the
/// community that relayed it, if any.
pub async fn apply(
    lock: &Value,
    outer: &Value,
    actor: ActorRef,
    data: &Data<AppState>,
    vouched_by: Option<&DbCommunity>,
    locked: bool,
) -> Result<Outcome, AppError> {
    let id = url_field(outer, "id")?;
    same_origin(&id, actor.ap_id())?;
    let object = url_field(lock, "object")?;
    let ActorRef::Person(person) = actor else {
        return Ok(Outcome::Ignored);
    };
    let mut tx = data.db.begin().await?;
    let Some(post) = store::posts::find_by_ap_id(&mut tx, object.as_str()).await? else {
        return Ok(Outcome::Ignored); // not something we have
    };
    let community = store::communities::find_by_id(&mut tx, post.community_id).await?;
    if !super::moderates(&mut tx, &community, &person, vouched_by).await? {
        return Err(AppError::forbidden(
            "not_a_moderator",
            "only a moderator of the community can lock or unlock",
        ));
    }
    if store::posts::set_locked(&mut tx, post.id, locked).await? {
        let reason = lock.get("summary").and_then(Value::as_str);
        store::modlog::insert(
            &mut tx,
            NewEntry {
                community_id: community.id,
                actor_id: Some(person.id),
                action: if locked { "lock" } else { "unlock" },
                post_id: Some(post.id),
                person_id: None,
                reason,
                activity_id: Some(id.as_str()),
            },
        )
        .await?;
        tracing::info!(post = %post.ap_id, moderator = %person.ap_id, locked, "thread lock changed");
    }
    if community.local {
        announce::relay(&mut tx, data, &community, outer, None).await?;
    }
    tx.commit().await?;
    send::wake(data);
    Ok(Outcome::Done)
}
