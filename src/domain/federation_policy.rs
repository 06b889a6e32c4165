//! The instance's federation policy as admins see and change it (CLI and admin API): open
//! or allow-list mode, allowed and blocked domains (issue #6). Enforcement reads the store:
//! `AppState::is_blocked` (inbound, fetches) and the delivery engine's policy.

use crate::{
    error::{AppError, AppResult},
    state::AppState,
    store::{self, people::DbPerson},
};

/// Mode (run-time setting, else the config), allow list and block list (admin lists plus
/// the config's), as JSON for the CLI and the admin API.
pub async fn summary(state: &AppState) -> anyhow::Result<serde_json::Value> {
    let mut conn = state.db.pool.acquire().await?;
    let fed = &state.config.federation;
    let mode = store::instances::mode(&mut conn)
        .await?
        .unwrap_or_else(|| fed.mode.clone());
    let mut allowed: Vec<String> = store::instances::allows(&mut conn)
        .await?
        .into_iter()
        .map(|(d, _)| d)
        .chain(fed.allowed_instances.iter().cloned())
        .collect();
    let mut blocked: Vec<String> = store::instances::blocks(&mut conn)
        .await?
        .into_iter()
        .map(|(d, _)| d)
        .chain(fed.blocked_instances.iter().cloned())
        .collect();
    allowed.sort();
    allowed.dedup();
    blocked.sort();
    blocked.dedup();
    Ok(serde_json::json!({ "mode": mode, "allowed": allowed, "blocked": blocked }))
}

/// A domain from what an admin typed (`host`, `host:port`, a URL), lower-cased.
pub fn normalise_domain(raw: &str) -> anyhow::Result<String> {
    let raw = raw.trim();
    let host = match url::Url::parse(raw) {
        Ok(u) if u.host_str().is_some() => u.host_str().unwrap_or_default().to_string(),
        _ => raw
            .split('/')
            .next()
            .unwrap_or_default()
            .split(':')
            .next()
            .unwrap_or_default()
            .to_string(),
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        anyhow::bail!("`{raw}` is not a domain");
    }
    Ok(host)
}

/// A change an admin asks for (API or page).
pub struct PolicyChange<'a> {
    /// `mode`, `allow`, `disallow`, `block` or `unblock`.
    pub action: &'a str,
    pub domain: Option<&'a str>,
    /// For `mode`: `open` or `allowlist`.
    pub mode: Option<&'a str>,
    pub reason: Option<&'a str>,
}

/// Applies a change of the federation policy, for every process at once (the caller has
/// checked that `admin` is one).
pub async fn change(state: &AppState, admin: &DbPerson, c: PolicyChange<'_>) -> AppResult<()> {
    let domain = || -> AppResult<String> {
        let raw = c
            .domain
            .filter(|d| !d.trim().is_empty())
            .ok_or_else(|| AppError::invalid("missing_domain", "`domain` is required"))?;
        normalise_domain(raw).map_err(|e| AppError::invalid("bad_domain", e.to_string()))
    };
    let mut conn = state.db.write_conn().await?;
    let mut target = c.mode.map(str::to_string);
    match c.action {
        "mode" => match c.mode {
            Some(mode @ ("open" | "allowlist")) => {
                store::instances::set_mode(&mut conn, mode).await?;
            }
            _ => {
                return Err(AppError::invalid(
                    "bad_mode",
                    "`mode` is \"open\" or \"allowlist\"",
                ));
            }
        },
        "allow" | "disallow" | "block" | "unblock" => {
            let d = domain()?;
            match c.action {
                "allow" => store::instances::allow(&mut conn, &d, c.reason).await?,
                "block" => store::instances::block(&mut conn, &d, c.reason).await?,
                "disallow" => {
                    store::instances::disallow(&mut conn, &d).await?;
                }
                _ => {
                    store::instances::unblock(&mut conn, &d).await?;
                }
            }
            target = Some(d);
        }
        _ => {
            return Err(AppError::invalid(
                "bad_action",
                "`action` is mode, allow, disallow, block or unblock",
            ));
        }
    }
    store::modlog::admin_insert(
        &mut conn,
        Some(admin.id),
        c.action,
        target.as_deref(),
        c.reason,
    )
    .await?;
    tracing::warn!(action = %c.action, domain = ?c.domain, mode = ?c.mode,
        admin = %admin.name, "federation policy changed");
    Ok(())
}
