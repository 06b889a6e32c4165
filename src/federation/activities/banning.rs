//! Block and Undo(Block) with a community as `target`: a moderator bans a person from the
//! community, as Lemmy 0.19 and 1.0 send it (`summary` = reason, `removeData` = also take
//! their posts and replies down, `endTime`/`expires` = when the ban ends). A Block whose
//! target is not a community we know (Lemmy's instance-wide ban) is acknowledged only.

use super::{ActorRef, Outcome, announce, same_origin, send, url_field};
use crate::{
    error::AppError,
    federation::objects::post::PUBLIC,
    state::AppState,
    store::{self, communities::DbCommunity, modlog::NewEntry, people::DbPerson},
};
use activitypub_federation::config::Data;
use serde_json::{Value, json};

/// What a ban says.
pub struct Ban<'a> {
    pub reason: Option<&'a str>,
    /// Milliseconds since the epoch; None: until lifted.
    pub expires_at: Option<i64>,
    pub remove_data: bool,
}

/// The Block (ban) or, when `ban` is None, the Undo(Block) of `person` by `moderator`.
pub fn activity(
    state: &AppState,
    moderator: &DbPerson,
    community: &DbCommunity,
    person: &DbPerson,
    ban: Option<&Ban<'_>>,
) -> Value {
    let mut block = json!({
        "id": state.new_id("activities/block"),
        "type": "Block",
        "actor": moderator.ap_id,
        "to": [PUBLIC],
        "cc": [community.ap_id],
        "object": person.ap_id,
        "target": community.ap_id,
        "audience": community.ap_id,
    });
    let Some(ban) = ban else {
        return json!({
            "id": state.new_id("activities/undo"),
            "type": "Undo",
            "actor": moderator.ap_id,
            "to": [PUBLIC],
            "cc": [community.ap_id],
            "object": block,
            "audience": community.ap_id,
        });
    };
    block["removeData"] = Value::Bool(ban.remove_data);
    if let Some(r) = ban.reason {
        block["summary"] = Value::String(r.to_string());
    }
    if let Some(t) = ban
        .expires_at
        .and_then(chrono::DateTime::from_timestamp_millis)
    {
        // Lemmy sends both names.
        let t = t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        block["endTime"] = Value::String(t.clone());
        block["expires"] = Value::String(t);
    }
    block
}

/// An inbound Block (`banned`) or the Block inside an Undo (`!banned`).
pub async fn apply(
    block: &Value,
    outer: &Value,
    actor: ActorRef,
    data: &Data<AppState>,
    vouched_by: Option<&DbCommunity>,
    banned: bool,
) -> Result<Outcome, AppError> {
    let id = url_field(outer, "id")?;
    same_origin(&id, actor.ap_id())?;
    let (Ok(object), Ok(target)) = (url_field(block, "object"), url_field(block, "target")) else {
        return Ok(Outcome::Ignored);
    };
    let ActorRef::Person(moderator) = actor else {
        return Ok(Outcome::Ignored);
    };
    let mut tx = data.db.begin().await?;
    let Some(community) = store::communities::find_by_ap_id(&mut tx, target.as_str()).await? else {
        return Ok(Outcome::Ignored); // an instance-wide ban, or a community we do not know
    };
    let Some(person) = store::people::find_by_ap_id(&mut tx, object.as_str()).await? else {
        return Ok(Outcome::Ignored); // nobody we know: nothing of theirs to keep out
    };
    if !super::moderates(&mut tx, &community, &moderator, vouched_by).await? {
        return Err(AppError::forbidden(
            "not_a_moderator",
            "only a moderator of the community can ban",
        ));
    }
    let reason = block.get("summary").and_then(Value::as_str);
    if banned {
        let expires_at = ["endTime", "expires"]
            .iter()
            .find_map(|k| block.get(*k).and_then(Value::as_str))
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp_millis());
        store::bans::ban(&mut tx, community.id, person.id, reason, expires_at).await?;
        if block.get("removeData").and_then(Value::as_bool) == Some(true) {
            store::bans::remove_content(&mut tx, community.id, person.id).await?;
        }
    } else {
        store::bans::unban(&mut tx, community.id, person.id).await?;
    }
    store::modlog::insert(
        &mut tx,
        NewEntry {
            community_id: community.id,
            actor_id: Some(moderator.id),
            action: if banned { "ban" } else { "unban" },
            post_id: None,
            person_id: Some(person.id),
            reason,
            activity_id: Some(id.as_str()),
        },
    )
    .await?;
    if community.local {
        announce::relay(&mut tx, data, &community, outer, None).await?;
    }
    tx.commit().await?;
    send::wake(data);
    Ok(Outcome::Done)
}
