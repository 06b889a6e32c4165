//! Activities, one file per family: what we send (`new`/`send` functions) and what we do
//! with what we receive. The inbox reads `type` first and hands the JSON here; unknown
//! types are answered 202 and logged (Lemmy #3570, #3862 show the alternative).

pub mod announce;
pub mod appointing;
pub mod banning;
pub mod create;
pub mod deletion;
pub mod featuring;
pub mod following;
pub mod inviting;
pub mod locking;
pub mod reporting;
pub mod send;
pub mod voting;

use crate::{
    error::AppError,
    federation::objects::{group::Group, person::Person, post::value_id},
    state::AppState,
    store::{self, communities::DbCommunity, people::DbPerson},
};
use activitypub_federation::{
    config::Data, fetch::fetch_object_http, protocol::verification::verify_domains_match,
    traits::Object,
};
use serde_json::Value;
use url::Url;

/// What happened to an inbound activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Processed.
    Done,
    /// Understood but nothing to do (not for us, already known, unsupported type).
    Ignored,
    /// Stored; its processing ends after we answer (see `federation::queue`).
    Queued,
}

/// An actor that can sign: a person-like actor or a group.
#[derive(Debug, Clone)]
pub enum ActorRef {
    Person(DbPerson),
    Group(DbCommunity),
}

impl ActorRef {
    pub fn ap_id(&self) -> &Url {
        match self {
            ActorRef::Person(p) => &p.ap_id,
            ActorRef::Group(g) => &g.ap_id,
        }
    }
    pub fn public_key(&self) -> &str {
        match self {
            ActorRef::Person(p) => &p.public_key,
            ActorRef::Group(g) => &g.public_key,
        }
    }
    pub fn last_fetched(&self) -> i64 {
        match self {
            ActorRef::Person(p) => p.last_fetched,
            ActorRef::Group(g) => g.last_fetched,
        }
    }
    pub fn is_local(&self) -> bool {
        match self {
            ActorRef::Person(p) => p.local,
            ActorRef::Group(g) => g.local,
        }
    }
}

/// An actor from the store, or fetched (any non-Group type is stored as a person).
/// `refresh` forces a new fetch of a remote actor (key rotation).
pub async fn find_or_fetch_actor(
    id: &Url,
    data: &Data<AppState>,
    refresh: bool,
) -> Result<ActorRef, AppError> {
    if !refresh || data.is_local_url(id) {
        let mut conn = data.db.pool.acquire().await?;
        if let Some(p) = store::people::find_by_ap_id(&mut conn, id.as_str()).await? {
            return Ok(ActorRef::Person(p));
        }
        if let Some(g) = store::communities::find_by_ap_id(&mut conn, id.as_str()).await? {
            return Ok(ActorRef::Group(g));
        }
        if data.is_local_url(id) {
            return Err(AppError::NotFound("actor"));
        }
    }
    let fetched = fetch_object_http::<AppState, Value>(id, data).await?;
    let json = fetched.object;
    // The document must be the actor we asked for, not another one of the same host.
    if json.get("id").and_then(Value::as_str) != Some(id.as_str()) {
        return Err(AppError::Remote(format!(
            "{id} answered with another actor"
        )));
    }
    if json.get("type").and_then(Value::as_str) == Some("Group") {
        let group: Group = serde_json::from_value(json)
            .map_err(|e| AppError::Remote(format!("unusable Group at {id}: {e}")))?;
        DbCommunity::verify(&group, id, data).await?;
        Ok(ActorRef::Group(DbCommunity::from_json(group, data).await?))
    } else {
        let person: Person = serde_json::from_value(json)
            .map_err(|e| AppError::Remote(format!("unusable actor at {id}: {e}")))?;
        DbPerson::verify(&person, id, data).await?;
        Ok(ActorRef::Person(DbPerson::from_json(person, data).await?))
    }
}

/// A required URL field of an activity (`id`, `actor`, …), given as a string or an object
/// with an `id`.
pub fn url_field(json: &Value, field: &'static str) -> Result<Url, AppError> {
    json.get(field)
        .and_then(value_id)
        .and_then(|s| Url::parse(&s).ok())
        .ok_or_else(|| {
            AppError::bad_request(
                "invalid_activity",
                format!("`{field}` is missing or not a URL"),
            )
        })
}

