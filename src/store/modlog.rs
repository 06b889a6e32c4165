//! The moderation log: every moderation action on a community, local or received.

use super::now_ms;
use sqlx::{AnyConnection, Row};

/// One logged action, with the names a reader needs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModlogEntry {
    pub id: i64,
    /// `lock`, `unlock`, … (see `domain::moderation`).
    pub action: String,
    /// The moderator's ActivityPub id (hidden by the reader when the community asks).
    pub actor: Option<String>,
    pub post: Option<String>,
    pub person: Option<String>,
    pub reason: Option<String>,
    /// The community's ActivityPub id.
    pub community: String,
    pub created_at: i64,
}

/// What to log.
pub struct NewEntry<'a> {
    pub community_id: i64,
    pub actor_id: Option<i64>,
    pub action: &'a str,
    pub post_id: Option<i64>,
    pub person_id: Option<i64>,
    pub reason: Option<&'a str>,
    pub activity_id: Option<&'a str>,
}

pub async fn insert(conn: &mut AnyConnection, e: NewEntry<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO modlog (community_id, actor_id, action, post_id, person_id, reason, \
         activity_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(e.community_id)
    .bind(e.actor_id)
    .bind(e.action)
    .bind(e.post_id)
    .bind(e.person_id)
    .bind(e.reason)
    .bind(e.activity_id)
    .bind(now_ms())
    .fetch_one(conn)
    .await
}

/// A community's log, newest first, before entry `before` (keyset paging).
pub async fn for_community(
    conn: &mut AnyConnection,
    community_id: i64,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<ModlogEntry>, sqlx::Error> {
    list(conn, Some(community_id), before, limit).await
}

/// The log of every community this instance knows (`community` None; private ones are
/// left out: their log is for their members) or of one.
pub async fn list(
    conn: &mut AnyConnection,
    community_id: Option<i64>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<ModlogEntry>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT m.id, m.action, \
         CASE WHEN c.modlog_anonymous = 1 THEN NULL ELSE a.ap_id END AS actor, p.ap_id AS post, t.ap_id AS person, m.reason, \
         c.ap_id AS community, m.created_at FROM modlog m \
         JOIN communities c ON c.id = m.community_id LEFT JOIN people a ON a.id = m.actor_id \
         LEFT JOIN posts p ON p.id = m.post_id LEFT JOIN people t ON t.id = m.person_id \
         WHERE (m.community_id = $1 OR ($1 = 0 AND c.members_only = 0)) AND m.id < $2 \
         ORDER BY m.id DESC LIMIT $3",
    )
    .bind(community_id.unwrap_or(0))
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ModlogEntry {
                id: r.try_get("id")?,
                action: r.try_get("action")?,
                actor: r.try_get("actor")?,
                post: r.try_get("post")?,
                person: r.try_get("person")?,
                reason: r.try_get("reason")?,
                community: r.try_get("community")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// One entry of the instance's own log (admins' actions on the whole instance).
#[derive(Debug, Clone, serde::Serialize)]
pub struct AdminEntry {
    pub id: i64,
    /// `ban`, `unban`, `mode`, `allow`, `disallow`, `block`, `unblock`.
    pub action: String,
    /// The admin's ActivityPub id (None: the command line).
    pub actor: Option<String>,
    /// A person's ActivityPub id, a domain or a mode.
    pub target: Option<String>,
    pub reason: Option<String>,
    pub created_at: i64,
}

/// Records an admin action (`actor_id` None: the command line).
pub async fn admin_insert(
    conn: &mut AnyConnection,
    actor_id: Option<i64>,
    action: &str,
    target: Option<&str>,
    reason: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO admin_log (actor_id, action, target, reason, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(actor_id)
    .bind(action)
    .bind(target)
    .bind(reason)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// The instance's own log, newest first, before entry `before`.
pub async fn admin_list(
    conn: &mut AnyConnection,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AdminEntry>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT l.id, l.action, a.ap_id AS actor, l.target, l.reason, l.created_at \
         FROM admin_log l LEFT JOIN people a ON a.id = l.actor_id \
         WHERE l.id < $1 ORDER BY l.id DESC LIMIT $2",
    )
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AdminEntry {
                id: r.try_get("id")?,
                action: r.try_get("action")?,
                actor: r.try_get("actor")?,
                target: r.try_get("target")?,
                reason: r.try_get("reason")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}
