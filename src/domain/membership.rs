//! Approval-only communities (issue #6): a Follow waits until a moderator accepts it, and
//! only accepted members (and moderators) post and reply there. Local and remote people
//! alike; a remote person hears the decision as an `Accept` or `Reject` of their Follow.

use super::moderation::require_local_moderator;
use crate::{
    error::{AppError, AppResult},
    federation::activities::{following, send},
    state::AppState,
    store::{
        self,
        communities::{DbCommunity, Follower},
        modlog::NewEntry,
        people::DbPerson,
    },
};
use sqlx::AnyConnection;

/// Refuses a post or reply by someone who is not an accepted member of an approval-only
/// community of ours (403 `not_a_member`).
pub async fn check_member(
    conn: &mut AnyConnection,
    community: &DbCommunity,
    person_id: i64,
) -> AppResult<()> {
    if !community.local || !community.approval_required {
        return Ok(());
    }
    let state = store::communities::follow_state(conn, community.id, person_id).await?;
    if state.as_deref() == Some("accepted")
        || store::communities::has_role(conn, community.id, person_id, "moderator").await?
    {
        return Ok(());
    }
    Err(AppError::forbidden(
        "not_a_member",
        "this community takes posts from its approved members only",
    ))
}

/// A moderator turns approval of new members on or off. Existing members stay.
pub async fn set_approval_required(
    state: &AppState,
    moderator: &DbPerson,
    community: &DbCommunity,
    on: bool,
) -> AppResult<()> {
    if !community.local {
        return Err(AppError::forbidden(
            "remote_community",
            "this community's settings are changed on its own instance",
        ));
    }
    let mut tx = state.db.begin().await?;
    require_local_moderator(&mut tx, community, moderator, "change who may join").await?;
    store::communities::set_approval_required(&mut tx, community.id, on).await?;
    tx.commit().await?;
    Ok(())
}

/// The people waiting to join, oldest first, for the community's moderators.
pub async fn pending(
    state: &AppState,
    moderator: &DbPerson,
    community: &DbCommunity,
) -> AppResult<Vec<Follower>> {
    let mut conn = state.db.pool.acquire().await?;
    require_local_moderator(&mut conn, community, moderator, "see who waits to join").await?;
    Ok(store::communities::followers_in_state(&mut conn, community.id, "pending").await?)
}

/// A moderator accepts (or turns away) someone waiting to join. Logged.
pub async fn decide(
    state: &AppState,
    moderator: &DbPerson,
    community: &DbCommunity,
    person: &str,
    accepted: bool,
) -> AppResult<()> {
    let mut tx = state.db.begin().await?;
    require_local_moderator(&mut tx, community, moderator, "accept new members").await?;
    let waiting = store::communities::followers_in_state(&mut tx, community.id, "pending").await?;
    let Some(follower) = waiting
        .into_iter()
        .find(|f| f.ap_id == person || (f.local && f.name == person))
    else {
        return Err(AppError::NotFound("pending follow"));
    };
    if accepted {
        store::communities::upsert_follower(
            &mut tx,
            community.id,
            follower.person_id,
            "accepted",
            None,
        )
        .await?;
    } else {
        store::communities::remove_follower(&mut tx, community.id, follower.person_id).await?;
    }
    following::send_decision(&mut tx, state, community, &follower, accepted).await?;
    store::modlog::insert(
        &mut tx,
        NewEntry {
            community_id: community.id,
            actor_id: Some(moderator.id),
            action: if accepted {
                "accept_member"
            } else {
                "reject_member"
            },
            post_id: None,
            person_id: Some(follower.person_id),
            reason: None,
            activity_id: None,
        },
    )
    .await?;
    tx.commit().await?;
    send::wake(state);
    Ok(())
}
