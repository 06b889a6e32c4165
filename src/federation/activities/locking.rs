//! Lock and Undo(Lock): a moderator closes a post or reply to new replies, as Lemmy 0.19 and
//! 1.0 send it (`object` = the post's id, `audience` = the community; 1.0 also locks
//! comments). Accepted from a moderator of a local community, or relayed by the remote
//! community the post belongs to (the community vouches for its moderators).

use super::{
    ActorRef, Outcome, announce, send,
    undo::Undo,
    wire::{self, Ctx, Receive},
};
use crate::{
    error::AppError,
    state::AppState,
    store::{self, communities::DbCommunity, modlog::NewEntry, people::DbPerson, posts::DbPost},
};
use activitypub_federation::fetch::object_id::ObjectId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum LockType {
    Lock,
}

/// `Lock` of a post or reply.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Lock {
    #[serde(deserialize_with = "wire::url")]
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: LockType,
    #[serde(deserialize_with = "wire::id")]
    pub actor: ObjectId<ActorRef>,
    #[serde(default, deserialize_with = "wire::addresses")]
    pub to: Vec<Url>,
    #[serde(
        default,
        deserialize_with = "wire::addresses",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub cc: Vec<Url>,
    #[serde(deserialize_with = "wire::url")]
    pub object: Url,
    #[serde(
        default,
        deserialize_with = "wire::optional_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub audience: Option<ObjectId<DbCommunity>>,
    #[serde(
        default,
        deserialize_with = "wire::optional_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub summary: Option<String>,
}

#[async_trait::async_trait]
impl Receive for Lock {
    fn id(&self) -> &Url {
        &self.id
    }
    async fn receive(self, ctx: Ctx<'_>) -> Result<Outcome, AppError> {
        apply(self, ctx, true).await
    }
}

/// The Lock (or, when `locked` is false, the Undo(Lock)) of `post` by `moderator`.
pub fn activity(
    state: &AppState,
    moderator: &DbPerson,
    community: &DbCommunity,
    post: &DbPost,
    locked: bool,
    reason: Option<&str>,
) -> Result<Value, AppError> {
    let lock = Lock {
        id: state.new_id("activities/lock"),
        kind: LockType::Lock,
        actor: moderator.ap_id.clone().into(),
        to: wire::audience_of(community),
        cc: vec![community.ap_id.clone()],
        object: post.ap_id.clone(),
        audience: Some(community.ap_id.clone().into()),
        summary: reason.filter(|r| !r.is_empty()).map(str::to_string),
    };
    if locked {
        return wire::to_value(&lock);
    }
    wire::to_value(&Undo::new(state, &moderator.ap_id, community, &lock)?)
}

/// An inbound Lock (`locked`) or the Lock inside an Undo (`!locked`).
pub async fn apply(lock: Lock, ctx: Ctx<'_>, locked: bool) -> Result<Outcome, AppError> {
    let ActorRef::Person(person) = &ctx.actor else {
        return Ok(Outcome::Ignored);
    };
    let data = ctx.data;
    let mut tx = data.db.begin().await?;
    let Some(post) = store::posts::find_by_ap_id(&mut tx, lock.object.as_str()).await? else {
        return Ok(Outcome::Ignored); // not something we have
    };
    let community = store::communities::find_by_id(&mut tx, post.community_id).await?;
    if !super::moderates(&mut tx, &community, person, ctx.relayed_by).await? {
        return Err(AppError::forbidden(
            "not_a_moderator",
            "only a moderator of the community can lock or unlock",
        ));
    }
    if store::posts::set_locked(&mut tx, post.id, locked).await? {
        store::modlog::insert(
            &mut tx,
            NewEntry {
                community_id: community.id,
                actor_id: Some(person.id),
                action: if locked { "lock" } else { "unlock" },
                post_id: Some(post.id),
                person_id: None,
                reason: ctx.reason(lock.summary.as_deref()),
                activity_id: ctx.activity_id(),
            },
        )
        .await?;
        tracing::info!(post = %post.ap_id, moderator = %person.ap_id, locked, "thread lock changed");
    }
    if community.local {
        announce::relay(&mut tx, data, &community, ctx.raw, None).await?;
    }
    tx.commit().await?;
    send::wake(data);
    Ok(Outcome::Done)
}
