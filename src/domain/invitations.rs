//! Invitations (issue #6): a moderator invites by link (anyone signed in here who has it
//! joins) or by handle (one person, here or on another instance, who joins when they
//! accept). An invitation lets its holder in where members otherwise wait for approval.

use super::outgoing::Outgoing;
use super::{follows, moderation::require_local_moderator};
use crate::{
    error::{AppError, AppResult},
    state::AppState,
    store::{self, communities::DbCommunity, invitations::Invitation, people::DbPerson},
};
use activitypub_federation::config::Data;
use serde_json::{Value, json};

/// Days an invitation lasts unless the moderator says otherwise, and at most.
pub const DAYS: i64 = 7;
pub const MAX_DAYS: i64 = 90;

/// A moderator of a community of ours invites `person` (an ActivityPub id or a local
/// username), or, without one, makes a link. Answers the invitation.
pub async fn invite(
    data: &Data<AppState>,
    moderator: &DbPerson,
    community: &DbCommunity,
    person: Option<&str>,
    days: Option<i64>,
) -> AppResult<Value> {
    if !community.local {
        return Err(AppError::forbidden(
            "remote_community",
            "invitations to this community are made on its own instance",
        ));
    }
    let days = days.unwrap_or(DAYS);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(AppError::invalid(
            "bad_days",
            "an invitation lasts 1 to 90 days",
        ));
    }
    let expires = store::now_ms() + days * 24 * 3600 * 1000;
    {
        let mut conn = data.db.pool.acquire().await?;
        require_local_moderator(&mut conn, community, moderator, "invite").await?;
    }
    let Some(person) = person else {
        let token = random_token();
        let mut conn = data.db.write_conn().await?;
        store::invitations::insert(
            &mut conn,
            community.id,
            Some(&token),
            None,
            Some(moderator.id),
            None,
            Some(expires),
        )
        .await?;
        let url = data.url(&format!("/invite/{token}"));
        return Ok(json!({ "token": token, "url": url, "expires_at": expires }));
    };
    let invitee = find_or_fetch(data, person).await?;
    // Into a private community, only from software that keeps it private.
    super::privacy::check_keeps_private(data, community, &invitee.ap_id, invitee.local).await?;
    let mut tx = data.db.begin().await?;
    let activity_id = if invitee.local {
        None
    } else {
        let what = Outgoing::Invite {
            community,
            person: &invitee,
        };
        data.federate(&mut tx, what).await?
    };
    store::invitations::insert(
        &mut tx,
        community.id,
        None,
        Some(invitee.id),
        Some(moderator.id),
        activity_id.as_deref(),
        Some(expires),
    )
    .await?;
    tx.commit().await?;
    data.wake_delivery();
    Ok(json!({ "invitee": invitee.ap_id, "expires_at": expires }))
}

async fn find_or_fetch(data: &Data<AppState>, person: &str) -> AppResult<DbPerson> {
    let mut conn = data.db.pool.acquire().await?;
    if let Some(p) = store::people::find_by_ap_id(&mut conn, person).await? {
        return Ok(p);
    }
    if let Some(p) = store::people::find_local_by_name(&mut conn, person).await? {
        return Ok(p);
    }
    drop(conn);
    let url = url::Url::parse(person).map_err(|_| AppError::NotFound("person"))?;
    data.federator.resolve_person(data, &url).await
}

fn random_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A person's open invitations (made here, or received from other instances).
pub async fn mine(state: &AppState, person: &DbPerson) -> AppResult<Vec<Invitation>> {
    let mut conn = state.db.pool.acquire().await?;
    Ok(store::invitations::for_person(&mut conn, person.id).await?)
}

/// The invitee accepts: they join (at once in a community of ours; by Follow, which the
/// community's instance knows to expect, in a remote one). The follow state.
pub async fn accept(
    state: &AppState,
    person: &DbPerson,
    id: i64,
    accepts_guidelines: bool,
) -> AppResult<String> {
    let (invitation, community) = {
        let mut conn = state.db.pool.acquire().await?;
        let (inv, cid) = store::invitations::of_person(&mut conn, id, person.id)
            .await?
            .ok_or(AppError::NotFound("invitation"))?;
        (inv, store::communities::find_by_id(&mut conn, cid).await?)
    };
    if invitation.accepted_at.is_some() {
        return Err(AppError::conflict(
            "accepted",
            "this invitation was accepted already",
        ));
    }
    let state_now = follows::follow_as(state, person, &community, accepts_guidelines, true).await?;
    let mut conn = state.db.write_conn().await?;
    store::invitations::accept(&mut conn, community.id, person.id).await?;
    Ok(state_now)
}

/// A signed-in person uses a link invitation; the community and the follow state.
pub async fn accept_link(
    state: &AppState,
    person: &DbPerson,
    token: &str,
    accepts_guidelines: bool,
) -> AppResult<(DbCommunity, String)> {
    let community = {
        let mut conn = state.db.pool.acquire().await?;
        let (_, cid) = store::invitations::by_token(&mut conn, token)
            .await?
            .ok_or(AppError::NotFound("invitation"))?;
        store::communities::find_by_id(&mut conn, cid).await?
    };
    let s = follows::follow_as(state, person, &community, accepts_guidelines, true).await?;
    Ok((community, s))
}
