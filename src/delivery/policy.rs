//! What the delivery engine reads for every delivery, kept in memory: the federation policy
//! (blocked and dead instances, reloaded for every claimed batch, so a block or a revival
//! made by the CLI or another process applies to every delivery claimed after it) and the
//! parsed private keys of local actors.

use crate::{
    federation::signatures::{self, PrivateKey},
    state::AppState,
    store,
};
use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};
use tokio::sync::Mutex;
use url::Url;

#[derive(Default)]
pub struct Policy(Mutex<Option<Snapshot>>);

struct Snapshot {
    blocked: HashSet<String>,
    /// In allow-list mode, the admin allow list (the config's is added when checking).
    allowed: Option<HashSet<String>>,
    dead: HashSet<String>,
    /// Instances with a failure streak: a success there must be written down.
    failing: HashSet<String>,
}

impl Policy {
    /// None when deliveries to `url` may go, else why not.
    pub async fn allows(
        &self,
        state: &AppState,
        url: &Url,
    ) -> Result<Option<&'static str>, sqlx::Error> {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let domain = store::instances::domain_of(url);
        let fed = &state.config.federation;
        let mut guard = self.fresh(state).await?;
        let snap = guard.as_mut().expect("fresh() fills the snapshot");
        let parents = store::instances::parent_domains(&host);
        let blocked = parents.iter().any(|d| snap.blocked.contains(*d))
            || crate::state::in_list(&fed.blocked_instances, &host);
        let not_allowed = snap.allowed.as_ref().is_some_and(|allowed| {
            !parents.iter().any(|d| allowed.contains(*d))
                && !crate::state::in_list(&fed.allowed_instances, &host)
        });
        Ok(if blocked {
            Some("the instance is blocked")
        } else if not_allowed {
            Some("the instance is not on the allow list")
        } else if snap.dead.contains(&domain) {
            Some("the instance is dead (failing too long)")
        } else {
            None
        })
    }

    /// Whether `domain` had a failure streak when the policy was last read.
    pub async fn is_failing(&self, state: &AppState, domain: &str) -> Result<bool, sqlx::Error> {
        let guard = self.fresh(state).await?;
        Ok(guard.as_ref().is_some_and(|s| s.failing.contains(domain)))
    }

    /// Reads the policy again (before a claimed batch is sent).
    pub async fn reload(&self, state: &AppState) -> Result<(), sqlx::Error> {
        let snapshot = Self::read(state).await?;
        *self.0.lock().await = Some(snapshot);
        Ok(())
    }

    async fn read(state: &AppState) -> Result<Snapshot, sqlx::Error> {
        let mut conn = state.db.pool.acquire().await?;
        let blocked = store::instances::blocks(&mut conn)
            .await?
            .into_iter()
            .map(|(d, _)| d.to_ascii_lowercase())
            .collect();
        let mode = store::instances::mode(&mut conn).await?;
        let allowed = if mode.as_deref().unwrap_or(&state.config.federation.mode) == "allowlist" {
            Some(
                store::instances::allows(&mut conn)
                    .await?
                    .into_iter()
                    .map(|(d, _)| d.to_ascii_lowercase())
                    .collect(),
            )
        } else {
            None
        };
        let unwell = store::instances::unwell(&mut conn).await?;
        Ok(Snapshot {
            blocked,
            allowed,
            dead: unwell
                .iter()
                .filter(|(_, dead)| *dead)
                .map(|(d, _)| d.clone())
                .collect(),
            failing: unwell.into_iter().map(|(d, _)| d).collect(),
        })
    }

    async fn fresh(
        &self,
        state: &AppState,
    ) -> Result<tokio::sync::MutexGuard<'_, Option<Snapshot>>, sqlx::Error> {
        let mut guard = self.0.lock().await;
        if guard.is_none() {
            *guard = Some(Self::read(state).await?);
        }
        Ok(guard)
    }
}

/// Parsed private keys of local actors, by actor id.
#[derive(Default)]
pub struct KeyCache(Mutex<HashMap<String, Arc<PrivateKey>>>);

impl KeyCache {
    pub async fn get(&self, state: &AppState, signer: &str) -> anyhow::Result<Arc<PrivateKey>> {
        if let Some(k) = self.0.lock().await.get(signer) {
            return Ok(k.clone());
        }
        let pem = private_key_of(state, signer).await?;
        let key =
            Arc::new(signatures::parse_private_key(&pem).map_err(|e| anyhow::anyhow!("{e}"))?);
        self.0.lock().await.insert(signer.to_string(), key.clone());
        Ok(key)
    }
}

async fn private_key_of(state: &AppState, signer: &str) -> anyhow::Result<String> {
    if signer == state.instance_actor_url().as_str() {
        return Ok(state.instance_keys.private_key.clone());
    }
    let mut conn = state.db.pool.acquire().await?;
    if let Some(p) = store::people::find_by_ap_id(&mut conn, signer).await?
        && let Some(k) = p.private_key
    {
        return Ok(k);
    }
    if let Some(c) = store::communities::find_by_ap_id(&mut conn, signer).await?
        && let Some(k) = c.private_key
    {
        return Ok(k);
    }
    anyhow::bail!("{signer} is not a local actor")
}
