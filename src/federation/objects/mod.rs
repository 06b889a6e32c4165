//! ActivityPub objects: one file per type, each with its wire struct and `impl Object`.

pub mod group;
pub mod instance;
pub mod person;
pub mod post;

use serde::{Deserialize, Serialize};
use url::Url;

/// `source` as Lemmy and Mastodon send it: the Markdown a text was written in.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    pub content: String,
    pub media_type: String,
}

impl Source {
    pub fn markdown(content: &str) -> Option<Source> {
        (!content.is_empty()).then(|| Source {
            content: content.to_string(),
            media_type: "text/markdown".to_string(),
        })
    }
}

/// `endpoints` of an actor; only `sharedInbox` is used.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    pub shared_inbox: Option<Url>,
}

/// A `Hashtag` tag (community topics).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Hashtag {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<Url>,
}

/// An actor's key, read strictly: its `owner` is the actor and its id is on the actor's
/// host (one rule for people and groups). Everything else about an actor is read
/// tolerantly.
pub fn check_actor_key(
    id: &Url,
    key: &activitypub_federation::protocol::public_key::PublicKey,
) -> Result<(), crate::error::AppError> {
    let bad = |m: &str| crate::error::AppError::bad_request("invalid_key", m.to_string());
    if key.owner != *id {
        return Err(bad("publicKey.owner is not the actor"));
    }
    let key_id = Url::parse(&key.id).map_err(|_| bad("publicKey.id is not a URL"))?;
    if key_id.host_str() != id.host_str()
        || key_id.port_or_known_default() != id.port_or_known_default()
    {
        return Err(bad("publicKey.id is not on the actor's host"));
    }
    Ok(())
}

/// Milliseconds since the epoch as an RFC 3339 time.
pub fn time_of(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
