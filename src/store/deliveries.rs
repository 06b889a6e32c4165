//! The durable delivery queue: one row per (activity, inbox), claimed by workers under a
//! lease, and fan-out requests that the workers expand into such rows.

use super::{now_ms, placeholders};
use sqlx::{AnyConnection, Row};

/// Queues the delivery of an activity to each inbox (duplicates ignored), signed by `signer`.
pub async fn enqueue(
    conn: &mut AnyConnection,
    activity_id: i64,
    signer: &str,
    inboxes: &[String],
) -> Result<(), sqlx::Error> {
    let now = now_ms();
    for inbox in inboxes {
        sqlx::query(
            "INSERT INTO deliveries (activity_id, inbox, signer, attempts, next_attempt_at, \
             locked_until, created_at, ordering_key) VALUES ($1, $2, $3, 0, $4, 0, $4, \
             (SELECT ordering_key FROM activities WHERE id = $1)) \
             ON CONFLICT (activity_id, inbox) DO NOTHING",
        )
        .bind(activity_id)
        .bind(inbox)
        .bind(signer)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Asks the workers to deliver an activity to every remote follower of a community.
pub async fn enqueue_fanout(
    conn: &mut AnyConnection,
    activity_id: i64,
    community_id: i64,
    signer: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO fanouts (activity_id, community_id, signer, created_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(activity_id)
    .bind(community_id)
    .bind(signer)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether a fan-out request waits.
pub async fn has_fanouts(conn: &mut AnyConnection) -> Result<bool, sqlx::Error> {
    let n: Option<i64> = sqlx::query_scalar("SELECT id FROM fanouts LIMIT 1")
        .fetch_optional(conn)
        .await?;
    Ok(n.is_some())
}

/// Expands up to `limit` fan-out requests, oldest first, into deliveries: one per distinct
/// inbox (shared inbox when there is one) of the community's accepted remote followers.
/// Returns how many requests were expanded. On PostgreSQL, concurrent processes skip each
/// other's requests, so none is expanded twice.
pub async fn expand_fanouts(
    conn: &mut AnyConnection,
    postgres: bool,
    limit: i64,
) -> Result<usize, sqlx::Error> {
    let select = if postgres {
        "SELECT id, activity_id, community_id, signer FROM fanouts ORDER BY id LIMIT $1 \
         FOR UPDATE SKIP LOCKED"
    } else {
        "SELECT id, activity_id, community_id, signer FROM fanouts ORDER BY id LIMIT $1"
    };
    let rows = sqlx::query(select)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    let now = now_ms();
    for r in &rows {
        let id: i64 = r.try_get("id")?;
        let activity_id: i64 = r.try_get("activity_id")?;
        let community_id: i64 = r.try_get("community_id")?;
        let signer: String = r.try_get("signer")?;
        sqlx::query(
            "INSERT INTO deliveries (activity_id, inbox, signer, attempts, next_attempt_at, \
             locked_until, created_at, ordering_key) \
             SELECT DISTINCT $1, COALESCE(p.shared_inbox, p.inbox), $2, 0, $3, 0, $3, \
             a.ordering_key \
             FROM community_followers f JOIN people p ON p.id = f.person_id \
             JOIN activities a ON a.id = $1 \
             WHERE f.community_id = $4 AND f.state = 'accepted' AND p.local = 0 \
             ON CONFLICT (activity_id, inbox) DO NOTHING",
        )
        .bind(activity_id)
        .bind(&signer)
        .bind(now)
        .bind(community_id)
        .execute(&mut *conn)
        .await?;
        sqlx::query("DELETE FROM fanouts WHERE id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(rows.len())
}

/// A claimed delivery with what is needed to send it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: i64,
    pub activity_id: i64,
    pub inbox: String,
    pub signer: String,
    pub attempts: i64,
    /// The lease: the row is ours until then (and only while it still says so).
    pub locked_until: i64,
}

/// Claims up to `limit` due deliveries for `lease_ms` (they are invisible to other workers
/// until then, so a crashed worker's rows come back after the lease), oldest first.
pub async fn claim_due(
    conn: &mut AnyConnection,
    postgres: bool,
    limit: i64,
    lease_ms: i64,
) -> Result<Vec<Delivery>, sqlx::Error> {
    let now = now_ms();
    // PostgreSQL: several processes share the queue; SKIP LOCKED keeps them off each
    // other's rows. SQLite is single-process and serialises writers anyway.
    // Only the first queued delivery of a subject to an inbox may go (migration 0011):
    // the next one waits until it is sent or dropped, whichever process holds it.
    let sql = if postgres {
        "UPDATE deliveries SET locked_until = $3 WHERE id IN (SELECT d.id FROM deliveries d \
         WHERE d.next_attempt_at <= $1 AND d.locked_until <= $1 AND (d.ordering_key = '' OR \
         NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.inbox = d.inbox \
         AND e.ordering_key = d.ordering_key AND e.id < d.id)) \
         ORDER BY d.next_attempt_at, d.id LIMIT $2 FOR UPDATE SKIP LOCKED) \
         RETURNING id, activity_id, inbox, signer, attempts, locked_until"
    } else {
        "UPDATE deliveries SET locked_until = $3 WHERE id IN (SELECT d.id FROM deliveries d \
         WHERE d.next_attempt_at <= $1 AND d.locked_until <= $1 AND (d.ordering_key = '' OR \
         NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.inbox = d.inbox \
         AND e.ordering_key = d.ordering_key AND e.id < d.id)) \
         ORDER BY d.next_attempt_at, d.id LIMIT $2) \
         RETURNING id, activity_id, inbox, signer, attempts, locked_until"
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
            Ok(Delivery {
                id: r.try_get("id")?,
                activity_id: r.try_get("activity_id")?,
                inbox: r.try_get("inbox")?,
                signer: r.try_get("signer")?,
                attempts: r.try_get("attempts")?,
                locked_until: r.try_get("locked_until")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    // RETURNING has no order; ids are the order in which deliveries were queued.
    out.sort_by_key(|d| d.id);
    Ok(out)
}

/// The JSON and the ordering key of each of these activities, by row id.
pub async fn activity_bodies(
    conn: &mut AnyConnection,
    ids: &[i64],
) -> Result<Vec<(i64, String, String)>, sqlx::Error> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(100) {
        let sql = format!(
            "SELECT id, json, ordering_key FROM activities WHERE id IN ({})",
            placeholders(chunk.len())
        );
        // Only `$n` placeholders are formatted in; every value is bound.
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(*id);
        }
        for r in q.fetch_all(&mut *conn).await? {
            let key: Option<String> = r.try_get("ordering_key")?;
            out.push((
                r.try_get("id")?,
                r.try_get("json")?,
                key.unwrap_or_default(),
            ));
        }
    }
    Ok(out)
}

/// Extends a lease that is about to run out; false if the row is no longer ours (another
/// worker took it after our lease ran out, or it is gone).
pub async fn renew_lease(
    conn: &mut AnyConnection,
    d: &Delivery,
    until: i64,
) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE deliveries SET locked_until = $3 WHERE id = $1 AND locked_until = $2")
            .bind(d.id)
            .bind(d.locked_until)
            .bind(until)
            .execute(conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Deliveries that succeeded (or failed for good): forget them.
pub async fn finish(conn: &mut AnyConnection, ids: &[i64]) -> Result<(), sqlx::Error> {
    for chunk in ids.chunks(100) {
        let sql = format!(
            "DELETE FROM deliveries WHERE id IN ({})",
            placeholders(chunk.len())
        );
        // Only `$n` placeholders are formatted in; every value is bound.
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(*id);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// A delivery not tried yet is hidden from claims until `until`, keeping its place in the
/// queue.
pub async fn put_off(conn: &mut AnyConnection, id: i64, until: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE deliveries SET locked_until = $2 WHERE id = $1")
        .bind(id)
        .bind(until)
        .execute(conn)
        .await?;
    Ok(())
}

/// A delivery failed and will be retried at `next_attempt_at`.
pub async fn retry_later(
    conn: &mut AnyConnection,
    id: i64,
    next_attempt_at: i64,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = $2, locked_until = 0, \
         last_error = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(next_attempt_at)
    .bind(error)
    .execute(conn)
    .await?;
    Ok(())
}

/// Number of deliveries waiting (queue depth), counting fan-outs not yet expanded as one.
pub async fn pending_count(conn: &mut AnyConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM deliveries) + (SELECT COUNT(*) FROM fanouts) AS n",
    )
    .fetch_one(conn)
    .await
}

/// Inboxes with failed deliveries waiting: (inbox, waiting, most attempts, last error).
pub async fn failing_inboxes(
    conn: &mut AnyConnection,
) -> Result<Vec<(String, i64, i64, Option<String>)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT inbox, COUNT(*) AS n, MAX(attempts) AS attempts, MAX(last_error) AS last_error \
         FROM deliveries WHERE attempts > 0 GROUP BY inbox ORDER BY inbox",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("inbox")?,
                r.try_get("n")?,
                r.try_get("attempts")?,
                r.try_get("last_error")?,
            ))
        })
        .collect()
}
