//! Flag: a report of a post or reply to its community's moderators, as Lemmy 0.19 and 1.0
//! send it (`actor` = the reporter, `to` = [the community], `object` = the post or reply,
//! `summary` = the reason). The reporter is named only to the community's own instance:
//! a community forwards a report to the instances of its remote moderators as a Flag of
//! its own (`actor` = the community), never naming the reporter, and never to followers or
//! to the reported person's instance (Lemmy #6343 leaked reporters that way).

use super::{
    ActorRef, Outcome, send,
    wire::{self, Ctx, Receive},
};
use crate::{
    error::AppError,
    state::AppState,
    store::{self, communities::DbCommunity, posts::DbPost, reports::NewReport},
};
use activitypub_federation::fetch::object_id::ObjectId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::AnyConnection;
use url::Url;

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum FlagType {
    Flag,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum ResolveType {
    Resolve,
}

/// `Flag`: a report. Lemmy names one object, Mastodon a list (the account, then statuses).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Flag {
    #[serde(deserialize_with = "wire::url")]
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: FlagType,
    #[serde(deserialize_with = "wire::id")]
    pub actor: ObjectId<ActorRef>,
    #[serde(default, deserialize_with = "wire::addresses")]
    pub to: Vec<Url>,
    #[serde(deserialize_with = "wire::addresses")]
    pub object: Vec<Url>,
    /// The reason (Lemmy).
    #[serde(
        default,
        deserialize_with = "wire::optional_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub summary: Option<String>,
    /// The reason (Mastodon).
    #[serde(
        default,
        deserialize_with = "wire::optional_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub content: Option<String>,
    #[serde(
        default,
        deserialize_with = "wire::optional_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub audience: Option<ObjectId<DbCommunity>>,
}

/// The report a `Resolve` closes, as Lemmy embeds it (no id of its own).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedFlag {
    #[serde(rename = "type")]
    pub kind: FlagType,
    #[serde(deserialize_with = "wire::url")]
    pub actor: Url,
    #[serde(default, deserialize_with = "wire::addresses")]
    pub to: Vec<Url>,
    #[serde(deserialize_with = "wire::url")]
    pub object: Url,
}

/// `Resolve` of a report by a moderator.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resolve {
    #[serde(deserialize_with = "wire::url")]
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: ResolveType,
    #[serde(deserialize_with = "wire::id")]
    pub actor: ObjectId<ActorRef>,
    #[serde(default, deserialize_with = "wire::addresses")]
    pub to: Vec<Url>,
    pub object: ResolvedFlag,
    #[serde(
        default,
        deserialize_with = "wire::optional_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub audience: Option<ObjectId<DbCommunity>>,
}

/// Longest reason kept, in characters.
pub use crate::domain::reports::REASON_MAX;

/// A Flag of `post` in `community` by `actor` (a person, or the community forwarding it).
pub fn flag(
    state: &AppState,
    actor: &Url,
    community: &DbCommunity,
    post: &DbPost,
    reason: &str,
) -> Result<Value, AppError> {
    wire::to_value(&Flag {
        id: state.new_id("activities/flag"),
        kind: FlagType::Flag,
        actor: actor.clone().into(),
        to: vec![community.ap_id.clone()],
        object: vec![post.ap_id.clone()],
        summary: Some(reason.to_string()),
        content: None,
        audience: Some(community.ap_id.clone().into()),
    })
}

/// Federates a local person's report: to the remote community (whose moderators act on
/// it, as Lemmy does), or, for one of ours, forwarded unnamed to the instances of its remote
/// moderators. Returns the Flag's id.
pub async fn send_report(
    conn: &mut AnyConnection,
    state: &AppState,
    reporter: &crate::store::people::DbPerson,
    community: &DbCommunity,
    post: &DbPost,
    reason: &str,
) -> Result<String, AppError> {
    let activity = flag(state, &reporter.ap_id, community, post, reason)?;
    let id = activity["id"].as_str().unwrap_or_default().to_string();
    if community.local {
        forward_to_moderators(conn, state, community, post, reason, None).await?;
    } else {
        send::queue(
            conn,
            &activity,
            send::Delivery {
                signer: reporter.ap_id.as_str(),
                inboxes: vec![send::community_inbox(community)],
                followers_of: None,
                community_id: None,
                in_outbox: false,
            },
        )
        .await?;
    }
    Ok(id)
}

