//! Leadership models (issue #6), chosen per community and changeable:
//!
//! - **hierarchical** (the default): owner over moderators over members; a moderator
//!   removes only those appointed after them (`moderation::check_appointment`);
//! - **shared**: the moderators are co-leads with equal powers; adding or removing one, or
//!   changing the model, is a proposal that a second co-lead must approve;
//! - **rotational**: a roster and a term; when a term ends the facilitator role passes to
//!   the next person on the roster, automatically, federated (`Add`/`Remove` by the
//!   community, announced to every follower) and logged. The holder can pass it on early;
//!   swapping terms is a proposal (`proposals`).

use super::moderation::require_local_moderator;
use super::outgoing::Outgoing;
use crate::{
    error::{AppError, AppResult},
    state::AppState,
    store::{self, communities::DbCommunity, modlog::NewEntry, people::DbPerson},
};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

pub const MODELS: &[&str] = &["hierarchical", "shared", "rotational"];

/// The longest term of a rotation: ten years.
pub const MAX_TERM_SECS: i64 = 10 * 365 * 24 * 3600;

/// A leadership model as a moderator sets it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelInput {
    pub model: String,
    /// Rotational: a term's length in seconds.
    #[serde(default)]
    pub term_secs: i64,
    /// Rotational: ActivityPub ids or local usernames, in turn order.
    #[serde(default)]
    pub roster: Vec<String>,
}

/// What became of a change: made, or proposed to the other co-leads.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Change {
    Done,
    Proposed { proposal: i64 },
}

/// Whether a community shares its leadership (changes need a second co-lead).
pub async fn is_shared(conn: &mut AnyConnection, community: &DbCommunity) -> AppResult<bool> {
    Ok(community.local && store::leadership::get(conn, community.id).await?.model == "shared")
}

/// A person named by an admin or moderator: an ActivityPub id we know, or a local username.
pub async fn person_by_ref(conn: &mut AnyConnection, r: &str) -> AppResult<DbPerson> {
    match store::people::find_by_ap_id(conn, r).await? {
        Some(p) => Ok(p),
        None => store::people::find_local_by_name(conn, r)
            .await?
            .ok_or(AppError::NotFound("person")),
    }
}

/// A moderator sets the leadership model. In a shared community it becomes a proposal,
/// unless `approved` (a second co-lead's approval is being carried out).
pub async fn set_model(
    state: &AppState,
    moderator: &DbPerson,
    community: &DbCommunity,
    input: &ModelInput,
    approved: bool,
) -> AppResult<Change> {
    if !MODELS.contains(&input.model.as_str()) {
        return Err(AppError::invalid(
            "bad_model",
            "`model` is hierarchical, shared or rotational",
        ));
    }
    let rotational = input.model == "rotational";
    if rotational
        && (!(1..=MAX_TERM_SECS).contains(&input.term_secs)
            || input.roster.is_empty()
            || input.roster.len() > 50)
    {
        return Err(AppError::invalid(
            "bad_rotation",
            "a rotation needs `term_secs` (1 second to 10 years) and a `roster` of 1 to 50 people",
        ));
    }
    if !community.local {
        return Err(AppError::forbidden(
            "remote_community",
            "this community's leadership is set on its own instance",
        ));
    }
    let mut tx = state.db.begin().await?;
    require_local_moderator(&mut tx, community, moderator, "change the leadership").await?;
    if !approved && is_shared(&mut tx, community).await? {
        let value = serde_json::to_string(input).map_err(|e| AppError::Internal(e.into()))?;
        let id = store::leadership::propose(
            &mut tx,
            community.id,
            "set_leadership",
            None,
            Some(&value),
            moderator.id,
        )
        .await?;
        tx.commit().await?;
        return Ok(Change::Proposed { proposal: id });
    }
    let mut roster = Vec::new();
    for r in &input.roster {
        roster.push(person_by_ref(&mut tx, r).await?.id);
    }
    // Whoever holds the rotating role now (on the old roster or the new) hands it over.
    let old = store::leadership::roster(&mut tx, community.id).await?;
    let mut holder = None;
    for id in old.iter().map(|(id, _)| *id).chain(roster.iter().copied()) {
        if store::roles::has_role(&mut tx, community.id, id, "facilitator").await? {
            holder = Some(id);
            break;
        }
    }
    let ends = rotational.then(|| store::now_ms() + input.term_secs * 1000);
    store::leadership::set(&mut tx, community.id, &input.model, input.term_secs, ends).await?;
    store::leadership::set_roster(&mut tx, community.id, &roster).await?;
    log(
        &mut tx,
        community,
        Some(moderator.id),
        "set_leadership",
        None,
        Some(&input.model),
    )
    .await?;
    if let Some(first) = roster.first() {
        hand_over(&mut tx, state, community, holder, *first).await?;
    }
    tx.commit().await?;
    state.wake_delivery();
    Ok(Change::Done)
}

