//! Community bans.

use super::now_ms;
use sqlx::AnyConnection;

/// Bans (or re-bans, with a new reason and expiry) a person from a community.
pub async fn ban(
    conn: &mut AnyConnection,
    community_id: i64,
    person_id: i64,
    reason: Option<&str>,
    expires_at: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO community_bans (community_id, person_id, reason, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (community_id, person_id) DO UPDATE SET \
         reason = excluded.reason, expires_at = excluded.expires_at",
    )
    .bind(community_id)
    .bind(person_id)
    .bind(reason)
    .bind(expires_at)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Lifts a ban; false if there was none.
pub async fn unban(
    conn: &mut AnyConnection,
    community_id: i64,
    person_id: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM community_bans WHERE community_id = $1 AND person_id = $2")
        .bind(community_id)
        .bind(person_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Whether a person is banned from a community now (an expired ban no longer counts).
pub async fn is_banned(
    conn: &mut AnyConnection,
    community_id: i64,
    person_id: i64,
) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM community_bans WHERE community_id = $1 AND person_id = $2 \
         AND (expires_at IS NULL OR expires_at > $3)",
    )
    .bind(community_id)
    .bind(person_id)
    .bind(now_ms())
    .fetch_one(conn)
    .await?;
    Ok(n > 0)
}

/// Marks every post and reply of a person in a community removed (a ban with its content
/// taken down); how many.
pub async fn remove_content(
    conn: &mut AnyConnection,
    community_id: i64,
    person_id: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE posts SET removed = 1 WHERE community_id = $1 AND author_id = $2 AND removed = 0",
    )
    .bind(community_id)
    .bind(person_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}
