//! Add and Remove with a community's `featured` collection as target: a moderator pins or
//! unpins a post, as Lemmy 0.19 and 1.0 send it (`object` = the post id, `target` = the
//! Group's featured collection). Add/Remove of moderators (target = the moderators
//! collection) are not handled yet and are acknowledged.

use super::{
    ActorRef, Outcome, announce,
    appointing::AddOrRemove,
    send,
    wire::{self, Ctx},
};
use crate::{
    error::AppError,
    state::AppState,
    store::{self, communities::DbCommunity, modlog::NewEntry, people::DbPerson, posts::DbPost},
};
use serde_json::Value;
use url::Url;

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
) -> Result<Value, AppError> {
    let target =
        Url::parse(&featured_of(state, community)).map_err(|e| AppError::Internal(e.into()))?;
    wire::to_value(&AddOrRemove::new(
        state,
        &moderator.ap_id,
        community,
        &post.ap_id,
        target,
        pinned,
    ))
}

/// An inbound Add or Remove; acts only when its target is the featured collection of the
/// post's community.
pub async fn apply(activity: AddOrRemove, ctx: Ctx<'_>) -> Result<Outcome, AppError> {
    let pinned = activity.added();
    let Some(target) = &activity.target else {
        return Ok(Outcome::Ignored);
    };
    let ActorRef::Person(person) = &ctx.actor else {
        return Ok(Outcome::Ignored);
    };
    let data = ctx.data;
    let mut tx = data.db.begin().await?;
    let Some(post) = store::posts::find_by_ap_id(&mut tx, activity.object.as_str()).await? else {
        return Ok(Outcome::Ignored); // a person (moderator added) or something we lack
    };
    let community = store::communities::find_by_id(&mut tx, post.community_id).await?;
    if target.as_str() != featured_of(data, &community) {
        return Ok(Outcome::Ignored);
    }
    if !super::moderates(&mut tx, &community, person, ctx.relayed_by).await? {
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
                reason: activity.summary.as_deref(),
                activity_id: ctx.activity_id(),
            },
        )
        .await?;
    }
    if community.local {
        announce::relay(&mut tx, data, &community, ctx.raw, None).await?;
    }
    tx.commit().await?;
    send::wake(data);
    Ok(Outcome::Done)
}
