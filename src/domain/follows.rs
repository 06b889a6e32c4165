//! Following or leaving communities, and finding them (the finding itself — WebFinger, a
//! signed fetch, the outbox backfill — is federation's: `federation::discovery`).

use super::outgoing::Outgoing;
use crate::{
    error::{AppError, AppResult},
    state::AppState,
    store::{self, communities::DbCommunity, people::DbPerson},
};
use activitypub_federation::config::Data;

/// Finds a community by handle (`!name@host`, `name@host`) or URL: ours from the store, a
/// remote one from the store or from its server (`Federate::resolve_community`).
pub async fn resolve_community(data: &Data<AppState>, query: &str) -> AppResult<DbCommunity> {
    data.federator.resolve_community(data, query).await
}

/// Fetches the newest posts of a remote community (`Federate::backfill`); how many.
pub async fn backfill(data: &Data<AppState>, community: &DbCommunity) -> AppResult<usize> {
    data.federator.backfill(data, community).await
}

/// A local person follows a community: at once for ours (or pending, when it approves its
/// members), by Follow for a remote one. `accepts_guidelines`: they accepted the community's
/// guidelines, which a community of ours may require (422 `guidelines_not_accepted`).
pub async fn follow(
    state: &AppState,
    person: &DbPerson,
    community: &DbCommunity,
    accepts_guidelines: bool,
) -> AppResult<String> {
    follow_as(state, person, community, accepts_guidelines, false).await
}

/// `follow`, for someone `invited` (a community of ours then takes them without approval).
pub async fn follow_as(
    state: &AppState,
    person: &DbPerson,
    community: &DbCommunity,
    accepts_guidelines: bool,
    invited: bool,
) -> AppResult<String> {
    let mut conn = state.db.write_conn().await?;
    if let Some(s) = store::followers::follow_state(&mut conn, community.id, person.id).await? {
        // Waiting for approval, then invited: in at once.
        if s == "pending" && invited && community.local {
            store::followers::upsert_follower(&mut conn, community.id, person.id, "accepted", None)
                .await?;
            return Ok("accepted".into());
        }
        return Ok(s);
    }
    if community.local
        && !accepts_guidelines
        && store::settings::get(&mut conn, community.id)
            .await?
            .guidelines_required
    {
        return Err(AppError::invalid(
            "guidelines_not_accepted",
            "this community asks new members to accept its guidelines: \
             read them and join with \"accept_guidelines\": true",
        ));
    }
    if community.local {
        let state = if community.approval_required && !invited {
            "pending" // until a moderator accepts (`membership::decide`)
        } else {
            "accepted"
        };
        store::followers::upsert_follower(&mut conn, community.id, person.id, state, None).await?;
        if accepts_guidelines {
            store::settings::accept_guidelines(&mut conn, community.id, person.id).await?;
        }
        return Ok(state.into());
    }
    drop(conn);
    let follow_id = state.new_id("activities/follow");
    let mut tx = state.db.begin().await?;
    store::followers::upsert_follower(
        &mut tx,
        community.id,
        person.id,
        "pending",
        Some(follow_id.as_str()),
    )
    .await?;
    let follow = Outgoing::Follow {
        person,
        community,
        follow_id: &follow_id,
    };
    state.federate(&mut tx, follow).await?;
    tx.commit().await?;
    state.wake_delivery();
    Ok("pending".into())
}

/// A local person leaves a community.
pub async fn unfollow(
    state: &AppState,
    person: &DbPerson,
    community: &DbCommunity,
) -> AppResult<()> {
    if community.local {
        let mut conn = state.db.write_conn().await?;
        if !store::followers::remove_follower(&mut conn, community.id, person.id).await? {
            return Err(AppError::NotFound("follow"));
        }
        return Ok(());
    }
    let mut tx = state.db.begin().await?;
    let follow_id = store::followers::follow_id(&mut tx, community.id, person.id).await?;
    if !store::followers::remove_follower(&mut tx, community.id, person.id).await? {
        return Err(AppError::NotFound("follow"));
    }
    let unfollow = Outgoing::Unfollow {
        person,
        community,
        follow_id: follow_id.as_deref(),
    };
    state.federate(&mut tx, unfollow).await?;
    tx.commit().await?;
    state.wake_delivery();
    Ok(())
}
