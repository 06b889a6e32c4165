//! Follow, Accept, Reject and Undo(Follow): people following communities, both ways.

use super::{
    ActorRef, Outcome,
    send::{self, Delivery},
    wire::{self, Ctx, Receive},
};
use crate::{
    domain::privacy,
    error::AppError,
    state::AppState,
    store::{self, communities::DbCommunity, people::DbPerson},
};
use activitypub_federation::{config::Data, fetch::object_id::ObjectId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::AnyConnection;
use url::Url;

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum FollowType {
    Follow,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum AnswerType {
    Accept,
    Reject,
}

/// `Follow` of a community (or of anything else, which we ignore).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Follow {
    #[serde(deserialize_with = "wire::url")]
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: FollowType,
    #[serde(deserialize_with = "wire::id")]
    pub actor: ObjectId<ActorRef>,
    #[serde(deserialize_with = "wire::url")]
    pub object: Url,
    #[serde(
        default,
        deserialize_with = "wire::addresses",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub to: Vec<Url>,
}

impl Follow {
    fn new(id: Url, person: &DbPerson, community: &DbCommunity) -> Follow {
        Follow {
            id,
            kind: FollowType::Follow,
            actor: person.ap_id.clone().into(),
            object: community.ap_id.clone(),
            to: vec![community.ap_id.clone()],
        }
    }
}

/// `Accept` or `Reject` of a Follow: embedded (Lemmy, us), or its bare id (Mastodon's older
/// shape; matched on the Follow id we stored).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnswerFollow {
    #[serde(deserialize_with = "wire::url")]
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: AnswerType,
    #[serde(deserialize_with = "wire::id")]
    pub actor: ObjectId<ActorRef>,
    #[serde(
        default,
        deserialize_with = "wire::addresses",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub to: Vec<Url>,
    pub object: FollowRef,
}

/// The Follow an answer is about.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub enum FollowRef {
    Embedded(Follow),
    Id(#[serde(deserialize_with = "wire::url")] Url),
}

#[async_trait::async_trait]
impl Receive for Follow {
    fn id(&self) -> &Url {
        &self.id
    }
    async fn receive(self, ctx: Ctx<'_>) -> Result<Outcome, AppError> {
        receive_follow(self, ctx).await
    }
}

#[async_trait::async_trait]
impl Receive for AnswerFollow {
    fn id(&self) -> &Url {
        &self.id
    }
    async fn receive(self, ctx: Ctx<'_>) -> Result<Outcome, AppError> {
        let state = match self.kind {
            AnswerType::Accept => "accepted",
            AnswerType::Reject => "rejected",
        };
        set_follow_state(self.object, ctx, state).await
    }
}

