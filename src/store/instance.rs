//! The instance actor's key pair (FEP-2677), created once on first start.

use super::now_ms;
use sqlx::{AnyConnection, Row};

/// The instance actor's keys.
#[derive(Debug, Clone)]
pub struct DbInstanceKeys {
    pub public_key: String,
    pub private_key: String,
    pub created_at: i64,
}

/// Reads the instance key pair, if it was created already.
pub async fn get(conn: &mut AnyConnection) -> Result<Option<DbInstanceKeys>, sqlx::Error> {
    let row =
        sqlx::query("SELECT public_key, private_key, created_at FROM instance_actor WHERE id = 1")
            .fetch_optional(conn)
            .await?;
    row.map(|r| {
        Ok(DbInstanceKeys {
            public_key: r.try_get("public_key")?,
            private_key: r.try_get("private_key")?,
            created_at: r.try_get("created_at")?,
        })
    })
    .transpose()
}

/// Stores the key pair unless another process stored one first; returns the one in force.
pub async fn insert_or_get(
    conn: &mut AnyConnection,
    public_key: &str,
    private_key: &str,
) -> Result<DbInstanceKeys, sqlx::Error> {
    sqlx::query(
        "INSERT INTO instance_actor (id, public_key, private_key, created_at) \
         VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING",
    )
    .bind(public_key)
    .bind(private_key)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    get(conn).await?.ok_or(sqlx::Error::RowNotFound)
}