/// Sends a report of one of our communities' posts to the instances of its remote
/// moderators, signed by the community and without the reporter — except the reporter's
/// own instance (`reporter_host`), which has the report already.
pub async fn forward_to_moderators(
    conn: &mut AnyConnection,
    state: &AppState,
    community: &DbCommunity,
    post: &DbPost,
    reason: &str,
    reporter_host: Option<&str>,
) -> Result<(), AppError> {
    let inboxes: Vec<String> = store::reports::remote_moderator_inboxes(conn, community.id)
        .await?
        .into_iter()
        .filter(|inbox| {
            let host = url::Url::parse(inbox)
                .map(|u| store::instances::domain_of(&u))
                .ok();
            reporter_host.is_none() || host.as_deref() != reporter_host
        })
        .collect();
    if inboxes.is_empty() {
        return Ok(());
    }
    let activity = flag(state, &community.ap_id, community, post, reason)?;
    send::queue(
        conn,
        &activity,
        send::Delivery {
            signer: community.ap_id.as_str(),
            inboxes,
            followers_of: None,
            community_id: None,
            in_outbox: false,
        },
    )
    .await?;
    Ok(())
}

/// The reason of a Flag: Lemmy's `summary`, Mastodon's `content`; plain text, clipped.
fn reason_of(flag: &Flag) -> String {
    let raw = [&flag.summary, &flag.content]
        .into_iter()
        .flatten()
        .find(|s| !s.is_empty())
        .map(String::as_str)
        .unwrap_or_default();
    raw.chars().take(REASON_MAX).collect()
}

#[async_trait::async_trait]
impl Receive for Flag {
    fn id(&self) -> &Url {
        &self.id
    }
    /// Sent by the reporter's instance, or forwarded by a community (then it relayed it or
    /// is the actor; the reporter stays unnamed).
    async fn receive(self, ctx: Ctx<'_>) -> Result<Outcome, AppError> {
        let data = ctx.data;
        let mut tx = data.db.begin().await?;
        let mut post = None;
        for o in self.object.iter().take(20) {
            if let Some(p) = store::posts::find_by_ap_id(&mut tx, o.as_str()).await? {
                post = Some(p);
                break;
            }
        }
        let Some(post) = post else {
            return Ok(Outcome::Ignored); // nothing of ours (an account report, say)
        };
        let community = store::communities::find_by_id(&mut tx, post.community_id).await?;
        let reporter = match (&ctx.actor, ctx.relayed_by) {
            (_, Some(g)) if g.id == community.id => None,
            (ActorRef::Group(g), None) if g.id == community.id => None,
            (ActorRef::Person(p), None) => Some(p.id),
            _ => return Ok(Outcome::Ignored), // a community reporting another's post
        };
        let reason = reason_of(&self);
        let new = store::reports::insert(
            &mut tx,
            &NewReport {
                community_id: community.id,
                post_id: post.id,
                reporter_id: reporter,
                reason: &reason,
                activity_id: self.id.as_str(),
            },
        )
        .await?
        .is_some();
        if new && community.local {
            let reporter_host = store::instances::domain_of(ctx.actor.ap_id());
            forward_to_moderators(
                &mut tx,
                data,
                &community,
                &post,
                &reason,
                Some(&reporter_host),
            )
            .await?;
        }
        tx.commit().await?;
        send::wake(data);
        Ok(Outcome::Done)
    }
}

