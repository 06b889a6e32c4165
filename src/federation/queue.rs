//! The inbound queue (decision 0006). An activity whose signature checked out is stored in
//! `inbox_queue` before we answer, then processed; the inbox request waits for the outcome
//! up to `federation.inbox_wait_ms` and answers it (so a refused activity still gets its
//! 4xx), or answers 202 `queued` and lets the processing finish on its own.
//!
//! All queue writes of a process go through one committer task, which writes whatever has
//! arrived while the previous commit ran in one transaction: under a flood, many inbox
//! requests share a commit ("group commit"). A processing that fails for a reason that may
//! pass (a peer we fetch from is down, the store is busy) is retried later by the workers
//! (`spawn`), which also take up what a crash left behind once its lease has run out.

use super::activities::{self, ActorRef, Outcome, find_or_fetch_actor};
use crate::{
    error::AppError,
    state::AppState,
    store::{
        self, Db,
        inbound::{Inbound, NewInbound},
    },
};
use activitypub_federation::config::Data;
use serde_json::Value;
use std::{collections::HashSet, sync::Arc, time::Duration};
use tokio::sync::{Semaphore, mpsc, oneshot};

/// Queue writes committed together at most.
const BATCH: usize = 256;
/// Attempts before a queued activity is given up (logged and dropped).
pub const MAX_ATTEMPTS: i64 = 5;
/// Queued activities processed at once by the workers of one process.
const WORKERS: usize = 16;

/// A process's handle on the inbound queue (in `AppState`).
#[derive(Debug)]
pub struct InboundQueue {
    ops: mpsc::Sender<Op>,
    /// How long an inbox request waits for the processing before answering `queued`.
    pub wait: Duration,
    /// How long a row stays with the process that took it before another may take it.
    pub lease_ms: i64,
    retry_initial_ms: i64,
}

#[derive(Debug)]
enum Op {
    Add(NewInbound, oneshot::Sender<Result<Option<i64>, ()>>),
    Finish { id: i64, remember: Option<String> },
    Retry { id: i64, at: i64, error: String },
}

impl InboundQueue {
    /// Starts the committer task over `db`.
    pub fn start(db: Db, config: &crate::config::FederationSettings) -> InboundQueue {
        let (ops, rx) = mpsc::channel(4 * BATCH);
        let lease_ms = (config.inbox_lease_secs * 1000) as i64;
        tokio::spawn(commit_loop(db, lease_ms, rx));
        InboundQueue {
            ops,
            wait: Duration::from_millis(config.inbox_wait_ms),
            lease_ms,
            retry_initial_ms: (config.retry_initial_secs * 1000) as i64,
        }
    }

    /// Stores an activity, durably, leased to this process. `None`: it is already queued
    /// (a replay while the first copy is being processed).
    pub async fn add(&self, row: NewInbound) -> Result<Option<i64>, AppError> {
        let (reply, answer) = oneshot::channel();
        self.ops
            .send(Op::Add(row, reply))
            .await
            .map_err(|_| AppError::Busy)?;
        answer
            .await
            .map_err(|_| AppError::Busy)?
            .map_err(|()| AppError::Busy)
    }

    async fn op(&self, op: Op) {
        // Only fails when the process is stopping; the row's lease then runs out and the
        // activity is processed again (handlers are idempotent).
        let _ = self.ops.send(op).await;
    }

    /// When attempt `attempts` failed, the next one: the first retry after
    /// `federation.retry_initial_secs`, each further one five times later.
    fn next_attempt(&self, attempts: i64) -> i64 {
        let factor = 5i64.saturating_pow(attempts.clamp(1, 8) as u32 - 1);
        store::now_ms() + self.retry_initial_ms.saturating_mul(factor)
    }
}

async fn commit_loop(db: Db, lease_ms: i64, mut rx: mpsc::Receiver<Op>) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let written = write(&db, lease_ms, &batch).await;
        if let Err(e) = &written {
            tracing::warn!(error = %e, ops = batch.len(), "inbound queue: a batch failed");
        }
        // Two copies of one activity in one batch: only the first is processed.
        let mut answered = HashSet::new();
        for op in batch.drain(..) {
            let Op::Add(row, reply) = op else { continue };
            let result = match &written {
                Ok(ids) => Ok(ids
                    .iter()
                    .find(|(ap_id, _)| *ap_id == row.ap_id)
                    .filter(|_| answered.insert(row.ap_id.clone()))
                    .map(|(_, id)| *id)),
                Err(_) => Err(()),
            };
            let _ = reply.send(result);
        }
    }
}

