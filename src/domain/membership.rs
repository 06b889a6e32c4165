//! Approval-only communities (issue #6): a Follow waits until a moderator accepts it, and
//! only accepted members (and moderators) post and reply there. Local and remote people
//! alike; a remote person hears the decision as an `Accept` or `Reject` of their Follow.

use super::moderation::require_local_moderator;
use super::outgoing::Outgoing;
use crate::{
    error::{AppError, AppResult},
    state::AppState,
    store::{
        self, communities::DbCommunity, followers::Follower, modlog::NewEntry, people::DbPerson,
    },
};
use sqlx::AnyConnection;

/// Refuses a post or reply by someone who is neither an accepted member of an approval-only
/// community of ours nor holds a role in it (403 `not_a_member`).
pub async fn check_member(
    conn: &mut AnyConnection,
    community: &DbCommunity,
    person_id: i64,
) -> AppResult<()> {
    if !community.local || !community.approval_required {
        return Ok(());
    }
    if super::privacy::is_member(conn, community.id, person_id).await? {
        return Ok(());
    }
    Err(AppError::forbidden(
        "not_a_member",
        "this community takes posts from its approved members only",
    ))
}

/// Who joins a remote community is decided on its own instance.
fn local_only(community: &DbCommunity) -> AppResult<()> {
    if community.local {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "remote_community",
            "members of this community are accepted on its own instance",
        ))
    }
}

/// Settings a moderator changes; None leaves one as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct SettingsPatch {
    pub approval_required: Option<bool>,
    pub private: Option<bool>,
    pub guidelines_required: Option<bool>,
    pub newcomer_limits: Option<bool>,
    pub modlog_anonymous: Option<bool>,
}

/// A moderator changes who may join and how newcomers start. Existing members stay.
pub async fn update_settings(
    state: &AppState,
    moderator: &DbPerson,
    community: &DbCommunity,
    patch: SettingsPatch,
) -> AppResult<()> {
    if !community.local {
        return Err(AppError::forbidden(
            "remote_community",
            "this community's settings are changed on its own instance",
        ));
    }
    let private = patch.private.unwrap_or(community.members_only);
    if private && patch.approval_required == Some(false) {
        return Err(AppError::invalid(
            "private_needs_approval",
            "a private community approves its members; make it public first",
        ));
    }
    // Turning private: members on software that would not keep it private wait again for a
    // moderator (asked before the write transaction: it may fetch NodeInfo).
    let suspend = if private && !community.members_only {
        {
            let mut conn = state.db.pool.acquire().await?;
            require_local_moderator(&mut conn, community, moderator, "change the settings").await?;
        }
        super::privacy::members_to_suspend(state, community).await?
    } else {
        Vec::new()
    };
    let mut tx = state.db.begin().await?;
    require_local_moderator(&mut tx, community, moderator, "change the settings").await?;
    if let Some(on) = patch.approval_required {
        store::communities::set_approval_required(&mut tx, community.id, on).await?;
    }
    if let Some(on) = patch.private {
        store::communities::set_members_only(&mut tx, community.id, on).await?;
    }
    for person_id in suspend {
        store::followers::upsert_follower(&mut tx, community.id, person_id, "pending", None)
            .await?;
        store::modlog::insert(
            &mut tx,
            NewEntry {
                community_id: community.id,
                actor_id: Some(moderator.id),
                action: "suspend_member",
                post_id: None,
                person_id: Some(person_id),
                reason: Some("their server's software does not keep private communities private"),
                activity_id: None,
            },
        )
        .await?;
    }
    let mut settings = store::settings::get(&mut tx, community.id).await?;
    settings.guidelines_required = patch
        .guidelines_required
        .unwrap_or(settings.guidelines_required);
    settings.newcomer_limits = patch.newcomer_limits.unwrap_or(settings.newcomer_limits);
    settings.modlog_anonymous = patch.modlog_anonymous.unwrap_or(settings.modlog_anonymous);
    store::settings::set(&mut tx, community.id, settings).await?;
    if patch.private.is_some() || patch.approval_required.is_some() {
        let changed = store::communities::find_by_id(&mut tx, community.id).await?;
        state
            .federate(
                &mut tx,
                Outgoing::GroupUpdated {
                    community: &changed,
                },
            )
            .await?;
    }
    tx.commit().await?;
    state.wake_delivery();
    Ok(())
}

