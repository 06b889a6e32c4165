//! Activities, one file per family: its typed wire structs (`ObjectId<T>` for every
//! federated reference), what we send (built from the same structs) and what receiving it
//! does (`wire::Receive`). One table, `families!` below, lists the types we act on and
//! drives both the inbox's accepted types and the dispatch; the inbox reads `type` first,
//! unknown types are answered 202 and logged (Lemmy #3570, #3862 show the alternative).

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
pub mod undo;
pub mod voting;
pub mod wire;

use crate::{
    error::AppError,
    federation::objects::{group::Group, person::Person},
    state::AppState,
    store::{self, communities::DbCommunity, people::DbPerson},
};
use activitypub_federation::{
    config::Data, fetch::fetch_object_http, protocol::verification::verify_domains_match,
    traits::Object,
};
use serde_json::Value;
use url::Url;
pub use wire::type_of;

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
        if let Some(known) = stored_actor(id, data).await? {
            return Ok(known);
        }
        if data.is_local_url(id) {
            return Err(AppError::NotFound("actor"));
        }
    }
    // One fetch at a time per actor: requests naming it at once wait for that one and then
    // find it stored, or remembered as a miss.
    let _one = data.actor_misses.one_at_a_time(id).await;
    if !refresh {
        if let Some(known) = stored_actor(id, data).await? {
            return Ok(known);
        }
        if data.actor_misses.is_recent(id) {
            return Err(AppError::Remote(format!(
                "{id} could not be fetched a moment ago"
            )));
        }
    }
    match fetch_actor(id, data).await {
        Ok(actor) => Ok(actor),
        Err((e, definitive)) => {
            if definitive && !refresh {
                data.actor_misses.record(id);
            }
            Err(e)
        }
    }
}

/// An actor we have. Groups first: a remote Group that follows one of our communities also
/// has a person row (`following::follower_identity`), which does not make it a person.
async fn stored_actor(id: &Url, data: &Data<AppState>) -> Result<Option<ActorRef>, AppError> {
    let mut conn = data.db.pool.acquire().await?;
    if let Some(g) = store::communities::find_by_ap_id(&mut conn, id.as_str()).await? {
        return Ok(Some(ActorRef::Group(g)));
    }
    Ok(store::people::find_by_ap_id(&mut conn, id.as_str())
        .await?
        .map(ActorRef::Person))
}

/// Fetches and stores an actor; on failure, whether the answer was definitive (a 404 or
/// 410, a document that is not a usable actor) rather than a passing trouble (a timeout, a
/// refused connection, our fetch budget, our own store), which is not remembered.
async fn fetch_actor(id: &Url, data: &Data<AppState>) -> Result<ActorRef, (AppError, bool)> {
    use activitypub_federation::error::Error as F;
    let fetched = match fetch_object_http::<AppState, Value>(id, data).await {
        Ok(f) => f,
        Err(e) => {
            let passing = matches!(e, F::Reqwest(_) | F::ReqwestMiddleware(_) | F::RequestLimit);
            return Err((e.into(), !passing));
        }
    };
    let json = fetched.object;
    // The document must be the actor we asked for, not another one of the same host.
    if json.get("id").and_then(Value::as_str) != Some(id.as_str()) {
        let e = AppError::Remote(format!("{id} answered with another actor"));
        return Err((e, true));
    }
    actor_from_json(json, id, data).await.map_err(|e| {
        let ours = matches!(e, AppError::Internal(_) | AppError::Busy);
        (e, !ours)
    })
}

