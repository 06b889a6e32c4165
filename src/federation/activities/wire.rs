//! What every activity family shares on the wire: tolerant readers for ids and addressing
//! (peers send an id as a string, an object with an `id`, or a list of either; conventions
//! 8–9), the parse step that turns an activity into its family's struct with a clear error,
//! and the context an inbound activity is received in (who signed it, which community
//! relayed it).

use super::ActorRef;
use crate::{
    error::AppError, federation::objects::post::value_id, state::AppState,
    store::communities::DbCommunity,
};
use activitypub_federation::{config::Data, fetch::object_id::ObjectId, traits::Object};
use serde::{Deserialize, Deserializer, de::DeserializeOwned};
use serde_json::Value;
use url::Url;

/// The public collection, in its full form (Lemmy 0.19 parses plain JSON and needs it).
pub use crate::federation::objects::post::PUBLIC;

/// Longest addressing list read (`to`, `cc`): the rest is dropped, not processed.
pub const MAX_ADDRESSES: usize = crate::federation::objects::post::MAX_ADDRESSES;

/// Parses an activity into its family's struct; a shape we cannot use is a 400 that says
/// which field was wrong, never an opaque "did not match any variant" (Lemmy #3570).
pub fn parse<T: DeserializeOwned>(json: Value) -> Result<T, AppError> {
    serde_json::from_value(json)
        .map_err(|e| AppError::bad_request("invalid_activity", format!("unusable activity: {e}")))
}

/// Serialises an outgoing activity for the queue. Our own structs always serialise.
pub fn to_value<T: serde::Serialize>(activity: &T) -> Result<Value, AppError> {
    serde_json::to_value(activity).map_err(|e| AppError::Internal(e.into()))
}

/// An id given as a string or as an object with an `id` (an embedded object), or as a list
/// of them (the first); never a panic or an opaque error for the other shapes.
pub fn id<'de, D, T>(d: D) -> Result<ObjectId<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Object + Send + 'static,
    for<'x> <T as Object>::Kind: Deserialize<'x>,
{
    let v = Value::deserialize(d)?;
    first_url(&v)
        .map(ObjectId::from)
        .ok_or_else(|| serde::de::Error::custom("expected an id (a URL)"))
}

/// An optional id in any of the shapes `id` reads; anything else is absent.
pub fn optional_id<'de, D, T>(d: D) -> Result<Option<ObjectId<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Object + Send + 'static,
    for<'x> <T as Object>::Kind: Deserialize<'x>,
{
    let v = Value::deserialize(d)?;
    Ok(first_url(&v).map(ObjectId::from))
}

/// A URL in any of the shapes `id` reads (activity ids, collection ids).
pub fn url<'de, D: Deserializer<'de>>(d: D) -> Result<Url, D::Error> {
    let v = Value::deserialize(d)?;
    first_url(&v).ok_or_else(|| serde::de::Error::custom("expected an id (a URL)"))
}

/// An optional URL; anything unusable is absent.
pub fn optional_url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Url>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(first_url(&v))
}

/// `to`/`cc`: one or many, ids or objects; entries that are not URLs (`"Public"`) are kept
/// as the full public address or dropped; at most `MAX_ADDRESSES`.
pub fn addresses<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Url>, D::Error> {
    let v = Value::deserialize(d)?;
    let items = match v {
        Value::Array(items) => items,
        Value::Null => vec![],
        other => vec![other],
    };
    Ok(items
        .iter()
        .take(MAX_ADDRESSES)
        .filter_map(|item| {
            let s = value_id(item)?;
            if s == "as:Public" || s == "Public" {
                return Url::parse(PUBLIC).ok();
            }
            Url::parse(&s).ok()
        })
        .collect())
}

/// Optional text (`summary`, `content`): a string, else absent.
pub fn optional_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(match v {
        Value::String(s) => Some(s),
        _ => None,
    })
}

