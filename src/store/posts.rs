//! Posts (top level, `root_id` NULL) and replies, with their votes.

use super::{flag, now_ms, parse_url};
use sqlx::{AnyConnection, FromRow, Row, any::AnyRow};

/// A row of `posts`.
#[derive(Debug, Clone)]
pub struct DbPost {
    pub id: i64,
    pub ap_id: url::Url,
    pub community_id: i64,
    pub author_id: i64,
    pub parent_id: Option<i64>,
    pub root_id: Option<i64>,
    pub depth: i64,
    /// The ActivityStreams type it arrived as (`Page`, `Note`, `Article`, …).
    pub kind: String,
    pub title: Option<String>,
    pub content_html: String,
    pub source: Option<String>,
    pub url: Option<String>,
    pub sensitive: bool,
    pub local: bool,
    pub published: i64,
    pub updated: Option<i64>,
    pub deleted: bool,
    pub removed: bool,
    pub score: i64,
    pub upvotes: i64,
    pub downvotes: i64,
    pub reply_count: i64,
    pub last_activity: i64,
    /// Locked by a moderator: no new replies.
    pub locked: bool,
    /// Pinned by a moderator: in the community's `featured` collection.
    pub featured: bool,
}

impl DbPost {
    /// Gone for readers: deleted by its author or removed by a moderator.
    pub fn is_gone(&self) -> bool {
        self.deleted || self.removed
    }
}

impl FromRow<'_, AnyRow> for DbPost {
    fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(DbPost {
            id: r.try_get("id")?,
            ap_id: parse_url(r.try_get("ap_id")?)?,
            community_id: r.try_get("community_id")?,
            author_id: r.try_get("author_id")?,
            parent_id: r.try_get("parent_id")?,
            root_id: r.try_get("root_id")?,
            depth: r.try_get("depth")?,
            kind: r.try_get("kind")?,
            title: r.try_get("title")?,
            content_html: r.try_get("content_html")?,
            source: r.try_get("source")?,
            url: r.try_get("url")?,
            sensitive: r.try_get::<i64, _>("sensitive")? != 0,
            local: r.try_get::<i64, _>("local")? != 0,
            published: r.try_get("published")?,
            updated: r.try_get("updated")?,
            deleted: r.try_get::<i64, _>("deleted")? != 0,
            removed: r.try_get::<i64, _>("removed")? != 0,
            score: r.try_get("score")?,
            upvotes: r.try_get("upvotes")?,
            downvotes: r.try_get("downvotes")?,
            reply_count: r.try_get("reply_count")?,
            last_activity: r.try_get("last_activity")?,
            locked: r.try_get::<i64, _>("locked")? != 0,
            featured: r.try_get::<i64, _>("featured")? != 0,
        })
    }
}

macro_rules! post_columns {
    () => {
        "id, ap_id, community_id, author_id, parent_id, root_id, depth, kind, title, \
         content_html, source, url, sensitive, local, published, updated, deleted, removed, \
         score, upvotes, downvotes, reply_count, last_activity, locked, featured"
    };
}

/// What is needed to insert a post or reply.
#[derive(Debug, Clone)]
pub struct NewPost<'a> {
    pub ap_id: &'a str,
    pub community_id: i64,
    pub author_id: i64,
    pub parent: Option<&'a DbPost>,
    pub kind: &'a str,
    pub title: Option<&'a str>,
    pub content_html: &'a str,
    pub source: Option<&'a str>,
    pub url: Option<&'a str>,
    pub sensitive: bool,
    pub local: bool,
    pub published: i64,
    pub updated: Option<i64>,
}