/// Stores an actor document fetched from `id`: a Group as a community, anything else
/// (Person, Service, Application, Organization) as a person.
async fn actor_from_json(
    json: Value,
    id: &Url,
    data: &Data<AppState>,
) -> Result<ActorRef, AppError> {
    if type_of(&json) == Some("Group") {
        let group: Group = serde_json::from_value(json)
            .map_err(|e| AppError::Remote(format!("unusable Group at {id}: {e}")))?;
        DbCommunity::verify(&group, id, data).await?;
        let group = DbCommunity::from_json(group, data).await?;
        let mut conn = data.db.write_conn().await?;
        following::refresh_follower_row(&mut conn, &group).await?;
        Ok(ActorRef::Group(group))
    } else {
        let person: Person = serde_json::from_value(json)
            .map_err(|e| AppError::Remote(format!("unusable actor at {id}: {e}")))?;
        DbPerson::verify(&person, id, data).await?;
        Ok(ActorRef::Person(DbPerson::from_json(person, data).await?))
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

pub use crate::domain::moderation::moderates;

/// The activity families: the `type`s each takes, its struct (which parses and receives
/// it), and whether a community may relay it to us in an `Announce` (Lemmy's
/// `AnnouncableActivities`: what happens inside a community; a Follow, an Accept, an
/// Invite or another Announce is between two actors and never relayed).
macro_rules! families {
    ($( $($kind:literal)|+ => $family:ty, relayed: $relayed:literal; )*) => {
        /// Every activity type we act on; anything else is acknowledged (202) unread.
        pub const HANDLED: &[&str] = &[$($($kind,)+)*];

        /// Whether `kind` is an activity type a community relays.
        pub fn is_relayable(kind: &str) -> bool {
            match kind {
                $($($kind)|+ => $relayed,)*
                _ => false,
            }
        }

        /// Parses `json` into the family of `kind` and serialises it again, without acting
        /// on it (round-trip and property tests); None for a type we do not handle.
        pub fn reserialize_kind(kind: &str, json: Value) -> Result<Option<Value>, AppError> {
            match kind {
                $($($kind)|+ => wire::to_value(&wire::parse::<$family>(json)?).map(Some),)*
                _ => Ok(None),
            }
        }

        /// Parses `json` into the family of `kind` and receives it.
        pub async fn receive_kind(
            kind: &str,
            json: Value,
            ctx: wire::Ctx<'_>,
        ) -> Result<Outcome, AppError> {
            match kind {
                $($($kind)|+ => wire::run::<$family>(json, ctx).await,)*
                other => {
                    tracing::info!(kind = other, "ignoring an activity type we do not handle");
                    Ok(Outcome::Ignored)
                }
            }
        }
    };
}

families! {
    "Follow" => following::Follow, relayed: false;
    "Accept" | "Reject" => following::AnswerFollow, relayed: false;
    "Create" | "Update" => create::CreateOrUpdate, relayed: true;
    "Delete" => deletion::Delete, relayed: true;
    "Like" | "Dislike" => voting::Vote, relayed: true;
    "Undo" => undo::Undo, relayed: true;
    "Announce" => announce::AnnounceActivity, relayed: false;
    "Lock" => locking::Lock, relayed: true;
    "Add" | "Remove" => appointing::AddOrRemove, relayed: true;
    "Block" => banning::Block, relayed: true;
    "Flag" => reporting::Flag, relayed: true;
    "Resolve" => reporting::Resolve, relayed: true;
    "Invite" => inviting::Invite, relayed: false;
}

/// Whether `kind` names an activity (as opposed to an object) that we know.
pub fn is_activity_type(kind: &str) -> bool {
    HANDLED.contains(&kind)
}

/// Handles a verified inbound activity from `actor` (the signer).
pub async fn dispatch(
    json: Value,
    actor: ActorRef,
    data: &Data<AppState>,
) -> Result<Outcome, AppError> {
    let kind = type_of(&json).unwrap_or_default().to_string();
    let ctx = wire::Ctx {
        actor,
        relayed_by: None,
        raw: &json,
        data,
    };
    receive_kind(&kind, json.clone(), ctx).await
}

/// An actor as a typed reference: read from the store, or fetched (any non-Group type is
/// stored as a person). `find_or_fetch_actor` is the one way in; `ObjectId<ActorRef>`
/// names the `actor` of every activity struct.
#[async_trait::async_trait]
impl Object for ActorRef {
    type DataType = AppState;
    type Kind = Value;
    type Error = AppError;

    fn id(&self) -> &Url {
        self.ap_id()
    }

    async fn read_from_id(id: Url, data: &Data<AppState>) -> Result<Option<Self>, AppError> {
        stored_actor(&id, data).await
    }

    async fn into_json(self, data: &Data<AppState>) -> Result<Value, AppError> {
        match self {
            ActorRef::Person(p) => wire::to_value(&p.into_json(data).await?),
            ActorRef::Group(g) => wire::to_value(&g.into_json(data).await?),
        }
    }

    async fn verify(json: &Value, expected: &Url, _data: &Data<AppState>) -> Result<(), AppError> {
        let id = json
            .get("id")
            .and_then(Value::as_str)
            .and_then(|s| Url::parse(s).ok())
            .ok_or_else(|| AppError::bad_request("invalid_actor", "actor without an id"))?;
        same_origin(&id, expected)
    }

    async fn from_json(json: Value, data: &Data<AppState>) -> Result<Self, AppError> {
        let id = json
            .get("id")
            .and_then(Value::as_str)
            .and_then(|s| Url::parse(s).ok())
            .ok_or_else(|| AppError::bad_request("invalid_actor", "actor without an id"))?;
        actor_from_json(json, &id, data).await
    }
}
