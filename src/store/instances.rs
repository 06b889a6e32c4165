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
