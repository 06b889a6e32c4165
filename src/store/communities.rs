//! Communities (Group actors) and their topics; their roles are in `roles`, their
//! followers (members) in `followers`.

use super::{flag, now_ms, parse_url};
use sqlx::{AnyConnection, FromRow, Row, any::AnyRow};

/// A row of `communities`.
#[derive(Debug, Clone)]
pub struct DbCommunity {
    pub id: i64,
    pub ap_id: url::Url,
    pub name: String,
    pub title: String,
    pub summary_source: String,
    pub summary_html: String,
    pub guidelines_source: String,
    pub guidelines_html: String,
    pub local: bool,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    pub followers_url: Option<String>,
    pub public_key: String,
    pub private_key: Option<String>,
    pub posting_restricted_to_mods: bool,
    pub sensitive: bool,
    /// Follows wait for a moderator's approval; only members post.
    pub approval_required: bool,
    /// Private: posts and replies are for accepted members only (see domain::privacy).
    pub members_only: bool,
    pub published: i64,
    pub updated: Option<i64>,
    pub last_fetched: i64,
    pub outbox_url: Option<String>,
    pub moderators_url: Option<String>,
    pub featured_url: Option<String>,
}

impl FromRow<'_, AnyRow> for DbCommunity {
    fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(DbCommunity {
            id: r.try_get("id")?,
            ap_id: parse_url(r.try_get("ap_id")?)?,
            name: r.try_get("name")?,
            title: r.try_get("title")?,
            summary_source: r.try_get("summary_source")?,
            summary_html: r.try_get("summary_html")?,
            guidelines_source: r.try_get("guidelines_source")?,
            guidelines_html: r.try_get("guidelines_html")?,
            local: r.try_get::<i64, _>("local")? != 0,
            inbox: r.try_get("inbox")?,
            shared_inbox: r.try_get("shared_inbox")?,
            followers_url: r.try_get("followers_url")?,
            public_key: r.try_get("public_key")?,
            private_key: r.try_get("private_key")?,
            posting_restricted_to_mods: r.try_get::<i64, _>("posting_restricted_to_mods")? != 0,
            sensitive: r.try_get::<i64, _>("sensitive")? != 0,
            approval_required: r.try_get::<i64, _>("approval_required")? != 0,
            members_only: r.try_get::<i64, _>("members_only")? != 0,
            published: r.try_get("published")?,
            updated: r.try_get("updated")?,
            last_fetched: r.try_get("last_fetched")?,
            outbox_url: r.try_get("outbox_url")?,
            moderators_url: r.try_get("moderators_url")?,
            featured_url: r.try_get("featured_url")?,
        })
    }
}

macro_rules! community_columns {
    () => {
        "id, ap_id, name, title, summary_source, summary_html, \
    guidelines_source, guidelines_html, local, inbox, shared_inbox, followers_url, public_key, \
    private_key, posting_restricted_to_mods, sensitive, published, updated, last_fetched, \
    outbox_url, moderators_url, featured_url, approval_required, members_only"
    };
}

/// What is needed to insert a community, local or remote.
#[derive(Debug, Clone)]
pub struct NewCommunity<'a> {
    pub ap_id: &'a str,
    pub name: &'a str,
    pub title: &'a str,
    pub summary_source: &'a str,
    pub summary_html: &'a str,
    pub guidelines_source: &'a str,
    pub guidelines_html: &'a str,
    pub local: bool,
    pub inbox: &'a str,
    pub shared_inbox: Option<&'a str>,
    pub followers_url: Option<&'a str>,
    pub public_key: &'a str,
    pub private_key: Option<&'a str>,
    pub posting_restricted_to_mods: bool,
    pub sensitive: bool,
    pub approval_required: bool,
    pub members_only: bool,
    pub published: i64,
    pub updated: Option<i64>,
    pub outbox_url: Option<&'a str>,
    pub moderators_url: Option<&'a str>,
    pub featured_url: Option<&'a str>,
}

