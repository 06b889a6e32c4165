//! Add and Remove with a community's moderators collection as target (FEP-1b12, as Lemmy
//! 0.19 and 1.0 send them): a moderator appoints or removes a moderator, who may live on
//! any instance. `object` is the person, `target` the collection named by the Group's
//! `attributedTo`. Add/Remove with another target (the featured collection) are pins:
//! `featuring`.

use super::{ActorRef, Outcome, announce, featuring, same_origin, send, url_field};
use crate::{
    error::AppError,
    federation::objects::post::PUBLIC,
    state::AppState,
    store::{self, communities::DbCommunity, modlog::NewEntry, people::DbPerson},
};
use activitypub_federation::{config::Data, fetch::object_id::ObjectId};
use serde_json::{Value, json};

/// The id of a community's moderators collection.
pub fn moderators_of(state: &AppState, c: &DbCommunity) -> String {
    match (&c.moderators_url, c.local) {
        (Some(u), _) => u.clone(),
        (None, true) => state.url(&format!("/c/{}/moderators", c.name)).to_string(),
        (None, false) => format!("{}/moderators", c.ap_id.as_str().trim_end_matches('/')),
    }
}

/// The Add (appoint) or Remove of moderator `person` by `moderator`.
pub fn activity(
    state: &AppState,
    moderator: &DbPerson,
    community: &DbCommunity,
    person: &DbPerson,
    added: bool,
) -> Value {
    let kind = if added { "Add" } else { "Remove" };
    json!({
        "id": state.new_id(&format!("activities/{}", kind.to_ascii_lowercase())),
        "type": kind,
        "actor": moderator.ap_id,
        "to": [PUBLIC],
        "cc": [community.ap_id],
        "object": person.ap_id,
        "target": moderators_of(state, community),
        "audience": community.ap_id,
    })
}

/// An inbound Add or Remove: of a moderator when the target is a known community's
/// moderators collection, else of a pin. `vouched_by`: the community that relayed it.
pub async fn add_or_remove(
    json: &Value,
    actor: ActorRef,
    data: &Data<AppState>,
    vouched_by: Option<&DbCommunity>,
) -> Result<Outcome, AppError> {
    let community = match url_field(json, "target") {
        Ok(target) => {
            let mut conn = data.db.pool.acquire().await?;
            store::communities::find_by_moderators_collection(&mut conn, target.as_str()).await?
        }
        Err(_) => None,
    };
    match community {
        Some(community) => apply(json, actor, data, &community, vouched_by).await,
        None => featuring::apply(json, actor, data, vouched_by).await,
    }
}

async fn apply(
    json: &Value,
    actor: ActorRef,
    data: &Data<AppState>,
    community: &DbCommunity,
    vouched_by: Option<&DbCommunity>,
) -> Result<Outcome, AppError> {
    let id = url_field(json, "id")?;
    same_origin(&id, actor.ap_id())?;
    let added = json.get("type").and_then(Value::as_str) == Some("Add");
    let ActorRef::Person(moderator) = actor else {
        return Ok(Outcome::Ignored);
    };
    {
        let mut conn = data.db.pool.acquire().await?;
        if !super::moderates(&mut conn, community, &moderator, vouched_by).await? {
            return Err(AppError::forbidden(
                "not_a_moderator",
                "only a moderator of the community can appoint or remove moderators",
            ));
        }
    }
    // The person may be new to us (a moderator on a third instance): fetched before the
    // transaction, never inside it.
    let person: DbPerson = ObjectId::<DbPerson>::from(url_field(json, "object")?)
        .dereference(data)
        .await?;
    let mut tx = data.db.begin().await?;
    crate::domain::moderation::check_appointment(&mut tx, community, &moderator, &person, added)
        .await?;
    let changed = if added {
        let new = store::communities::role_since(&mut tx, community.id, person.id, "moderator")
            .await?
            .is_none();
        store::communities::add_role(&mut tx, community.id, person.id, "moderator").await?;
        new
    } else {
        store::communities::remove_role(&mut tx, community.id, person.id, "moderator").await?
    };
    if changed {
        store::modlog::insert(
            &mut tx,
            NewEntry {
                community_id: community.id,
                actor_id: Some(moderator.id),
                action: if added {
                    "add_moderator"
                } else {
                    "remove_moderator"
                },
                post_id: None,
                person_id: Some(person.id),
                reason: json.get("summary").and_then(Value::as_str),
                activity_id: Some(id.as_str()),
            },
        )
        .await?;
    }
    if community.local {
        announce::relay(&mut tx, data, community, json, None).await?;
    }
    tx.commit().await?;
    send::wake(data);
    Ok(Outcome::Done)
}
