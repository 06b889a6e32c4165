//! Roles in communities: owner, moderator, facilitator, mentor.

use super::now_ms;
use sqlx::{AnyConnection, Row};

/// Gives `person_id` a role in a community (idempotent).
pub async fn add_role(
    conn: &mut AnyConnection,
    community_id: i64,
    person_id: i64,
    role: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO community_roles (community_id, person_id, role, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(community_id)
    .bind(person_id)
    .bind(role)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// The roles `person_id` holds in a community (shown with their posts).
pub async fn roles_of(
    conn: &mut AnyConnection,
    community_id: i64,
    person_id: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT role FROM community_roles WHERE community_id = $1 AND person_id = $2 \
         ORDER BY role",
    )
    .bind(community_id)
    .bind(person_id)
    .fetch_all(conn)
    .await
}

/// A role someone holds, with its community.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HeldRole {
    /// The community's ActivityPub id.
    pub community: String,
    pub community_title: String,
    /// `owner`, `moderator`, `facilitator` or `mentor`.
    pub role: String,
}

/// Every role a person holds, by community title; roles in private communities are left
/// out (they would say who belongs).
pub async fn roles_held(
    conn: &mut AnyConnection,
    person_id: i64,
) -> Result<Vec<HeldRole>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT c.ap_id, c.title, r.role FROM community_roles r \
         JOIN communities c ON c.id = r.community_id WHERE r.person_id = $1 \
         AND c.members_only = 0 ORDER BY c.title, r.role LIMIT 500",
    )
    .bind(person_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(HeldRole {
                community: r.try_get("ap_id")?,
                community_title: r.try_get("title")?,
                role: r.try_get("role")?,
            })
        })
        .collect()
}

/// Gives (`on`) or takes away a role; whether anything changed.
pub async fn set_role(
    conn: &mut AnyConnection,
    community_id: i64,
    person_id: i64,
    role: &str,
    on: bool,
) -> Result<bool, sqlx::Error> {
    if !on {
        return remove_role(conn, community_id, person_id, role).await;
    }
    let new = role_since(conn, community_id, person_id, role)
        .await?
        .is_none();
    add_role(conn, community_id, person_id, role).await?;
    Ok(new)
}

/// Takes a role away; false if the person did not hold it.
pub async fn remove_role(
    conn: &mut AnyConnection,
    community_id: i64,
    person_id: i64,
    role: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM community_roles WHERE community_id = $1 AND person_id = $2 AND role = $3",
    )
    .bind(community_id)
    .bind(person_id)
    .bind(role)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Since when `person_id` holds `role` (milliseconds), if they do.
pub async fn role_since(
    conn: &mut AnyConnection,
    community_id: i64,
    person_id: i64,
    role: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT created_at FROM community_roles WHERE community_id = $1 AND person_id = $2 \
         AND role = $3",
    )
    .bind(community_id)
    .bind(person_id)
    .bind(role)
    .fetch_optional(conn)
    .await
}

/// A person holding a role, for collections and pages.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RoleHolder {
    pub ap_id: String,
    pub name: String,
    pub local: bool,
}

/// The people holding `role` in a community, longest-serving first.
pub async fn role_holders(
    conn: &mut AnyConnection,
    community_id: i64,
    role: &str,
) -> Result<Vec<RoleHolder>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT p.ap_id, p.name, p.local FROM community_roles r JOIN people p ON p.id = r.person_id \
         WHERE r.community_id = $1 AND r.role = $2 ORDER BY r.created_at, p.id",
    )
    .bind(community_id)
    .bind(role)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(RoleHolder {
                ap_id: r.try_get("ap_id")?,
                name: r.try_get("name")?,
                local: r.try_get::<i64, _>("local")? != 0,
            })
        })
        .collect()
}

/// Whether `person_id` holds `role` in a community.
pub async fn has_role(
    conn: &mut AnyConnection,
    community_id: i64,
    person_id: i64,
    role: &str,
) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM community_roles WHERE community_id = $1 AND person_id = $2 \
         AND role = $3",
    )
    .bind(community_id)
    .bind(person_id)
    .bind(role)
    .fetch_one(conn)
    .await?;
    Ok(n > 0)
}
