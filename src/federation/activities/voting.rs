//! Like and Dislike (up- and down-votes) and their Undo. Lemmy's votes carry no `to`/`cc`,
//! only `audience`; its Undo wraps a new inner id, and 0.19 undoes a Dislike with an inner
//! `Like` — so an Undo clears whatever vote the actor has on the object.

use super::{
    ActorRef, Outcome, announce, send,
    undo::Undo,
    wire::{self, Ctx, Receive},
};
use crate::{
    error::AppError,
    state::AppState,
    store::{self, communities::DbCommunity, people::DbPerson, posts::DbPost},
};
use activitypub_federation::fetch::object_id::ObjectId;
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use url::Url;

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum VoteKind {
    Like,
    Dislike,
}

/// `Like` (+1) or `Dislike` (−1) of a post or reply.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Vote {
    #[serde(deserialize_with = "wire::url")]
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: VoteKind,
    #[serde(deserialize_with = "wire::id")]
    pub actor: ObjectId<ActorRef>,
    #[serde(
        default,
        deserialize_with = "wire::addresses",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub to: Vec<Url>,
    #[serde(
        default,
        deserialize_with = "wire::addresses",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub cc: Vec<Url>,
    #[serde(deserialize_with = "wire::id")]
    pub object: ObjectId<DbPost>,
    #[serde(
        default,
        deserialize_with = "wire::optional_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub audience: Option<ObjectId<DbCommunity>>,
}

impl Vote {
    fn value(&self) -> i64 {
        match self.kind {
            VoteKind::Like => 1,
            VoteKind::Dislike => -1,
        }
    }
}

#[async_trait::async_trait]
impl Receive for Vote {
    fn id(&self) -> &Url {
        &self.id
    }
    async fn receive(self, ctx: Ctx<'_>) -> Result<Outcome, AppError> {
        let value = self.value();
        apply(&self, ctx, value).await
    }
}

/// An inbound Undo(Like|Dislike): the vote withdrawn.
pub async fn receive_undo(vote: Vote, ctx: Ctx<'_>) -> Result<Outcome, AppError> {
    apply(&vote, ctx, 0).await
}

/// Records the vote of the actor on the vote's object (`value` 0: withdrawn), by the same
/// rule as a local person's vote (`domain::posts::check_may_vote`).
async fn apply(vote: &Vote, ctx: Ctx<'_>, value: i64) -> Result<Outcome, AppError> {
    let ActorRef::Person(person) = &ctx.actor else {
        return Ok(Outcome::Ignored);
    };
    let data = ctx.data;
    let post: DbPost = match vote.object.dereference(data).await {
        Ok(p) => p,
        Err(AppError::NotFound(_)) => return Ok(Outcome::Ignored),
        Err(e) => return Err(e),
    };
    let mut tx = data.db.begin().await?;
    let community = store::communities::find_by_id(&mut tx, post.community_id).await?;
    // A community relays the votes on its own content only (Lemmy's rule): no group
    // changes the score of a post outside it.
    ctx.check_inside(&community)?;
    crate::domain::posts::check_may_vote(&mut tx, &community, person).await?;
    store::posts::set_vote(&mut tx, post.id, person.id, value, Some(vote.id.as_str())).await?;
    if ctx.is_direct() && community.local {
        announce::relay(&mut tx, data, &community, ctx.raw, None).await?;
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
    let vote = |v: i64| Vote {
        id: state.new_id(if v > 0 {
            "activities/like"
        } else {
            "activities/dislike"
        }),
        kind: if v > 0 {
            VoteKind::Like
        } else {
            VoteKind::Dislike
        },
        actor: person.ap_id.clone().into(),
        to: vec![],
        cc: vec![],
        object: post.ap_id.clone().into(),
        audience: Some(community.ap_id.clone().into()),
    };
    let activity = match (value, previous) {
        (0, 0) => return Ok(()),
        (0, p) => wire::to_value(&Undo::new(state, &person.ap_id, community, &vote(p))?)?,
        (v, _) => wire::to_value(&vote(v))?,
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
