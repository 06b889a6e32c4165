//! Moderation use-cases shared by the API, the web pages and federation: locking threads,
//! and the moderation log (issue #6; more actions join here).

use super::outgoing::{Ban, Outgoing};
use crate::{
    error::{AppError, AppResult},
    state::AppState,
    store::{self, modlog::NewEntry, people::DbPerson, posts::DbPost},
};
use sqlx::AnyConnection;

/// Moderation from this instance: `moderator` must hold the role in the community. For a
/// remote community that is the role its own instance announced (a moderator living here
/// of a community hosted elsewhere: the action is sent to the community, which checks it
/// again and relays it). `what` completes "only a moderator … can".
pub(crate) async fn require_local_moderator(
    conn: &mut AnyConnection,
    community: &crate::store::communities::DbCommunity,
    moderator: &DbPerson,
    what: &str,
) -> AppResult<()> {
    if !store::roles::has_role(conn, community.id, moderator.id, "moderator").await? {
        return Err(AppError::forbidden(
            "not_a_moderator",
            format!("only a moderator of the community can {what}"),
        ));
    }
    Ok(())
}

/// The roles given in a community, and the collection (under the community's id) that
/// lists each on the wire.
pub const ROLES: &[(&str, &str)] = &[
    ("moderator", "moderators"),
    ("facilitator", "facilitators"),
    ("mentor", "mentors"),
];

/// What a moderator did, for the log.
struct Done<'a> {
    action: &'a str,
    post_id: Option<i64>,
    person_id: Option<i64>,
    reason: Option<&'a str>,
}

/// Logs a moderator's action and federates its activity: announced by our community, or
/// sent to the remote one (which checks it and announces it).
async fn log_and_send(
    conn: &mut AnyConnection,
    state: &AppState,
    moderator: &DbPerson,
    community: &crate::store::communities::DbCommunity,
    done: Done<'_>,
    what: Outgoing<'_>,
) -> AppResult<()> {
    let activity_id = state.federate(conn, what).await?;
    store::modlog::insert(
        conn,
        NewEntry {
            community_id: community.id,
            actor_id: Some(moderator.id),
            action: done.action,
            post_id: done.post_id,
            person_id: done.person_id,
            reason: done.reason,
            activity_id: activity_id.as_deref(),
        },
    )
    .await?;
    Ok(())
}

/// Whether `person` speaks for `community`'s moderators: a holder of the role when the
/// community is ours (and the activity did not come through another group's relay); for a
/// remote community, an activity it relayed itself (`relayed_by`: the community vouches for
/// its moderators, as Lemmy trusts what a community announces). The one rule for the
/// pages, the API (`relayed_by` None) and the inbox.
pub async fn moderates(
    conn: &mut AnyConnection,
    community: &crate::store::communities::DbCommunity,
    person: &DbPerson,
    relayed_by: Option<&crate::store::communities::DbCommunity>,
) -> AppResult<bool> {
    if community.local {
        // Our communities are never spoken for by another group's relay.
        if relayed_by.is_some_and(|g| g.id != community.id) {
            return Ok(false);
        }
        Ok(store::roles::has_role(conn, community.id, person.id, "moderator").await?)
    } else {
        Ok(relayed_by.is_some_and(|g| g.id == community.id))
    }
}

/// Refuses someone banned from the community (403 `banned`).
pub async fn check_not_banned(
    conn: &mut AnyConnection,
    community_id: i64,
    person_id: i64,
) -> AppResult<()> {
    let (in_community, on_instance) = store::bans::ban_state(conn, community_id, person_id).await?;
    if in_community {
        return Err(AppError::forbidden(
            "banned",
            "you are banned from this community",
        ));
    }
    if on_instance {
        return Err(AppError::forbidden(
            "banned_here",
            "you are banned from this instance",
        ));
    }
    Ok(())
}

/// Whether replies to `parent` are closed: it, or the post it belongs to, is locked.
pub async fn replies_closed(
    conn: &mut AnyConnection,
    parent: &DbPost,
) -> Result<bool, sqlx::Error> {
    if parent.locked {
        return Ok(true);
    }
    match parent.root_id {
        Some(root) => Ok(store::posts::find_by_id(conn, root)
            .await?
            .is_some_and(|r| r.locked)),
        None => Ok(false),
    }
}

