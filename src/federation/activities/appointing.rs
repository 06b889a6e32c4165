//! Add and Remove with a community's moderators collection as target (FEP-1b12, as Lemmy
//! 0.19 and 1.0 send them): a moderator appoints or removes a moderator, who may live on
//! any instance. `object` is the person, `target` the collection named by the Group's
//! `attributedTo`. The community-of-practice roles work the same way with collections of
//! their own, `{community}/facilitators` and `{community}/mentors` (Guildhall's; other
//! software ignores them). Add/Remove with another target (the featured collection) are
//! pins: `featuring`.

use super::{
    ActorRef, Outcome, announce, featuring, send,
    wire::{self, Ctx, Receive},
};
use crate::{
    error::AppError,
    state::AppState,
    store::{self, communities::DbCommunity, modlog::NewEntry, people::DbPerson},
};
use activitypub_federation::{config::Data, fetch::object_id::ObjectId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum AddOrRemoveType {
    Add,
    Remove,
}

/// `Add` or `Remove` of `object` to or from the collection `target`: a role holder
/// (moderators, facilitators, mentors) or a pinned post (featured).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AddOrRemove {
    #[serde(deserialize_with = "wire::url")]
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: AddOrRemoveType,
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
        deserialize_with = "wire::optional_url",
        skip_serializing_if = "Option::is_none"
    )]
    pub target: Option<Url>,
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

impl AddOrRemove {
    pub fn added(&self) -> bool {
        self.kind == AddOrRemoveType::Add
    }

    /// `object` added to or removed from `target` by `actor`, about `community`.
    pub fn new(
        state: &AppState,
        actor: &Url,
        community: &DbCommunity,
        object: &Url,
        target: Url,
        added: bool,
    ) -> AddOrRemove {
        let (kind, path) = if added {
            (AddOrRemoveType::Add, "activities/add")
        } else {
            (AddOrRemoveType::Remove, "activities/remove")
        };
        AddOrRemove {
            id: state.new_id(path),
            kind,
            actor: actor.clone().into(),
            to: wire::audience_of(community),
            cc: vec![community.ap_id.clone()],
            object: object.clone(),
            target: Some(target),
            audience: Some(community.ap_id.clone().into()),
            summary: None,
        }
    }
}

/// The id of a community's moderators collection.
pub fn moderators_of(state: &AppState, c: &DbCommunity) -> String {
    match (&c.moderators_url, c.local) {
        (Some(u), _) => u.clone(),
        (None, true) => state.url(&format!("/c/{}/moderators", c.name)).to_string(),
        (None, false) => format!("{}/moderators", c.ap_id.as_str().trim_end_matches('/')),
    }
}

/// Roles given with Add/Remove, and the collection (under the community's id) of each.
pub use crate::domain::moderation::ROLES;

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
) -> Result<Value, AppError> {
    let target = Url::parse(&collection_of(state, community, role))
        .map_err(|e| AppError::Internal(e.into()))?;
    wire::to_value(&AddOrRemove::new(
        state,
        &moderator.ap_id,
        community,
        &person.ap_id,
        target,
        added,
    ))
}

/// The Add or Remove of `person` in `role` by the community itself (a rotation passing the
/// facilitator role on).
pub fn by_community(
    state: &AppState,
    community: &DbCommunity,
    person: &DbPerson,
    role: &str,
    added: bool,
) -> Result<Value, AppError> {
    let target = Url::parse(&collection_of(state, community, role))
        .map_err(|e| AppError::Internal(e.into()))?;
    wire::to_value(&AddOrRemove::new(
        state,
        &community.ap_id,
        community,
        &person.ap_id,
        target,
        added,
    ))
}

#[async_trait::async_trait]
impl Receive for AddOrRemove {
    fn id(&self) -> &Url {
        &self.id
    }
    /// Of a role holder when the target is a known community's role collection, else of a
    /// pin.
    async fn receive(self, ctx: Ctx<'_>) -> Result<Outcome, AppError> {
        let Some(target) = &self.target else {
            return featuring::apply(self, ctx).await;
        };
        let found = {
            let mut conn = ctx.data.db.pool.acquire().await?;
            role_collection(&mut conn, target.as_str()).await?
        };
        match found {
            Some((community, role)) => apply(self, ctx, &community, role).await,
            None => featuring::apply(self, ctx).await,
        }
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
    activity: AddOrRemove,
    ctx: Ctx<'_>,
    community: &DbCommunity,
    role: &str,
) -> Result<Outcome, AppError> {
    let data = ctx.data;
    let added = activity.added();
    let moderator = match &ctx.actor {
        ActorRef::Person(p) => p,
        // The community itself: a rotation passing the facilitator role on (its own
        // signature vouches for it — sent by it, or relayed by it; never by another
        // group's relay; moderators are only changed by people).
        ActorRef::Group(g)
            if g.id == community.id && role != "moderator" && ctx.vouches_for(community) =>
        {
            return apply_by_community(&activity, &ctx, community, role).await;
        }
        ActorRef::Group(_) => return Ok(Outcome::Ignored),
    };
    {
        let mut conn = data.db.pool.acquire().await?;
        if !super::moderates(&mut conn, community, moderator, ctx.relayed_by).await? {
            return Err(AppError::forbidden(
                "not_a_moderator",
                "only a moderator of the community can appoint or remove moderators",
            ));
        }
    }
    // The person may be new to us (a moderator on a third instance): fetched before the
    // transaction, never inside it.
    let person: DbPerson = ObjectId::<DbPerson>::from(activity.object.clone())
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
        crate::domain::moderation::check_appointment(&mut tx, community, moderator, &person, added)
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
                reason: activity.summary.as_deref(),
                activity_id: ctx.activity_id(),
            },
        )
        .await?;
    }
    if community.local {
        announce::relay(&mut tx, data, community, ctx.raw, None).await?;
    }
    tx.commit().await?;
    send::wake(data);
    Ok(Outcome::Done)
}

/// A role given or taken by the (remote) community itself, as its rotation does.
async fn apply_by_community(
    activity: &AddOrRemove,
    ctx: &Ctx<'_>,
    community: &DbCommunity,
    role: &str,
) -> Result<Outcome, AppError> {
    let data: &Data<AppState> = ctx.data;
    let added = activity.added();
    let person: DbPerson = ObjectId::<DbPerson>::from(activity.object.clone())
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
                activity_id: ctx.activity_id(),
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
