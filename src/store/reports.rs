//! Reports of posts and replies to a community's moderators (`reports`).

use super::now_ms;
use sqlx::{AnyConnection, Row};

/// A report to record.
pub struct NewReport<'a> {
    pub community_id: i64,
    pub post_id: i64,
    /// None: the reporter is not named here (forwarded by a community).
    pub reporter_id: Option<i64>,
    pub reason: &'a str,
    pub activity_id: &'a str,
}

/// Records a report: its id, or None if this activity was recorded before.
pub async fn insert(
    conn: &mut AnyConnection,
    r: &NewReport<'_>,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO reports (community_id, post_id, reporter_id, reason, activity_id, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (activity_id) DO NOTHING \
         RETURNING id",
    )
    .bind(r.community_id)
    .bind(r.post_id)
    .bind(r.reporter_id)
    .bind(r.reason)
    .bind(r.activity_id)
    .bind(now_ms())
    .fetch_optional(conn)
    .await
}

/// A report as moderators see it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReportRow {
    pub id: i64,
    pub community_id: i64,
    pub post_id: i64,
    pub post_ap_id: String,
    pub post_title: Option<String>,
    /// The reporter's ActivityPub id, when known here.
    pub reporter: Option<String>,
    pub reason: String,
    pub status: String,
    pub created_at: i64,
    pub resolved_at: Option<i64>,
}

const COLUMNS: &str = "r.id, r.community_id, r.post_id, p.ap_id AS post_ap_id, \
    p.title AS post_title, rp.ap_id AS reporter, r.reason, r.status, r.created_at, \
    r.resolved_at FROM reports r JOIN posts p ON p.id = r.post_id \
    LEFT JOIN people rp ON rp.id = r.reporter_id";

fn row(r: &sqlx::any::AnyRow) -> Result<ReportRow, sqlx::Error> {
    Ok(ReportRow {
        id: r.try_get("id")?,
        community_id: r.try_get("community_id")?,
        post_id: r.try_get("post_id")?,
        post_ap_id: r.try_get("post_ap_id")?,
        post_title: r.try_get("post_title")?,
        reporter: r.try_get("reporter")?,
        reason: r.try_get("reason")?,
        status: r.try_get("status")?,
        created_at: r.try_get("created_at")?,
        resolved_at: r.try_get("resolved_at")?,
    })
}

/// A community's reports, newest first; only open ones unless `all`.
pub async fn of_community(
    conn: &mut AnyConnection,
    community_id: i64,
    all: bool,
) -> Result<Vec<ReportRow>, sqlx::Error> {
    let sql = if all {
        format!("SELECT {COLUMNS} WHERE r.community_id = $1 ORDER BY r.id DESC LIMIT 200")
    } else {
        format!(
            "SELECT {COLUMNS} WHERE r.community_id = $1 AND r.status = 'open' \
             ORDER BY r.id DESC LIMIT 200"
        )
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(community_id)
        .fetch_all(conn)
        .await?;
    rows.iter().map(row).collect()
}

/// One report by id.
pub async fn find(conn: &mut AnyConnection, id: i64) -> Result<Option<ReportRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} WHERE r.id = $1");
    let r = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    r.as_ref().map(row).transpose()
}

/// Closes (`resolved`, `dismissed`) or reopens (`open`) a report.
pub async fn set_status(
    conn: &mut AnyConnection,
    id: i64,
    status: &str,
    by: i64,
) -> Result<(), sqlx::Error> {
    let open = status == "open";
    sqlx::query("UPDATE reports SET status = $1, resolved_by = $2, resolved_at = $3 WHERE id = $4")
        .bind(status)
        .bind((!open).then_some(by))
        .bind((!open).then(now_ms))
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The inboxes of a community's moderators who live on other instances (shared inboxes
/// where they have one): where its reports are forwarded.
pub async fn remote_moderator_inboxes(
    conn: &mut AnyConnection,
    community_id: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT COALESCE(p.shared_inbox, p.inbox) FROM community_roles r \
         JOIN people p ON p.id = r.person_id \
         WHERE r.community_id = $1 AND r.role = 'moderator' AND p.local = 0",
    )
    .bind(community_id)
    .fetch_all(conn)
    .await
}

/// Closes the open reports of a post by `reporter` (None: those whose reporter is not
/// named here), as a moderator elsewhere resolved them; how many.
pub async fn resolve_matching(
    conn: &mut AnyConnection,
    post_id: i64,
    reporter_id: Option<i64>,
    by: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE reports SET status = 'resolved', resolved_by = $1, resolved_at = $2 \
         WHERE post_id = $3 AND status = 'open' \
         AND ((reporter_id IS NULL AND $4 = 0) OR reporter_id = $4)",
    )
    .bind(by)
    .bind(now_ms())
    .bind(post_id)
    .bind(reporter_id.unwrap_or(0))
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Closes every open report of a post; how many.
pub async fn resolve_all_of_post(
    conn: &mut AnyConnection,
    post_id: i64,
    by: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE reports SET status = 'resolved', resolved_by = $1, resolved_at = $2 \
         WHERE post_id = $3 AND status = 'open'",
    )
    .bind(by)
    .bind(now_ms())
    .bind(post_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}
