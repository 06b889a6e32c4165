//! Delivery workers: claim due rows of the `deliveries` table, sign, POST, and either forget
//! the row (delivered, or refused for good) or schedule a retry with exponential backoff.
//! Rows are written in the same transaction as the change they announce, and a claim is a
//! lease, so a restart or a crash loses nothing (a delivery cut off mid-flight is sent
//! again; receivers deduplicate by activity id).

use crate::{
    federation::{client::check_url, signatures},
    metrics::Metrics,
    state::AppState,
    store::{self, activities::Delivery},
};
use futures::StreamExt;
use http::{HeaderMap, HeaderValue, Method};
use rand::Rng;
use rsa::RsaPrivateKey;
use std::{collections::HashMap, sync::Arc, time::Duration};
use tokio::sync::Mutex;
use url::Url;

/// How long a claimed delivery stays invisible to other workers.
const LEASE_MS: i64 = 120_000;
/// Attempts after which a delivery is dropped (about two weeks at the default schedule).
const MAX_ATTEMPTS: i64 = 14;

/// Starts the delivery loop of this process.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let keys = KeyCache::default();
        loop {
            match run_once(&state, &keys).await {
                Ok(0) => {
                    // Nothing due: sleep until woken by new work, or poll again in a second.
                    let _ = tokio::time::timeout(
                        Duration::from_secs(1),
                        state.delivery_wakeup.notified(),
                    )
                    .await;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "delivery loop: database error; retrying shortly");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
        }
    })
}

/// Claims and sends one batch; returns how many deliveries it handled.
pub async fn run_once(state: &AppState, keys: &KeyCache) -> anyhow::Result<usize> {
    let concurrency = state.config.federation.delivery_concurrency;
    let batch = {
        let mut tx = state.db.begin().await?;
        let postgres = state.db.backend == store::Backend::Postgres;
        let batch =
            store::activities::claim_due(&mut tx, postgres, (concurrency * 4) as i64, LEASE_MS)
                .await?;
        tx.commit().await?;
        batch
    };
    let n = batch.len();
    futures::stream::iter(batch)
        .for_each_concurrent(concurrency, |d| async move {
            let result = deliver(state, keys, &d).await;
            if let Err(e) = record(state, &d, result).await {
                tracing::warn!(error = %e, delivery = d.id, "cannot record a delivery result");
            }
        })
        .await;
    Ok(n)
}

/// What happened to one POST.
enum Sent {
    Delivered,
    /// The receiver answered that it will never take it (a 4xx): forget it.
    Rejected(String),
    /// We will not send it (blocked or dead instance, bad inbox, no key): forget it.
    Refused(String),
    /// Try again later, no sooner than the given delay if the receiver asked for one.
    Retry(String, Option<Duration>),
}

async fn deliver(state: &AppState, keys: &KeyCache, d: &Delivery) -> Sent {
    let url = match Url::parse(&d.inbox) {
        Ok(u) => u,
        Err(_) => return Sent::Refused("inbox is not a URL".into()),
    };
    if let Err(why) = check_url(&url, state.config.federation.allow_private_addresses) {
        return Sent::Refused(why.into());
    }
    {
        let Ok(mut conn) = state.db.pool.acquire().await else {
            return Sent::Retry("database busy".into(), None);
        };
        if let Ok(true) =
            store::instances::is_dead(&mut conn, &store::instances::domain_of(&url)).await
        {
            return Sent::Refused("the instance is dead (failing too long)".into());
        }
    }
    match state.is_blocked(&url).await {
        Ok(false) => {}
        Ok(true) => return Sent::Refused("the instance is blocked".into()),
        Err(e) => return Sent::Retry(format!("cannot check the block list: {e}"), None),
    }
    let key = match keys.get(state, &d.signer).await {
        Ok(k) => k,
        Err(e) => return Sent::Refused(format!("no key to sign with: {e}")),
    };
    let body = d.json.as_bytes();
    let mut headers = HeaderMap::new();
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/activity+json"),
    );
    headers.insert(
        "accept",
        HeaderValue::from_static("application/activity+json"),
    );
    let key_id = format!("{}#main-key", d.signer);
    if let Err(e) = signatures::sign_request(
        &Method::POST,
        &url,
        &mut headers,
        Some(body),
        &key_id,
        &key,
        std::time::SystemTime::now(),
    ) {
        return Sent::Refused(format!("cannot sign: {e}"));
    }
    let response = state
        .http
        .post(url.clone())
        .headers(headers)
        .body(d.json.clone())
        .send()
        .await;
    match response {
        Ok(r) if r.status().is_success() => Sent::Delivered,
        Ok(r) => {
            let status = r.status().as_u16();
            let retry_after = r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let text = format!("HTTP {status}");
            match status {
                429 => Sent::Retry(text, retry_after),
                400..=499 if status != 408 => Sent::Rejected(text),
                _ => Sent::Retry(text, None),
            }
        }
        Err(e) => Sent::Retry(e.without_url().to_string(), None),
    }
}

