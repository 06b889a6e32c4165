//! What the inbox refused, kept for the admins (issue 12 §4): the admin page, the admin API
//! and `guildhall admin federation refused` read it, so a broken peer or an attack shows
//! without reading logs.
//!
//! Only refusals pay: the inbox calls [`record`] in its error arm, which re-reads the body
//! for `type`, `actor` and `id`. Writes are gated in memory ([`RefusalGate`]): at most one
//! row per instance and reason a second and `WRITES_PER_SECOND` in all, so a flood of
//! refusals is a few writes, not a write flood; the table itself is bounded by
//! `store::refused`. 5xx answers are ours (busy, internal) and are not recorded: they are in
//! the logs and metrics, and writing more while the store is overloaded would not help.

use crate::{
    error::{AppError, AppResult},
    state::AppState,
    store::{
        self,
        refused::{NewRefusal, RefusedActivity},
    },
};
use std::{
    collections::HashSet,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Rows written per second at most, whatever the number of instances and reasons.
pub const WRITES_PER_SECOND: usize = 20;

/// The in-memory gate in front of the table. Its set holds at most `WRITES_PER_SECOND`
/// entries and is emptied every second.
#[derive(Debug)]
pub struct RefusalGate(Mutex<Window>);

#[derive(Debug)]
struct Window {
    started: Instant,
    seen: HashSet<(String, &'static str)>,
}

impl Default for RefusalGate {
    fn default() -> Self {
        RefusalGate(Mutex::new(Window {
            started: Instant::now(),
            seen: HashSet::new(),
        }))
    }
}

impl RefusalGate {
    fn with_window<T>(&self, f: impl FnOnce(&mut Window) -> T) -> T {
        let mut w = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if w.started.elapsed() >= Duration::from_secs(1) {
            w.started = Instant::now();
            w.seen.clear();
        }
        f(&mut w)
    }

    /// Whether this second's writes are used up (checked before the body is read again).
    fn full(&self) -> bool {
        self.with_window(|w| w.seen.len() >= WRITES_PER_SECOND)
    }

    /// Whether a refusal from `domain` for `code` may be written now.
    pub fn admit(&self, domain: &str, code: &'static str) -> bool {
        self.with_window(|w| {
            w.seen.len() < WRITES_PER_SECOND && w.seen.insert((domain.to_string(), code))
        })
    }
}

/// What the refused activity said about itself, read leniently (it may not be JSON).
#[derive(serde::Deserialize, Default)]
struct Claimed {
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default, rename = "type")]
    kind: Option<serde_json::Value>,
    #[serde(default)]
    actor: Option<serde_json::Value>,
}

/// A string, or the `id` of an object, or the first of an array; clipped, control
/// characters (NUL included, which PostgreSQL refuses) and hidden ones dropped.
fn text_of(v: Option<&serde_json::Value>, max: usize) -> Option<String> {
    let s = match v? {
        serde_json::Value::String(s) => s.as_str(),
        serde_json::Value::Object(o) => o.get("id")?.as_str()?,
        serde_json::Value::Array(a) => return text_of(a.first(), max),
        _ => return None,
    };
    // Hidden and reordering characters too (bidi overrides, zero-width): shown to admins.
    let clean = super::validate::safe_name(s, max);
    (!clean.is_empty()).then_some(clean)
}

/// The instance an activity names: its actor's host, else its id's.
fn domain_of(actor: Option<&str>, id: Option<&str>) -> String {
    [actor, id]
        .into_iter()
        .flatten()
        .find_map(|u| url::Url::parse(u).ok().filter(|u| u.host_str().is_some()))
        .map(|u| store::instances::domain_of(&u).to_ascii_lowercase())
        .unwrap_or_else(|| "(unknown)".to_string())
}

/// Records that the inbox refused `body` with `e`, if the gate lets it through; the write
/// runs on its own task, so the refusal is answered without waiting for it.
pub fn record(state: &AppState, body: &[u8], e: &AppError) {
    if e.status().is_server_error() || state.refused.full() {
        return;
    }
    let claimed: Claimed = serde_json::from_slice(body).unwrap_or_default();
    let actor = text_of(claimed.actor.as_ref(), 500);
    let id = text_of(claimed.id.as_ref(), 500);
    let kind = text_of(claimed.kind.as_ref(), 64);
    let domain = domain_of(actor.as_deref(), id.as_deref());
    let code = e.code();
    if !state.refused.admit(&domain, code) {
        return;
    }
    // The message may quote the sender's text (serde's "unknown variant `…`"): no control
    // characters (terminal escapes for the CLI), bidi overrides or invisible ones.
    let reason = super::validate::safe_name(&e.to_string(), 500);
    let status = i64::from(e.status().as_u16());
    let state = state.clone();
    tokio::spawn(async move {
        let row = NewRefusal {
            domain: &domain,
            kind: kind.as_deref(),
            actor: actor.as_deref(),
            activity_id: id.as_deref(),
            status,
            code,
            reason: &reason,
        };
        let written = async {
            let mut tx = state.db.begin().await?;
            store::refused::insert(&mut tx, &row).await?;
            tx.commit().await
        }
        .await;
        if let Err(err) = written {
            tracing::warn!(error = %err, %domain, "could not record a refused activity");
        }
    });
}

/// The newest refusals (of `domain`, if given), newest first, at most `limit`.
pub async fn recent(
    state: &AppState,
    domain: Option<&str>,
    limit: i64,
) -> AppResult<Vec<RefusedActivity>> {
    // As the admin typed it: `host`, `host:port` or a URL.
    let domain = domain.map(|d| {
        let d = d.trim().trim_end_matches('/').to_ascii_lowercase();
        match url::Url::parse(&d) {
            Ok(u) if u.host_str().is_some() => store::instances::domain_of(&u),
            _ => d,
        }
    });
    let mut conn = state.db.pool.acquire().await?;
    Ok(store::refused::recent(&mut conn, domain.as_deref(), limit).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_lets_one_row_per_instance_and_reason_and_a_few_in_all() {
        let gate = RefusalGate::default();
        assert!(gate.admit("a.example", "unauthorized"));
        assert!(!gate.admit("a.example", "unauthorized"), "same second");
        assert!(gate.admit("a.example", "blocked_instance"));
        for n in 0..100 {
            gate.admit(&format!("h{n}.example"), "unauthorized");
        }
        assert!(gate.full());
        assert!(!gate.admit("b.example", "unauthorized"));
    }

    #[test]
    fn what_an_activity_claims_is_read_leniently() {
        let actor = serde_json::json!({ "id": "https://Peer.Example:8443/u/x\u{0}" });
        assert_eq!(
            text_of(Some(&actor), 500).as_deref(),
            Some("https://Peer.Example:8443/u/x")
        );
        let types = serde_json::json!(["Create", "Note"]);
        assert_eq!(text_of(Some(&types), 64).as_deref(), Some("Create"));
        // A terminal escape (for the CLI) and a right-to-left override (for the page).
        let hostile = serde_json::json!("Cre\u{1b}[31mate\u{202E}txeN");
        assert_eq!(
            text_of(Some(&hostile), 64).as_deref(),
            Some("Cre[31matetxeN")
        );
        assert_eq!(
            domain_of(Some("https://Peer.Example:8443/u/x"), None),
            "peer.example:8443"
        );
        assert_eq!(
            domain_of(Some("not a url"), Some("https://b.example/1")),
            "b.example"
        );
        assert_eq!(domain_of(None, None), "(unknown)");
    }
}
