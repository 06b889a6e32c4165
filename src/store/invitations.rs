//! Invitations to communities, by link (a token) or by handle (one person).

use super::now_ms;
use sqlx::{AnyConnection, Row};

/// An invitation as its invitee (or a moderator) sees it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Invitation {
    pub id: i64,
    /// The community's ActivityPub id.
    pub community: String,
    pub community_title: String,
    pub token: Option<String>,
    /// The invitee's ActivityPub id (handle invitations).
    pub invitee: Option<String>,
    pub invited_by: Option<String>,
    pub expires_at: Option<i64>,
    pub accepted_at: Option<i64>,
}

const COLUMNS: &str = "i.id, i.community_id AS cid, c.ap_id AS community, c.title AS community_title, i.token, \
    e.ap_id AS invitee, b.ap_id AS invited_by, i.expires_at, i.accepted_at \
    FROM invitations i JOIN communities c ON c.id = i.community_id \
    LEFT JOIN people e ON e.id = i.invitee_id LEFT JOIN people b ON b.id = i.invited_by";

fn row(r: &sqlx::any::AnyRow) -> Result<Invitation, sqlx::Error> {
    Ok(Invitation {
        id: r.try_get("id")?,
        community: r.try_get("community")?,
        community_title: r.try_get("community_title")?,
        token: r.try_get("token")?,
        invitee: r.try_get("invitee")?,
        invited_by: r.try_get("invited_by")?,
        expires_at: r.try_get("expires_at")?,
        accepted_at: r.try_get("accepted_at")?,
    })
}

/// Records an invitation; its id (None: this activity was recorded before).
pub async fn insert(
    conn: &mut AnyConnection,
    community_id: i64,
    token: Option<&str>,
    invitee_id: Option<i64>,
    invited_by: Option<i64>,
    activity_id: Option<&str>,
    expires_at: Option<i64>,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO invitations (community_id, token, invitee_id, invited_by, activity_id, \
         expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (activity_id) DO NOTHING RETURNING id",
    )
    .bind(community_id)
    .bind(token)
    .bind(invitee_id)
    .bind(invited_by)
    .bind(activity_id)
    .bind(expires_at)
    .bind(now_ms())
    .fetch_optional(conn)
    .await
}

/// A valid (unexpired) link invitation by its token, with its community's row id.
pub async fn by_token(
    conn: &mut AnyConnection,
    token: &str,
) -> Result<Option<(Invitation, i64)>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} WHERE i.token = $1 \
         AND (i.expires_at IS NULL OR i.expires_at > $2)"
    );
    let r = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(token)
        .bind(now_ms())
        .fetch_optional(conn)
        .await?;
    r.map(|r| Ok((row(&r)?, r.try_get("cid")?))).transpose()
}

/// A person's open invitations, newest first.
pub async fn for_person(
    conn: &mut AnyConnection,
    person_id: i64,
) -> Result<Vec<Invitation>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} WHERE i.invitee_id = $1 AND i.accepted_at IS NULL \
         AND (i.expires_at IS NULL OR i.expires_at > $2) ORDER BY i.id DESC"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(person_id)
        .bind(now_ms())
        .fetch_all(conn)
        .await?;
    rows.iter().map(row).collect()
}

/// One of a person's invitations by id, with its community's row id.
pub async fn of_person(
    conn: &mut AnyConnection,
    id: i64,
    person_id: i64,
) -> Result<Option<(Invitation, i64)>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} WHERE i.id = $1 AND i.invitee_id = $2 \
         AND (i.expires_at IS NULL OR i.expires_at > $3)"
    );
    let r = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(person_id)
        .bind(now_ms())
        .fetch_optional(conn)
        .await?;
    r.map(|r| Ok((row(&r)?, r.try_get("cid")?))).transpose()
}

/// Whether `person_id` holds an open invitation to a community (handle invitations).
pub async fn is_invited(
    conn: &mut AnyConnection,
    community_id: i64,
    person_id: i64,
) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM invitations WHERE community_id = $1 AND invitee_id = $2 \
         AND accepted_at IS NULL AND (expires_at IS NULL OR expires_at > $3)",
    )
    .bind(community_id)
    .bind(person_id)
    .bind(now_ms())
    .fetch_one(conn)
    .await?;
    Ok(n > 0)
}

/// Marks a person's invitations to a community used.
pub async fn accept(
    conn: &mut AnyConnection,
    community_id: i64,
    person_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE invitations SET accepted_at = $1 WHERE community_id = $2 AND invitee_id = $3 \
         AND accepted_at IS NULL",
    )
    .bind(now_ms())
    .bind(community_id)
    .bind(person_id)
    .execute(conn)
    .await?;
    Ok(())
}
