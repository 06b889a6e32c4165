//! Add and Remove with a community's `featured` collection as target: a moderator pins or
//! unpins a post, as Lemmy 0.19 and 1.0 send it (`object` = the post id, `target` = the
//! Group's featured collection). Add/Remove of moderators (target = the moderators
//! collection) are not handled yet and are acknowledged.

use super::{ActorRef, Outcome, announce, same_origin, send, url_field};
use crate::{
    error::AppError,
    federation::objects::post::audience_of,
    state::AppState,
    store::{self, communities::DbCommunity, modlog::NewEntry, people::DbPerson, posts::DbPost},
};
use activitypub_federation::config::Data;
use serde_json::{Value, json};

/// The id of a community's featured collection.
pub fn featured_of(state: &AppState, c: &DbCommunity) -> String {
    match (&c.featured_url, c.local) {
        (Some(u), _) => u.clone(),
        (None, true) => state.url(&format!("/c/{}/featured", c.name)).to_string(),
        (None, false) => format!("{}/featured", c.ap_id.as_str().trim_end_matches('/')),
    }
}

/// The Add (pin) or Remove (unpin) of `post` by `moderator`.
pub fn activity(
    state: &AppState,
    moderator: &DbPerson,
    community: &DbCommunity,
    post: &DbPost,
    pinned: bool,
) -> Value {
    let kind = if pinned { "Add" } else { "Remove" };
    json!({
        "id": state.new_id(&format!("activities/{}", kind.to_ascii_lowercase())),
        "type": kind,
        "actor": moderator.ap_id,
        "to": audience_of(community),
        "cc": [community.ap_id],
        "object": post.ap_id,
        "target": featured_of(state, community),
        "audience": community.ap_id,
    })
}

/// An inbound Add or Remove; acts only when its target is the featured collection of the
/// post's community. `vouched_by` is the community that relayed it, if any.
pub async fn apply(
    json: &Value,
    actor: ActorRef,
    data: &Data<AppState>,
    vouched_by: Option<&DbCommunity>,
) -> Result<Outcome, AppError> {
    let id = url_field(json, "id")?;
    same_origin(&id, actor.ap_id())?;
    let pinned = json.get("type").and_then(Value::as_str) == Some("Add");
    let (Ok(object), Ok(target)) = (url_field(json, "object"), url_field(json, "target")) else {
        return Ok(Outcome::Ignored);
    };
    let ActorRef::Person(person) = actor else {
        return Ok(Outcome::Ignored);
    };
    let mut tx = data.db.begin().await?;
    let Some(post) = store::posts::find_by_ap_id(&mut tx, object.as_str()).await? else {
        return Ok(Outcome::Ignored); // a person (moderator added) or something we lack
    };
    let community = store::communities::find_by_id(&mut tx, post.community_id).await?;
    if target.as_str() != featured_of(data, &community) {
        return Ok(Outcome::Ignored);
    }
    if !super::moderates(&mut tx, &community, &person, vouched_by).await? {
        return Err(AppError::forbidden(
            "not_a_moderator",
            "only a moderator of the community can pin or unpin",
        ));
    }
    if store::posts::set_featured(&mut tx, post.id, pinned).await? {
        store::modlog::insert(
            &mut tx,
            NewEntry {
                community_id: community.id,
                actor_id: Some(person.id),
                action: if pinned { "pin" } else { "unpin" },
                post_id: Some(post.id),
                person_id: None,
                reason: json.get("summary").and_then(Value::as_str),
                activity_id: Some(id.as_str()),
            },
        )
        .await?;
    }
    if community.local {
        announce::relay(&mut tx, data, &community, json, None).await?;
    }
    tx.commit().await?;
    send::wake(data);
    Ok(Outcome::Done)
}