/// Inserts a post or reply and bumps its thread's counters. A second insert of the same id
/// returns the existing row unchanged (`None` for "already there").
pub async fn insert(
    conn: &mut AnyConnection,
    p: &NewPost<'_>,
) -> Result<Option<DbPost>, sqlx::Error> {
    let (parent_id, root_id, depth) = match p.parent {
        Some(parent) => (
            Some(parent.id),
            Some(parent.root_id.unwrap_or(parent.id)),
            parent.depth + 1,
        ),
        None => (None, None, 0),
    };
    let sql = concat!(
        "INSERT INTO posts (ap_id, community_id, author_id, parent_id, root_id, depth, kind, \
         title, content_html, source, url, sensitive, local, published, updated, deleted, \
         removed, score, upvotes, downvotes, reply_count, last_activity) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 0, 0, 0, 0, \
         0, 0, $16) ON CONFLICT (ap_id) DO NOTHING RETURNING ",
        post_columns!()
    );
    let row: Option<DbPost> = sqlx::query_as(sql)
        .bind(p.ap_id)
        .bind(p.community_id)
        .bind(p.author_id)
        .bind(parent_id)
        .bind(root_id)
        .bind(depth)
        .bind(p.kind)
        .bind(p.title)
        .bind(p.content_html)
        .bind(p.source)
        .bind(p.url)
        .bind(flag(p.sensitive))
        .bind(flag(p.local))
        .bind(p.published)
        .bind(p.updated)
        .bind(p.published)
        .fetch_optional(&mut *conn)
        .await?;
    if let (Some(_), Some(root)) = (&row, root_id) {
        sqlx::query(
            "UPDATE posts SET reply_count = reply_count + 1, \
             last_activity = CASE WHEN last_activity > $2 THEN last_activity ELSE $2 END \
             WHERE id = $1",
        )
        .bind(root)
        .bind(p.published)
        .execute(conn)
        .await?;
    }
    Ok(row)
}

/// A post or reply by ActivityPub id.
pub async fn find_by_ap_id(
    conn: &mut AnyConnection,
    ap_id: &str,
) -> Result<Option<DbPost>, sqlx::Error> {
    let sql = concat!("SELECT ", post_columns!(), " FROM posts WHERE ap_id = $1");
    sqlx::query_as(sql).bind(ap_id).fetch_optional(conn).await
}

/// A post or reply by row id.
pub async fn find_by_id(conn: &mut AnyConnection, id: i64) -> Result<Option<DbPost>, sqlx::Error> {
    let sql = concat!("SELECT ", post_columns!(), " FROM posts WHERE id = $1");
    sqlx::query_as(sql).bind(id).fetch_optional(conn).await
}

/// The new content of an edited post or reply (`title` None keeps the title).
#[derive(Debug, Clone)]
pub struct PostEdit<'a> {
    pub title: Option<&'a str>,
    pub content_html: &'a str,
    pub source: Option<&'a str>,
    pub url: Option<&'a str>,
    pub sensitive: bool,
    pub updated: i64,
}

/// Replaces the content of a post or reply (an edit).
pub async fn update_content(
    conn: &mut AnyConnection,
    id: i64,
    edit: &PostEdit<'_>,
) -> Result<(), sqlx::Error> {
    let PostEdit {
        title,
        content_html,
        source,
        url,
        sensitive,
        updated,
    } = *edit;
    sqlx::query(
        "UPDATE posts SET title = COALESCE($2, title), content_html = $3, source = $4, \
         url = $5, sensitive = $6, updated = $7 WHERE id = $1",
    )
    .bind(id)
    .bind(title)
    .bind(content_html)
    .bind(source)
    .bind(url)
    .bind(flag(sensitive))
    .bind(updated)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks a post or reply deleted by its author (`removed` = false) or removed by a
/// moderator (`removed` = true), or restores it (`gone` = false). The text is kept so that
/// an Undo can restore it, and is never shown or served while gone (a Tombstone is).
pub async fn set_gone(
    conn: &mut AnyConnection,
    id: i64,
    removed: bool,
    gone: bool,
) -> Result<(), sqlx::Error> {
    let sql = if removed {
        "UPDATE posts SET removed = $2 WHERE id = $1"
    } else {
        "UPDATE posts SET deleted = $2 WHERE id = $1"
    };
    sqlx::query(sql)
        .bind(id)
        .bind(flag(gone))
        .execute(conn)
        .await?;
    Ok(())
}

/// How a community's posts are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    /// Newest first.
    New,
    /// Highest score first.
    Top,
    /// Most recent reply (or post) first.
    Active,
}

