//! Activities the inbox refused (`refused_activities`, migration 0022), for the admins. The
//! table is bounded on every insert: the newest `KEEP_PER_INSTANCE` rows of the instance and
//! the newest `KEEP_IN_ALL` rows overall stay, so a peer, or an attacker naming many made-up
//! hosts, cannot grow it.

use super::now_ms;
use sqlx::{AnyConnection, Row};

/// Rows kept per instance.
pub const KEEP_PER_INSTANCE: i64 = 100;
/// Rows kept in all.
pub const KEEP_IN_ALL: i64 = 10_000;

/// One refused activity.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RefusedActivity {
    pub id: i64,
    /// The instance the activity names (`host[:port]` of its actor, else of its id).
    pub domain: String,
    /// Its `type`, if it had one.
    pub kind: Option<String>,
    pub actor: Option<String>,
    pub activity_id: Option<String>,
    /// The HTTP status we answered.
    pub status: i64,
    /// Our error code (`unauthorized`, `blocked_instance`, …).
    pub code: String,
    /// The message we answered.
    pub reason: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
}

/// What to record.
pub struct NewRefusal<'a> {
    pub domain: &'a str,
    pub kind: Option<&'a str>,
    pub actor: Option<&'a str>,
    pub activity_id: Option<&'a str>,
    pub status: i64,
    pub code: &'a str,
    pub reason: &'a str,
}

/// Records a refusal and prunes what falls past the bounds.
pub async fn insert(conn: &mut AnyConnection, r: &NewRefusal<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO refused_activities (domain, kind, actor, activity_id, status, code, reason, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(r.domain)
    .bind(r.kind)
    .bind(r.actor)
    .bind(r.activity_id)
    .bind(r.status)
    .bind(r.code)
    .bind(r.reason)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    // The instance's row past its newest KEEP_PER_INSTANCE, and every older one (the index
    // on (domain, id) finds it).
    sqlx::query(
        "DELETE FROM refused_activities WHERE domain = $1 AND id <= (SELECT id FROM \
         refused_activities WHERE domain = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)",
    )
    .bind(r.domain)
    .bind(KEEP_PER_INSTANCE)
    .execute(&mut *conn)
    .await?;
    // Ids only grow: all but the newest KEEP_IN_ALL are below the newest id minus it.
    sqlx::query(
        "DELETE FROM refused_activities WHERE id <= (SELECT MAX(id) FROM refused_activities) - $1",
    )
    .bind(KEEP_IN_ALL)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The newest refusals, of one instance or of all, newest first.
pub async fn recent(
    conn: &mut AnyConnection,
    domain: Option<&str>,
    limit: i64,
) -> Result<Vec<RefusedActivity>, sqlx::Error> {
    macro_rules! select {
        () => {
            "SELECT id, domain, kind, actor, activity_id, status, code, reason, created_at \
             FROM refused_activities"
        };
    }
    let rows = match domain {
        Some(d) => {
            sqlx::query(concat!(
                select!(),
                " WHERE domain = $1 ORDER BY id DESC LIMIT $2"
            ))
            .bind(d)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?
        }
        None => {
            sqlx::query(concat!(select!(), " ORDER BY id DESC LIMIT $1"))
                .bind(limit)
                .fetch_all(&mut *conn)
                .await?
        }
    };
    rows.iter()
        .map(|r| {
            Ok(RefusedActivity {
                id: r.try_get("id")?,
                domain: r.try_get("domain")?,
                kind: r.try_get("kind")?,
                actor: r.try_get("actor")?,
                activity_id: r.try_get("activity_id")?,
                status: r.try_get("status")?,
                code: r.try_get("code")?,
                reason: r.try_get("reason")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}
