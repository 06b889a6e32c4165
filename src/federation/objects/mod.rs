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

/// Milliseconds since the epoch as an RFC 3339 time.
pub fn time_of(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
