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
/// moderators, signed by the community and without the reporter.
pub async fn forward_to_moderators(
    conn: &mut AnyConnection,
    state: &AppState,
    community: &DbCommunity,
    post: &DbPost,
    reason: &str,
) -> Result<(), AppError> {
    let inboxes = store::reports::remote_moderator_inboxes(conn, community.id).await?;
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
        forward_to_moderators(&mut tx, data, &community, &post, &reason).await?;
    }
    tx.commit().await?;
    send::wake(data);
    Ok(Outcome::Done)
}
