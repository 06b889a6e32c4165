//! `Federate` for the domain: each `Outgoing` becomes its activities (built from the
//! families' typed structs), stored and queued in the caller's transaction.

use crate::{
    domain::outgoing::{Ban, Federate, Outgoing},
    error::AppResult,
    federation::activities::{
        announce, appointing, banning, create, deletion, featuring, following, inviting, locking,
        reporting,
        send::{self, Delivery},
        voting,
    },
    state::AppState,
    store::{communities::DbCommunity, instances::Software, people::DbPerson},
};
use activitypub_federation::{config::Data, fetch::object_id::ObjectId};
use serde_json::Value;
use sqlx::AnyConnection;
use url::Url;

/// The federation layer as the domain sees it.
#[derive(Debug, Default)]
pub struct Publisher;

fn id_of(activity: &Value) -> Option<String> {
    activity
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn ban_fields<'a>(ban: Option<Ban<'a>>) -> Option<banning::Ban<'a>> {
    ban.map(|b| banning::Ban {
        reason: b.reason,
        expires_at: b.expires_at,
        remove_data: b.remove_data,
    })
}

#[async_trait::async_trait]
impl Federate for Publisher {
    async fn queue(
        &self,
        conn: &mut AnyConnection,
        state: &AppState,
        what: Outgoing<'_>,
    ) -> AppResult<Option<String>> {
        match what {
            Outgoing::Post {
                author,
                post,
                community,
                edited,
            } => {
                create::send(conn, state, author, post, community, edited).await?;
                Ok(None)
            }
            Outgoing::Delete {
                actor,
                post,
                community,
                reason,
            } => {
                deletion::send(conn, state, actor, post, community, reason).await?;
                Ok(None)
            }
            Outgoing::Vote {
                person,
                post,
                community,
                value,
                previous,
            } => {
                voting::send(conn, state, person, post, community, value, previous).await?;
                Ok(None)
            }
            Outgoing::Lock {
                moderator,
                community,
                post,
                locked,
                reason,
            } => {
                let a = locking::activity(state, moderator, community, post, locked, reason)?;
                to_community(conn, state, &moderator.ap_id, community, a).await
            }
            Outgoing::Pin {
                moderator,
                community,
                post,
                pinned,
            } => {
                let a = featuring::activity(state, moderator, community, post, pinned)?;
                to_community(conn, state, &moderator.ap_id, community, a).await
            }
            Outgoing::Ban {
                moderator,
                community,
                person,
                ban,
                tell_person,
            } => {
                let fields = ban_fields(ban);
                let a = banning::activity(state, moderator, community, person, fields.as_ref())?;
                let id = to_community(conn, state, &moderator.ap_id, community, a.clone()).await?;
                if tell_person {
                    let inbox = person.shared_inbox.clone().unwrap_or(person.inbox.clone());
                    announce::relay_to_inbox(conn, state, community, &a, inbox).await?;
                }
                Ok(id)
            }
            Outgoing::SiteBan { admin, person, ban } => {
                let fields = ban_fields(ban);
                let a = banning::site_activity(state, admin, person, fields.as_ref())?;
                // Every instance we know of hears of it (Lemmy sends a site ban so).
                let inboxes = crate::store::bans::known_instance_inboxes(conn).await?;
                send::queue(
                    conn,
                    &a,
                    Delivery {
                        signer: admin.ap_id.as_str(),
                        inboxes,
                        followers_of: None,
                        community_id: None,
                        in_outbox: false,
                    },
                )
                .await?;
                Ok(id_of(&a))
            }
            Outgoing::Role {
                moderator,
                community,
                person,
                role,
                added,
            } => {
                let a = appointing::activity(state, moderator, community, person, role, added)?;
                to_community(conn, state, &moderator.ap_id, community, a).await
            }
            Outgoing::RoleByCommunity {
                community,
                person,
                role,
                added,
            } => {
                let a = appointing::by_community(state, community, person, role, added)?;
                to_community(conn, state, &community.ap_id, community, a).await
            }
            Outgoing::Report {
                reporter,
                community,
                post,
                reason,
            } => reporting::send_report(conn, state, reporter, community, post, reason)
                .await
                .map(Some),
            Outgoing::ResolveReport {
                moderator,
                community,
                post,
                reporter,
            } => {
                reporting::send_resolve(conn, state, moderator, community, post, reporter).await?;
                Ok(None)
            }
            Outgoing::FollowDecision {
                community,
                follower,
                accepted,
            } => {
                following::send_decision(conn, state, community, follower, accepted).await?;
                Ok(None)
            }
            Outgoing::Follow {
                person,
                community,
                follow_id,
            } => {
                following::send_follow(conn, person, community, follow_id).await?;
                Ok(Some(follow_id.to_string()))
            }
            Outgoing::Unfollow {
                person,
                community,
                follow_id,
            } => {
                following::send_unfollow(conn, state, person, community, follow_id).await?;
                Ok(None)
            }
            Outgoing::Invite { community, person } => {
                inviting::send_invite(conn, state, community, person)
                    .await
                    .map(Some)
            }
            Outgoing::GroupUpdated { community } => {
                create::send_group_update(conn, state, community).await?;
                Ok(None)
            }
        }
    }

    async fn resolve_community(
        &self,
        data: &Data<AppState>,
        query: &str,
    ) -> AppResult<DbCommunity> {
        super::discovery::resolve_community(data, query).await
    }

    async fn resolve_person(&self, data: &Data<AppState>, id: &Url) -> AppResult<DbPerson> {
        ObjectId::<DbPerson>::from(id.clone())
            .dereference(data)
            .await
    }

    async fn backfill(&self, data: &Data<AppState>, community: &DbCommunity) -> AppResult<usize> {
        super::discovery::backfill(data, community).await
    }

    async fn software_of(&self, state: &AppState, actor: &Url) -> AppResult<Software> {
        super::software::of_instance(state, actor).await
    }
}

/// A local person's (or community's) activity about a community: announced by the
/// community when it is ours, else sent to it.
async fn to_community(
    conn: &mut AnyConnection,
    state: &AppState,
    signer: &Url,
    community: &DbCommunity,
    activity: Value,
) -> AppResult<Option<String>> {
    send::to_community(conn, state, signer.as_str(), community, &activity, None).await?;
    Ok(id_of(&activity))
}
