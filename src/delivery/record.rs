//! The recorder: writes delivery results in batches (one transaction for up to a few hundred
//! results), so the queue's bookkeeping does not take a database write per delivery.
//! A result not yet written when the process dies is not lost: its row comes back after the
//! lease and is sent once more.

use super::{Engine, MAX_ATTEMPTS, PUT_OFF_MS, backoff, sender::Sent};
use crate::{
    metrics::Metrics,
    store::{self, deliveries::Delivery},
};
use std::{
    collections::HashMap,
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};
use tokio::sync::mpsc;
use url::Url;

/// Results written per transaction, at most.
const BATCH: usize = 512;
/// A healthy instance's last success is written down at most this often.
const SUCCESS_EVERY: Duration = Duration::from_secs(60);

/// One delivery's result, to be written.
pub struct Done {
    pub d: Delivery,
    pub sent: Sent,
}

pub async fn run(engine: Arc<Engine>, mut rx: mpsc::UnboundedReceiver<Done>) {
    let mut written_success: HashMap<String, Instant> = HashMap::new();
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        if rx.recv_many(&mut batch, BATCH).await == 0 {
            return;
        }
        let n = batch.len();
        // Retry the write a few times: these rows are leased, not lost, but re-sending them
        // all after the lease would be a burst of duplicates.
        let mut tries = 0;
        loop {
            match write(&engine, &batch, &mut written_success).await {
                Ok(()) => break,
                Err(e) if tries < 5 => {
                    tries += 1;
                    tracing::warn!(error = %e, results = n, "cannot record delivery results; retrying");
                    tokio::time::sleep(Duration::from_millis(200 * tries)).await;
                }
                Err(e) => {
                    tracing::error!(error = %e, results = n, "cannot record delivery results; their rows will be sent again after the lease");
                    break;
                }
            }
        }
        batch.clear();
        engine.held.fetch_sub(n, Ordering::AcqRel);
        engine.room.notify_one();
    }
}

async fn write(
    engine: &Engine,
    batch: &[Done],
    written_success: &mut HashMap<String, Instant>,
) -> anyhow::Result<()> {
    let state = &engine.state;
    let m = &state.metrics;
    let fed = &state.config.federation;
    let domain = |d: &Delivery| {
        Url::parse(&d.inbox)
            .map(|u| store::instances::domain_of(&u))
            .unwrap_or_default()
    };
    // What happened per instance in this batch: alive (any answer), or its last error.
    let mut alive: Vec<String> = Vec::new();
    let mut failed: HashMap<String, String> = HashMap::new();
    for Done { d, sent } in batch {
        match sent {
            Sent::Delivered | Sent::Rejected(_) => alive.push(domain(d)),
            Sent::Retry(why, _) => {
                failed.insert(domain(d), why.clone());
            }
            _ => {}
        }
    }
    alive.sort();
    alive.dedup();
    // Decided before the transaction: the policy may read the store (no nested connection).
    let mut record_alive = Vec::new();
    for domain in alive {
        let due = written_success
            .get(&domain)
            .is_none_or(|t| t.elapsed() > SUCCESS_EVERY);
        if due || failed.contains_key(&domain) || engine.policy.is_failing(state, &domain).await? {
            record_alive.push(domain);
        }
    }
    let mut tx = state.db.begin().await?;
    let mut dead = std::collections::HashSet::new();
    for (domain, why) in &failed {
        if store::instances::record_failure(&mut tx, domain, why, fed.dead_after_secs as i64 * 1000)
            .await?
        {
            dead.insert(domain.clone());
        }
    }
    for domain in &record_alive {
        store::instances::record_success(&mut tx, domain).await?;
    }
    let mut finished = Vec::new();
    for Done { d, sent } in batch {
        match sent {
            Sent::Delivered => {
                Metrics::inc(&m.delivered);
                tracing::debug!(inbox = %d.inbox, "delivered");
                finished.push(d.id);
            }
            Sent::Rejected(why) => {
                Metrics::inc(&m.delivery_rejected);
                tracing::warn!(inbox = %d.inbox, reason = %why, "delivery rejected by the receiver; dropped");
                finished.push(d.id);
            }
            Sent::Refused(why) => {
                Metrics::inc(&m.delivery_dropped);
                tracing::warn!(inbox = %d.inbox, reason = %why, "delivery not sent; dropped");
                finished.push(d.id);
            }
            Sent::Retry(why, at_least) => {
                Metrics::inc(&m.delivery_failed);
                let is_dead = dead.contains(&domain(d));
                if is_dead || d.attempts + 1 >= MAX_ATTEMPTS {
                    tracing::warn!(inbox = %d.inbox, reason = %why, attempts = d.attempts + 1, dead = is_dead, "delivery failed too long; dropped");
                    finished.push(d.id);
                    continue;
                }
                let delay =
                    backoff(fed.retry_initial_secs, d.attempts).max(at_least.unwrap_or_default());
                tracing::info!(inbox = %d.inbox, reason = %why, retry_in_secs = delay.as_secs(), "delivery failed; will retry");
                let next = store::now_ms() + delay.as_millis() as i64;
                store::deliveries::retry_later(&mut tx, d.id, next, why).await?;
            }
            Sent::PutOff => {
                // Keeps its place in the queue (next_attempt_at unchanged); only hidden.
                store::deliveries::put_off(&mut tx, d.id, store::now_ms() + PUT_OFF_MS).await?;
            }
            Sent::NotOurs => {}
        }
    }
    store::deliveries::finish(&mut tx, &finished).await?;
    tx.commit().await?;
    for domain in record_alive {
        written_success.insert(domain, Instant::now());
    }
    Ok(())
}