/// An optional boolean; anything that is not one is absent.
pub fn optional_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(v.as_bool())
}

fn first_url(v: &Value) -> Option<Url> {
    let s = match v {
        Value::Array(items) => items.iter().find_map(value_id),
        other => value_id(other),
    }?;
    Url::parse(&s).ok()
}

/// The `type` of an activity or object; for an array, the first string.
pub fn type_of(json: &Value) -> Option<&str> {
    match json.get("type")? {
        Value::String(s) => Some(s),
        Value::Array(items) => items.iter().find_map(Value::as_str),
        _ => None,
    }
}

/// Who a community's activities are addressed to: everyone (`as:Public`), or, for a
/// private community, its followers (its members), as Lemmy 1.0 addresses them.
pub fn audience_of(c: &DbCommunity) -> Vec<Url> {
    crate::federation::objects::post::audience_of(c)
        .iter()
        .filter_map(|a| Url::parse(a).ok())
        .collect()
}

/// What every activity has and is first read for: its id and its actor (the inbox's
/// envelope, a relayed activity, an Undo's inner activity).
#[derive(serde::Deserialize)]
pub struct Envelope {
    #[serde(deserialize_with = "url")]
    pub id: Url,
    #[serde(deserialize_with = "url")]
    pub actor: Url,
}

/// How an inbound activity reached us.
pub struct Ctx<'a> {
    /// Who it is by: the signer, or (relayed) the inner activity's actor.
    pub actor: ActorRef,
    /// The remote community that relayed it in an `Announce`, if any. A relaying group is
    /// trusted only for what happens inside it (`vouches_for`).
    pub relayed_by: Option<&'a DbCommunity>,
    /// The activity as it arrived: a community of ours relays it unchanged (FEP-1b12).
    pub raw: &'a Value,
    pub data: &'a Data<AppState>,
}

impl Ctx<'_> {
    /// Whether this path may speak about `community`: always directly (the family's own
    /// rules decide); through an Announce only when the relaying group is that community
    /// (Lemmy's rule: a community's Announce is trusted for its own content).
    pub fn vouches_for(&self, community: &DbCommunity) -> bool {
        self.relayed_by.is_none_or(|g| g.id == community.id)
    }

    /// `vouches_for` as a refusal.
    pub fn check_inside(&self, community: &DbCommunity) -> Result<(), AppError> {
        if self.vouches_for(community) {
            Ok(())
        } else {
            Err(AppError::forbidden(
                "outside_community",
                "a community can only relay what happens inside it",
            ))
        }
    }

    /// The id of the activity as it arrived (an Undo's own id, not its inner activity's).
    pub fn activity_id(&self) -> Option<&str> {
        self.raw.get("id").and_then(Value::as_str)
    }

    /// The `summary` of the activity as it arrived (an Undo's reason), else `inner`'s.
    pub fn reason<'s>(&'s self, inner: Option<&'s str>) -> Option<&'s str> {
        self.raw.get("summary").and_then(Value::as_str).or(inner)
    }

    /// Whether the activity came straight from its actor (no relay).
    pub fn is_direct(&self) -> bool {
        self.relayed_by.is_none()
    }
}

/// An activity family: its wire struct, and what receiving it does.
#[async_trait::async_trait]
pub trait Receive: DeserializeOwned + Send {
    /// The activity's id.
    fn id(&self) -> &Url;
    /// Acts on it: the wire-level checks of the family, then the domain rule.
    async fn receive(self, ctx: Ctx<'_>) -> Result<super::Outcome, AppError>;
}

/// Parses `json` into `T` and receives it, after the checks every family shares: the
/// activity's id is on its actor's host (FEP-fe34).
pub async fn run<T: Receive>(json: Value, ctx: Ctx<'_>) -> Result<super::Outcome, AppError> {
    let activity: T = parse(json)?;
    super::same_origin(activity.id(), ctx.actor.ap_id())?;
    activity.receive(ctx).await
}
