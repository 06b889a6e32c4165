//! Instance-level federation policy: blocked and allow-listed domains, the run-time mode.

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

/// What the store says about federating with `host`: blocked (it or a parent domain),
/// allow-listed (likewise), and the run-time mode if an admin set one. One round trip.
#[derive(Debug, Clone, Default)]
pub struct HostPolicy {
    pub blocked: bool,
    pub allowed: bool,
    pub mode: Option<String>,
}

pub async fn host_policy(conn: &mut AnyConnection, host: &str) -> Result<HostPolicy, sqlx::Error> {
    let candidates = parent_domains(host);
    let n = candidates.len();
    let list = |from: usize| {
        (from..from + n)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let sql = format!(
        "SELECT (SELECT COUNT(*) FROM instance_blocks WHERE domain IN ({})) AS blocked, \
         (SELECT COUNT(*) FROM instance_allows WHERE domain IN ({})) AS allowed, \
         (SELECT value FROM federation_settings WHERE key = 'mode') AS mode",
        list(1),
        list(n + 1)
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for c in candidates.iter().chain(candidates.iter()) {
        q = q.bind(*c);
    }
    let row = q.fetch_one(conn).await?;
    Ok(HostPolicy {
        blocked: row.try_get::<i64, _>("blocked")? > 0,
        allowed: row.try_get::<i64, _>("allowed")? > 0,
        mode: row.try_get("mode")?,
    })
}

/// Puts a domain on the allow list (idempotent; a new reason replaces the old).
pub async fn allow(
    conn: &mut AnyConnection,
    domain: &str,
    reason: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO instance_allows (domain, reason, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (domain) DO UPDATE SET reason = excluded.reason",
    )
    .bind(domain)
    .bind(reason)
    .bind(super::now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes a domain off the allow list; false if it was not on it.
pub async fn disallow(conn: &mut AnyConnection, domain: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM instance_allows WHERE domain = $1")
        .bind(domain)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Every allow-listed domain with its reason, by domain.
pub async fn allows(
    conn: &mut AnyConnection,
) -> Result<Vec<(String, Option<String>)>, sqlx::Error> {
    let rows = sqlx::query("SELECT domain, reason FROM instance_allows ORDER BY domain")
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("domain")?, r.try_get("reason")?)))
        .collect()
}

/// The federation mode an admin set at run time, if any.
pub async fn mode(conn: &mut AnyConnection) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT value FROM federation_settings WHERE key = 'mode'")
        .fetch_optional(conn)
        .await
}

/// Sets the federation mode (`open` or `allowlist`) for every process at once.
pub async fn set_mode(conn: &mut AnyConnection, mode: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO federation_settings (key, value) VALUES ('mode', $1) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(mode)
    .execute(conn)
    .await?;
    Ok(())
}

/// What federating with `domain` (and its subdomains) has brought here: remote people, the
/// follows of our communities they hold, their posts and replies. Shown before a block or
/// an allow-list change takes effect; none of it is deleted.
pub async fn footprint(
    conn: &mut AnyConnection,
    domain: &str,
) -> Result<(i64, i64, i64), sqlx::Error> {
    let patterns = [
        format!("%://{domain}/%"),
        format!("%://{domain}:%"),
        format!("%.{domain}/%"),
        format!("%.{domain}:%"),
    ];
    let people = "SELECT id FROM people WHERE local = 0 AND (ap_id LIKE $1 OR ap_id LIKE $2 \
                  OR ap_id LIKE $3 OR ap_id LIKE $4)";
    let count = |sql: String| {
        let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql));
        for p in &patterns {
            q = q.bind(p.clone());
        }
        q
    };
    let n_people = count(format!("SELECT COUNT(*) FROM ({people}) x"))
        .fetch_one(&mut *conn)
        .await?;
    let n_follows = count(format!(
        "SELECT COUNT(*) FROM community_followers WHERE person_id IN ({people})"
    ))
    .fetch_one(&mut *conn)
    .await?;
    let n_posts = count(format!(
        "SELECT COUNT(*) FROM posts WHERE author_id IN ({people})"
    ))
    .fetch_one(&mut *conn)
    .await?;
    Ok((n_people, n_follows, n_posts))
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

/// What a remote instance runs, as its NodeInfo said when last asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Software {
    pub name: String,
    pub version: String,
    pub fetched_at: i64,
}

/// The software last seen at `domain` (`host[:port]`), if asked before.
pub async fn software(
    conn: &mut AnyConnection,
    domain: &str,
) -> Result<Option<Software>, sqlx::Error> {
    let row =
        sqlx::query("SELECT name, version, fetched_at FROM instance_software WHERE domain = $1")
            .bind(domain)
            .fetch_optional(conn)
            .await?;
    row.map(|r| {
        Ok(Software {
            name: r.try_get("name")?,
            version: r.try_get("version")?,
            fetched_at: r.try_get("fetched_at")?,
        })
    })
    .transpose()
}

/// Records what `domain` runs.
pub async fn set_software(
    conn: &mut AnyConnection,
    domain: &str,
    name: &str,
    version: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO instance_software (domain, name, version, fetched_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (domain) DO UPDATE SET name = excluded.name, version = excluded.version, \
         fetched_at = excluded.fetched_at",
    )
    .bind(domain)
    .bind(name)
    .bind(version)
    .bind(super::now_ms())
    .execute(conn)
    .await?;
    Ok(())
}