/// Inserts a community, or refreshes a remote one seen again (local rows are never
/// overwritten this way: the update is skipped and no row is returned).
pub async fn upsert(
    conn: &mut AnyConnection,
    c: &NewCommunity<'_>,
) -> Result<DbCommunity, sqlx::Error> {
    let sql = concat!(
        "INSERT INTO communities (ap_id, name, title, summary_source, summary_html, \
         guidelines_source, guidelines_html, local, inbox, shared_inbox, followers_url, \
         public_key, private_key, posting_restricted_to_mods, sensitive, published, updated, \
         last_fetched, outbox_url, moderators_url, featured_url, approval_required, \
         members_only) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
         $19, $20, $21, $22, $23) \
         ON CONFLICT (ap_id) DO UPDATE SET name = excluded.name, title = excluded.title, \
         summary_source = excluded.summary_source, summary_html = excluded.summary_html, \
         inbox = excluded.inbox, shared_inbox = excluded.shared_inbox, \
         followers_url = excluded.followers_url, public_key = excluded.public_key, \
         posting_restricted_to_mods = excluded.posting_restricted_to_mods, \
         sensitive = excluded.sensitive, updated = excluded.updated, \
         last_fetched = excluded.last_fetched, outbox_url = excluded.outbox_url, \
         moderators_url = excluded.moderators_url, featured_url = excluded.featured_url, \
         approval_required = excluded.approval_required, \
         members_only = excluded.members_only \
         WHERE communities.local = 0 \
         RETURNING ",
        community_columns!()
    );
    sqlx::query_as(sql)
        .bind(c.ap_id)
        .bind(c.name)
        .bind(c.title)
        .bind(c.summary_source)
        .bind(c.summary_html)
        .bind(c.guidelines_source)
        .bind(c.guidelines_html)
        .bind(flag(c.local))
        .bind(c.inbox)
        .bind(c.shared_inbox)
        .bind(c.followers_url)
        .bind(c.public_key)
        .bind(c.private_key)
        .bind(flag(c.posting_restricted_to_mods))
        .bind(flag(c.sensitive))
        .bind(c.published)
        .bind(c.updated)
        .bind(now_ms())
        .bind(c.outbox_url)
        .bind(c.moderators_url)
        .bind(c.featured_url)
        .bind(flag(c.approval_required))
        .bind(flag(c.members_only))
        .fetch_one(conn)
        .await
}

/// A local community by name.
pub async fn find_local_by_name(
    conn: &mut AnyConnection,
    name: &str,
) -> Result<Option<DbCommunity>, sqlx::Error> {
    let sql = concat!(
        "SELECT ",
        community_columns!(),
        " FROM communities WHERE local = 1 AND name = $1"
    );
    sqlx::query_as(sql).bind(name).fetch_optional(conn).await
}

/// Any community by ActivityPub id.
pub async fn find_by_ap_id(
    conn: &mut AnyConnection,
    ap_id: &str,
) -> Result<Option<DbCommunity>, sqlx::Error> {
    let sql = concat!(
        "SELECT ",
        community_columns!(),
        " FROM communities WHERE ap_id = $1"
    );
    sqlx::query_as(sql).bind(ap_id).fetch_optional(conn).await
}

