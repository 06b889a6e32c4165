//! The inbound queue (`inbox_queue`, decision 0006): activities whose signature checked
//! out, stored before we answer and processed by workers. Writes come in batches from one
//! committer (`federation::queue`), so many inbox requests share one commit.

use super::{now_ms, placeholders};
use sqlx::{AnyConnection, Row};

/// An activity to queue.
#[derive(Debug, Clone)]
pub struct NewInbound {
    pub ap_id: String,
    pub actor: String,
    pub body: String,
}

/// A queued activity, as a worker takes it.
#[derive(Debug, Clone)]
pub struct Inbound {
    pub id: i64,
    pub ap_id: String,
    pub actor: String,
    pub body: String,
    /// Attempts so far, this one included.
    pub attempts: i64,
}

/// Queues these activities, each leased to the process that received it until
/// `lease_until`. Returns the row id of each one queued, by activity id; an activity
/// already in the queue is left as it is and gets no id.
pub async fn insert_many(
    conn: &mut AnyConnection,
    rows: &[NewInbound],
    lease_until: i64,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let now = now_ms();
    let mut out = Vec::with_capacity(rows.len());
    // 6 parameters a row: 100 rows stay far below either engine's limit.
    for chunk in rows.chunks(100) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let p = placeholders_from(i * 6 + 1, 6);
                format!("({p}, 1)")
            })
            .collect();
        let sql = format!(
            "INSERT INTO inbox_queue (ap_id, actor, body, received_at, next_attempt_at, \
             lease_until, attempts) VALUES {} ON CONFLICT (ap_id) DO NOTHING \
             RETURNING id, ap_id",
            values.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in chunk {
            q = q
                .bind(&r.ap_id)
                .bind(&r.actor)
                .bind(&r.body)
                .bind(now)
                .bind(now)
                .bind(lease_until);
        }
        for row in q.fetch_all(&mut *conn).await? {
            out.push((row.try_get("ap_id")?, row.try_get("id")?));
        }
    }
    Ok(out)
}

/// `$from, …, $(from+n-1)`.
fn placeholders_from(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Ends the processing of these rows: deletes them and remembers the activity ids given
/// (those that had an effect, so that a replay has none).
pub async fn finish_many(
    conn: &mut AnyConnection,
    ids: &[i64],
    remember: &[String],
) -> Result<(), sqlx::Error> {
    for chunk in ids.chunks(500) {
        let sql = format!(
            "DELETE FROM inbox_queue WHERE id IN ({})",
            placeholders(chunk.len())
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(id);
        }
        q.execute(&mut *conn).await?;
    }
    let now = now_ms();
    for chunk in remember.chunks(500) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2))
            .collect();
        let sql = format!(
            "INSERT INTO received_activities (ap_id, received_at) VALUES {} \
             ON CONFLICT (ap_id) DO NOTHING",
            values.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for ap_id in chunk {
            q = q.bind(ap_id).bind(now);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Puts a row off until `at` (its processing failed in a way a later attempt may not).
pub async fn retry_at(
    conn: &mut AnyConnection,
    id: i64,
    at: i64,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE inbox_queue SET next_attempt_at = $1, lease_until = 0, last_error = $2 \
         WHERE id = $3",
    )
    .bind(at)
    .bind(error)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes up to `limit` rows that are due and not leased (left by a crash, or put off),
/// leasing them for `lease_ms`. On PostgreSQL processes skip each other's rows.
pub async fn claim_due(
    conn: &mut AnyConnection,
    postgres: bool,
    limit: i64,
    lease_ms: i64,
) -> Result<Vec<Inbound>, sqlx::Error> {
    let now = now_ms();
    let sql = if postgres {
        "UPDATE inbox_queue SET lease_until = $3, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM inbox_queue WHERE next_attempt_at <= $1 \
         AND lease_until <= $1 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) \
         RETURNING id, ap_id, actor, body, attempts"
    } else {
        "UPDATE inbox_queue SET lease_until = $3, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM inbox_queue WHERE next_attempt_at <= $1 \
         AND lease_until <= $1 ORDER BY id LIMIT $2) \
         RETURNING id, ap_id, actor, body, attempts"
    };
    let rows = sqlx::query(sql)
        .bind(now)
        .bind(limit)
        .bind(now + lease_ms)
        .fetch_all(conn)
        .await?;
    let mut out = rows
        .iter()
        .map(|r| {
            Ok(Inbound {
                id: r.try_get("id")?,
                ap_id: r.try_get("ap_id")?,
                actor: r.try_get("actor")?,
                body: r.try_get("body")?,
                attempts: r.try_get::<i64, _>("attempts")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    out.sort_by_key(|r| r.id);
    Ok(out)
}

/// Whether any row is due and unleased (a read, so an idle worker takes no writer turn).
pub async fn has_due(conn: &mut AnyConnection) -> Result<bool, sqlx::Error> {
    let now = now_ms();
    let n: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM inbox_queue WHERE next_attempt_at <= $1 AND lease_until <= $1 LIMIT 1",
    )
    .bind(now)
    .fetch_optional(conn)
    .await?;
    Ok(n.is_some())
}

/// Activities waiting in the queue (being processed or put off).
pub async fn pending_count(conn: &mut AnyConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM inbox_queue")
        .fetch_one(conn)
        .await
}
