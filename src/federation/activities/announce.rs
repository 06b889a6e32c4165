//! Announce: our communities relay every accepted activity to their followers (FEP-1b12),
//! and we unwrap what remote communities we follow relay to us.

use super::{
    ActorRef, Outcome, find_or_fetch_actor,
    following::strip_context,
    same_origin,
    send::{self, Delivery},
    wire::{self, Ctx, Receive, type_of},
};
use crate::{
    error::AppError,
    federation::objects::post::{followers_of, value_id},
    state::AppState,
    store::{self, communities::DbCommunity, posts::DbPost},
};
use activitypub_federation::{
    config::Data,
    fetch::{fetch_object_http, object_id::ObjectId},
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::AnyConnection;
use url::Url;

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum AnnounceType {
    Announce,
}

/// `Announce` by a community of an activity inside it (FEP-1b12), unchanged, or of a bare
/// post (what Mastodon shows as a boost).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnnounceActivity {
    #[serde(deserialize_with = "wire::url")]
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: AnnounceType,
    #[serde(deserialize_with = "wire::id")]
    pub actor: ObjectId<ActorRef>,
    #[serde(default, deserialize_with = "wire::addresses")]
    pub to: Vec<Url>,
    #[serde(default, deserialize_with = "wire::addresses")]
    pub cc: Vec<Url>,
    pub object: Value,
}

impl AnnounceActivity {
    pub fn new(
        state: &AppState,
        community: &DbCommunity,
        to: Vec<Url>,
        cc: Vec<Url>,
        object: Value,
    ) -> AnnounceActivity {
        AnnounceActivity {
            id: state.new_id("activities/announce"),
            kind: AnnounceType::Announce,
            actor: community.ap_id.clone().into(),
            to,
            cc,
            object: strip_context(object),
        }
    }
}

/// The community's `Announce` of `object` (an activity, unchanged, or a bare post):
/// `to: [Public]`, `cc: [followers]`; for a private community `to: [followers]` only.
fn announce_of(
    state: &AppState,
    community: &DbCommunity,
    object: &Value,
) -> Result<Value, AppError> {
    let cc = if community.members_only {
        vec![]
    } else {
        Url::parse(&followers_of(community)).into_iter().collect()
    };
    let to = wire::audience_of(community);
    wire::to_value(&AnnounceActivity::new(
        state,
        community,
        to,
        cc,
        object.clone(),
    ))
}

/// A local community announces `activity` (unchanged) to its remote followers; for a new
/// top-level post also the bare object, which is what Mastodon shows (Lemmy does both;
/// announcing replies too flooded Mastodon timelines, Lemmy #2224/#2606).
pub async fn relay(
    conn: &mut AnyConnection,
    state: &AppState,
    community: &DbCommunity,
    activity: &Value,
    bare_object: Option<&Value>,
) -> Result<(), AppError> {
    let is_new_post = type_of(activity) == Some("Create") && bare_object.is_some();
    // A private community's announces go to its members only, and never in a form that
    // Mastodon would show as a boost (no bare object).
    let bare_object = bare_object.filter(|_| !community.members_only);
    let announce = announce_of(state, community, activity)?;
    send::queue(
        conn,
        &announce,
        Delivery {
            signer: community.ap_id.as_str(),
            inboxes: vec![],
            followers_of: Some(community.id),
            community_id: Some(community.id),
            in_outbox: is_new_post,
        },
    )
    .await?;
    if let Some(object) = bare_object {
        let plain = announce_of(state, community, object)?;
        send::queue(
            conn,
            &plain,
            Delivery {
                signer: community.ap_id.as_str(),
                inboxes: vec![],
                followers_of: Some(community.id),
                community_id: None,
                in_outbox: false,
            },
        )
        .await?;
    }
    Ok(())
}