/// A moderator of the post's community locks (or unlocks) a post or reply: no new replies
/// while locked. Logged, and federated as Lemmy does (`Lock` / `Undo(Lock)`).
pub async fn lock(
    state: &AppState,
    moderator: &DbPerson,
    post: &DbPost,
    locked: bool,
    reason: Option<&str>,
) -> AppResult<DbPost> {
    if let Some(r) = reason {
        super::validate::text("reason", r, 1_000, false)?;
    }
    let mut tx = state.db.begin().await?;
    super::posts::check_may_see(&mut tx, post, super::privacy::Reader::Person(moderator)).await?;
    let community = store::communities::find_by_id(&mut tx, post.community_id).await?;
    require_local_moderator(&mut tx, &community, moderator, "lock or unlock").await?;
    if store::posts::set_locked(&mut tx, post.id, locked).await? {
        let what = Outgoing::Lock {
            moderator,
            community: &community,
            post,
            locked,
            reason,
        };
        let done = Done {
            action: if locked { "lock" } else { "unlock" },
            post_id: Some(post.id),
            person_id: None,
            reason,
        };
        log_and_send(&mut tx, state, moderator, &community, done, what).await?;
    }
    let updated = store::posts::find_by_id(&mut tx, post.id)
        .await?
        .ok_or(AppError::NotFound("post"))?;
    tx.commit().await?;
    state.wake_delivery();
    Ok(updated)
}

/// A moderator pins (or unpins) a top-level post at the top of its community: the Group's
/// `featured` collection. Logged, and federated as Lemmy does (`Add` / `Remove`).
pub async fn pin(
    state: &AppState,
    moderator: &DbPerson,
    post: &DbPost,
    pinned: bool,
) -> AppResult<DbPost> {
    if post.root_id.is_some() {
        return Err(AppError::invalid(
            "not_a_post",
            "only posts are pinned, not replies",
        ));
    }
    let mut tx = state.db.begin().await?;
    super::posts::check_may_see(&mut tx, post, super::privacy::Reader::Person(moderator)).await?;
    let community = store::communities::find_by_id(&mut tx, post.community_id).await?;
    require_local_moderator(&mut tx, &community, moderator, "pin or unpin").await?;
    if store::posts::set_featured(&mut tx, post.id, pinned).await? {
        let what = Outgoing::Pin {
            moderator,
            community: &community,
            post,
            pinned,
        };
        let done = Done {
            action: if pinned { "pin" } else { "unpin" },
            post_id: Some(post.id),
            person_id: None,
            reason: None,
        };
        log_and_send(&mut tx, state, moderator, &community, done, what).await?;
    }
    let updated = store::posts::find_by_id(&mut tx, post.id)
        .await?
        .ok_or(AppError::NotFound("post"))?;
    tx.commit().await?;
    state.wake_delivery();
    Ok(updated)
}

/// A ban as asked for by a moderator.
pub struct BanInput<'a> {
    /// ActivityPub id of the person, or a local username.
    pub person: &'a str,
    pub banned: bool,
    pub reason: Option<&'a str>,
    /// Milliseconds since the epoch; None: until lifted.
    pub expires_at: Option<i64>,
    /// Also take down their posts and replies in the community.
    pub remove_data: bool,
}

/// A moderator of a local community bans (or unbans) someone, from here or elsewhere:
/// they cannot post, reply or vote there until it ends. Logged, and federated as Lemmy
/// does (`Block` with the community as target, `Undo(Block)`).
pub async fn ban(
    state: &AppState,
    moderator: &DbPerson,
    community: &crate::store::communities::DbCommunity,
    input: BanInput<'_>,
) -> AppResult<()> {
    if let Some(r) = input.reason {
        super::validate::text("reason", r, 1_000, false)?;
    }
    let mut tx = state.db.begin().await?;
    require_local_moderator(&mut tx, community, moderator, "ban").await?;
    let person = super::leadership::person_by_ref(&mut tx, input.person).await?;
    if person.id == moderator.id {
        return Err(AppError::invalid(
            "self_ban",
            "moderators cannot ban themselves",
        ));
    }
    let ban = Ban {
        reason: input.reason,
        expires_at: input.expires_at,
        remove_data: input.remove_data,
    };
    if input.banned {
        store::bans::ban(
            &mut tx,
            community.id,
            person.id,
            input.reason,
            input.expires_at,
        )
        .await?;
        if input.remove_data {
            store::bans::remove_content(&mut tx, community.id, person.id).await?;
        }
    } else if !store::bans::unban(&mut tx, community.id, person.id).await? {
        return Ok(()); // was not banned: nothing to say
    }
    let done = Done {
        action: if input.banned { "ban" } else { "unban" },
        post_id: None,
        person_id: Some(person.id),
        reason: input.reason,
    };
    let what = Outgoing::Ban {
        moderator,
        community,
        person: &person,
        ban: input.banned.then_some(ban),
        // A ban ends their membership, so their instance may no longer be among the
        // followers: told directly, of the ban and of its end (Lemmy also sends a ban to the
        // person's inbox).
        tell_person: community.local && !person.local,
    };
    log_and_send(&mut tx, state, moderator, community, done, what).await?;
    tx.commit().await?;
    state.wake_delivery();
    Ok(())
}