/// Whether HTML links somewhere, mentions and hashtags aside: a link whose text starts with
/// `@` or `#` is a mention or a hashtag (Mastodon's mention of the group is a link, and no
/// reason to hold a newcomer's post back; sanitising has removed the `class` that would say
/// so). A gentle limit, not a wall: it reads what people see.
pub fn has_outside_link(html: &str) -> bool {
    html.match_indices("<a ").any(|(i, _)| {
        let rest = &html[i..];
        let inner = match (rest.find('>'), rest.find("</a>")) {
            (Some(open), Some(close)) if open < close => &rest[open + 1..close],
            _ => return true,
        };
        let text = ammonia::Builder::empty().clean(inner).to_string();
        !text.trim_start().starts_with(['@', '#'])
    })
}

/// Refuses a link (as the post's link, or in its text) from a newcomer in a community of
/// ours that limits newcomers (403 `newcomer_links`). People with a role are no newcomers.
pub async fn check_newcomer_link(
    conn: &mut AnyConnection,
    community: &DbCommunity,
    person_id: i64,
    has_link: bool,
) -> AppResult<()> {
    if !has_link || !community.local {
        return Ok(());
    }
    if !store::settings::get(conn, community.id)
        .await?
        .newcomer_limits
        || !store::roles::roles_of(conn, community.id, person_id)
            .await?
            .is_empty()
        || !store::settings::is_newcomer(conn, community.id, person_id).await?
    {
        return Ok(());
    }
    Err(AppError::forbidden(
        "newcomer_links",
        format!(
            "newcomers share links after their first {} days or their first {} posts here",
            store::settings::NEWCOMER_DAYS,
            store::settings::NEWCOMER_POSTS
        ),
    ))
}

/// The people waiting to join, oldest first, for the community's moderators.
pub async fn pending(
    state: &AppState,
    moderator: &DbPerson,
    community: &DbCommunity,
) -> AppResult<Vec<Follower>> {
    local_only(community)?;
    let mut conn = state.db.pool.acquire().await?;
    require_local_moderator(&mut conn, community, moderator, "see who waits to join").await?;
    let mut waiting =
        store::followers::followers_in_state(&mut conn, community.id, "pending").await?;
    for f in waiting.iter_mut().filter(|f| !f.local) {
        let origin = url::Url::parse(&f.ap_id)
            .map(|u| super::privacy::origin_of(&u))
            .unwrap_or_default();
        f.new_instance = !store::followers::has_member_on(&mut conn, community.id, &origin).await?;
    }
    Ok(waiting)
}

/// A moderator accepts (or turns away) someone waiting to join. Logged.
pub async fn decide(
    state: &AppState,
    moderator: &DbPerson,
    community: &DbCommunity,
    person: &str,
    accepted: bool,
) -> AppResult<()> {
    local_only(community)?;
    if accepted && community.members_only {
        // Asked before the write transaction: it may take a NodeInfo fetch.
        let waiting = {
            let mut conn = state.db.pool.acquire().await?;
            store::followers::followers_in_state(&mut conn, community.id, "pending").await?
        };
        if let Some(f) = waiting.iter().find(|f| f.ap_id == person)
            && let Ok(ap_id) = url::Url::parse(&f.ap_id)
        {
            super::privacy::check_keeps_private(state, community, &ap_id, f.local).await?;
        }
    }
    let mut tx = state.db.begin().await?;
    require_local_moderator(&mut tx, community, moderator, "accept new members").await?;
    let waiting = store::followers::followers_in_state(&mut tx, community.id, "pending").await?;
    let Some(follower) = waiting
        .into_iter()
        .find(|f| f.ap_id == person || (f.local && f.name == person))
    else {
        return Err(AppError::NotFound("pending follow"));
    };
    if accepted {
        store::followers::upsert_follower(
            &mut tx,
            community.id,
            follower.person_id,
            "accepted",
            None,
        )
        .await?;
    } else {
        store::followers::remove_follower(&mut tx, community.id, follower.person_id).await?;
    }
    let what = Outgoing::FollowDecision {
        community,
        follower: &follower,
        accepted,
    };
    state.federate(&mut tx, what).await?;
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
    state.wake_delivery();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::has_outside_link;

    #[test]
    fn mentions_and_hashtags_are_not_outside_links() {
        assert!(!has_outside_link("<p>no links at all</p>"));
        assert!(!has_outside_link(
            "<p><span><a href=\"https://m.example/@woodwork\">@<span>woodwork</span></a></span> hi</p>"
        ));
        assert!(!has_outside_link(
            "<a href=\"https://m.example/tags/axe\">#axe</a>"
        ));
        assert!(has_outside_link(
            "<p>see <a href=\"https://spam.example/\">this</a></p>"
        ));
        assert!(has_outside_link(
            "<a href=\"https://x.example/\">@a</a> <a href=\"https://y.example/\">y</a>"
        ));
        assert!(has_outside_link(
            "<a href=\"https://broken.example/\">never closed"
        ));
    }
}
