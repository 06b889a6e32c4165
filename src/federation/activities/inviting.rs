//! Invite: a community of ours invites someone on another instance (`actor` = the
//! community, `object` = the community, `target` = the person, as ActivityStreams reads
//! "actor invites target to object"); and the same received, an invitation for one of our
//! people to a remote community. Software without invitations ignores it; a Follow that
//! follows it is what joins.

use super::{ActorRef, Outcome, same_origin, send, url_field};
use crate::{
    error::AppError,
    state::AppState,
    store::{self, communities::DbCommunity, people::DbPerson},
};
use activitypub_federation::config::Data;
use serde_json::{Value, json};
use sqlx::AnyConnection;

/// Queues the Invite of `person` (remote) to `community` (ours); the activity's id.
pub async fn send_invite(
    conn: &mut AnyConnection,
    state: &AppState,
    community: &DbCommunity,
    person: &DbPerson,
) -> Result<String, AppError> {
    let activity = json!({
        "id": state.new_id("activities/invite"),
        "type": "Invite",
        "actor": community.ap_id,
        "object": community.ap_id,
        "target": person.ap_id,
        "to": [person.ap_id],
    });
    send::queue(
        conn,
        &activity,
        send::Delivery {
            signer: community.ap_id.as_str(),
            inboxes: vec![person.inbox.clone()],
            followers_of: None,
            community_id: None,
            in_outbox: false,
        },
    )
    .await?;
    Ok(activity["id"].as_str().unwrap_or_default().to_string())
}

/// An inbound Invite: kept for the local person it names, when a community invites to
/// itself.
pub async fn receive(
    json: &Value,
    actor: ActorRef,
    data: &Data<AppState>,
) -> Result<Outcome, AppError> {
    let id = url_field(json, "id")?;
    same_origin(&id, actor.ap_id())?;
    let ActorRef::Group(community) = actor else {
        return Ok(Outcome::Ignored); // only a community invites to itself
    };
    let (Ok(object), Ok(target)) = (url_field(json, "object"), url_field(json, "target")) else {
        return Ok(Outcome::Ignored);
    };
    if object != community.ap_id || !data.is_local_url(&target) {
        return Ok(Outcome::Ignored);
    }
    let mut conn = data.db.write_conn().await?;
    let Some(person) = store::people::find_by_ap_id(&mut conn, target.as_str()).await? else {
        return Ok(Outcome::Ignored);
    };
    store::invitations::insert(
        &mut conn,
        community.id,
        None,
        Some(person.id),
        None,
        Some(id.as_str()),
        None,
    )
    .await?;
    tracing::info!(community = %community.ap_id, person = %person.name, "invitation received");
    Ok(Outcome::Done)
}
