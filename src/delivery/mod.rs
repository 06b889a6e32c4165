//! Delivery engine: claims due rows of the durable `deliveries` queue, sends them with
//! several in flight per instance, and records the results in batches.
//!
//! Order: each instance's deliveries start in queue order, and two activities about the
//! same thing (same ordering key, see `ordering_key`: a Follow and its Undo, a post's
//! Create, Update and Delete, a vote and its Undo) are never in flight together, so they
//! arrive in order; activities about different things go in parallel. A failed attempt is
//! retried later and may then arrive after newer activities (as with every server).
//!
//! ```text
//! dispatcher ──claim (lease)──▶ per-instance lane (FIFO, ≤ delivery_per_instance in flight)
//!                                  └─▶ sender (≤ delivery_concurrency in flight) ─▶ recorder
//! ```
//!
//! Rows are written in the same transaction as the change they announce (or expanded from a
//! fan-out request, see `store::deliveries`), and a claim is a lease, so a restart or a crash
//! loses nothing: a delivery cut off mid-flight, or whose result was not yet written, is sent
//! again after its lease (at most one duplicate; receivers deduplicate by activity id). On
//! PostgreSQL several processes share the queue (`FOR UPDATE SKIP LOCKED` claims).

mod lane;
mod policy;
mod record;
mod sender;

pub use policy::KeyCache;
pub use sender::backoff;

use crate::{
    state::AppState,
    store::{self, deliveries::Delivery},
};
use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};
use tokio::sync::{Notify, Semaphore, mpsc};

/// How long a claimed delivery stays invisible to other workers.
const LEASE_MS: i64 = 120_000;
/// A lease with less than this left is renewed before sending.
const RENEW_BELOW_MS: i64 = 30_000;
/// Attempts after which a delivery is dropped (about two weeks at the default schedule).
const MAX_ATTEMPTS: i64 = 14;
/// A lane holding this many deliveries (times its in-flight limit) takes no more for now:
/// the rest are put off briefly, so one slow instance cannot fill the engine.
const LANE_DEPTH_FACTOR: usize = 32;
/// How long deliveries turned away by a full lane wait before being claimed again.
const PUT_OFF_MS: i64 = 1_000;

/// Starts the delivery engine of this process.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    let engine = Engine::new(state);
    tokio::spawn(async move { engine.run().await })
}

/// One process's delivery engine.
pub struct Engine {
    state: AppState,
    keys: KeyCache,
    policy: policy::Policy,
    /// Per-instance lanes by `host[:port]`.
    lanes: Mutex<HashMap<String, Lane>>,
    /// Sends in flight, all instances together.
    global: Arc<Semaphore>,
    /// Claimed deliveries not yet recorded, and a signal when that number drops.
    held: AtomicUsize,
    room: Notify,
    results: mpsc::UnboundedSender<record::Done>,
}

/// A claimed delivery with its activity's JSON.
struct Job {
    d: Delivery,
    body: Arc<str>,
    key: Arc<str>,
}

struct Lane {
    queue: mpsc::UnboundedSender<Job>,
    depth: Arc<AtomicUsize>,
    /// While set, this instance's deliveries are put off (its lane was full), so that the
    /// put-off ones, claimed again later, keep their place before newer ones.
    put_off_until: Option<std::time::Instant>,
}

impl Engine {
    fn new(state: AppState) -> Arc<Engine> {
        let (tx, rx) = mpsc::unbounded_channel();
        let engine = Arc::new(Engine {
            global: Arc::new(Semaphore::new(state.config.federation.delivery_concurrency)),
            keys: KeyCache::default(),
            policy: policy::Policy::default(),
            lanes: Mutex::new(HashMap::new()),
            held: AtomicUsize::new(0),
            room: Notify::new(),
            results: tx,
            state,
        });
        tokio::spawn(record::run(engine.clone(), rx));
        engine
    }

    /// The most claimed-but-unrecorded deliveries this process holds.
    fn capacity(&self) -> usize {
        // Enough to keep every send slot busy while results are recorded, and no more: what
        // one process holds, the others sharing the queue (PostgreSQL) cannot send.
        (self.state.config.federation.delivery_concurrency * 8).max(64)
    }

