//! The instance's federation policy as admins see and change it (CLI and admin API): open
//! or allow-list mode, allowed and blocked domains (issue #6). Enforcement reads the store:
//! `AppState::is_blocked` (inbound, fetches) and the delivery engine's policy.

use crate::{state::AppState, store};

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
