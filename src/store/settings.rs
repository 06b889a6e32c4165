//! Community settings kept beside the community row: guidelines to accept before joining,
//! and gentle limits for newcomers (issue #6).

use super::{flag, now_ms};
use sqlx::{AnyConnection, Row};

/// Days and posts during which a member counts as a newcomer.
pub const NEWCOMER_DAYS: i64 = 7;
pub const NEWCOMER_POSTS: i64 = 3;

#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct CommunitySettings {
    /// Joining from this instance needs an explicit acceptance of the guidelines.
    pub guidelines_required: bool,
    /// Newcomers post no links.
    pub newcomer_limits: bool,
    /// The public moderation log says "a moderator" instead of naming them.
    pub modlog_anonymous: bool,
}

pub async fn get(conn: &mut AnyConnection, id: i64) -> Result<CommunitySettings, sqlx::Error> {
    let r = sqlx::query(
        "SELECT guidelines_required, newcomer_limits, modlog_anonymous FROM communities \
         WHERE id = $1",
    )
    .bind(id)
    .fetch_one(conn)
    .await?;
    Ok(CommunitySettings {
        guidelines_required: r.try_get::<i64, _>("guidelines_required")? != 0,
        newcomer_limits: r.try_get::<i64, _>("newcomer_limits")? != 0,
        modlog_anonymous: r.try_get::<i64, _>("modlog_anonymous")? != 0,
    })
}

pub async fn set(
    conn: &mut AnyConnection,
    id: i64,
    s: CommunitySettings,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE communities SET guidelines_required = $1, newcomer_limits = $2, \
         modlog_anonymous = $3 WHERE id = $4",
    )
    .bind(flag(s.guidelines_required))
    .bind(flag(s.newcomer_limits))
    .bind(flag(s.modlog_anonymous))
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records that a member accepted the guidelines (now).
pub async fn accept_guidelines(
    conn: &mut AnyConnection,
    community_id: i64,
    person_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE community_followers SET guidelines_accepted_at = $1 \
         WHERE community_id = $2 AND person_id = $3",
    )
    .bind(now_ms())
    .bind(community_id)
    .bind(person_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// When a member accepted the guidelines, if they did.
pub async fn guidelines_accepted_at(
    conn: &mut AnyConnection,
    community_id: i64,
    person_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let at: Option<Option<i64>> = sqlx::query_scalar(
        "SELECT guidelines_accepted_at FROM community_followers \
         WHERE community_id = $1 AND person_id = $2",
    )
    .bind(community_id)
    .bind(person_id)
    .fetch_optional(conn)
    .await?;
    Ok(at.flatten())
}

/// Whether someone is still a newcomer in a community: joined less than a week ago (or
/// never followed it) and has posted fewer than three posts or replies there.
pub async fn is_newcomer(
    conn: &mut AnyConnection,
    community_id: i64,
    person_id: i64,
) -> Result<bool, sqlx::Error> {
    let joined: Option<i64> = sqlx::query_scalar(
        "SELECT created_at FROM community_followers WHERE community_id = $1 AND person_id = $2",
    )
    .bind(community_id)
    .bind(person_id)
    .fetch_optional(&mut *conn)
    .await?;
    let week_ago = now_ms() - NEWCOMER_DAYS * 24 * 3600 * 1000;
    if joined.is_some_and(|j| j < week_ago) {
        return Ok(false);
    }
    let posts: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM posts WHERE community_id = $1 AND author_id = $2")
            .bind(community_id)
            .bind(person_id)
            .fetch_one(conn)
            .await?;
    Ok(posts < NEWCOMER_POSTS)
}
