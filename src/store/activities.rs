//! Activities: the ids of inbound ones (deduplication), and the ones we emit (served at
//! their ids and in outboxes), with the durable delivery queue.

use super::now_ms;
use sqlx::{AnyConnection, Row};

/// Records an inbound activity id; false if it was seen before (a replay).
pub async fn mark_received(conn: &mut AnyConnection, ap_id: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO received_activities (ap_id, received_at) VALUES ($1, $2) \
         ON CONFLICT (ap_id) DO NOTHING",
    )
    .bind(ap_id)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Forgets an inbound activity id (its processing failed; a retry may succeed).
pub async fn forget_received(conn: &mut AnyConnection, ap_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM received_activities WHERE ap_id = $1")
        .bind(ap_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether an inbound activity id was seen before.
pub async fn was_received(conn: &mut AnyConnection, ap_id: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM received_activities WHERE ap_id = $1")
        .bind(ap_id)
        .fetch_one(conn)
        .await?;
    Ok(n > 0)
}

/// An activity we emitted.
#[derive(Debug, Clone)]
pub struct DbActivity {
    pub id: i64,
    pub ap_id: String,
    pub kind: String,
    pub actor: String,
    pub json: String,
    pub created_at: i64,
}

/// Stores an activity we emit. `in_outbox` puts it in its community's outbox.
pub async fn insert(
    conn: &mut AnyConnection,
    ap_id: &str,
    kind: &str,
    actor: &str,
    community_id: Option<i64>,
    json: &str,
    in_outbox: bool,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO activities (ap_id, kind, actor, community_id, json, in_outbox, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(ap_id)
    .bind(kind)
    .bind(actor)
    .bind(community_id)
    .bind(json)
    .bind(super::flag(in_outbox))
    .bind(now_ms())
    .fetch_one(conn)
    .await
}

fn activity(r: &sqlx::any::AnyRow) -> Result<DbActivity, sqlx::Error> {
    Ok(DbActivity {
        id: r.try_get("id")?,
        ap_id: r.try_get("ap_id")?,
        kind: r.try_get("kind")?,
        actor: r.try_get("actor")?,
        json: r.try_get("json")?,
        created_at: r.try_get("created_at")?,
    })
}

/// An activity we emitted, by id.
pub async fn find_by_ap_id(
    conn: &mut AnyConnection,
    ap_id: &str,
) -> Result<Option<DbActivity>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, ap_id, kind, actor, json, created_at FROM activities WHERE ap_id = $1",
    )
    .bind(ap_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(activity).transpose()
}

/// A page of a community's outbox, newest first, before row id `before` (keyset paging).
pub async fn outbox_page(
    conn: &mut AnyConnection,
    community_id: i64,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<DbActivity>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, ap_id, kind, actor, json, created_at FROM activities \
         WHERE community_id = $1 AND in_outbox = 1 AND id < $2 ORDER BY id DESC LIMIT $3",
    )
    .bind(community_id)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(activity).collect()
}

/// Number of activities in a community's outbox.
pub async fn outbox_count(conn: &mut AnyConnection, community_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM activities WHERE community_id = $1 AND in_outbox = 1")
        .bind(community_id)
        .fetch_one(conn)
        .await
}

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
             locked_until, created_at) VALUES ($1, $2, $3, 0, $4, 0, $4) \
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

/// A claimed delivery with what is needed to send it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: i64,
    pub inbox: String,
    pub signer: String,
    pub attempts: i64,
    pub json: String,
}

/// Claims up to `limit` due deliveries for `lease_ms` (they are invisible to other
/// workers until then, so a crashed worker's rows come back after the lease).
pub async fn claim_due(
    conn: &mut AnyConnection,
    postgres: bool,
    limit: i64,
    lease_ms: i64,
) -> Result<Vec<Delivery>, sqlx::Error> {
    let now = now_ms();
    // PostgreSQL: several processes share the queue; SKIP LOCKED keeps them off each
    // other's rows. SQLite is single-process and serialises writers anyway.
    let select = if postgres {
        "SELECT id FROM deliveries WHERE next_attempt_at <= $1 AND locked_until <= $1 \
         ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED"
    } else {
        "SELECT id FROM deliveries WHERE next_attempt_at <= $1 AND locked_until <= $1 \
         ORDER BY next_attempt_at, id LIMIT $2"
    };
    let ids: Vec<i64> = sqlx::query_scalar(select)
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        sqlx::query("UPDATE deliveries SET locked_until = $2 WHERE id = $1")
            .bind(id)
            .bind(now + lease_ms)
            .execute(&mut *conn)
            .await?;
        let r = sqlx::query(
            "SELECT d.id, d.inbox, d.signer, d.attempts, a.json FROM deliveries d \
             JOIN activities a ON a.id = d.activity_id WHERE d.id = $1",
        )
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
        out.push(Delivery {
            id: r.try_get("id")?,
            inbox: r.try_get("inbox")?,
            signer: r.try_get("signer")?,
            attempts: r.try_get("attempts")?,
            json: r.try_get("json")?,
        });
    }
    Ok(out)
}

/// A delivery succeeded (or failed for good): forget it.
pub async fn finish(conn: &mut AnyConnection, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM deliveries WHERE id = $1")
        .bind(id)
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

/// Number of deliveries waiting (queue depth).
pub async fn pending_count(conn: &mut AnyConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM deliveries")
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
