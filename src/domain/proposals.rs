//! Proposals (issue #6): changes that wait for a second person's yes. In a shared-leadership
//! community, adding or removing a co-lead and changing the model (a second co-lead
//! approves); in a rotation, swapping terms (the other person on the roster accepts, or a
//! moderator for someone on another instance). Nothing of a proposal federates until it is
//! carried out, as an ordinary change.

use super::{
    leadership::{ModelInput, hand_over, log, person_by_ref, set_model},
    moderation::require_local_moderator,
};
use crate::{
    error::{AppError, AppResult},
    state::AppState,
    store::{self, communities::DbCommunity, leadership::Proposal, people::DbPerson},
};

/// Someone on a rotation's roster asks to swap places — and so terms — with another person
/// on it (to skip a term, `pass_on`). A proposal that the other person (if they are on this
/// instance) or a moderator approves; returns its id.
pub async fn ask_swap(
    state: &AppState,
    person: &DbPerson,
    community: &DbCommunity,
    with: &str,
) -> AppResult<i64> {
    let mut tx = state.db.begin().await?;
    let lead = store::leadership::get(&mut tx, community.id).await?;
    if lead.model != "rotational" || !community.local {
        return Err(AppError::invalid(
            "not_rotational",
            "this community does not rotate",
        ));
    }
    let roster = store::leadership::roster(&mut tx, community.id).await?;
    let other = person_by_ref(&mut tx, with).await?;
    let on = |id: i64| roster.iter().any(|(r, _)| *r == id);
    if !on(person.id) {
        return Err(AppError::forbidden(
            "not_on_roster",
            "only someone on the roster swaps terms",
        ));
    }
    if !on(other.id) || other.id == person.id {
        return Err(AppError::invalid(
            "not_on_roster",
            "swap with someone else on the roster",
        ));
    }
    let id = store::leadership::propose(
        &mut tx,
        community.id,
        "swap",
        Some(other.id),
        None,
        person.id,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// An approved swap: the two change places on the roster; if one of them holds the current
/// term, it passes to the other now (federated and noticed like any hand-over).
async fn swap_places(
    state: &AppState,
    community: &DbCommunity,
    asked_by: i64,
    with: &str,
) -> AppResult<()> {
    let mut tx = state.db.begin().await?;
    let other = person_by_ref(&mut tx, with).await?;
    let mut roster: Vec<i64> = store::leadership::roster(&mut tx, community.id)
        .await?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let at = |id: i64| roster.iter().position(|r| *r == id);
    let (Some(i), Some(j)) = (at(asked_by), at(other.id)) else {
        return Err(AppError::invalid(
            "not_on_roster",
            "one of the two is no longer on the roster",
        ));
    };
    roster.swap(i, j);
    store::leadership::set_roster(&mut tx, community.id, &roster).await?;
    for (from, to) in [(asked_by, other.id), (other.id, asked_by)] {
        if store::roles::has_role(&mut tx, community.id, from, "facilitator").await? {
            hand_over(&mut tx, state, community, Some(from), to).await?;
            break;
        }
    }
    log(
        &mut tx,
        community,
        Some(asked_by),
        "swap_terms",
        Some(other.id),
        None,
    )
    .await?;
    tx.commit().await?;
    state.wake_delivery();
    Ok(())
}

/// A community's open proposals, for its moderators.
pub async fn proposals(
    state: &AppState,
    moderator: &DbPerson,
    community: &DbCommunity,
) -> AppResult<Vec<Proposal>> {
    let mut conn = state.db.pool.acquire().await?;
    require_local_moderator(&mut conn, community, moderator, "see proposals").await?;
    Ok(store::leadership::open_proposals(&mut conn, community.id).await?)
}

/// A second co-lead approves (and so carries out) or declines a proposal.
pub async fn decide(
    state: &AppState,
    co_lead: &DbPerson,
    id: i64,
    approve: bool,
) -> AppResult<Proposal> {
    let (proposal, proposer, community) = {
        let mut conn = state.db.pool.acquire().await?;
        let (p, proposer) = store::leadership::find_proposal(&mut conn, id)
            .await?
            .ok_or(AppError::NotFound("proposal"))?;
        let c = store::communities::find_by_id(&mut conn, p.community_id).await?;
        // A swap is the other person's to accept (or a moderator's, for someone elsewhere).
        let asked = p.action == "swap" && p.person.as_deref() == Some(co_lead.ap_id.as_str());
        if !asked {
            require_local_moderator(&mut conn, &c, co_lead, "decide on proposals").await?;
        }
        (p, proposer, c)
    };
    if proposal.status != "open" {
        return Err(AppError::conflict(
            "decided",
            "this proposal was already decided",
        ));
    }
    if proposer == co_lead.id {
        return Err(AppError::forbidden(
            "second_co_lead",
            "a proposal needs the approval of another co-lead",
        ));
    }
    // Claimed first, in one statement: of two co-leads deciding at once, one wins.
    let status = if approve { "approved" } else { "declined" };
    {
        let mut conn = state.db.write_conn().await?;
        if !store::leadership::decide(&mut conn, id, status, co_lead.id).await? {
            return Err(AppError::conflict(
                "decided",
                "this proposal was already decided",
            ));
        }
    }
    let carried = carry_out(state, &proposal, proposer, &community, approve).await;
    if let Err(e) = carried {
        // Nothing was done: the proposal is open again.
        let mut conn = state.db.write_conn().await?;
        store::leadership::reopen(&mut conn, id).await?;
        return Err(e);
    }
    let mut conn = state.db.pool.acquire().await?;
    let (p, _) = store::leadership::find_proposal(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound("proposal"))?;
    Ok(p)
}

/// What an approved proposal does.
async fn carry_out(
    state: &AppState,
    proposal: &Proposal,
    proposer: i64,
    community: &DbCommunity,
    approve: bool,
) -> AppResult<()> {
    if approve {
        let proposed_by = {
            let mut conn = state.db.pool.acquire().await?;
            store::people::find_by_id(&mut conn, proposer).await?
        };
        match (proposal.action.as_str(), &proposal.person, &proposal.value) {
            ("set_leadership", _, Some(value)) => {
                let input: ModelInput =
                    serde_json::from_str(value).map_err(|e| AppError::Internal(e.into()))?;
                set_model(state, &proposed_by, community, &input, true).await?;
            }
            (action @ ("add_moderator" | "remove_moderator"), Some(person), _) => {
                let added = action == "add_moderator";
                super::moderation::appoint_approved(
                    state,
                    &proposed_by,
                    community,
                    person,
                    "moderator",
                    added,
                )
                .await?;
            }
            ("swap", Some(person), _) => {
                swap_places(state, community, proposer, person).await?;
            }
            _ => return Err(AppError::invalid("bad_proposal", "nothing to carry out")),
        }
    }
    Ok(())
}