/// Whether `moderator` may appoint (`added`) or remove `person` as a moderator of a local
/// community: any moderator appoints; a moderator removes those appointed after them, or
/// steps down; the last moderator stays. Lemmy orders its moderators the same way.
pub async fn check_appointment(
    conn: &mut AnyConnection,
    community: &crate::store::communities::DbCommunity,
    moderator: &DbPerson,
    person: &DbPerson,
    added: bool,
) -> AppResult<()> {
    if added || !community.local {
        return Ok(());
    }
    use store::roles::role_since;
    let Some(theirs) = role_since(conn, community.id, person.id, "moderator").await? else {
        return Ok(()); // not a moderator: nothing to remove
    };
    let holders = store::roles::role_holders(conn, community.id, "moderator").await?;
    if holders.len() <= 1 {
        return Err(AppError::invalid(
            "last_moderator",
            "a community keeps at least one moderator",
        ));
    }
    if super::leadership::is_shared(conn, community).await? {
        return Ok(()); // co-leads have equal powers
    }
    let mine = role_since(conn, community.id, moderator.id, "moderator")
        .await?
        .unwrap_or(i64::MAX);
    if person.id != moderator.id && mine > theirs {
        return Err(AppError::forbidden(
            "senior_moderator",
            "a moderator can only remove moderators appointed after them",
        ));
    }
    Ok(())
}

/// A moderator appoints (or removes) someone in `role` (moderator, facilitator, mentor),
/// local or from another instance. Logged, and federated as Lemmy does for moderators
/// (`Add`/`Remove` with the role's collection as target).
pub async fn appoint(
    state: &AppState,
    moderator: &DbPerson,
    community: &crate::store::communities::DbCommunity,
    person: &str,
    role: &str,
    added: bool,
) -> AppResult<super::leadership::Change> {
    if !ROLES.iter().any(|(r, _)| *r == role) {
        return Err(AppError::invalid(
            "bad_role",
            "`role` is moderator, facilitator or mentor",
        ));
    }
    // Shared leadership: a co-lead comes or goes only with a second co-lead's approval.
    if role == "moderator" {
        let mut tx = state.db.begin().await?;
        if super::leadership::is_shared(&mut tx, community).await? {
            require_local_moderator(&mut tx, community, moderator, "propose co-leads").await?;
            let person = super::leadership::person_by_ref(&mut tx, person).await?;
            let action = if added {
                "add_moderator"
            } else {
                "remove_moderator"
            };
            let id = store::leadership::propose(
                &mut tx,
                community.id,
                action,
                Some(person.id),
                None,
                moderator.id,
            )
            .await?;
            tx.commit().await?;
            return Ok(super::leadership::Change::Proposed { proposal: id });
        }
    }
    appoint_approved(state, moderator, community, person, role, added).await?;
    Ok(super::leadership::Change::Done)
}

/// Carries out an appointment (see `appoint`; in a shared community, once approved).
pub async fn appoint_approved(
    state: &AppState,
    moderator: &DbPerson,
    community: &crate::store::communities::DbCommunity,
    person: &str,
    role: &str,
    added: bool,
) -> AppResult<()> {
    if added && community.members_only {
        // A role in a private community lets the holder's instance read it: only software
        // that keeps it private (asked before the write transaction: it may fetch NodeInfo).
        let someone = {
            let mut conn = state.db.pool.acquire().await?;
            super::leadership::person_by_ref(&mut conn, person).await?
        };
        super::privacy::check_keeps_private(state, community, &someone.ap_id, someone.local)
            .await?;
    }
    let mut tx = state.db.begin().await?;
    require_local_moderator(
        &mut tx,
        community,
        moderator,
        "appoint or remove moderators",
    )
    .await?;
    let person = super::leadership::person_by_ref(&mut tx, person).await?;
    if role == "moderator" {
        check_appointment(&mut tx, community, moderator, &person, added).await?;
    }
    let changed = store::roles::set_role(&mut tx, community.id, person.id, role, added).await?;
    // Nothing to say when nothing changed here, except to a remote community: what we know
    // of its moderators may be incomplete, it decides.
    if !changed && community.local {
        return Ok(());
    }
    let what = Outgoing::Role {
        moderator,
        community,
        person: &person,
        role,
        added,
    };
    if changed {
        let action = format!("{}_{role}", if added { "add" } else { "remove" });
        let done = Done {
            action: &action,
            post_id: None,
            person_id: Some(person.id),
            reason: None,
        };
        log_and_send(&mut tx, state, moderator, community, done, what).await?;
    } else {
        state.federate(&mut tx, what).await?;
    }
    tx.commit().await?;
    state.wake_delivery();
    Ok(())
}