/// Local communities ordered by name, `limit` of them after the name `after` (keyset paging).
pub async fn list_local(
    conn: &mut AnyConnection,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<DbCommunity>, sqlx::Error> {
    let sql = concat!(
        "SELECT ",
        community_columns!(),
        " FROM communities WHERE local = 1 AND name > $1 ORDER BY name LIMIT $2"
    );
    sqlx::query_as(sql)
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(conn)
        .await
}

/// Number of local communities.
pub async fn count_local(conn: &mut AnyConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM communities WHERE local = 1")
        .fetch_one(conn)
        .await
}

/// Replaces the topics of a community.
pub async fn set_topics(
    conn: &mut AnyConnection,
    community_id: i64,
    topics: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM community_topics WHERE community_id = $1")
        .bind(community_id)
        .execute(&mut *conn)
        .await?;
    for topic in topics {
        sqlx::query("INSERT INTO community_topics (community_id, topic) VALUES ($1, $2)")
            .bind(community_id)
            .bind(topic)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The topics of a community, sorted.
pub async fn topics(
    conn: &mut AnyConnection,
    community_id: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT topic FROM community_topics WHERE community_id = $1 ORDER BY topic")
        .bind(community_id)
        .fetch_all(conn)
        .await
}

/// Makes a local community private (members only, which implies approving members) or
/// public again (approval stays as it was).
pub async fn set_members_only(
    conn: &mut AnyConnection,
    id: i64,
    on: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE communities SET members_only = $1, \
         approval_required = CASE WHEN $1 = 1 THEN 1 ELSE approval_required END \
         WHERE id = $2 AND local = 1",
    )
    .bind(flag(on))
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The private communities we know, ours and others' (a handful on any instance).
pub async fn members_only(conn: &mut AnyConnection) -> Result<Vec<DbCommunity>, sqlx::Error> {
    let sql = concat!(
        "SELECT ",
        community_columns!(),
        " FROM communities WHERE members_only = 1"
    );
    sqlx::query_as(sql).fetch_all(conn).await
}

/// Turns approval of new members on or off for a local community.
pub async fn set_approval_required(
    conn: &mut AnyConnection,
    id: i64,
    on: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE communities SET approval_required = $1 WHERE id = $2 AND local = 1")
        .bind(flag(on))
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The community whose moderators collection is `target` (Lemmy names it
/// `{community}/moderators`; a Group may name another in `attributedTo`).
pub async fn find_by_moderators_collection(
    conn: &mut AnyConnection,
    target: &str,
) -> Result<Option<DbCommunity>, sqlx::Error> {
    let sql = concat!(
        "SELECT ",
        community_columns!(),
        " FROM communities WHERE moderators_url = $1 OR ap_id || '/moderators' = $1 \
         ORDER BY local DESC LIMIT 1"
    );
    sqlx::query_as(sql).bind(target).fetch_optional(conn).await
}

/// Any community by row id.
/// A community by row id, if there is one.
pub async fn find_by_id_opt(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Option<DbCommunity>, sqlx::Error> {
    let sql = concat!(
        "SELECT ",
        community_columns!(),
        " FROM communities WHERE id = $1"
    );
    sqlx::query_as(sql).bind(id).fetch_optional(conn).await
}

pub async fn find_by_id(conn: &mut AnyConnection, id: i64) -> Result<DbCommunity, sqlx::Error> {
    let sql = concat!(
        "SELECT ",
        community_columns!(),
        " FROM communities WHERE id = $1"
    );
    sqlx::query_as(sql).bind(id).fetch_one(conn).await
}

/// Remote communities that local people follow (any state), by title.
pub async fn followed_by(
    conn: &mut AnyConnection,
    person_id: i64,
) -> Result<Vec<(DbCommunity, String)>, sqlx::Error> {
    let sql = concat!(
        "SELECT ",
        community_columns!(),
        ", f.state AS follow_state FROM communities JOIN community_followers f \
         ON f.community_id = communities.id WHERE f.person_id = $1 ORDER BY communities.title"
    );
    let rows = sqlx::query(sql).bind(person_id).fetch_all(conn).await?;
    rows.iter()
        .map(|r| Ok((DbCommunity::from_row(r)?, r.try_get("follow_state")?)))
        .collect()
}

/// A remote community by name and host (`name@host`, the host with its port if any).
pub async fn find_remote_by_handle(
    conn: &mut AnyConnection,
    name: &str,
    host: &str,
) -> Result<Option<DbCommunity>, sqlx::Error> {
    let sql = concat!(
        "SELECT ",
        community_columns!(),
        " FROM communities WHERE local = 0 AND name = $1"
    );
    let rows: Vec<DbCommunity> = sqlx::query_as(sql).bind(name).fetch_all(conn).await?;
    Ok(rows
        .into_iter()
        .find(|c| super::instances::domain_of(&c.ap_id).eq_ignore_ascii_case(host)))
}

/// Number of communities known (local and remote).
pub async fn count_all(conn: &mut AnyConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM communities")
        .fetch_one(conn)
        .await
}
