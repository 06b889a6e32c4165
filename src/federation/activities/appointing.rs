//! Add and Remove with a community's moderators collection as target (FEP-1b12, as Lemmy
//! 0.19 and 1.0 send them): a moderator appoints or removes a moderator, who may live on
//! any instance. `object` is the person, `target` the collection named by the Group's
//! `attributedTo`. The community-of-practice roles work the same way with collections of
//! their own, `{community}/facilitators` and `{community}/mentors` (Guildhall's; other
//! software ignores them). Add/Remove with another target (the featured collection) are
//! pins: `featuring`.

use super::{ActorRef, Outcome, announce, featuring, same_origin, send, url_field};
use crate::{
    error::AppError,
    federation::objects::post::audience_of,
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

/// Roles given with Add/Remove, and the collection (under the community's id) of each.
pub const ROLES: &[(&str, &str)] = &[
    ("moderator", "moderators"),
    ("facilitator", "facilitators"),
    ("mentor", "mentors"),
];

/// The id of the collection holding a community's `role` holders.
pub fn collection_of(state: &AppState, c: &DbCommunity, role: &str) -> String {
    match ROLES.iter().find(|(r, _)| *r == role) {
        Some((_, "moderators")) | None => moderators_of(state, c),
        Some((_, suffix)) => format!("{}/{suffix}", c.ap_id.as_str().trim_end_matches('/')),
    }
}

/// The Add (appoint) or Remove of `person` in `role` by `moderator`.
pub fn activity(
    state: &AppState,
    moderator: &DbPerson,
    community: &DbCommunity,
    person: &DbPerson,
    role: &str,
    added: bool,
) -> Value {
    let kind = if added { "Add" } else { "Remove" };
    json!({
        "id": state.new_id(&format!("activities/{}", kind.to_ascii_lowercase())),
        "type": kind,
        "actor": moderator.ap_id,
        "to": audience_of(community),
        "cc": [community.ap_id],
        "object": person.ap_id,
        "target": collection_of(state, community, role),
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
    let Ok(target) = url_field(json, "target") else {
        return featuring::apply(json, actor, data, vouched_by).await;
    };
    let found = {
        let mut conn = data.db.pool.acquire().await?;
        role_collection(&mut conn, target.as_str()).await?
    };
    match found {
        Some((community, role)) => apply(json, actor, data, &community, vouched_by, role).await,
        None => featuring::apply(json, actor, data, vouched_by).await,
    }
}

/// The community and role whose collection `target` is, if any.
async fn role_collection(
    conn: &mut sqlx::AnyConnection,
    target: &str,
) -> Result<Option<(DbCommunity, &'static str)>, AppError> {
    if let Some(c) = store::communities::find_by_moderators_collection(conn, target).await? {
        return Ok(Some((c, "moderator")));
    }
    for (role, suffix) in &ROLES[1..] {
        let Some(owner) = target.strip_suffix(&format!("/{suffix}")) else {
            continue;
        };
        if let Some(c) = store::communities::find_by_ap_id(conn, owner).await? {
            return Ok(Some((c, role)));
        }
    }
    Ok(None)
}

async fn apply(
    json: &Value,
    actor: ActorRef,
    data: &Data<AppState>,
    community: &DbCommunity,
    vouched_by: Option<&DbCommunity>,
    role: &str,
) -> Result<Outcome, AppError> {
    let id = url_field(json, "id")?;
    same_origin(&id, actor.ap_id())?;
    let added = json.get("type").and_then(Value::as_str) == Some("Add");
    let moderator = match actor {
        ActorRef::Person(p) => p,
        // The community itself: a rotation passing the facilitator role on (its own
        // signature vouches for it; moderators are only changed by people).
        ActorRef::Group(g) if g.id == community.id && role != "moderator" => {
            return apply_by_community(json, data, community, role, added).await;
        }
        ActorRef::Group(_) => return Ok(Outcome::Ignored),
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
    if role == "moderator" && crate::domain::leadership::is_shared(&mut tx, community).await? {
        // Shared leadership: co-leads change only by a proposal a second co-lead approves,
        // made on this instance.
        return Err(AppError::forbidden(
            "proposal_needed",
            "in this community co-leads change by a proposal approved by a second co-lead",
        ));
    }
    if role == "moderator" {
        crate::domain::moderation::check_appointment(
            &mut tx, community, &moderator, &person, added,
        )
        .await?;
    }
    let changed = store::roles::set_role(&mut tx, community.id, person.id, role, added).await?;
    if changed {
        let action = format!("{}_{role}", if added { "add" } else { "remove" });
        store::modlog::insert(
            &mut tx,
            NewEntry {
                community_id: community.id,
                actor_id: Some(moderator.id),
                action: &action,
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

/// A role given or taken by the (remote) community itself, as its rotation does.
async fn apply_by_community(
    json: &Value,
    data: &Data<AppState>,
    community: &DbCommunity,
    role: &str,
    added: bool,
) -> Result<Outcome, AppError> {
    let person: DbPerson = ObjectId::<DbPerson>::from(url_field(json, "object")?)
        .dereference(data)
        .await?;
    let mut tx = data.db.begin().await?;
    let changed = store::roles::set_role(&mut tx, community.id, person.id, role, added).await?;
    if changed && added {
        store::modlog::insert(
            &mut tx,
            NewEntry {
                community_id: community.id,
                actor_id: None,
                action: "rotate",
                post_id: None,
                person_id: Some(person.id),
                reason: None,
                activity_id: json.get("id").and_then(Value::as_str),
            },
        )
        .await?;
        if role == "facilitator" {
            crate::domain::leadership::notify_handover(&mut tx, community, &person).await?;
        }
    }
    tx.commit().await?;
    Ok(Outcome::Done)
}