/// One transaction for a batch of queue writes.
async fn write(db: &Db, lease_ms: i64, ops: &[Op]) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let mut adds = Vec::new();
    let (mut done, mut remember) = (Vec::new(), Vec::new());
    for op in ops {
        match op {
            Op::Add(row, _) => adds.push(row.clone()),
            Op::Finish { id, remember: r } => {
                done.push(*id);
                remember.extend(r.clone());
            }
            Op::Retry { .. } => {}
        }
    }
    let mut tx = db.begin().await?;
    let ids = if adds.is_empty() {
        Vec::new()
    } else {
        store::inbound::insert_many(&mut tx, &adds, store::now_ms() + lease_ms).await?
    };
    if !done.is_empty() {
        store::inbound::finish_many(&mut tx, &done, &remember).await?;
    }
    for op in ops {
        if let Op::Retry { id, at, error } = op {
            store::inbound::retry_at(&mut tx, *id, *at, error).await?;
        }
    }
    tx.commit().await?;
    Ok(ids)
}

/// Whether a failed processing may succeed later: a peer could not be reached, the store
/// was busy, something broke on our side. A refusal (4xx) is final.
fn may_pass(e: &AppError) -> bool {
    matches!(
        e,
        AppError::Remote(_) | AppError::Busy | AppError::Internal(_)
    )
}

/// Processes a queued activity and records how it ended. `actor` is the signer the inbox
/// request verified; a worker taking the row up later looks it up again. `Ok(None)`: it
/// failed in a way that may pass and will be tried again.
pub async fn process(
    data: Data<AppState>,
    row: Inbound,
    json: Value,
    actor: Option<ActorRef>,
) -> Result<Option<Outcome>, AppError> {
    let queue = &data.inbound;
    let actor = match actor {
        Some(actor) => Ok(actor),
        None => match url::Url::parse(&row.actor) {
            Ok(url) => find_or_fetch_actor(&url, &data, false).await,
            Err(_) => Err(AppError::bad_request("invalid_activity", "bad actor")),
        },
    };
    let result = match actor {
        Ok(actor) => activities::dispatch(json, actor, &data).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(outcome) => {
            let remember = (outcome == Outcome::Done).then(|| row.ap_id.clone());
            queue
                .op(Op::Finish {
                    id: row.id,
                    remember,
                })
                .await;
            Ok(Some(outcome))
        }
        Err(e) if may_pass(&e) && row.attempts < MAX_ATTEMPTS => {
            let at = queue.next_attempt(row.attempts);
            tracing::info!(id = %row.ap_id, attempts = row.attempts, error = %e,
                "inbound activity failed; will try again");
            let error = e.to_string();
            queue
                .op(Op::Retry {
                    id: row.id,
                    at,
                    error,
                })
                .await;
            Ok(None)
        }
        Err(e) => {
            if may_pass(&e) {
                tracing::warn!(id = %row.ap_id, attempts = row.attempts, error = %e,
                    "inbound activity given up");
            }
            queue
                .op(Op::Finish {
                    id: row.id,
                    remember: None,
                })
                .await;
            Err(e)
        }
    }
}

/// The workers: take up queued activities that are due (put off after a failure) or whose
/// lease ran out (the process that took them stopped), and process them.
pub fn spawn(data: Data<AppState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let permits = Arc::new(Semaphore::new(WORKERS));
        loop {
            let taken = match take(&data).await {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::warn!(error = %e, "inbound queue: cannot take work");
                    Vec::new()
                }
            };
            let full = taken.len() == WORKERS;
            for row in taken {
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    return;
                };
                let data = data.reset_request_count();
                tokio::spawn(async move {
                    run_taken(data, row).await;
                    drop(permit);
                });
            }
            if !full {
                // Polling: rows become due by the clock, not by an event of this process.
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    })
}

async fn take(data: &Data<AppState>) -> Result<Vec<Inbound>, sqlx::Error> {
    {
        let mut conn = data.db.pool.acquire().await?;
        if !store::inbound::has_due(&mut conn).await? {
            return Ok(Vec::new());
        }
    }
    let postgres = data.db.backend == store::Backend::Postgres;
    let mut tx = data.db.begin().await?;
    let rows =
        store::inbound::claim_due(&mut tx, postgres, WORKERS as i64, data.inbound.lease_ms).await?;
    tx.commit().await?;
    Ok(rows)
}

async fn run_taken(data: Data<AppState>, row: Inbound) {
    let (id, ap_id) = (row.id, row.ap_id.clone());
    // A row that keeps coming back without an outcome (its processing never ends).
    if row.attempts > MAX_ATTEMPTS + 1 {
        tracing::warn!(id = %ap_id, "inbound activity given up: no outcome after many attempts");
        data.inbound.op(Op::Finish { id, remember: None }).await;
        return;
    }
    let json: Value = match serde_json::from_str(&row.body) {
        Ok(json) => json,
        Err(_) => {
            data.inbound.op(Op::Finish { id, remember: None }).await;
            return;
        }
    };
    match process(data, row, json, None).await {
        Ok(outcome) => tracing::debug!(id = %ap_id, ?outcome, "queued activity processed"),
        Err(e) => tracing::info!(id = %ap_id, error = %e, "queued activity refused"),
    }
}
