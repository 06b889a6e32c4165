//! Who follows a community, in which state (`pending`, `accepted`): its members.

use super::now_ms;
use sqlx::{AnyConnection, Row};

/// Whether someone whose actor id starts with `origin` (`scheme://host[:port]/`) is an
/// accepted member of the community or holds a role in it: what lets that instance fetch a
/// private community's objects (Lemmy checks the same: a follower on the signer's instance).
pub async fn has_member_on(
    conn: &mut AnyConnection,
    community_id: i64,
    origin: &str,
) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM community_followers f JOIN people p ON p.id = f.person_id \
           WHERE f.community_id = $1 AND f.state = 'accepted' \
           AND substr(p.ap_id, 1, length($2)) = $2) \
         + (SELECT COUNT(*) FROM community_roles r JOIN people p ON p.id = r.person_id \
           WHERE r.community_id = $1 AND substr(p.ap_id, 1, length($2)) = $2)",
    )
    .bind(community_id)
    .bind(origin)
    .fetch_one(conn)
    .await?;
    Ok(n > 0)
}

/// A member from another instance: an accepted follower, or someone with a role.
#[derive(Debug, Clone)]
pub struct RemoteMember {
    pub person_id: i64,
    pub ap_id: String,
    pub has_role: bool,
}

/// The community's members and role holders who live on other instances.
pub async fn remote_members(
    conn: &mut AnyConnection,
    community_id: i64,
) -> Result<Vec<RemoteMember>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT p.id, p.ap_id, (SELECT COUNT(*) FROM community_roles r \
           WHERE r.community_id = $1 AND r.person_id = p.id) AS roles \
         FROM people p WHERE p.local = 0 AND (p.id IN (SELECT person_id FROM \
           community_followers WHERE community_id = $1 AND state = 'accepted') \
         OR p.id IN (SELECT person_id FROM community_roles WHERE community_id = $1)) \
         ORDER BY p.id",
    )
    .bind(community_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(RemoteMember {
                person_id: r.try_get("id")?,
                ap_id: r.try_get("ap_id")?,
                has_role: r.try_get::<i64, _>("roles")? > 0,
            })
        })
        .collect()
}

/// A follower waiting for approval (or any follower), with their Follow's id.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Follower {
    pub person_id: i64,
    pub ap_id: String,
    pub name: String,
    pub local: bool,
    pub inbox: String,
    pub follow_id: Option<String>,
    pub state: String,
    /// Nobody from this person's instance is a member yet: admitting them lets that
    /// instance's admins read a private community (filled in for moderators by
    /// `domain::membership::pending`).
    pub new_instance: bool,
}

/// A community's followers in `state` (`pending`, `accepted`), oldest first.
pub async fn followers_in_state(
    conn: &mut AnyConnection,
    community_id: i64,
    state: &str,
) -> Result<Vec<Follower>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT p.id, p.ap_id, p.name, p.local, p.inbox, f.follow_id, f.state \
         FROM community_followers f JOIN people p ON p.id = f.person_id \
         WHERE f.community_id = $1 AND f.state = $2 ORDER BY f.created_at, p.id LIMIT 500",
    )
    .bind(community_id)
    .bind(state)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Follower {
                person_id: r.try_get("id")?,
                ap_id: r.try_get("ap_id")?,
                name: r.try_get("name")?,
                local: r.try_get::<i64, _>("local")? != 0,
                inbox: r.try_get("inbox")?,
                follow_id: r.try_get("follow_id")?,
                state: r.try_get("state")?,
                new_instance: false,
            })
        })
        .collect()
}

/// Records a follow (or refreshes its state and Follow id). Returns true if it is new.
pub async fn upsert_follower(
    conn: &mut AnyConnection,
    community_id: i64,
    person_id: i64,
    state: &str,
    follow_id: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let existed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM community_followers WHERE community_id = $1 AND person_id = $2",
    )
    .bind(community_id)
    .bind(person_id)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO community_followers (community_id, person_id, state, follow_id, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (community_id, person_id) \
         DO UPDATE SET state = excluded.state, \
         follow_id = COALESCE(excluded.follow_id, community_followers.follow_id)",
    )
    .bind(community_id)
    .bind(person_id)
    .bind(state)
    .bind(follow_id)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(existed == 0)
}

/// The follow state of a person for a community (`pending`, `accepted`), if any.
pub async fn follow_state(
    conn: &mut AnyConnection,
    community_id: i64,
    person_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT state FROM community_followers WHERE community_id = $1 AND person_id = $2",
    )
    .bind(community_id)
    .bind(person_id)
    .fetch_optional(conn)
    .await
}

/// Removes a follow; true if there was one.
pub async fn remove_follower(
    conn: &mut AnyConnection,
    community_id: i64,
    person_id: i64,
) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("DELETE FROM community_followers WHERE community_id = $1 AND person_id = $2")
            .bind(community_id)
            .bind(person_id)
            .execute(conn)
            .await?;
    Ok(done.rows_affected() > 0)
}

/// The distinct inboxes of a community's remote accepted followers (shared inbox when they
/// have one), for fan-out.
pub async fn follower_inboxes(
    conn: &mut AnyConnection,
    community_id: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT COALESCE(p.shared_inbox, p.inbox) FROM community_followers f \
         JOIN people p ON p.id = f.person_id \
         WHERE f.community_id = $1 AND f.state = 'accepted' AND p.local = 0",
    )
    .bind(community_id)
    .fetch_all(conn)
    .await
}

/// Number of accepted followers of a community.
pub async fn follower_count(
    conn: &mut AnyConnection,
    community_id: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM community_followers WHERE community_id = $1 AND state = 'accepted'",
    )
    .bind(community_id)
    .fetch_one(conn)
    .await
}

/// The id of the Follow activity recorded with a follow, if any.
pub async fn follow_id(
    conn: &mut AnyConnection,
    community_id: i64,
    person_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    Ok(sqlx::query_scalar(
        "SELECT follow_id FROM community_followers WHERE community_id = $1 AND person_id = $2",
    )
    .bind(community_id)
    .bind(person_id)
    .fetch_optional(&mut *conn)
    .await?
    .flatten())
}
