//! One instance's lane: its deliveries start in queue order, up to `delivery_per_instance`
//! at once, and two with the same ordering key are never in flight together. A delivery
//! whose key is busy waits in that key's line without holding up the others (no
//! head-of-line blocking: a post's two announces to a slow instance do not stall every
//! other post behind them).

use super::{Engine, Job, lock};
use std::{
    collections::{HashMap, VecDeque},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};
use tokio::sync::{Semaphore, mpsc};

/// How long an idle lane lives.
const IDLE: Duration = Duration::from_secs(30);

impl Engine {
    pub(super) async fn lane(
        self: Arc<Self>,
        domain: String,
        mut rx: mpsc::UnboundedReceiver<Job>,
        depth: Arc<AtomicUsize>,
    ) {
        let in_flight = Arc::new(Semaphore::new(
            self.state.config.federation.delivery_per_instance,
        ));
        let (landed_tx, mut landed_rx) = mpsc::unbounded_channel::<Arc<str>>();
        // Jobs free to start, in order; per key, the jobs waiting behind the one that is
        // ready or in flight; per key, how many jobs the lane holds (ready, in flight or
        // waiting). Invariant: at most one job per key is ready or in flight.
        let mut ready: VecDeque<Job> = VecDeque::new();
        let mut waiting: HashMap<Arc<str>, VecDeque<Job>> = HashMap::new();
        let mut held: HashMap<Arc<str>, usize> = HashMap::new();
        let mut open = true;
        loop {
            // Start what the lane's limit allows.
            while !ready.is_empty() {
                let Ok(lane_permit) = in_flight.clone().try_acquire_owned() else {
                    break;
                };
                let Ok(permit) = self.global.clone().acquire_owned().await else {
                    return;
                };
                let Some(job) = ready.pop_front() else { break };
                depth.fetch_sub(1, Ordering::AcqRel);
                let (engine, landed) = (self.clone(), landed_tx.clone());
                tokio::spawn(async move {
                    let sent = engine.send(&job.d, &job.body).await;
                    drop((lane_permit, permit));
                    let _ = landed.send(job.key.clone());
                    engine.done(job.d, sent);
                });
            }
            if !open && held.is_empty() {
                return;
            }
            tokio::select! {
                biased;
                Some(key) = landed_rx.recv() => {
                    let left = held.get_mut(&key).map(|n| { *n -= 1; *n }).unwrap_or(0);
                    if left == 0 {
                        held.remove(&key);
                    }
                    if let Some(line) = waiting.get_mut(&key) {
                        if let Some(next) = line.pop_front() {
                            ready.push_back(next);
                        }
                        if line.is_empty() {
                            waiting.remove(&key);
                        }
                    }
                }
                got = tokio::time::timeout(IDLE, rx.recv()), if open => match got {
                    Ok(Some(job)) => {
                        let n = held.entry(job.key.clone()).or_insert(0);
                        *n += 1;
                        if *n == 1 {
                            ready.push_back(job);
                        } else {
                            waiting.entry(job.key.clone()).or_default().push_back(job);
                        }
                    }
                    Ok(None) => open = false,
                    Err(_) if held.is_empty() => {
                        // Idle: close the lane unless something arrived meanwhile.
                        let mut lanes = lock(&self.lanes);
                        if rx.is_empty() {
                            lanes.remove(&domain);
                            open = false;
                        }
                    }
                    Err(_) => {}
                },
            }
        }
    }
}