pub(super) async fn log(
    conn: &mut AnyConnection,
    community: &DbCommunity,
    actor_id: Option<i64>,
    action: &str,
    person_id: Option<i64>,
    reason: Option<&str>,
) -> AppResult<()> {
    store::modlog::insert(
        conn,
        NewEntry {
            community_id: community.id,
            actor_id,
            action,
            post_id: None,
            person_id,
            reason,
            activity_id: None,
        },
    )
    .await?;
    Ok(())
}

/// The community passes the facilitator role from `from` to `to`: the role here, an `Add`
/// and a `Remove` by the community announced to its followers, and the log.
pub(super) async fn hand_over(
    conn: &mut AnyConnection,
    state: &AppState,
    community: &DbCommunity,
    from: Option<i64>,
    to: i64,
) -> AppResult<()> {
    let mut changes = Vec::new();
    if let Some(from) = from.filter(|f| *f != to)
        && store::roles::remove_role(conn, community.id, from, "facilitator").await?
    {
        changes.push(("Remove", from));
    }
    if store::roles::role_since(conn, community.id, to, "facilitator")
        .await?
        .is_none()
    {
        store::roles::add_role(conn, community.id, to, "facilitator").await?;
        changes.push(("Add", to));
    }
    if changes.is_empty() {
        return Ok(());
    }
    for (kind, person_id) in changes {
        let person = store::people::find_by_id(conn, person_id).await?;
        let what = Outgoing::RoleByCommunity {
            community,
            person: &person,
            role: "facilitator",
            added: kind == "Add",
        };
        state.federate(conn, what).await?;
    }
    let to = store::people::find_by_id(conn, to).await?;
    notify_handover(conn, community, &to).await?;
    log(conn, community, None, "rotate", Some(to.id), None).await
}

/// Tells the community's members here that `to` now facilitates it (a rotation's hand-over,
/// here or, for a remote community, as its Add arrives).
pub async fn notify_handover(
    conn: &mut AnyConnection,
    community: &DbCommunity,
    to: &DbPerson,
) -> AppResult<()> {
    let who = if to.local {
        to.name.clone()
    } else {
        format!("{}@{}", to.name, store::instances::domain_of(&to.ap_id))
    };
    let body = format!(
        "{who} is now the facilitator of {}: the role passed on by rotation.",
        community.title
    );
    store::notices::notify_members(conn, community.id, "handover", &body).await?;
    Ok(())
}

/// Passes the facilitator role on in every rotational community whose term is over.
pub async fn rotate_due(state: &AppState) -> AppResult<usize> {
    let due = {
        let mut conn = state.db.pool.acquire().await?;
        store::leadership::terms_over(&mut conn).await?
    };
    for id in &due {
        rotate(state, *id).await?;
    }
    Ok(due.len())
}

/// Ends the current term of a rotational community: the next person on the roster takes
/// the facilitator role for a new term.
async fn rotate(state: &AppState, community_id: i64) -> AppResult<()> {
    let mut tx = state.db.begin().await?;
    let community = store::communities::find_by_id(&mut tx, community_id).await?;
    let lead = store::leadership::get(&mut tx, community.id).await?;
    let roster = store::leadership::roster(&mut tx, community.id).await?;
    if lead.model != "rotational" || roster.is_empty() {
        return Ok(());
    }
    let mut current = None;
    for (i, (id, _)) in roster.iter().enumerate() {
        if store::roles::has_role(&mut tx, community.id, *id, "facilitator").await? {
            current = Some(i);
            break;
        }
    }
    let next = current.map_or(0, |i| (i + 1) % roster.len());
    let from = current.map(|i| roster[i].0);
    hand_over(&mut tx, state, &community, from, roster[next].0).await?;
    let ends = store::now_ms() + lead.term_secs.clamp(1, MAX_TERM_SECS) * 1000;
    store::leadership::set(
        &mut tx,
        community.id,
        "rotational",
        lead.term_secs,
        Some(ends),
    )
    .await?;
    tx.commit().await?;
    state.wake_delivery();
    tracing::info!(community = %community.name, to = %roster[next].1, "facilitator role passed on");
    Ok(())
}

/// The facilitator (or a moderator) ends the current term early: the role passes on now.
pub async fn pass_on(
    state: &AppState,
    person: &DbPerson,
    community: &DbCommunity,
) -> AppResult<()> {
    {
        let mut conn = state.db.pool.acquire().await?;
        let lead = store::leadership::get(&mut conn, community.id).await?;
        let holder =
            store::roles::has_role(&mut conn, community.id, person.id, "facilitator").await?;
        let moderator =
            store::roles::has_role(&mut conn, community.id, person.id, "moderator").await?;
        if lead.model != "rotational" || !community.local {
            return Err(AppError::invalid(
                "not_rotational",
                "this community does not rotate",
            ));
        }
        if !holder && !moderator {
            return Err(AppError::forbidden(
                "not_your_turn",
                "only the current facilitator or a moderator can pass the role on",
            ));
        }
    }
    rotate(state, community.id).await
}

/// The rotation worker: looks for terms that are over once a second.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(e) = rotate_due(&state).await {
                tracing::warn!(error = %e, "rotation: cannot pass roles on; retrying");
            }
            // Polling: terms end by the clock, not by an event.
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    })
}
