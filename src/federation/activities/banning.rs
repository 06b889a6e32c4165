//! Block and Undo(Block) with a community as `target`: a moderator bans a person from the
//! community, as Lemmy 0.19 and 1.0 send it (`summary` = reason, `removeData` = also take
//! their posts and replies down, `endTime`/`expires` = when the ban ends). A Block whose
//! target is an instance (Lemmy's site ban: `target` = the site, on the host of both the
//! actor and the person) bans the person here too, when their own instance says so.

use super::{ActorRef, Outcome, announce, same_origin, send, url_field};
use crate::{
    error::AppError,
    federation::objects::post::{PUBLIC, audience_of},
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
    let block = json!({
        "id": state.new_id("activities/block"),
        "type": "Block",
        "actor": moderator.ap_id,
        "to": audience_of(community),
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
            "to": audience_of(community),
            "cc": [community.ap_id],
            "object": block,
            "audience": community.ap_id,
        });
    };
    with_ban_fields(block, ban)
}

/// The Block (ban) or Undo(Block) of one of our people from this whole instance by an
/// admin, as Lemmy sends a site ban (`target` = the instance's address).
pub fn site_activity(
    state: &AppState,
    admin: &DbPerson,
    person: &DbPerson,
    ban: Option<&Ban<'_>>,
) -> Value {
    let block = json!({
        "id": state.new_id("activities/block"),
        "type": "Block",
        "actor": admin.ap_id,
        "to": [PUBLIC],
        "object": person.ap_id,
        "target": state.url("/"),
    });
    match ban {
        Some(ban) => with_ban_fields(block, ban),
        None => json!({
            "id": state.new_id("activities/undo"),
            "type": "Undo",
            "actor": admin.ap_id,
            "to": [PUBLIC],
            "object": block,
        }),
    }
}

fn with_ban_fields(mut block: Value, ban: &Ban<'_>) -> Value {
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
        drop(tx);
        if vouched_by.is_some() {
            return Ok(Outcome::Ignored); // a site ban counts only from the site itself
        }
        return site_ban(block, &moderator, &object, &target, data, banned).await;
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

/// A ban from a whole instance, which counts here only when that instance speaks about one
/// of its own people (actor, person and target on one host): then they are banned here
/// too (and their content here taken down with `removeData`).
async fn site_ban(
    block: &Value,
    admin: &DbPerson,
    object: &url::Url,
    target: &url::Url,
    data: &Data<AppState>,
    banned: bool,
) -> Result<Outcome, AppError> {
    // The site's own address (Lemmy's site id is its root), and actor and person on it: the
    // instance speaks about its own user (its people cannot sign for it).
    let host = store::instances::domain_of(target);
    let root = matches!(target.path(), "" | "/") && target.query().is_none();
    if !root
        || store::instances::domain_of(object) != host
        || store::instances::domain_of(&admin.ap_id) != host
    {
        return Ok(Outcome::Ignored); // a community we do not know, or not their instance
    }
    let mut tx = data.db.begin().await?;
    let Some(person) = store::people::find_by_ap_id(&mut tx, object.as_str()).await? else {
        return Ok(Outcome::Ignored); // nobody we know
    };
    if banned {
        let reason = block.get("summary").and_then(Value::as_str);
        let expires_at = ["endTime", "expires"]
            .iter()
            .find_map(|k| block.get(*k).and_then(Value::as_str))
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp_millis());
        store::bans::ban_instance(&mut tx, person.id, reason, expires_at, &host).await?;
        if block.get("removeData").and_then(Value::as_bool) == Some(true) {
            store::bans::remove_all_content(&mut tx, person.id).await?;
        }
    } else {
        store::bans::unban_instance(&mut tx, person.id, &host).await?;
    }
    tx.commit().await?;
    tracing::info!(person = %person.ap_id, banned, by = %host, "ban by their own instance");
    Ok(Outcome::Done)
}