/// A remote person follows one of our communities: recorded and accepted at once.
async fn receive_follow(follow: Follow, ctx: Ctx<'_>) -> Result<Outcome, AppError> {
    let data = ctx.data;
    let follow_id = &follow.id;
    let community = {
        let mut conn = data.db.pool.acquire().await?;
        store::communities::find_by_ap_id(&mut conn, follow.object.as_str()).await?
    };
    let Some(community) = community.filter(|c| c.local) else {
        return Ok(Outcome::Ignored); // following a person, someone else's, or unknown
    };
    let person = &follower_identity(&ctx.actor, data, true).await?;
    // An invitation lets someone into a private community only from software that keeps
    // its posts private (asked before the write transaction: it may fetch NodeInfo).
    let keeps_private = privacy::check_keeps_private(data, &community, &person.ap_id, person.local)
        .await
        .is_ok();
    let mut tx = data.db.begin().await?;
    let known = store::followers::follow_state(&mut tx, community.id, person.id).await?;
    // Someone we invited is welcome at once.
    let invited = store::invitations::is_invited(&mut tx, community.id, person.id).await?;
    if invited {
        store::invitations::accept(&mut tx, community.id, person.id).await?;
    }
    if community.approval_required
        && known.as_deref() != Some("accepted")
        && !(invited && keeps_private)
    {
        // Waits for a moderator (`domain::membership::decide`), who then sends the Accept.
        store::followers::upsert_follower(
            &mut tx,
            community.id,
            person.id,
            "pending",
            Some(follow_id.as_str()),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(community = %community.name, follower = %person.ap_id, "follow awaits approval");
        return Ok(Outcome::Done);
    }
    store::followers::upsert_follower(
        &mut tx,
        community.id,
        person.id,
        "accepted",
        Some(follow_id.as_str()),
    )
    .await?;
    let accept = AnswerFollow {
        id: data.new_id("activities/accept"),
        kind: AnswerType::Accept,
        actor: community.ap_id.clone().into(),
        to: vec![person.ap_id.clone()],
        object: FollowRef::Embedded(follow),
    };
    send::queue(
        &mut tx,
        &wire::to_value(&accept)?,
        Delivery {
            followers_of: None,
            signer: community.ap_id.as_str(),
            inboxes: vec![person.inbox.clone()],
            community_id: None,
            in_outbox: false,
        },
    )
    .await?;
    tx.commit().await?;
    send::wake(data);
    tracing::info!(community = %community.name, follower = %person.ap_id, "new follower accepted");
    Ok(Outcome::Done)
}

/// Who follows: any kind of actor (Person, Service, Application, Organization, stored as
/// people; and Group — NodeBB categories sync with communities this way — which gets a
/// person row of its own, `actor_type` Group, holding its inboxes and key, so that it is
/// accepted, counted and reached by announces like any follower). `create`: make that row
/// when it is missing.
async fn follower_identity(
    actor: &ActorRef,
    data: &Data<AppState>,
    create: bool,
) -> Result<DbPerson, AppError> {
    let group = match actor {
        ActorRef::Person(p) => return Ok(p.clone()),
        ActorRef::Group(g) => g,
    };
    let mut conn = data.db.write_conn().await?;
    if let Some(p) = store::people::find_by_ap_id(&mut conn, group.ap_id.as_str()).await? {
        if !create || p.inbox == group.inbox {
            return Ok(p);
        }
    } else if !create {
        return Err(AppError::NotFound("follower"));
    }
    if group.local {
        return Err(AppError::forbidden(
            "local_origin",
            "our own communities follow nobody here",
        ));
    }
    Ok(write_follower_row(&mut conn, group).await?)
}

/// A Group refetched (its key rotated, its inbox moved): its follower row, if it has one,
/// follows, so that the Accept and the announces keep reaching it.
pub async fn refresh_follower_row(
    conn: &mut AnyConnection,
    group: &DbCommunity,
) -> Result<(), AppError> {
    if !group.local
        && store::people::find_by_ap_id(conn, group.ap_id.as_str())
            .await?
            .is_some()
    {
        write_follower_row(conn, group).await?;
    }
    Ok(())
}

async fn write_follower_row(
    conn: &mut AnyConnection,
    group: &DbCommunity,
) -> Result<DbPerson, sqlx::Error> {
    store::people::upsert(
        conn,
        &store::people::NewPerson {
            ap_id: group.ap_id.as_str(),
            name: &group.name,
            display_name: Some(&group.title),
            bio_html: None,
            bio_source: None,
            local: false,
            inbox: &group.inbox,
            shared_inbox: group.shared_inbox.as_deref(),
            public_key: &group.public_key,
            private_key: None,
            published: group.published,
            updated: group.updated,
            actor_type: "Group",
        },
    )
    .await
}

/// A moderator's answer to a remote person's pending Follow of a local community: an
/// `Accept` or a `Reject` of their Follow (rebuilt from its stored id), to their inbox.
pub async fn send_decision(
    conn: &mut sqlx::AnyConnection,
    state: &AppState,
    community: &store::communities::DbCommunity,
    follower: &store::followers::Follower,
    accepted: bool,
) -> Result<(), AppError> {
    let Some(follow_id) = &follower.follow_id else {
        return Ok(()); // a local follower: nothing to send
    };
    let (kind, path) = if accepted {
        (AnswerType::Accept, "activities/accept")
    } else {
        (AnswerType::Reject, "activities/reject")
    };
    let internal = |e: url::ParseError| AppError::Internal(e.into());
    let follower_id = Url::parse(&follower.ap_id).map_err(internal)?;
    let follow = Follow {
        id: Url::parse(follow_id).map_err(internal)?,
        kind: FollowType::Follow,
        actor: follower_id.clone().into(),
        object: community.ap_id.clone(),
        to: vec![],
    };
    let activity = wire::to_value(&AnswerFollow {
        id: state.new_id(path),
        kind,
        actor: community.ap_id.clone().into(),
        to: vec![follower_id],
        object: FollowRef::Embedded(follow),
    })?;
    send::queue(
        conn,
        &activity,
        Delivery {
            followers_of: None,
            signer: community.ap_id.as_str(),
            inboxes: vec![follower.inbox.clone()],
            community_id: None,
            in_outbox: false,
        },
    )
    .await?;
    Ok(())
}

async fn set_follow_state(
    follow: FollowRef,
    ctx: Ctx<'_>,
    state: &str,
) -> Result<Outcome, AppError> {
    let ActorRef::Group(community) = &ctx.actor else {
        return Ok(Outcome::Ignored); // we only follow groups
    };
    let mut conn = ctx.data.db.write_conn().await?;
    // The embedded Follow names the follower; a bare id is matched on the stored Follow id.
    let follower = match follow {
        FollowRef::Embedded(follow) => {
            if follow.object != community.ap_id {
                return Err(AppError::forbidden(
                    "not_your_follow",
                    "a community can only answer follows of itself",
                ));
            }
            store::people::find_by_ap_id(&mut conn, follow.actor.inner().as_str()).await?
        }
        FollowRef::Id(follow_id) => {
            follower_by_follow_id(&mut conn, community.id, follow_id.as_str()).await?
        }
    };
    let Some(follower) = follower.filter(|p| p.local) else {
        return Ok(Outcome::Ignored);
    };
    if store::followers::follow_state(&mut conn, community.id, follower.id)
        .await?
        .is_none()
    {
        return Ok(Outcome::Ignored); // not a follow we asked for
    }
    if state == "rejected" {
        store::followers::remove_follower(&mut conn, community.id, follower.id).await?;
    } else {
        store::followers::upsert_follower(&mut conn, community.id, follower.id, state, None)
            .await?;
    }
    tracing::info!(community = %community.ap_id, follower = %follower.name, state, "follow answered");
    Ok(Outcome::Done)
}

async fn follower_by_follow_id(
    conn: &mut AnyConnection,
    community_id: i64,
    follow_id: &str,
) -> Result<Option<DbPerson>, AppError> {
    let id: Option<i64> = sqlx::query_scalar(
        "SELECT person_id FROM community_followers WHERE community_id = $1 AND follow_id = $2",
    )
    .bind(community_id)
    .bind(follow_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match id {
        Some(id) => Some(store::people::find_by_id(conn, id).await?),
        None => None,
    })
}

/// A remote person unfollows one of our communities.
pub async fn receive_undo_follow(follow: Follow, ctx: Ctx<'_>) -> Result<Outcome, AppError> {
    let Ok(person) = &follower_identity(&ctx.actor, ctx.data, false).await else {
        return Ok(Outcome::Ignored);
    };
    let mut conn = ctx.data.db.write_conn().await?;
    let Some(community) =
        store::communities::find_by_ap_id(&mut conn, follow.object.as_str()).await?
    else {
        return Ok(Outcome::Ignored);
    };
    if !community.local
        || !store::followers::remove_follower(&mut conn, community.id, person.id).await?
    {
        return Ok(Outcome::Ignored);
    }
    tracing::info!(community = %community.name, follower = %person.ap_id, "follower left");
    Ok(Outcome::Done)
}

/// Queues a local person's Follow of a remote community (recorded as pending by the
/// domain, with `follow_id`).
pub async fn send_follow(
    conn: &mut AnyConnection,
    person: &DbPerson,
    community: &DbCommunity,
    follow_id: &Url,
) -> Result<(), AppError> {
    let follow = wire::to_value(&Follow::new(follow_id.clone(), person, community))?;
    send::queue(
        conn,
        &follow,
        Delivery {
            followers_of: None,
            signer: person.ap_id.as_str(),
            inboxes: vec![send::community_inbox(community)],
            community_id: None,
            in_outbox: false,
        },
    )
    .await?;
    Ok(())
}

/// Queues a local person's Undo(Follow) of a remote community, with the original Follow.
pub async fn send_unfollow(
    conn: &mut AnyConnection,
    state: &AppState,
    person: &DbPerson,
    community: &DbCommunity,
    follow_id: Option<&str>,
) -> Result<(), AppError> {
    let follow_id = follow_id
        .and_then(|f| Url::parse(f).ok())
        .unwrap_or_else(|| state.new_id("activities/follow"));
    let undo = wire::to_value(&super::undo::Undo {
        id: state.new_id("activities/undo"),
        kind: super::undo::UndoType::Undo,
        actor: person.ap_id.clone().into(),
        to: vec![community.ap_id.clone()],
        cc: vec![],
        object: wire::to_value(&Follow::new(follow_id, person, community))?,
        audience: None,
        summary: None,
    })?;
    send::queue(
        conn,
        &undo,
        Delivery {
            followers_of: None,
            signer: person.ap_id.as_str(),
            inboxes: vec![send::community_inbox(community)],
            community_id: None,
            in_outbox: false,
        },
    )
    .await?;
    Ok(())
}

/// An embedded activity without its `@context` (Lemmy 0.19 drops it; harmless either way).
pub fn strip_context(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.shift_remove("@context");
    }
    v
}
