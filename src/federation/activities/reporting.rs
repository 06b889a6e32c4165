//! Flag: a report of a post or reply to its community's moderators, as Lemmy 0.19 and 1.0
//! send it (`actor` = the reporter, `to` = [the community], `object` = the post or reply,
//! `summary` = the reason). The reporter is named only to the community's own instance:
//! a community forwards a report to the instances of its remote moderators as a Flag of
//! its own (`actor` = the community), never naming the reporter, and never to followers or
//! to the reported person's instance (Lemmy #6343 leaked reporters that way).

use super::{ActorRef, Outcome, same_origin, send, url_field};
use crate::{
    error::AppError,
    federation::objects::post::value_id,
    state::AppState,
    store::{self, communities::DbCommunity, posts::DbPost, reports::NewReport},
};
use activitypub_federation::config::Data;
use serde_json::{Value, json};
use sqlx::AnyConnection;

/// Longest reason kept, in characters.
pub const REASON_MAX: usize = 2_000;

/// A Flag of `post` in `community` by `actor` (a person, or the community forwarding it).
pub fn flag(
    state: &AppState,
    actor: &url::Url,
    community: &DbCommunity,
    post: &DbPost,
    reason: &str,
) -> Value {
    json!({
        "id": state.new_id("activities/flag"),
        "type": "Flag",
        "actor": actor,
        "to": [community.ap_id],
        "object": post.ap_id,
        "summary": reason,
        "audience": community.ap_id,
    })
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
    let activity = flag(state, &community.ap_id, community, post, reason);
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
fn reason_of(json: &Value) -> String {
    let raw = ["summary", "content"]
        .iter()
        .find_map(|k| {
            json.get(*k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_default();
    raw.chars().take(REASON_MAX).collect()
}

/// An inbound Flag, sent by the reporter's instance or forwarded by a community (then
/// `vouched_by` or the actor is that community; the reporter stays unnamed).
pub async fn receive(
    json: &Value,
    actor: ActorRef,
    data: &Data<AppState>,
    vouched_by: Option<&DbCommunity>,
) -> Result<Outcome, AppError> {
    let id = url_field(json, "id")?;
    same_origin(&id, actor.ap_id())?;
    // Lemmy names one object; Mastodon a list (the account, then statuses).
    let objects: Vec<String> = match json.get("object") {
        Some(Value::Array(items)) => items.iter().take(20).filter_map(value_id).collect(),
        Some(v) => value_id(v).into_iter().collect(),
        None => Vec::new(),
    };
    let mut tx = data.db.begin().await?;
    let mut post = None;
    for o in &objects {
        if let Some(p) = store::posts::find_by_ap_id(&mut tx, o).await? {
            post = Some(p);
            break;
        }
    }
    let Some(post) = post else {
        return Ok(Outcome::Ignored); // nothing of ours (an account report, say)
    };
    let community = store::communities::find_by_id(&mut tx, post.community_id).await?;
    let reporter = match (&actor, vouched_by) {
        (_, Some(g)) if g.id == community.id => None,
        (ActorRef::Group(g), None) if g.id == community.id => None,
        (ActorRef::Person(p), None) => Some(p.id),
        _ => return Ok(Outcome::Ignored), // a community reporting another's post
    };
    let reason = reason_of(json);
    let new = store::reports::insert(
        &mut tx,
        &NewReport {
            community_id: community.id,
            post_id: post.id,
            reporter_id: reporter,
            reason: &reason,
            activity_id: id.as_str(),
        },
    )
    .await?
    .is_some();
    if new && community.local {
        let reporter_host = store::instances::domain_of(actor.ap_id());
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
    let resolve = json!({
        "id": state.new_id("activities/resolve"),
        "type": "Resolve",
        "actor": moderator.ap_id,
        "to": [community.ap_id],
        "object": {
            "type": "Flag", "actor": flag_actor, "to": [community.ap_id],
            "object": post.ap_id,
        },
        "audience": community.ap_id,
    });
    // Our community vouches for its moderator to the other moderators' instances by
    // announcing the Resolve (as Lemmy does), to them only: never to followers.
    let (activity, signer) = if community.local {
        let announce = json!({
            "id": state.new_id("activities/announce"),
            "type": "Announce",
            "actor": community.ap_id,
            "to": [community.ap_id],
            "object": resolve,
        });
        (announce, community.ap_id.as_str())
    } else {
        (resolve, moderator.ap_id.as_str())
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

/// An inbound Resolve of a report, from a moderator of the post's community (or relayed by
/// the community): the matching open reports here are closed.
pub async fn receive_resolve(
    json: &Value,
    actor: ActorRef,
    data: &Data<AppState>,
    vouched_by: Option<&DbCommunity>,
) -> Result<Outcome, AppError> {
    let id = url_field(json, "id")?;
    same_origin(&id, actor.ap_id())?;
    let ActorRef::Person(moderator) = actor else {
        return Ok(Outcome::Ignored);
    };
    let report = json.get("object").cloned().unwrap_or(Value::Null);
    let (Ok(post_id), Ok(reporter)) = (url_field(&report, "object"), url_field(&report, "actor"))
    else {
        return Ok(Outcome::Ignored); // not a report we can match
    };
    let mut tx = data.db.begin().await?;
    let Some(post) = store::posts::find_by_ap_id(&mut tx, post_id.as_str()).await? else {
        return Ok(Outcome::Ignored);
    };
    let community = store::communities::find_by_id(&mut tx, post.community_id).await?;
    if !super::moderates(&mut tx, &community, &moderator, vouched_by).await? {
        return Err(AppError::forbidden(
            "not_a_moderator",
            "only a moderator of the community can resolve its reports",
        ));
    }
    // The community as reporter: the unnamed copy it forwarded. At the community's own
    // instance that stands for every open report of the post.
    let reporter_id = if reporter == community.ap_id {
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
