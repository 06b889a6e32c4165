//! Instance-level federation policy: blocked domains.

use super::now_ms;
use sqlx::{AnyConnection, Row};

/// Blocks a domain (idempotent; a new reason replaces the old).
pub async fn block(
    conn: &mut AnyConnection,
    domain: &str,
    reason: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO instance_blocks (domain, reason, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (domain) DO UPDATE SET reason = excluded.reason",
    )
    .bind(domain)
    .bind(reason)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Lifts a block; false if the domain was not blocked.
pub async fn unblock(conn: &mut AnyConnection, domain: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM instance_blocks WHERE domain = $1")
        .bind(domain)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Every blocked domain with its reason, by domain.
pub async fn blocks(
    conn: &mut AnyConnection,
) -> Result<Vec<(String, Option<String>)>, sqlx::Error> {
    let rows = sqlx::query("SELECT domain, reason FROM instance_blocks ORDER BY domain")
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("domain")?, r.try_get("reason")?)))
        .collect()
}

/// Whether `host` or one of its parent domains is blocked in the store.
pub async fn is_blocked(conn: &mut AnyConnection, host: &str) -> Result<bool, sqlx::Error> {
    let candidates = parent_domains(host);
    for c in candidates {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM instance_blocks WHERE domain = $1")
            .bind(c)
            .fetch_one(&mut *conn)
            .await?;
        if n > 0 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `a.b.example` → `a.b.example`, `b.example`, `example`.
pub fn parent_domains(host: &str) -> Vec<&str> {
    let host = host.trim_end_matches('.');
    let mut out = vec![host];
    let mut rest = host;
    while let Some((_, parent)) = rest.split_once('.') {
        out.push(parent);
        rest = parent;
    }
    out
}

/// Delivery health of one remote instance.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InstanceHealth {
    pub domain: String,
    pub last_success: Option<i64>,
    pub first_failure: Option<i64>,
    pub failures: i64,
    pub last_error: Option<String>,
    pub dead: bool,
}

/// A delivery to `domain` worked (or was answered at all): the streak ends, it lives.
pub async fn record_success(conn: &mut AnyConnection, domain: &str) -> Result<(), sqlx::Error> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO instance_health (domain, last_success, first_failure, failures, dead, updated_at) \
         VALUES ($1, $2, NULL, 0, 0, $2) ON CONFLICT (domain) DO UPDATE SET \
         last_success = excluded.last_success, first_failure = NULL, failures = 0, dead = 0, \
         last_error = NULL, updated_at = excluded.updated_at",
    )
    .bind(domain)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// A delivery to `domain` failed; marks it dead once the streak is older than
/// `dead_after_ms`. Returns whether it is dead now.
pub async fn record_failure(
    conn: &mut AnyConnection,
    domain: &str,
    error: &str,
    dead_after_ms: i64,
) -> Result<bool, sqlx::Error> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO instance_health (domain, first_failure, failures, last_error, dead, updated_at) \
         VALUES ($1, $2, 1, $3, 0, $2) ON CONFLICT (domain) DO UPDATE SET \
         first_failure = COALESCE(instance_health.first_failure, excluded.first_failure), \
         failures = instance_health.failures + 1, last_error = excluded.last_error, \
         updated_at = excluded.updated_at",
    )
    .bind(domain)
    .bind(now)
    .bind(error)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE instance_health SET dead = 1 WHERE domain = $1 AND first_failure IS NOT NULL \
         AND first_failure <= $2",
    )
    .bind(domain)
    .bind(now - dead_after_ms)
    .execute(&mut *conn)
    .await?;
    is_dead(conn, domain).await
}

/// Whether deliveries to `domain` are skipped.
pub async fn is_dead(conn: &mut AnyConnection, domain: &str) -> Result<bool, sqlx::Error> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM instance_health WHERE domain = $1 AND dead = 1")
            .bind(domain)
            .fetch_one(conn)
            .await?;
    Ok(n > 0)
}

/// Every instance whose deliveries are skipped, and every one with a failure streak
/// (domain, dead).
pub async fn unwell(conn: &mut AnyConnection) -> Result<Vec<(String, bool)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT domain, dead FROM instance_health WHERE dead = 1 OR first_failure IS NOT NULL",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("domain")?, r.try_get::<i64, _>("dead")? != 0)))
        .collect()
}

/// Brings a dead instance back (it contacted us, or an admin asked); true if it was dead.
pub async fn revive(conn: &mut AnyConnection, domain: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE instance_health SET dead = 0, first_failure = NULL, failures = 0, updated_at = $2 \
         WHERE domain = $1 AND dead = 1",
    )
    .bind(domain)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Every instance we delivered to, by domain.
pub async fn health(conn: &mut AnyConnection) -> Result<Vec<InstanceHealth>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT domain, last_success, first_failure, failures, last_error, dead \
         FROM instance_health ORDER BY domain",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(InstanceHealth {
                domain: r.try_get("domain")?,
                last_success: r.try_get("last_success")?,
                first_failure: r.try_get("first_failure")?,
                failures: r.try_get("failures")?,
                last_error: r.try_get("last_error")?,
                dead: r.try_get::<i64, _>("dead")? != 0,
            })
        })
        .collect()
}

/// The `host[:port]` of a URL, as instances are keyed.
pub fn domain_of(url: &url::Url) -> String {
    match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_string(),
    }
}
