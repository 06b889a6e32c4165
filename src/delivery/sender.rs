//! One signed POST of an activity to an inbox, and what its answer means for the queue.

use super::{KeyCache, policy::Policy};
use crate::{
    federation::{client::check_url, signatures},
    state::AppState,
    store::deliveries::Delivery,
};
use http::{HeaderMap, HeaderValue, Method};
use rand::Rng;
use std::{sync::Arc, time::Duration};
use url::Url;

/// Attempts of a delivery answered 401 before it is given up (1 + 3 retries: about 20 min).
pub const UNAUTHORIZED_ATTEMPTS: i64 = 4;

/// What happened to one delivery.
#[derive(Debug)]
pub enum Sent {
    Delivered,
    /// The receiver answered that it will never take it (a 4xx): forget it.
    Rejected(String),
    /// We will not send it (blocked or dead instance, bad inbox, no key): forget it.
    Refused(String),
    /// Try again later, no sooner than the given delay if the receiver asked for one.
    Retry(String, Option<Duration>),
    /// Not tried: its instance's lane is full. Claim it again shortly.
    PutOff,
    /// Not tried: our lease ran out and another worker has it now.
    NotOurs,
}

pub async fn deliver(
    state: &AppState,
    keys: &KeyCache,
    policy: &Policy,
    d: &Delivery,
    body: &Arc<str>,
) -> Sent {
    let url = match Url::parse(&d.inbox) {
        Ok(u) => u,
        Err(_) => return Sent::Refused("inbox is not a URL".into()),
    };
    if let Err(why) = check_url(&url, state.config.federation.allow_private_addresses) {
        return Sent::Refused(why.into());
    }
    match policy.allows(state, &url).await {
        Ok(None) => {}
        Ok(Some(why)) => return Sent::Refused(why.into()),
        Err(e) => return Sent::Retry(format!("cannot read the federation policy: {e}"), None),
    }
    let key = match keys.get(state, &d.signer).await {
        Ok(k) => k,
        Err(e) => return Sent::Refused(format!("no key to sign with: {e}")),
    };
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
        Some(body.as_bytes()),
        &key_id,
        &key,
        std::time::SystemTime::now(),
    ) {
        return Sent::Refused(format!("cannot sign: {e}"));
    }
    let response = state
        .http
        .post(url)
        .headers(headers)
        .body(body.to_string())
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
                // Our signature refused: after a key rotation the peer may still hold our
                // old key (Mastodon and Lemmy cache actors' keys). Tried again a few times
                // with the usual backoff, long enough for its cache to refresh.
                401 if d.attempts + 1 < UNAUTHORIZED_ATTEMPTS => Sent::Retry(text, None),
                400..=499 if status != 408 => Sent::Rejected(text),
                _ => Sent::Retry(text, None),
            }
        }
        Err(e) => Sent::Retry(e.without_url().to_string(), None),
    }
}

/// Retry delay after `attempts` failures: `initial × 4^attempts`, ±20 % jitter, at most a
/// day. With the default 60 s: 1 min, 4 min, 16 min, ~1 h, ~4 h, ~17 h, then daily.
pub fn backoff(initial_secs: u64, attempts: i64) -> Duration {
    let base = initial_secs.max(1) as f64 * 4f64.powi(attempts.clamp(0, 10) as i32);
    let capped = base.min(86_400.0);
    let jitter = rand::thread_rng().gen_range(0.8..1.2);
    Duration::from_secs_f64(capped * jitter)
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
