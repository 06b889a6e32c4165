//! Undo of a Follow, a vote, a Delete, a Lock or a Block, matched on its content (Lemmy's
//! Undo wraps a new inner id, so the inner id cannot be looked up). The inner activity is
//! read by its `type` and parsed into its family's struct.

use super::{
    ActorRef, Outcome, banning, deletion, following, locking, voting,
    wire::{self, Ctx, Receive, type_of},
};
use crate::{error::AppError, state::AppState, store::communities::DbCommunity};
use activitypub_federation::fetch::object_id::ObjectId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum UndoType {
    Undo,
}

/// `Undo` of an activity, embedded.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Undo {
    #[serde(deserialize_with = "wire::url")]
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: UndoType,
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
    pub object: Value,
    #[serde(
        default,
        deserialize_with = "wire::optional_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub audience: Option<ObjectId<DbCommunity>>,
    /// Why (Lemmy 1.0's unlock and unban reasons).
    #[serde(
        default,
        deserialize_with = "wire::optional_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub summary: Option<String>,
}

impl Undo {
    /// The Undo of `inner` (one of our activities) by `actor`, addressed like activities
    /// about `community` (votes, locks, bans).
    pub fn new(
        state: &AppState,
        actor: &Url,
        community: &DbCommunity,
        inner: &impl Serialize,
    ) -> Result<Undo, AppError> {
        Ok(Undo {
            id: state.new_id("activities/undo"),
            kind: UndoType::Undo,
            actor: actor.clone().into(),
            to: wire::audience_of(community),
            cc: vec![community.ap_id.clone()],
            object: wire::to_value(inner)?,
            audience: Some(community.ap_id.clone().into()),
            summary: None,
        })
    }
}

#[async_trait::async_trait]
impl Receive for Undo {
    fn id(&self) -> &Url {
        &self.id
    }
    async fn receive(self, ctx: Ctx<'_>) -> Result<Outcome, AppError> {
        let inner = self.object;
        if !inner.is_object() {
            return Ok(Outcome::Ignored); // an Undo of a bare id: nothing we can match
        }
        let inner_actor: Url = wire::parse::<wire::Envelope>(inner.clone())?.actor;
        if &inner_actor != ctx.actor.ap_id() {
            return Err(AppError::forbidden(
                "not_your_activity",
                "an actor can only undo its own activities",
            ));
        }
        match type_of(&inner) {
            // A follow is between a person and a community: never relayed.
            Some("Follow") if ctx.is_direct() => {
                following::receive_undo_follow(wire::parse(inner)?, ctx).await
            }
            Some("Like" | "Dislike") => voting::receive_undo(wire::parse(inner)?, ctx).await,
            Some("Delete") => deletion::apply(wire::parse(inner)?, ctx, false).await,
            Some("Lock") => locking::apply(wire::parse(inner)?, ctx, false).await,
            Some("Block") => banning::apply(wire::parse(inner)?, ctx, false).await,
            other => {
                tracing::info!(kind = ?other, "ignoring an Undo of a type we do not handle");
                Ok(Outcome::Ignored)
            }
        }
    }
}
