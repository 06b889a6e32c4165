//! Block and Undo(Block) with a community as `target`: a moderator bans a person from the
//! community, as Lemmy 0.19 and 1.0 send it (`summary` = reason, `removeData` = also take
//! their posts and replies down, `endTime`/`expires` = when the ban ends). A Block whose
//! target is an instance (Lemmy's site ban: `target` = the site, on the host of both the
//! actor and the person) bans the person here too, when their own instance says so.

use super::{
    ActorRef, Outcome, announce, send,
    undo::{Undo, UndoType},
    wire::{self, Ctx, Receive},
};
use crate::{
    error::AppError,
    state::AppState,
    store::{self, communities::DbCommunity, modlog::NewEntry, people::DbPerson},
};
use activitypub_federation::fetch::object_id::ObjectId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum BlockType {
    Block,
}

/// `Block` of a person from a community or (a site ban) from an instance.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Block {
    #[serde(deserialize_with = "wire::url")]
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: BlockType,
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
    /// The person banned.
    #[serde(deserialize_with = "wire::url")]
    pub object: Url,
    /// The community, or the instance's root for a site ban. Without one it is a Block
    /// between people (Mastodon's), which is not ours to act on.
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
    #[serde(
        default,
        deserialize_with = "wire::optional_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub remove_data: Option<bool>,
    /// When the ban ends; Lemmy sends both names.
    #[serde(
        default,
        deserialize_with = "wire::optional_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub end_time: Option<String>,
    #[serde(
        default,
        deserialize_with = "wire::optional_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires: Option<String>,
}

impl Block {
    /// When the ban ends (milliseconds since the epoch); None: until lifted.
    fn expires_at(&self) -> Option<i64> {
        [&self.end_time, &self.expires]
            .into_iter()
            .flatten()
            .find_map(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp_millis())
    }
}

#[async_trait::async_trait]
impl Receive for Block {
    fn id(&self) -> &Url {
        &self.id
    }
    async fn receive(self, ctx: Ctx<'_>) -> Result<Outcome, AppError> {
        apply(self, ctx, true).await
    }
}

/// What a ban says.
pub struct Ban<'a> {
    pub reason: Option<&'a str>,
    /// Milliseconds since the epoch; None: until lifted.
    pub expires_at: Option<i64>,
    pub remove_data: bool,
}

fn block_of(
    state: &AppState,
    actor: &Url,
    person: &DbPerson,
    target: Url,
    to: Vec<Url>,
    community: Option<&DbCommunity>,
    ban: Option<&Ban<'_>>,
) -> Block {
    let end = ban
        .and_then(|b| b.expires_at)
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    Block {
        id: state.new_id("activities/block"),
        kind: BlockType::Block,
        actor: actor.clone().into(),
        to,
        cc: community.map(|c| vec![c.ap_id.clone()]).unwrap_or_default(),
        object: person.ap_id.clone(),
        target: Some(target),
        audience: community.map(|c| c.ap_id.clone().into()),
        summary: ban.and_then(|b| b.reason).map(str::to_string),
        remove_data: ban.map(|b| b.remove_data),
        end_time: end.clone(),
        expires: end,
    }
}

/// The Block (ban) or, when `ban` is None, the Undo(Block) of `person` by `moderator`.
pub fn activity(
    state: &AppState,
    moderator: &DbPerson,
    community: &DbCommunity,
    person: &DbPerson,
    ban: Option<&Ban<'_>>,
) -> Result<Value, AppError> {
    let block = block_of(
        state,
        &moderator.ap_id,
        person,
        community.ap_id.clone(),
        wire::audience_of(community),
        Some(community),
        ban,
    );
    match ban {
        Some(_) => wire::to_value(&block),
        None => wire::to_value(&Undo::new(state, &moderator.ap_id, community, &block)?),
    }
}

/// The Block (ban) or Undo(Block) of one of our people from this whole instance by an
/// admin, as Lemmy sends a site ban (`target` = the instance's address).
pub fn site_activity(
    state: &AppState,
    admin: &DbPerson,
    person: &DbPerson,
    ban: Option<&Ban<'_>>,
) -> Result<Value, AppError> {
    let public = vec![Url::parse(wire::PUBLIC).map_err(|e| AppError::Internal(e.into()))?];
    let block = block_of(
        state,
        &admin.ap_id,
        person,
        state.url("/"),
        public.clone(),
        None,
        ban,
    );
    if ban.is_some() {
        return wire::to_value(&block);
    }
    wire::to_value(&Undo {
        id: state.new_id("activities/undo"),
        kind: UndoType::Undo,
        actor: admin.ap_id.clone().into(),
        to: public,
        cc: vec![],
        object: wire::to_value(&block)?,
        audience: None,
        summary: None,
    })
}

/// An inbound Block (`banned`) or the Block inside an Undo (`!banned`).
pub async fn apply(block: Block, ctx: Ctx<'_>, banned: bool) -> Result<Outcome, AppError> {
    let Some(target) = block.target.clone() else {
        return Ok(Outcome::Ignored);
    };
    let ActorRef::Person(moderator) = &ctx.actor else {
        return Ok(Outcome::Ignored);
    };
    let data = ctx.data;
    let mut tx = data.db.begin().await?;
    let Some(community) = store::communities::find_by_ap_id(&mut tx, target.as_str()).await? else {
        drop(tx);
        if !ctx.is_direct() {
            return Ok(Outcome::Ignored); // a site ban counts only from the site itself
        }
        return site_ban(&block, moderator, &target, data, banned).await;
    };
    let Some(person) = store::people::find_by_ap_id(&mut tx, block.object.as_str()).await? else {
        return Ok(Outcome::Ignored); // nobody we know: nothing of theirs to keep out
    };
    if !super::moderates(&mut tx, &community, moderator, ctx.relayed_by).await? {
        return Err(AppError::forbidden(
            "not_a_moderator",
            "only a moderator of the community can ban",
        ));
    }
    let reason = ctx.reason(block.summary.as_deref());
    if banned {
        store::bans::ban(&mut tx, community.id, person.id, reason, block.expires_at()).await?;
        if block.remove_data == Some(true) {
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
            activity_id: ctx.activity_id(),
        },
    )
    .await?;
    if community.local {
        announce::relay(&mut tx, data, &community, ctx.raw, None).await?;
    }
    tx.commit().await?;
    send::wake(data);
    Ok(Outcome::Done)
}

/// A ban from a whole instance, which counts here only when that instance speaks about one
/// of its own people (actor, person and target on one host): then they are banned here
/// too (and their content here taken down with `removeData`).
async fn site_ban(
    block: &Block,
    admin: &DbPerson,
    target: &url::Url,
    data: &activitypub_federation::config::Data<AppState>,
    banned: bool,
) -> Result<Outcome, AppError> {
    // The site's own address (Lemmy's site id is its root), and actor and person on it: the
    // instance speaks about its own user (its people cannot sign for it).
    let object = &block.object;
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
        let reason = block.summary.as_deref();
        store::bans::ban_instance(&mut tx, person.id, reason, block.expires_at(), &host).await?;
        if block.remove_data == Some(true) {
            store::bans::remove_all_content(&mut tx, person.id).await?;
        }
    } else {
        store::bans::unban_instance(&mut tx, person.id, &host).await?;
    }
    tx.commit().await?;
    tracing::info!(person = %person.ap_id, banned, by = %host, "ban by their own instance");
    Ok(Outcome::Done)
}
