//! What a use-case asks of federation: to tell the world (`Outgoing`), or to look
//! something up elsewhere (a community by handle, a person by URL, the software an
//! instance runs). `domain/` never builds an activity nor fetches: it records what happened
//! in its transaction and hands an `Outgoing` to the state's `Federate` (implemented by
//! `federation::publish`), which stores the activity and queues its deliveries in the same
//! transaction — so the layers point one way (http → domain → store; federation → domain)
//! and nothing is lost on a crash.

use crate::{
    error::AppResult,
    state::AppState,
    store::{
        communities::DbCommunity, followers::Follower, instances::Software, people::DbPerson,
        posts::DbPost,
    },
};
use activitypub_federation::config::Data;
use sqlx::AnyConnection;
use url::Url;

/// What a ban says.
#[derive(Clone, Copy, Debug)]
pub struct Ban<'a> {
    pub reason: Option<&'a str>,
    /// Milliseconds since the epoch; None: until lifted.
    pub expires_at: Option<i64>,
    pub remove_data: bool,
}

/// Something that happened here that other instances should hear of.
pub enum Outgoing<'a> {
    /// A local person's new (or, `edited`, changed) post or reply.
    Post {
        author: &'a DbPerson,
        post: &'a DbPost,
        community: &'a DbCommunity,
        edited: bool,
    },
    /// A post deleted by its author, or removed by a moderator (with the reason).
    Delete {
        actor: &'a DbPerson,
        post: &'a DbPost,
        community: &'a DbCommunity,
        reason: Option<&'a str>,
    },
    /// A vote set to `value` (1, -1, or 0 to withdraw `previous`).
    Vote {
        person: &'a DbPerson,
        post: &'a DbPost,
        community: &'a DbCommunity,
        value: i64,
        previous: i64,
    },
    Lock {
        moderator: &'a DbPerson,
        community: &'a DbCommunity,
        post: &'a DbPost,
        locked: bool,
        reason: Option<&'a str>,
    },
    Pin {
        moderator: &'a DbPerson,
        community: &'a DbCommunity,
        post: &'a DbPost,
        pinned: bool,
    },
    /// A ban from a community (`ban` None: lifted); the banned person's instance hears of
    /// it too when `tell_person`.
    Ban {
        moderator: &'a DbPerson,
        community: &'a DbCommunity,
        person: &'a DbPerson,
        ban: Option<Ban<'a>>,
        tell_person: bool,
    },
    /// A ban of one of our people from this whole instance (`ban` None: lifted).
    SiteBan {
        admin: &'a DbPerson,
        person: &'a DbPerson,
        ban: Option<Ban<'a>>,
    },
    /// A role given or taken by a moderator.
    Role {
        moderator: &'a DbPerson,
        community: &'a DbCommunity,
        person: &'a DbPerson,
        role: &'a str,
        added: bool,
    },
    /// A role given or taken by the community itself (a rotation's hand-over).
    RoleByCommunity {
        community: &'a DbCommunity,
        person: &'a DbPerson,
        role: &'a str,
        added: bool,
    },
    /// A report by a local person: to the remote community, or forwarded (unnamed) to the
    /// instances of our community's remote moderators.
    Report {
        reporter: &'a DbPerson,
        community: &'a DbCommunity,
        post: &'a DbPost,
        reason: &'a str,
    },
    /// A report closed by a local moderator (`reporter` as the other side knows them).
    ResolveReport {
        moderator: &'a DbPerson,
        community: &'a DbCommunity,
        post: &'a DbPost,
        reporter: Option<&'a str>,
    },
    /// A moderator's answer to a remote person's pending Follow of our community.
    FollowDecision {
        community: &'a DbCommunity,
        follower: &'a Follower,
        accepted: bool,
    },
    /// A local person follows a remote community (`follow_id` is stored with the follow).
    Follow {
        person: &'a DbPerson,
        community: &'a DbCommunity,
        follow_id: &'a Url,
    },
    /// A local person leaves a remote community.
    Unfollow {
        person: &'a DbPerson,
        community: &'a DbCommunity,
        follow_id: Option<&'a str>,
    },
    /// Our community invites a remote person.
    Invite {
        community: &'a DbCommunity,
        person: &'a DbPerson,
    },
    /// Our community's settings changed (private, approval): members' servers refetch it.
    GroupUpdated { community: &'a DbCommunity },
}

/// Turns an `Outgoing` into activities, stored and queued in the caller's transaction.
#[async_trait::async_trait]
pub trait Federate: Send + Sync + std::fmt::Debug {
    /// Returns the id of the activity made, when one was (the modlog and reports keep it).
    async fn queue(
        &self,
        conn: &mut AnyConnection,
        state: &AppState,
        what: Outgoing<'_>,
    ) -> AppResult<Option<String>>;

    /// A community by handle (`!name@host`, `name@host`) or URL: ours from the store, a
    /// remote one from the store or fetched from its server.
    async fn resolve_community(&self, data: &Data<AppState>, query: &str)
    -> AppResult<DbCommunity>;

    /// A remote person by actor URL, from the store or fetched.
    async fn resolve_person(&self, data: &Data<AppState>, id: &Url) -> AppResult<DbPerson>;

    /// The newest posts of a newly found remote community, fetched from its outbox; how many.
    async fn backfill(&self, data: &Data<AppState>, community: &DbCommunity) -> AppResult<usize>;

    /// What the instance of `actor` runs (its NodeInfo), cached.
    async fn software_of(&self, state: &AppState, actor: &Url) -> AppResult<Software>;
}

impl AppState {
    /// Asks federation to tell the world of `what`, in `conn`'s transaction; call
    /// `wake_delivery` once it commits.
    pub async fn federate(
        &self,
        conn: &mut AnyConnection,
        what: Outgoing<'_>,
    ) -> AppResult<Option<String>> {
        self.federator.queue(conn, self, what).await
    }

    /// Tells the delivery workers there is work.
    pub fn wake_delivery(&self) {
        self.delivery_wakeup.notify_one();
    }
}
