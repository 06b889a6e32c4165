//! ActivityPub: actors and objects, collections, discovery (WebFinger, NodeInfo,
//! host-meta) and content negotiation.

pub mod activities;
pub mod actors;
pub mod authorized_fetch;
pub mod client;
pub mod collections;
pub mod discovery;
pub mod inbox;
pub mod keys;
pub mod nodeinfo;
pub mod objects;
pub mod objects_routes;
pub mod publish;
pub mod queue;
pub mod rfc9421;
pub mod signatures;
pub mod software;
pub mod webfinger;

use crate::state::AppState;
use axum::{
    Router,
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

/// The media type we serve ActivityPub documents as.
pub const AP_CONTENT_TYPE: &str = "application/activity+json; charset=utf-8";

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(actors::router())
        .merge(collections::router())
        .merge(inbox::router())
        .merge(objects_routes::router())
        .merge(webfinger::router())
        .merge(nodeinfo::router())
}

/// `Vary: Accept`: caches keep an actor's JSON and its HTML page apart.
pub fn vary(mut res: axum::response::Response) -> axum::response::Response {
    res.headers_mut().insert(
        axum::http::header::VARY,
        axum::http::HeaderValue::from_static("Accept"),
    );
    res
}

/// Whether the client asked for ActivityPub JSON: `application/activity+json`, or
/// `application/ld+json` (with or without the ActivityStreams profile; peers differ).
pub fn wants_activity_json(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|part| {
            let media = part.split(';').next().unwrap_or_default().trim();
            media.eq_ignore_ascii_case("application/activity+json")
                || media.eq_ignore_ascii_case("application/ld+json")
        })
}

/// The `@context` of every document we serve: ActivityStreams, security, and the terms
/// Lemmy and Mastodon use for the extension properties we emit.
pub fn context() -> serde_json::Value {
    serde_json::json!([
        "https://www.w3.org/ns/activitystreams",
        "https://w3id.org/security/v1",
        {
            "lemmy": "https://join-lemmy.org/ns#",
            "toot": "http://joinmastodon.org/ns#",
            "sensitive": "as:sensitive",
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "Hashtag": "as:Hashtag",
            "postingRestrictedToMods": "lemmy:postingRestrictedToMods",
            "discoverable": "toot:discoverable",
            "featured": { "@id": "toot:featured", "@type": "@id" }
        }
    ])
}

/// Serialises `value` with our `@context` first, as `application/activity+json`.
pub fn ap_response<T: Serialize>(value: &T) -> Response {
    let mut body = serde_json::Map::new();
    body.insert("@context".into(), context());
    match serde_json::to_value(value) {
        Ok(serde_json::Value::Object(map)) => body.extend(map),
        Ok(other) => {
            body.insert("object".into(), other);
        }
        Err(e) => {
            return crate::error::AppError::Internal(anyhow::Error::new(e)).into_response();
        }
    }
    let mut res = axum::Json(serde_json::Value::Object(body)).into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(AP_CONTENT_TYPE),
    );
    headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn negotiation() {
        assert!(wants_activity_json(&accept("application/activity+json")));
        assert!(wants_activity_json(&accept(
            r#"application/ld+json; profile="https://www.w3.org/ns/activitystreams""#
        )));
        assert!(wants_activity_json(&accept(
            "text/html;q=0.5, application/activity+json"
        )));
        assert!(!wants_activity_json(&accept(
            "text/html,application/xhtml+xml"
        )));
        assert!(!wants_activity_json(&accept("application/json")));
        assert!(!wants_activity_json(&HeaderMap::new()));
    }
}