/// Tells the other side that a moderator closed a report, as Lemmy does (`Resolve` with the
/// report as a nested Flag: `actor` = the reporter as that side knows them — the community
/// for a report it got unnamed —, `object` = the post). From our community: to its remote
/// moderators; for a remote community: to the community.
pub async fn send_resolve(
    conn: &mut AnyConnection,
    state: &AppState,
    moderator: &crate::store::people::DbPerson,
    community: &DbCommunity,
    post: &DbPost,
    reporter: Option<&str>,
) -> Result<(), AppError> {
    let (inboxes, flag_actor) = if community.local {
        let inboxes = store::reports::remote_moderator_inboxes(conn, community.id).await?;
        (inboxes, community.ap_id.to_string())
    } else {
        let named = reporter.map_or_else(|| community.ap_id.to_string(), str::to_string);
        (vec![send::community_inbox(community)], named)
    };
    if inboxes.is_empty() {
        return Ok(());
    }
    let resolve = Resolve {
        id: state.new_id("activities/resolve"),
        kind: ResolveType::Resolve,
        actor: moderator.ap_id.clone().into(),
        to: vec![community.ap_id.clone()],
        object: ResolvedFlag {
            kind: FlagType::Flag,
            actor: Url::parse(&flag_actor).map_err(|e| AppError::Internal(e.into()))?,
            to: vec![community.ap_id.clone()],
            object: post.ap_id.clone(),
        },
        audience: Some(community.ap_id.clone().into()),
    };
    // Our community vouches for its moderator to the other moderators' instances by
    // announcing the Resolve (as Lemmy does), to them only: never to followers.
    let (activity, signer) = if community.local {
        let announce = super::announce::AnnounceActivity::new(
            state,
            community,
            vec![community.ap_id.clone()],
            vec![],
            wire::to_value(&resolve)?,
        );
        (wire::to_value(&announce)?, community.ap_id.as_str())
    } else {
        (wire::to_value(&resolve)?, moderator.ap_id.as_str())
    };
    send::queue(
        conn,
        &activity,
        send::Delivery {
            signer,
            inboxes,
            followers_of: None,
            community_id: None,
            in_outbox: false,
        },
    )
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl Receive for Resolve {
    fn id(&self) -> &Url {
        &self.id
    }
    /// From a moderator of the post's community (or relayed by the community): the
    /// matching open reports here are closed.
    async fn receive(self, ctx: Ctx<'_>) -> Result<Outcome, AppError> {
        let ActorRef::Person(moderator) = &ctx.actor else {
            return Ok(Outcome::Ignored);
        };
        let (post_id, reporter) = (&self.object.object, &self.object.actor);
        let mut tx = ctx.data.db.begin().await?;
        let Some(post) = store::posts::find_by_ap_id(&mut tx, post_id.as_str()).await? else {
            return Ok(Outcome::Ignored);
        };
        let community = store::communities::find_by_id(&mut tx, post.community_id).await?;
        if !super::moderates(&mut tx, &community, moderator, ctx.relayed_by).await? {
            return Err(AppError::forbidden(
                "not_a_moderator",
                "only a moderator of the community can resolve its reports",
            ));
        }
        // The community as reporter: the unnamed copy it forwarded. At the community's own
        // instance that stands for every open report of the post.
        let reporter_id = if *reporter == community.ap_id {
            None
        } else {
            match store::people::find_by_ap_id(&mut tx, reporter.as_str()).await? {
                Some(p) => Some(p.id),
                None => return Ok(Outcome::Ignored), // a report we never had
            }
        };
        let n = if reporter_id.is_none() && community.local {
            store::reports::resolve_all_of_post(&mut tx, post.id, moderator.id).await?
        } else {
            store::reports::resolve_matching(&mut tx, post.id, reporter_id, moderator.id).await?
        };
        tx.commit().await?;
        tracing::info!(post = %post.ap_id, reporter = %reporter, reports = n, "reports resolved by a moderator elsewhere");
        Ok(Outcome::Done)
    }
}