    async fn run(self: Arc<Self>) {
        loop {
            match self.step().await {
                Ok(true) => {}
                Ok(false) => {
                    // Nothing due: sleep until woken by new work, or look again in a second.
                    let _ = tokio::time::timeout(
                        Duration::from_secs(1),
                        self.state.delivery_wakeup.notified(),
                    )
                    .await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "delivery engine: database error; retrying shortly");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
        }
    }

    /// Expands fan-outs and claims a batch; false when there was nothing to do.
    async fn step(self: &Arc<Self>) -> anyhow::Result<bool> {
        let postgres = self.state.db.backend == store::Backend::Postgres;
        // A read first: the write transaction takes SQLite's writer turn, which every claim
        // would otherwise pay even with no fan-out waiting.
        let waiting = {
            let mut conn = self.state.db.pool.acquire().await?;
            store::deliveries::has_fanouts(&mut conn).await?
        };
        let expanded = if !waiting {
            0
        } else {
            let mut tx = self.state.db.begin().await?;
            let n = store::deliveries::expand_fanouts(&mut tx, postgres, 16).await?;
            if n > 0 {
                tx.commit().await?;
            }
            n
        };
        let room = self
            .capacity()
            .saturating_sub(self.held.load(Ordering::Acquire));
        if room == 0 {
            // Full: wait for results to be recorded.
            let _ = tokio::time::timeout(Duration::from_millis(500), self.room.notified()).await;
            return Ok(true);
        }
        let batch = {
            let mut tx = self.state.db.begin().await?;
            let batch =
                store::deliveries::claim_due(&mut tx, postgres, room.min(512) as i64, LEASE_MS)
                    .await?;
            tx.commit().await?;
            batch
        };
        if batch.is_empty() {
            return Ok(expanded > 0);
        }
        // (Should either read fail, the rows come back after their lease.)
        self.policy.reload(&self.state).await?;
        let bodies = self.bodies(&batch).await?;
        self.held.fetch_add(batch.len(), Ordering::AcqRel);
        for d in batch {
            match bodies.get(&d.activity_id).cloned() {
                Some((body, key)) => self.route(Job { d, body, key }),
                // The activity is gone (its community was deleted): nothing to send.
                None => self.done(
                    d,
                    sender::Sent::Refused("the activity no longer exists".into()),
                ),
            }
        }
        Ok(true)
    }

    /// The JSON of the batch's activities, each read once however many inboxes it goes to.
    async fn bodies(
        &self,
        batch: &[Delivery],
    ) -> anyhow::Result<HashMap<i64, (Arc<str>, Arc<str>)>> {
        let mut ids: Vec<i64> = batch.iter().map(|d| d.activity_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut conn = self.state.db.pool.acquire().await?;
        let rows = store::deliveries::activity_bodies(&mut conn, &ids).await?;
        Ok(rows
            .into_iter()
            .map(|(id, json, key)| (id, (Arc::from(json), Arc::from(key))))
            .collect())
    }

    /// Puts a claimed delivery in its instance's lane (in claim order).
    fn route(self: &Arc<Self>, job: Job) {
        let domain = match url::Url::parse(&job.d.inbox) {
            Ok(u) => store::instances::domain_of(&u),
            Err(_) => {
                self.done(job.d, sender::Sent::Refused("inbox is not a URL".into()));
                return;
            }
        };
        let per_lane = self.state.config.federation.delivery_per_instance;
        let mut lanes = self.lanes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(lane) = lanes.get_mut(&domain) {
            let now = std::time::Instant::now();
            let full = lane.depth.load(Ordering::Acquire) >= per_lane * LANE_DEPTH_FACTOR;
            if full || lane.put_off_until.is_some_and(|t| t > now) {
                if full {
                    lane.put_off_until = Some(now + Duration::from_millis(PUT_OFF_MS as u64));
                }
                drop(lanes);
                self.done(job.d, sender::Sent::PutOff);
                return;
            }
            lane.depth.fetch_add(1, Ordering::AcqRel);
            match lane.queue.send(job) {
                Ok(()) => return,
                Err(back) => {
                    // The lane just closed: open a new one.
                    lanes.remove(&domain);
                    drop(lanes);
                    self.route(back.0);
                    return;
                }
            }
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let depth = Arc::new(AtomicUsize::new(1));
        let _ = tx.send(job);
        lanes.insert(
            domain.clone(),
            Lane {
                queue: tx,
                depth: depth.clone(),
                put_off_until: None,
            },
        );
        drop(lanes);
        tokio::spawn(self.clone().lane(domain, rx, depth));
    }

    /// Renews the lease if it is running out, then sends.
    async fn send(&self, d: &Delivery, body: &Arc<str>) -> sender::Sent {
        if d.locked_until - store::now_ms() < RENEW_BELOW_MS {
            let renewed = match self.state.db.write_conn().await {
                Ok(mut conn) => {
                    store::deliveries::renew_lease(&mut conn, d, store::now_ms() + LEASE_MS).await
                }
                Err(e) => Err(e),
            };
            match renewed {
                Ok(true) => {}
                Ok(false) => return sender::Sent::NotOurs,
                Err(e) => return sender::Sent::Retry(format!("database: {e}"), None),
            }
        }
        sender::deliver(&self.state, &self.keys, &self.policy, d, body).await
    }

    fn done(&self, d: Delivery, sent: sender::Sent) {
        if self.results.send(record::Done { d, sent }).is_err() {
            tracing::error!(
                "delivery recorder stopped; results are lost until restart (the rows come back after their lease)"
            );
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Nothing here can be left half-changed by a panic.
    m.lock().unwrap_or_else(|e| e.into_inner())
}
