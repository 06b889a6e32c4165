//! Notices to local people: what happened in their communities that they should hear of
//! (a facilitator hand-over), with when they read them.

use super::now_ms;
use serde::Serialize;
use sqlx::{AnyConnection, Row};

/// A notice, as its reader sees it.
#[derive(Debug, Clone, Serialize)]
pub struct Notice {
    pub id: i64,
    /// The community's ActivityPub id.
    pub community: String,
    pub community_title: String,
    pub kind: String,
    pub body: String,
    pub created_at: i64,
    pub read: bool,
}

/// Gives a notice to every local accepted member of a community (and its local role
/// holders). Returns how many were given.
pub async fn notify_members(
    conn: &mut AnyConnection,
    community_id: i64,
    kind: &str,
    body: &str,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO notices (person_id, community_id, kind, body, created_at) \
         SELECT p.id, $1, $2, $3, $4 FROM people p WHERE p.local = 1 AND p.id IN ( \
           SELECT person_id FROM community_followers WHERE community_id = $1 \
             AND state = 'accepted' \
           UNION SELECT person_id FROM community_roles WHERE community_id = $1)",
    )
    .bind(community_id)
    .bind(kind)
    .bind(body)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// A person's newest notices, newest first.
pub async fn list(
    conn: &mut AnyConnection,
    person_id: i64,
    limit: i64,
) -> Result<Vec<Notice>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT n.id, c.ap_id, c.title, n.kind, n.body, n.created_at, n.read_at \
         FROM notices n JOIN communities c ON c.id = n.community_id \
         WHERE n.person_id = $1 ORDER BY n.id DESC LIMIT $2",
    )
    .bind(person_id)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Notice {
                id: r.try_get("id")?,
                community: r.try_get("ap_id")?,
                community_title: r.try_get("title")?,
                kind: r.try_get("kind")?,
                body: r.try_get("body")?,
                created_at: r.try_get("created_at")?,
                read: r.try_get::<Option<i64>, _>("read_at")?.is_some(),
            })
        })
        .collect()
}

/// How many notices a person has not read.
pub async fn unread(conn: &mut AnyConnection, person_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM notices WHERE person_id = $1 AND read_at IS NULL")
        .bind(person_id)
        .fetch_one(conn)
        .await
}

/// Marks all of a person's notices read.
pub async fn mark_read(conn: &mut AnyConnection, person_id: i64) -> Result<u64, sqlx::Error> {
    let done =
        sqlx::query("UPDATE notices SET read_at = $1 WHERE person_id = $2 AND read_at IS NULL")
            .bind(now_ms())
            .bind(person_id)
            .execute(conn)
            .await?;
    Ok(done.rows_affected())
}
