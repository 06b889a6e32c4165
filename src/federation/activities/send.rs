//! Outgoing activities: stored and queued for delivery in the caller's transaction; the
//! delivery workers send them (src/delivery). Nothing is sent from a request handler.

use crate::{
    error::AppError,
    federation::context,
    state::AppState,
    store::{self, communities::DbCommunity},
};
use serde_json::{Map, Value};
use sqlx::AnyConnection;

/// Puts our `@context` first, as peers expect.
pub fn with_context(activity: Value) -> Value {
    let mut out = Map::new();
    out.insert("@context".into(), context());
    if let Value::Object(map) = activity {
        out.extend(map.into_iter().filter(|(k, _)| k != "@context"));
    }
    Value::Object(out)
}

/// Where an activity goes and who signs it.
pub struct Delivery<'a> {
    /// The actor whose key signs the requests (the activity's `actor`).
    pub signer: &'a str,
    /// Target inboxes; duplicates are dropped.
    pub inboxes: Vec<String>,
    /// Also every remote follower of this (local) community: expanded by the delivery
    /// workers, not in the caller's transaction, so accepting an activity stays fast
    /// whatever the number of followers.
    pub followers_of: Option<i64>,
    /// The community whose outbox lists it, when `in_outbox`.
    pub community_id: Option<i64>,
    pub in_outbox: bool,
}

/// Stores an activity we emit and queues one delivery per distinct inbox. Returns the
/// stored activity's row id. Call `wake` after the transaction commits.
pub async fn queue(
    conn: &mut AnyConnection,
    activity: &Value,
    to: Delivery<'_>,
) -> Result<i64, AppError> {
    let ap_id = activity["id"].as_str().unwrap_or_default();
    let kind = activity["type"].as_str().unwrap_or_default();
    let json = serde_json::to_string(&with_context(activity.clone()))
        .map_err(|e| AppError::Internal(e.into()))?;
    let id = store::activities::insert(
        conn,
        &store::activities::NewActivity {
            ap_id,
            kind,
            actor: to.signer,
            community_id: to.community_id,
            json: &json,
            in_outbox: to.in_outbox,
            ordering_key: &ordering_key(activity),
        },
    )
    .await?;
    let mut inboxes = to.inboxes;
    inboxes.sort();
    inboxes.dedup();
    store::deliveries::enqueue(conn, id, to.signer, &inboxes).await?;
    if let Some(community_id) = to.followers_of {
        store::deliveries::enqueue_fanout(conn, id, community_id, to.signer).await?;
    }
    Ok(id)
}

/// What an activity is about, for ordering: activities with the same key reach an instance
/// in the order they were queued. Wrappers (Announce, Undo, Accept, Reject) are looked
/// through; the key is then the id of the activity's object (the post, the community
/// followed, the thing voted on), or the id of the object itself when there is no activity
/// (a plain Announce of a post). Computed once, when the activity is stored.
pub fn ordering_key(activity: &Value) -> String {
    let id_of = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => o.get("id").and_then(Value::as_str).map(String::from),
            _ => None,
        }
    };
    let mut cur = activity;
    for _ in 0..4 {
        let wrapper = matches!(
            cur.get("type").and_then(Value::as_str),
            Some("Announce" | "Undo" | "Accept" | "Reject")
        );
        match cur.get("object") {
            Some(inner @ Value::Object(_)) if wrapper => cur = inner,
            _ => break,
        }
    }
    cur.get("object")
        .and_then(id_of)
        .or_else(|| id_of(cur))
        .unwrap_or_default()
}

/// Tells the delivery workers there is work.
pub fn wake(state: &AppState) {
    state.delivery_wakeup.notify_one();
}

/// The inbox to reach a remote community: its shared inbox when it has one.
pub fn community_inbox(c: &DbCommunity) -> String {
    c.shared_inbox.clone().unwrap_or_else(|| c.inbox.clone())
}

/// Federates an activity of a local person about a community: stored and announced to the
/// community's followers when the community is ours (with `bare_object` for new posts, see
/// `announce::relay`), else delivered to the remote community, which announces it.
pub async fn to_community(
    conn: &mut AnyConnection,
    state: &AppState,
    signer: &str,
    community: &DbCommunity,
    activity: &Value,
    bare_object: Option<&Value>,
) -> Result<(), AppError> {
    let inboxes = if community.local {
        vec![]
    } else {
        vec![community_inbox(community)]
    };
    queue(
        conn,
        activity,
        Delivery {
            signer,
            inboxes,
            followers_of: None,
            community_id: None,
            in_outbox: false,
        },
    )
    .await?;
    if community.local {
        super::announce::relay(conn, state, community, activity, bare_object).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::ordering_key;
    use serde_json::json;

    #[test]
    fn ordering_keys_tie_an_activity_to_what_it_is_about() {
        let follow = json!({"type":"Follow","id":"f1","actor":"p","object":"c"});
        let undo =
            json!({"type":"Undo","id":"u1","object":{"type":"Follow","id":"f1","object":"c"}});
        let accept =
            json!({"type":"Accept","id":"a1","object":{"type":"Follow","id":"f1","object":"c"}});
        assert_eq!(ordering_key(&follow), "c");
        assert_eq!(ordering_key(&undo), "c");
        assert_eq!(ordering_key(&accept), "c");
        let create = json!({"type":"Announce","object":{"type":"Create","object":{"type":"Page","id":"post"}}});
        let plain = json!({"type":"Announce","object":{"type":"Page","id":"post"}});
        let delete = json!({"type":"Announce","object":{"type":"Delete","object":"post"}});
        let unvote = json!({"type":"Undo","object":{"type":"Like","object":"post"}});
        for k in [create, plain, delete, unvote] {
            assert_eq!(ordering_key(&k), "post", "{k}");
        }
        assert_eq!(ordering_key(&json!({ "type": "Note" })), "");
    }
}