async fn record(state: &AppState, d: &Delivery, result: Sent) -> anyhow::Result<()> {
    let mut conn = state.db.write_conn().await?;
    let m = &state.metrics;
    let domain = Url::parse(&d.inbox)
        .map(|u| store::instances::domain_of(&u))
        .unwrap_or_default();
    match result {
        Sent::Delivered => {
            Metrics::inc(&m.delivered);
            tracing::debug!(inbox = %d.inbox, "delivered");
            store::instances::record_success(&mut conn, &domain).await?;
            store::activities::finish(&mut conn, d.id).await?;
        }
        Sent::Rejected(why) => {
            // An answer, even a refusal, shows the instance is alive.
            Metrics::inc(&m.delivery_rejected);
            tracing::warn!(inbox = %d.inbox, reason = %why, "delivery rejected by the receiver; dropped");
            store::instances::record_success(&mut conn, &domain).await?;
            store::activities::finish(&mut conn, d.id).await?;
        }
        Sent::Refused(why) => {
            Metrics::inc(&m.delivery_dropped);
            tracing::warn!(inbox = %d.inbox, reason = %why, "delivery not sent; dropped");
            store::activities::finish(&mut conn, d.id).await?;
        }
        Sent::Retry(why, at_least) => {
            Metrics::inc(&m.delivery_failed);
            let dead_after = state.config.federation.dead_after_secs as i64 * 1000;
            let dead =
                store::instances::record_failure(&mut conn, &domain, &why, dead_after).await?;
            if dead || d.attempts + 1 >= MAX_ATTEMPTS {
                tracing::warn!(inbox = %d.inbox, reason = %why, attempts = d.attempts + 1, dead, "delivery failed too long; dropped");
                store::activities::finish(&mut conn, d.id).await?;
                return Ok(());
            }
            let delay = backoff(state.config.federation.retry_initial_secs, d.attempts)
                .max(at_least.unwrap_or_default());
            tracing::info!(inbox = %d.inbox, reason = %why, retry_in_secs = delay.as_secs(), "delivery failed; will retry");
            let next = store::now_ms() + delay.as_millis() as i64;
            store::activities::retry_later(&mut conn, d.id, next, &why).await?;
        }
    }
    Ok(())
}

/// Retry delay after `attempts` failures: `initial × 4^attempts`, ±20 % jitter, at most a
/// day. With the default 60 s: 1 min, 4 min, 16 min, ~1 h, ~4 h, ~17 h, then daily.
pub fn backoff(initial_secs: u64, attempts: i64) -> Duration {
    let base = initial_secs.max(1) as f64 * 4f64.powi(attempts.clamp(0, 10) as i32);
    let capped = base.min(86_400.0);
    let jitter = rand::thread_rng().gen_range(0.8..1.2);
    Duration::from_secs_f64(capped * jitter)
}

/// Parsed private keys of local actors, by actor id.
#[derive(Default)]
pub struct KeyCache(Mutex<HashMap<String, Arc<RsaPrivateKey>>>);

impl KeyCache {
    async fn get(&self, state: &AppState, signer: &str) -> anyhow::Result<Arc<RsaPrivateKey>> {
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

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_grows_and_is_capped() {
        let d0 = super::backoff(60, 0).as_secs_f64();
        assert!((48.0..=72.0).contains(&d0), "{d0}");
        let d2 = super::backoff(60, 2).as_secs_f64();
        assert!((768.0..=1152.0).contains(&d2), "{d2}");
        let d9 = super::backoff(60, 9).as_secs_f64();
        assert!(d9 <= 86_400.0 * 1.2, "{d9}");
    }
}