/// One page of a community's top-level posts (deleted ones left out).
pub async fn list_for_community(
    conn: &mut AnyConnection,
    community_id: i64,
    sort: Sort,
    limit: i64,
    offset: i64,
) -> Result<Vec<DbPost>, sqlx::Error> {
    let sql = match sort {
        Sort::New => concat!(
            "SELECT ",
            post_columns!(),
            " FROM posts WHERE community_id = $1 AND root_id IS NULL \
             AND deleted = 0 AND removed = 0 ORDER BY published DESC, id DESC LIMIT $2 OFFSET $3"
        ),
        Sort::Top => concat!(
            "SELECT ",
            post_columns!(),
            " FROM posts WHERE community_id = $1 AND root_id IS NULL \
             AND deleted = 0 AND removed = 0 ORDER BY score DESC, published DESC, id DESC \
             LIMIT $2 OFFSET $3"
        ),
        Sort::Active => concat!(
            "SELECT ",
            post_columns!(),
            " FROM posts WHERE community_id = $1 AND root_id IS NULL \
             AND deleted = 0 AND removed = 0 ORDER BY last_activity DESC, id DESC \
             LIMIT $2 OFFSET $3"
        ),
    };
    sqlx::query_as(sql)
        .bind(community_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(conn)
        .await
}

/// Every reply in a post's thread, oldest first (deleted ones included, as placeholders).
pub async fn thread(conn: &mut AnyConnection, root_id: i64) -> Result<Vec<DbPost>, sqlx::Error> {
    let sql = concat!(
        "SELECT ",
        post_columns!(),
        " FROM posts WHERE root_id = $1 ORDER BY published, id"
    );
    sqlx::query_as(sql).bind(root_id).fetch_all(conn).await
}

/// How many replies answer the thread's post directly (its top-level replies).
pub async fn top_level_count(conn: &mut AnyConnection, root_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM posts WHERE parent_id = $1")
        .bind(root_id)
        .fetch_one(conn)
        .await
}

/// Where, among the thread's top-level replies (oldest first, from 0), is the one above
/// `reply_id`; None when the reply is not in this thread.
pub async fn top_level_position(
    conn: &mut AnyConnection,
    root_id: i64,
    reply_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    // Up the parent chain until the reply whose parent is the thread's post (the depth
    // bound keeps a corrupt cycle from looping).
    sqlx::query_scalar(
        "WITH RECURSIVE up(id, parent_id, hops) AS ( \
           SELECT id, parent_id, 0 FROM posts WHERE id = $2 AND root_id = $1 \
           UNION ALL SELECT p.id, p.parent_id, up.hops + 1 FROM posts p \
             JOIN up ON p.id = up.parent_id WHERE up.parent_id <> $1 AND up.hops < 1000) \
         SELECT (SELECT COUNT(*) FROM posts t WHERE t.parent_id = $1 \
           AND (t.published < x.published OR (t.published = x.published AND t.id < x.id))) \
         FROM posts x WHERE x.id = (SELECT id FROM up WHERE parent_id = $1 LIMIT 1)",
    )
    .bind(root_id)
    .bind(reply_id)
    .fetch_optional(conn)
    .await
}

/// One page of a thread: `limit` top-level replies from `offset` (oldest first), each with
/// every reply under it, in thread order (oldest first). Reads only that page, however
/// long the thread.
pub async fn thread_page(
    conn: &mut AnyConnection,
    root_id: i64,
    offset: i64,
    limit: i64,
) -> Result<Vec<DbPost>, sqlx::Error> {
    let sql = concat!(
        "WITH RECURSIVE top(id) AS (SELECT id FROM posts WHERE parent_id = $1 \
           ORDER BY published, id LIMIT $2 OFFSET $3), \
         below(id, hops) AS (SELECT id, 0 FROM top \
           UNION ALL SELECT p.id, below.hops + 1 FROM posts p JOIN below ON p.parent_id = below.id \
           WHERE below.hops < 1000) \
         SELECT ",
        post_columns!(),
        " FROM posts WHERE id IN (SELECT id FROM below) ORDER BY published, id"
    );
    sqlx::query_as(sql)
        .bind(root_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(conn)
        .await
}

/// Number of local posts and of local replies (NodeInfo).
pub async fn local_counts(conn: &mut AnyConnection) -> Result<(i64, i64), sqlx::Error> {
    let row = sqlx::query(
        "SELECT \
           (SELECT COUNT(*) FROM posts WHERE local = 1 AND root_id IS NULL AND deleted = 0) AS p, \
           (SELECT COUNT(*) FROM posts WHERE local = 1 AND root_id IS NOT NULL AND deleted = 0) AS c",
    )
    .fetch_one(conn)
    .await?;
    Ok((row.try_get("p")?, row.try_get("c")?))
}

/// Sets (value ±1) or clears (value 0) a person's vote, then recounts the score.
pub async fn set_vote(
    conn: &mut AnyConnection,
    post_id: i64,
    person_id: i64,
    value: i64,
    activity_id: Option<&str>,
) -> Result<(), sqlx::Error> {
    if value == 0 {
        sqlx::query("DELETE FROM votes WHERE post_id = $1 AND person_id = $2")
            .bind(post_id)
            .bind(person_id)
            .execute(&mut *conn)
            .await?;
    } else {
        sqlx::query(
            "INSERT INTO votes (post_id, person_id, value, activity_id, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (post_id, person_id) \
             DO UPDATE SET value = excluded.value, activity_id = excluded.activity_id",
        )
        .bind(post_id)
        .bind(person_id)
        .bind(value)
        .bind(activity_id)
        .bind(now_ms())
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query(
        "UPDATE posts SET \
         upvotes = (SELECT COUNT(*) FROM votes WHERE post_id = $1 AND value = 1), \
         downvotes = (SELECT COUNT(*) FROM votes WHERE post_id = $1 AND value = -1) \
         WHERE id = $1",
    )
    .bind(post_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE posts SET score = upvotes - downvotes WHERE id = $1")
        .bind(post_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A person's current vote on a post (0 when none).
/// A person's votes on a post and every reply in its thread: post id → +1/−1.
pub async fn votes_in_thread(
    conn: &mut AnyConnection,
    root_id: i64,
    person_id: i64,
) -> Result<std::collections::HashMap<i64, i64>, sqlx::Error> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT v.post_id, v.value FROM votes v JOIN posts p ON p.id = v.post_id \
         WHERE v.person_id = $1 AND (p.root_id = $2 OR p.id = $2)",
    )
    .bind(person_id)
    .bind(root_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().collect())
}

pub async fn vote_of(
    conn: &mut AnyConnection,
    post_id: i64,
    person_id: i64,
) -> Result<i64, sqlx::Error> {
    Ok(
        sqlx::query_scalar("SELECT value FROM votes WHERE post_id = $1 AND person_id = $2")
            .bind(post_id)
            .bind(person_id)
            .fetch_optional(conn)
            .await?
            .unwrap_or(0),
    )
}

/// Locks or unlocks a post or reply; false if it already was.
pub async fn set_locked(
    conn: &mut AnyConnection,
    id: i64,
    locked: bool,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE posts SET locked = $2 WHERE id = $1 AND locked <> $2")
        .bind(id)
        .bind(super::flag(locked))
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Pins or unpins a post; false if it already was.
pub async fn set_featured(
    conn: &mut AnyConnection,
    id: i64,
    featured: bool,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE posts SET featured = $2 WHERE id = $1 AND featured <> $2")
        .bind(id)
        .bind(super::flag(featured))
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// A community's pinned posts, newest first.
pub async fn featured_in(
    conn: &mut AnyConnection,
    community_id: i64,
) -> Result<Vec<DbPost>, sqlx::Error> {
    let sql = concat!(
        "SELECT ",
        post_columns!(),
        " FROM posts WHERE community_id = $1 AND featured = 1 AND deleted = 0 AND removed = 0 \
         ORDER BY published DESC LIMIT 50"
    );
    sqlx::query_as(sql).bind(community_id).fetch_all(conn).await
}
