//! Invite: a community of ours invites someone on another instance (`actor` = the
//! community, `object` = the community, `target` = the person, as ActivityStreams reads
//! "actor invites target to object"); and the same received, an invitation for one of our
//! people to a remote community. Software without invitations ignores it; a Follow that
//! follows it is what joins.

use super::{
    ActorRef, Outcome, send,
    wire::{self, Ctx, Receive},
};
use crate::{
    error::AppError,
    state::AppState,
    store::{self, communities::DbCommunity, people::DbPerson},
};
use activitypub_federation::fetch::object_id::ObjectId;
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use url::Url;

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum InviteType {
    Invite,
}

/// `Invite`: actor (a community) invites target (a person) to object (the community).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Invite {
    #[serde(deserialize_with = "wire::url")]
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: InviteType,
    #[serde(deserialize_with = "wire::id")]
    pub actor: ObjectId<ActorRef>,
    #[serde(deserialize_with = "wire::url")]
    pub object: Url,
    #[serde(deserialize_with = "wire::url")]
    pub target: Url,
    #[serde(default, deserialize_with = "wire::addresses")]
    pub to: Vec<Url>,
}

/// Queues the Invite of `person` (remote) to `community` (ours); the activity's id.
pub async fn send_invite(
    conn: &mut AnyConnection,
    state: &AppState,
    community: &DbCommunity,
    person: &DbPerson,
) -> Result<String, AppError> {
    let activity = Invite {
        id: state.new_id("activities/invite"),
        kind: InviteType::Invite,
        actor: community.ap_id.clone().into(),
        object: community.ap_id.clone(),
        target: person.ap_id.clone(),
        to: vec![person.ap_id.clone()],
    };
    send::queue(
        conn,
        &wire::to_value(&activity)?,
        send::Delivery {
            signer: community.ap_id.as_str(),
            inboxes: vec![person.inbox.clone()],
            followers_of: None,
            community_id: None,
            in_outbox: false,
        },
    )
    .await?;
    Ok(activity.id.to_string())
}

#[async_trait::async_trait]
impl Receive for Invite {
    fn id(&self) -> &Url {
        &self.id
    }
    /// Kept for the local person it names, when a community invites to itself.
    async fn receive(self, ctx: Ctx<'_>) -> Result<Outcome, AppError> {
        let ActorRef::Group(community) = &ctx.actor else {
            return Ok(Outcome::Ignored); // only a community invites to itself
        };
        if self.object != community.ap_id || !ctx.data.is_local_url(&self.target) {
            return Ok(Outcome::Ignored);
        }
        let mut conn = ctx.data.db.write_conn().await?;
        let Some(person) = store::people::find_by_ap_id(&mut conn, self.target.as_str()).await?
        else {
            return Ok(Outcome::Ignored);
        };
        store::invitations::insert(
            &mut conn,
            community.id,
            None,
            Some(person.id),
            None,
            Some(self.id.as_str()),
            None,
        )
        .await?;
        tracing::info!(community = %community.ap_id, person = %person.name, "invitation received");
        Ok(Outcome::Done)
    }
}
