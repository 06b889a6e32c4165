//! Per-client rate limits (token buckets in memory, per process): inbox POSTs, and the
//! login/registration endpoints. A refused inbox request costs much more than an accepted
//! one, so a peer flooding us with bad activities is slowed long before a busy honest peer.
//! Only real connections are limited (in-process test requests carry no address).

use crate::{error::AppError, state::AppState};
use axum::{
    extract::{ConnectInfo, Request, State},
    http::{HeaderValue, Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::Mutex,
    time::{Duration, Instant},
};

/// Buckets kept before idle ones are dropped.
const MAX_TRACKED: usize = 100_000;

/// A token bucket per client address.
#[derive(Debug)]
pub struct Limiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl Limiter {
    pub fn new(per_second: f64, burst: f64) -> Limiter {
        Limiter {
            per_second,
            burst,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes `cost` tokens; when there are not enough, how long until there will be.
    pub fn take(&self, ip: IpAddr, cost: f64) -> Result<(), Duration> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_TRACKED {
            let (rate, burst) = (self.per_second, self.burst);
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
            });
        }
        let (tokens, at) = buckets.entry(ip).or_insert((self.burst, now));
        *tokens =
            (*tokens + now.duration_since(*at).as_secs_f64() * self.per_second).min(self.burst);
        *at = now;
        if *tokens >= cost {
            *tokens -= cost;
            Ok(())
        } else {
            let missing = cost - *tokens;
            Err(Duration::from_secs_f64(
                (missing / self.per_second).max(1.0),
            ))
        }
    }

    /// Takes `cost` more tokens after the fact (the balance may go below zero).
    pub fn charge(&self, ip: IpAddr, cost: f64) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((tokens, _)) = buckets.get_mut(&ip) {
            *tokens = (*tokens - cost).max(-self.burst);
        }
    }
}

/// The limiters of one process.
#[derive(Debug)]
pub struct Limits {
    pub inbox: Limiter,
    pub auth: Limiter,
    /// Extra cost of an inbox request that was refused.
    pub refused_cost: f64,
    pub trust_forwarded_for: bool,
}

impl Limits {
    pub fn from_config(c: &crate::config::LimitsConfig) -> Limits {
        Limits {
            inbox: Limiter::new(c.inbox_per_second, c.inbox_burst),
            auth: Limiter::new(c.auth_per_minute / 60.0, c.auth_per_minute),
            refused_cost: c.inbox_refused_cost,
            trust_forwarded_for: c.trust_forwarded_for,
        }
    }
}

fn client_ip(req: &Request, trust_forwarded_for: bool) -> Option<IpAddr> {
    if trust_forwarded_for
        && let Some(ip) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse().ok())
    {
        return Some(ip);
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

fn too_many(retry: Duration) -> Response {
    let mut res = AppError::RateLimited.into_response();
    if let Ok(v) = HeaderValue::from_str(&retry.as_secs().max(1).to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// The middleware.
pub async fn limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limits = &state.limits;
    let Some(ip) = client_ip(&req, limits.trust_forwarded_for) else {
        return next.run(req).await;
    };
    let path = req.uri().path();
    let is_post = req.method() == Method::POST;
    let is_inbox = is_post && (path == "/inbox" || path.ends_with("/inbox"));
    let is_auth = is_post
        && matches!(
            path,
            "/api/v1/sessions" | "/api/v1/accounts" | "/login" | "/register"
        );
    if is_inbox {
        if let Err(retry) = limits.inbox.take(ip, 1.0) {
            return too_many(retry);
        }
        let res = next.run(req).await;
        if res.status().is_client_error() {
            limits.inbox.charge(ip, limits.refused_cost);
        }
        return res;
    }
    if is_auth && let Err(retry) = limits.auth.take(ip, 1.0) {
        return too_many(retry);
    }
    next.run(req).await
}

/// Concurrent reads (GET and HEAD) allowed to use the database at once: all its connections
/// but a quarter (at least one) kept for writes, so a crowd of readers never leaves the
/// inbox, the delivery engine or a form waiting for a connection. Readers over the limit
/// wait their turn here, in order, instead of in the pool.
pub fn read_slots(max_connections: u32) -> tokio::sync::Semaphore {
    let n = max_connections as usize;
    tokio::sync::Semaphore::new(n.saturating_sub((n / 4).max(1)).max(1))
}

/// Middleware: a read takes a read slot for as long as it runs.
pub async fn reads(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let read = matches!(*req.method(), Method::GET | Method::HEAD);
    if !read || req.uri().path() == "/healthz" {
        return next.run(req).await;
    }
    let Ok(_slot) = state.read_slots.acquire().await else {
        return next.run(req).await;
    };
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refills_and_refuses() {
        let l = Limiter::new(10.0, 3.0);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(l.take(ip, 1.0).is_ok());
        assert!(l.take(ip, 1.0).is_ok());
        assert!(l.take(ip, 1.0).is_ok());
        let wait = l.take(ip, 1.0).unwrap_err();
        assert!(wait >= Duration::from_secs(1));
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(l.take(other, 1.0).is_ok(), "buckets are per address");
        l.charge(other, 10.0);
        assert!(l.take(other, 1.0).is_err(), "a refused request costs more");
    }
}
