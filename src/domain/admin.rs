//! Instance administration that is more than a setting: instance-wide bans (issue #6).

use super::outgoing::{Ban, Outgoing};
use crate::{
    domain::accounts::LocalUser,
    error::{AppError, AppResult},
    state::AppState,
    store,
};

/// An instance-wide ban as an admin asks for it.
pub struct InstanceBanInput<'a> {
    /// ActivityPub id of the person, or a local username.
    pub person: &'a str,
    pub banned: bool,
    pub reason: Option<&'a str>,
    /// Milliseconds since the epoch; None: until lifted.
    pub expires_at: Option<i64>,
    /// Also take down everything they posted on this instance.
    pub remove_data: bool,
}

/// An admin bans (or unbans) someone from the whole instance: they post, reply and vote
/// nowhere here. A ban of one of our own people is announced to every instance we know, as
/// Lemmy announces a site ban, so that theirs keep them out too.
pub async fn ban(
    state: &AppState,
    admin: &LocalUser,
    input: InstanceBanInput<'_>,
) -> AppResult<()> {
    if !admin.account.is_admin {
        return Err(AppError::forbidden(
            "not_admin",
            "only an instance admin can do this",
        ));
    }
    if let Some(r) = input.reason {
        super::validate::text("reason", r, 1_000, false)?;
    }
    let mut tx = state.db.begin().await?;
    let person = super::leadership::person_by_ref(&mut tx, input.person).await?;
    if person.id == admin.person.id {
        return Err(AppError::invalid(
            "self_ban",
            "admins cannot ban themselves",
        ));
    }
    let ban = Ban {
        reason: input.reason,
        expires_at: input.expires_at,
        remove_data: input.remove_data,
    };
    if input.banned {
        store::bans::ban_instance(&mut tx, person.id, input.reason, input.expires_at, "admin")
            .await?;
        if input.remove_data {
            store::bans::remove_all_content(&mut tx, person.id).await?;
        }
    } else if !store::bans::unban_instance(&mut tx, person.id, "admin").await? {
        return Ok(()); // was not banned
    }
    store::modlog::admin_insert(
        &mut tx,
        Some(admin.person.id),
        if input.banned { "ban" } else { "unban" },
        Some(person.ap_id.as_str()),
        input.reason,
    )
    .await?;
    if person.local {
        let what = Outgoing::SiteBan {
            admin: &admin.person,
            person: &person,
            ban: input.banned.then_some(ban),
        };
        state.federate(&mut tx, what).await?;
    }
    tx.commit().await?;
    state.wake_delivery();
    tracing::warn!(person = %person.ap_id, banned = input.banned, admin = %admin.person.name,
        "instance-wide ban changed");
    Ok(())
}
