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
    .execute(&mut *conn)
    .await?;
    // A ban ends membership, as on Lemmy: no more deliveries, and in a private community no
    // more reading (here or by their instance). Lifting the ban does not restore it.
    sqlx::query("DELETE FROM community_followers WHERE community_id = $1 AND person_id = $2")
        .bind(community_id)
        .bind(person_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Lifts a ban (membership stays ended: they join again); false if there was none.
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

/// Bans a person from the whole instance (`by`: `admin`, or the host of their own
/// instance that announced it).
pub async fn ban_instance(
    conn: &mut AnyConnection,
    person_id: i64,
    reason: Option<&str>,
    expires_at: Option<i64>,
    by: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO instance_bans (person_id, reason, expires_at, banned_by, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (person_id) DO UPDATE SET \
         reason = excluded.reason, expires_at = excluded.expires_at, banned_by = excluded.banned_by \
         WHERE instance_bans.banned_by <> 'admin' OR excluded.banned_by = 'admin'",
    )
    .bind(person_id)
    .bind(reason)
    .bind(expires_at)
    .bind(by)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Lifts an instance ban made by `by`; false if there was none.
pub async fn unban_instance(
    conn: &mut AnyConnection,
    person_id: i64,
    by: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM instance_bans WHERE person_id = $1 AND banned_by = $2")
        .bind(person_id)
        .bind(by)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Marks every post and reply of a person on this instance removed; how many.
pub async fn remove_all_content(
    conn: &mut AnyConnection,
    person_id: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("UPDATE posts SET removed = 1 WHERE author_id = $1 AND removed = 0")
        .bind(person_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// An instance ban, for admins.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InstanceBan {
    pub person: String,
    pub reason: Option<String>,
    pub expires_at: Option<i64>,
    pub banned_by: String,
    pub created_at: i64,
}

/// Every instance ban, newest first.
pub async fn instance_bans(conn: &mut AnyConnection) -> Result<Vec<InstanceBan>, sqlx::Error> {
    use sqlx::Row;
    let rows = sqlx::query(
        "SELECT p.ap_id, b.reason, b.expires_at, b.banned_by, b.created_at FROM instance_bans b \
         JOIN people p ON p.id = b.person_id ORDER BY b.created_at DESC LIMIT 500",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(InstanceBan {
                person: r.try_get("ap_id")?,
                reason: r.try_get("reason")?,
                expires_at: r.try_get("expires_at")?,
                banned_by: r.try_get("banned_by")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// The shared inbox (else the inbox) of every remote person and community we know,
/// deduplicated: where an instance-wide ban of one of our people is announced.
pub async fn known_instance_inboxes(conn: &mut AnyConnection) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT COALESCE(shared_inbox, inbox) FROM people WHERE local = 0 \
         UNION SELECT DISTINCT COALESCE(shared_inbox, inbox) FROM communities WHERE local = 0",
    )
    .fetch_all(conn)
    .await
}

/// Whether a person is banned now from a community and from this whole instance, in one
/// round trip (the inbox asks for every post, reply and vote).
pub async fn ban_state(
    conn: &mut AnyConnection,
    community_id: i64,
    person_id: i64,
) -> Result<(bool, bool), sqlx::Error> {
    use sqlx::Row;
    let r = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM community_bans WHERE community_id = $1 AND person_id = $2 \
         AND (expires_at IS NULL OR expires_at > $3)) AS here, \
         (SELECT COUNT(*) FROM instance_bans WHERE person_id = $2 \
         AND (expires_at IS NULL OR expires_at > $3)) AS everywhere",
    )
    .bind(community_id)
    .bind(person_id)
    .bind(now_ms())
    .fetch_one(conn)
    .await?;
    Ok((
        r.try_get::<i64, _>("here")? > 0,
        r.try_get::<i64, _>("everywhere")? > 0,
    ))
}
