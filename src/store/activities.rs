//! Activities: the ids of inbound ones (deduplication), and the ones we emit (served at
//! their ids and in outboxes). Their delivery queue is `deliveries.rs`.

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

/// An activity we emit, as stored.
pub struct NewActivity<'a> {
    pub ap_id: &'a str,
    pub kind: &'a str,
    pub actor: &'a str,
    pub community_id: Option<i64>,
    pub json: &'a str,
    /// Puts it in its community's outbox.
    pub in_outbox: bool,
    /// What it is about (`federation::activities::send::ordering_key`): its deliveries to
    /// one inbox keep their order by it.
    pub ordering_key: &'a str,
}

/// Stores an activity we emit; its row id.
pub async fn insert(conn: &mut AnyConnection, a: &NewActivity<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO activities (ap_id, kind, actor, community_id, json, in_outbox, created_at, \
         ordering_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(a.ap_id)
    .bind(a.kind)
    .bind(a.actor)
    .bind(a.community_id)
    .bind(a.json)
    .bind(super::flag(a.in_outbox))
    .bind(now_ms())
    .bind(a.ordering_key)
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