/// A local community announces `activity` to one inbox besides its followers: a ban to the
/// banned person's instance, which (having no other member there) would not hear of it.
pub async fn relay_to_inbox(
    conn: &mut AnyConnection,
    state: &AppState,
    community: &DbCommunity,
    activity: &Value,
    inbox: String,
) -> Result<(), AppError> {
    let announce = announce_of(state, community, activity)?;
    send::queue(
        conn,
        &announce,
        Delivery {
            signer: community.ap_id.as_str(),
            inboxes: vec![inbox],
            followers_of: None,
            community_id: None,
            in_outbox: false,
        },
    )
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl Receive for AnnounceActivity {
    fn id(&self) -> &Url {
        &self.id
    }
    /// An Announce from a remote community that local people follow.
    async fn receive(self, ctx: Ctx<'_>) -> Result<Outcome, AppError> {
        let ActorRef::Group(group) = &ctx.actor else {
            return Ok(Outcome::Ignored); // a boost by a person: not a community relay
        };
        let data = ctx.data;
        if group.local || !followed_locally(group, data).await? {
            return Ok(Outcome::Ignored);
        }
        let inner = match self.object {
            Value::String(url) => {
                let url = Url::parse(&url).map_err(|_| {
                    AppError::bad_request("invalid_activity", "object is not a URL")
                })?;
                fetch_object_http::<AppState, Value>(&url, data)
                    .await?
                    .object
            }
            v @ Value::Object(_) => v,
            _ => {
                return Err(AppError::bad_request(
                    "invalid_activity",
                    "Announce without an object",
                ));
            }
        };
        let is_activity =
            type_of(&inner).is_some_and(super::is_activity_type) && inner.get("actor").is_some();
        if !is_activity {
            return receive_object(inner, group, data).await;
        }
        let inner_id = wire::parse::<wire::Envelope>(inner.clone())?.id;
        {
            let mut conn = data.db.write_conn().await?;
            if !store::activities::mark_received(&mut conn, inner_id.as_str()).await? {
                return Ok(Outcome::Ignored); // seen directly or through another Announce
            }
        }
        let outcome = receive_activity(inner, group, data).await;
        tracing::debug!(inner = %inner_id, ?outcome, "announce: relayed activity handled");
        if !matches!(outcome, Ok(Outcome::Done | Outcome::Queued)) {
            // Let a later copy try again: a copy that was refused or ignored here (not a
            // relay's to make, say) must not stand in for the real one.
            let mut conn = data.db.write_conn().await?;
            store::activities::forget_received(&mut conn, inner_id.as_str()).await?;
        }
        outcome
    }
}

async fn followed_locally(group: &DbCommunity, data: &Data<AppState>) -> Result<bool, AppError> {
    let mut conn = data.db.pool.acquire().await?;
    // Followed by someone here, or someone here is banned there (the ban ended their
    // follow; its Undo still concerns us).
    let n: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM community_followers f JOIN people p ON p.id = f.person_id \
           WHERE f.community_id = $1 AND p.local = 1) \
         + (SELECT COUNT(*) FROM community_bans b JOIN people p ON p.id = b.person_id \
           WHERE b.community_id = $1 AND p.local = 1)",
    )
    .bind(group.id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(n > 0)
}

/// A bare object (Lemmy's second Announce, for Mastodon): stored unless known, always
/// fetched from its own origin.
async fn receive_object(
    object: Value,
    group: &DbCommunity,
    data: &Data<AppState>,
) -> Result<Outcome, AppError> {
    let Some(object_id) = value_id(&object).and_then(|s| url::Url::parse(&s).ok()) else {
        return Err(AppError::bad_request(
            "invalid_activity",
            "announced object has no id",
        ));
    };
    {
        let mut conn = data.db.pool.acquire().await?;
        if store::posts::find_by_ap_id(&mut conn, object_id.as_str())
            .await?
            .is_some()
        {
            return Ok(Outcome::Ignored);
        }
    }
    let post: DbPost = ObjectId::<DbPost>::from(object_id)
        .dereference(data)
        .await?;
    if post.community_id != group.id {
        tracing::info!(post = %post.ap_id, group = %group.ap_id, "announced object belongs to another community");
    }
    Ok(Outcome::Done)
}

/// An activity relayed by `group`, received by its family with the group as `relayed_by`:
/// the group vouches only for what happens inside it (`Ctx::vouches_for`), and objects
/// from another origin are taken as their origin serves them. Never about this instance's
/// own people or objects (those we know first-hand), and only the families a community
/// relays (no Follow, Accept, Invite or Announce through a relay).
async fn receive_activity(
    inner: Value,
    group: &DbCommunity,
    data: &Data<AppState>,
) -> Result<Outcome, AppError> {
    let wire::Envelope { id, actor } = wire::parse(inner.clone())?;
    same_origin(&id, &actor)?;
    if data.is_local_url(&id) || data.is_local_url(&actor) {
        return Err(AppError::forbidden(
            "local_origin",
            "activities of this instance are not accepted from outside",
        ));
    }
    let kind = type_of(&inner).unwrap_or_default().to_string();
    if !super::is_relayable(&kind) {
        tracing::info!(kind, group = %group.ap_id, "ignoring a relayed activity a community does not relay");
        return Ok(Outcome::Ignored);
    }
    if data.is_blocked(&actor).await? {
        return Ok(Outcome::Ignored); // relayed content from a blocked instance
    }
    let inner_actor = find_or_fetch_actor(&actor, data, false).await?;
    let ctx = Ctx {
        actor: inner_actor,
        relayed_by: Some(group),
        raw: &inner,
        data,
    };
    Box::pin(super::receive_kind(&kind, inner.clone(), ctx)).await
}
