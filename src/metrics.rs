//! Operator metrics: counters kept in memory per process, gauges read from the store, served
//! at `/metrics` in the Prometheus text format.

use crate::{state::AppState, store};
use axum::{
    Router,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
    routing::get,
};
use std::{
    fmt::Write,
    sync::atomic::{AtomicU64, Ordering},
};

/// Counters of one process.
#[derive(Debug, Default)]
pub struct Metrics {
    pub delivered: AtomicU64,
    pub delivery_rejected: AtomicU64,
    pub delivery_failed: AtomicU64,
    pub delivery_dropped: AtomicU64,
    pub inbox_accepted: AtomicU64,
    pub inbox_ignored: AtomicU64,
    pub inbox_refused: AtomicU64,
    pub inbox_queued: AtomicU64,
}

impl Metrics {
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(State(state): State<AppState>) -> Result<Response, crate::error::AppError> {
    let mut conn = state.db.pool.acquire().await?;
    let depth = store::deliveries::pending_count(&mut conn).await?;
    let inbound = store::inbound::pending_count(&mut conn).await?;
    let health = store::instances::health(&mut conn).await?;
    let dead = health.iter().filter(|h| h.dead).count();
    let failing = health.iter().filter(|h| h.failures > 0).count();
    let m = &state.metrics;
    let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP guildhall_delivery_queue_depth Deliveries waiting to be sent."
    );
    let _ = writeln!(out, "# TYPE guildhall_delivery_queue_depth gauge");
    let _ = writeln!(out, "guildhall_delivery_queue_depth {depth}");
    let _ = writeln!(
        out,
        "# HELP guildhall_inbox_queue_depth Inbound activities stored and not yet processed."
    );
    let _ = writeln!(out, "# TYPE guildhall_inbox_queue_depth gauge");
    let _ = writeln!(out, "guildhall_inbox_queue_depth {inbound}");
    let _ = writeln!(
        out,
        "# HELP guildhall_instances Remote instances by delivery state."
    );
    let _ = writeln!(out, "# TYPE guildhall_instances gauge");
    let _ = writeln!(out, "guildhall_instances{{state=\"dead\"}} {dead}");
    let _ = writeln!(out, "guildhall_instances{{state=\"failing\"}} {failing}");
    let _ = writeln!(
        out,
        "guildhall_instances{{state=\"known\"}} {}",
        health.len()
    );
    let _ = writeln!(
        out,
        "# HELP guildhall_deliveries_total Delivery attempts of this process by result."
    );
    let _ = writeln!(out, "# TYPE guildhall_deliveries_total counter");
    for (result, c) in [
        ("delivered", &m.delivered),
        ("rejected", &m.delivery_rejected),
        ("failed", &m.delivery_failed),
        ("dropped", &m.delivery_dropped),
    ] {
        let _ = writeln!(
            out,
            "guildhall_deliveries_total{{result=\"{result}\"}} {}",
            get(c)
        );
    }
    let _ = writeln!(
        out,
        "# HELP guildhall_inbox_activities_total Inbound activities of this process by result."
    );
    let _ = writeln!(out, "# TYPE guildhall_inbox_activities_total counter");
    for (result, c) in [
        ("accepted", &m.inbox_accepted),
        ("ignored", &m.inbox_ignored),
        ("refused", &m.inbox_refused),
        ("queued", &m.inbox_queued),
    ] {
        let _ = writeln!(
            out,
            "guildhall_inbox_activities_total{{result=\"{result}\"}} {}",
            get(c)
        );
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response())
}
