//! Login data of local people: accounts and bearer-token sessions.

use super::{flag, now_ms};
use sqlx::{AnyConnection, Row};

/// A row of `accounts`.
#[derive(Debug, Clone)]
pub struct DbAccount {
    pub person_id: i64,
    pub password_hash: String,
    pub email: Option<String>,
    pub is_admin: bool,
    pub approved: bool,
    pub created_at: i64,
}

/// Inserts the account of a freshly inserted local person.
pub async fn insert(
    conn: &mut AnyConnection,
    person_id: i64,
    password_hash: &str,
    email: Option<&str>,
    is_admin: bool,
    approved: bool,
    apply_reason: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO accounts (person_id, password_hash, email, is_admin, approved, \
         apply_reason, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(person_id)
    .bind(password_hash)
    .bind(email)
    .bind(flag(is_admin))
    .bind(flag(approved))
    .bind(apply_reason)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// The account of a person.
pub async fn find(
    conn: &mut AnyConnection,
    person_id: i64,
) -> Result<Option<DbAccount>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT person_id, password_hash, email, is_admin, approved, created_at \
         FROM accounts WHERE person_id = $1",
    )
    .bind(person_id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(DbAccount {
            person_id: r.try_get("person_id")?,
            password_hash: r.try_get("password_hash")?,
            email: r.try_get("email")?,
            is_admin: r.try_get::<i64, _>("is_admin")? != 0,
            approved: r.try_get::<i64, _>("approved")? != 0,
            created_at: r.try_get("created_at")?,
        })
    })
    .transpose()
}

/// Whether an e-mail address is already used by an account.
pub async fn email_taken(conn: &mut AnyConnection, email: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts WHERE email = $1")
        .bind(email)
        .fetch_one(conn)
        .await?;
    Ok(n > 0)
}

/// Marks an account approved; false if there was no such account.
pub async fn approve(conn: &mut AnyConnection, person_id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE accounts SET approved = 1 WHERE person_id = $1")
        .bind(person_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// One line of `admin list-users`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AccountListing {
    pub name: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub is_admin: bool,
    pub approved: bool,
    pub created_at: i64,
}

/// Every local account, by name.
pub async fn list(conn: &mut AnyConnection) -> Result<Vec<AccountListing>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT p.name, p.display_name, a.email, a.is_admin, a.approved, a.created_at \
         FROM accounts a JOIN people p ON p.id = a.person_id ORDER BY p.name",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AccountListing {
                name: r.try_get("name")?,
                display_name: r.try_get("display_name")?,
                email: r.try_get("email")?,
                is_admin: r.try_get::<i64, _>("is_admin")? != 0,
                approved: r.try_get::<i64, _>("approved")? != 0,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// Usage counts for NodeInfo: all approved accounts, and those active in the last 30 and
/// 180 days (a session used in that window).
pub async fn usage(conn: &mut AnyConnection) -> Result<(i64, i64, i64), sqlx::Error> {
    let now = now_ms();
    let month = now - 30 * 24 * 3600 * 1000;
    let half_year = now - 180 * 24 * 3600 * 1000;
    let row = sqlx::query(
        "SELECT \
           (SELECT COUNT(*) FROM accounts WHERE approved = 1) AS total, \
           (SELECT COUNT(DISTINCT person_id) FROM sessions WHERE last_used_at >= $1) AS month, \
           (SELECT COUNT(DISTINCT person_id) FROM sessions WHERE last_used_at >= $2) AS half",
    )
    .bind(month)
    .bind(half_year)
    .fetch_one(conn)
    .await?;
    Ok((
        row.try_get("total")?,
        row.try_get("month")?,
        row.try_get("half")?,
    ))
}

/// Stores a new session under the hash of its token.
pub async fn create_session(
    conn: &mut AnyConnection,
    token_hash: &str,
    person_id: i64,
) -> Result<(), sqlx::Error> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO sessions (token_hash, person_id, created_at, last_used_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(person_id)
    .bind(now)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// The person a session token hash belongs to, refreshing its last use (at most once a
/// minute, so that reads do not turn into writes on every request).
pub async fn session_person(
    conn: &mut AnyConnection,
    token_hash: &str,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query("SELECT person_id, last_used_at FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let person_id: i64 = row.try_get("person_id")?;
    let last: i64 = row.try_get("last_used_at")?;
    let now = now_ms();
    if now - last > 60_000 {
        sqlx::query("UPDATE sessions SET last_used_at = $1 WHERE token_hash = $2")
            .bind(now)
            .bind(token_hash)
            .execute(conn)
            .await?;
    }
    Ok(Some(person_id))
}

/// Ends a session; false if it did not exist.
pub async fn delete_session(
    conn: &mut AnyConnection,
    token_hash: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}