/// The `type` of an activity or object; for an array, the first string.
pub fn type_of(json: &Value) -> Option<&str> {
    match json.get("type")? {
        Value::String(s) => Some(s),
        Value::Array(items) => items.iter().find_map(Value::as_str),
        _ => None,
    }
}

/// FEP-fe34: an activity's id and its actor share an origin.
pub fn same_origin(a: &Url, b: &Url) -> Result<(), AppError> {
    verify_domains_match(a, b).map_err(|_| {
        AppError::forbidden(
            "origin_mismatch",
            format!("{a} and {b} are not on the same host"),
        )
    })
}

/// Whether `person` speaks for `community`'s moderators: a holder of the role when the
/// community is ours; for a remote community, an activity it relayed itself (`vouched_by`:
/// the community vouches for its moderators, as Lemmy trusts what a community announces).
pub async fn moderates(
    conn: &mut sqlx::AnyConnection,
    community: &DbCommunity,
    person: &DbPerson,
    vouched_by: Option<&DbCommunity>,
) -> Result<bool, AppError> {
    if community.local {
        // Our communities are never spoken for by another group's relay.
        if vouched_by.is_some_and(|g| g.id != community.id) {
            return Ok(false);
        }
        Ok(store::roles::has_role(conn, community.id, person.id, "moderator").await?)
    } else {
        Ok(vouched_by.is_some_and(|g| g.id == community.id))
    }
}

/// Handles a verified inbound activity from `actor` (the signer).
pub async fn dispatch(
    json: Value,
    actor: ActorRef,
    data: &Data<AppState>,
) -> Result<Outcome, AppError> {
    let kind = type_of(&json).unwrap_or_default().to_string();
    match kind.as_str() {
        "Follow" => following::receive_follow(json, actor, data).await,
        "Accept" => following::receive_accept(json, actor, data).await,
        "Reject" => following::receive_reject(json, actor, data).await,
        "Create" | "Update" => create::receive(json, actor, data).await,
        "Delete" => deletion::receive(json, actor, data).await,
        "Like" | "Dislike" => voting::receive(json, actor, data).await,
        "Undo" => receive_undo(json, actor, data).await,
        "Announce" => announce::receive(json, actor, data).await,
        "Lock" => locking::apply(&json, &json, actor, data, None, true).await,
        "Add" | "Remove" => appointing::add_or_remove(&json, actor, data, None).await,
        "Block" => banning::apply(&json, &json, actor, data, None, true).await,
        "Flag" => reporting::receive(&json, actor, data, None).await,
        "Invite" => inviting::receive(&json, actor, data).await,
        "Resolve" => reporting::receive_resolve(&json, actor, data, None).await,
        other => {
            tracing::info!(kind = other, "ignoring an activity type we do not handle");
            Ok(Outcome::Ignored)
        }
    }
}

/// `Undo` of a Follow, a vote or a Delete, matched on its content (Lemmy's Undo wraps a new
/// inner id, so the inner id cannot be looked up).
async fn receive_undo(
    json: Value,
    actor: ActorRef,
    data: &Data<AppState>,
) -> Result<Outcome, AppError> {
    let inner = match json.get("object") {
        Some(v @ Value::Object(_)) => v.clone(),
        _ => return Ok(Outcome::Ignored), // an Undo of a bare id: nothing we can match
    };
    let inner_actor = url_field(&inner, "actor")?;
    if &inner_actor != actor.ap_id() {
        return Err(AppError::forbidden(
            "not_your_activity",
            "an actor can only undo its own activities",
        ));
    }
    match type_of(&inner) {
        Some("Follow") => following::receive_undo_follow(&json, inner, actor, data).await,
        Some("Like") | Some("Dislike") => voting::receive_undo(&json, inner, actor, data).await,
        Some("Delete") => deletion::receive_undo(&json, inner, actor, data).await,
        Some("Lock") => locking::apply(&inner, &json, actor, data, None, false).await,
        Some("Block") => banning::apply(&inner, &json, actor, data, None, false).await,
        other => {
            tracing::info!(kind = ?other, "ignoring an Undo of a type we do not handle");
            Ok(Outcome::Ignored)
        }
    }
}
