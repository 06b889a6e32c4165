//! Person actors, local and remote.

use super::{flag, now_ms, parse_url};
use sqlx::{AnyConnection, FromRow, Row, any::AnyRow};

/// A row of `people`.
#[derive(Debug, Clone)]
pub struct DbPerson {
    pub id: i64,
    pub ap_id: url::Url,
    pub name: String,
    pub display_name: Option<String>,
    pub bio_html: Option<String>,
    pub bio_source: Option<String>,
    pub local: bool,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    pub public_key: String,
    pub private_key: Option<String>,
    pub published: i64,
    pub updated: Option<i64>,
    pub last_fetched: i64,
    /// `Person`, `Service`, `Application`, … (Groups are communities).
    pub actor_type: String,
}

impl FromRow<'_, AnyRow> for DbPerson {
    fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(DbPerson {
            id: r.try_get("id")?,
            ap_id: parse_url(r.try_get("ap_id")?)?,
            name: r.try_get("name")?,
            display_name: r.try_get("display_name")?,
            bio_html: r.try_get("bio_html")?,
            bio_source: r.try_get("bio_source")?,
            local: r.try_get::<i64, _>("local")? != 0,
            inbox: r.try_get("inbox")?,
            shared_inbox: r.try_get("shared_inbox")?,
            public_key: r.try_get("public_key")?,
            private_key: r.try_get("private_key")?,
            published: r.try_get("published")?,
            updated: r.try_get("updated")?,
            last_fetched: r.try_get("last_fetched")?,
            actor_type: r.try_get("actor_type")?,
        })
    }
}

macro_rules! person_columns {
    () => {
        "id, ap_id, name, display_name, bio_html, bio_source, local, inbox, \
    shared_inbox, public_key, private_key, published, updated, last_fetched, actor_type"
    };
}

/// What is needed to insert a person, local or remote.
#[derive(Debug, Clone)]
pub struct NewPerson<'a> {
    pub ap_id: &'a str,
    pub name: &'a str,
    pub display_name: Option<&'a str>,
    pub bio_html: Option<&'a str>,
    pub bio_source: Option<&'a str>,
    pub local: bool,
    pub inbox: &'a str,
    pub shared_inbox: Option<&'a str>,
    pub public_key: &'a str,
    pub private_key: Option<&'a str>,
    pub published: i64,
    pub updated: Option<i64>,
    pub actor_type: &'a str,
}

/// Inserts a person, or (for a remote actor seen again) refreshes its row. Returns the row.
pub async fn upsert(conn: &mut AnyConnection, p: &NewPerson<'_>) -> Result<DbPerson, sqlx::Error> {
    let sql = concat!(
        "INSERT INTO people (ap_id, name, display_name, bio_html, bio_source, local, inbox, \
         shared_inbox, public_key, private_key, published, updated, last_fetched, actor_type) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT (ap_id) DO UPDATE SET name = excluded.name, \
         display_name = excluded.display_name, bio_html = excluded.bio_html, \
         bio_source = excluded.bio_source, inbox = excluded.inbox, \
         shared_inbox = excluded.shared_inbox, public_key = excluded.public_key, \
         updated = excluded.updated, last_fetched = excluded.last_fetched, \
         actor_type = excluded.actor_type \
         WHERE people.local = 0 \
         RETURNING ",
        person_columns!()
    );
    sqlx::query_as(sql)
        .bind(p.ap_id)
        .bind(p.name)
        .bind(p.display_name)
        .bind(p.bio_html)
        .bind(p.bio_source)
        .bind(flag(p.local))
        .bind(p.inbox)
        .bind(p.shared_inbox)
        .bind(p.public_key)
        .bind(p.private_key)
        .bind(p.published)
        .bind(p.updated)
        .bind(now_ms())
        .bind(p.actor_type)
        .fetch_one(conn)
        .await
}

/// A local person by name.
pub async fn find_local_by_name(
    conn: &mut AnyConnection,
    name: &str,
) -> Result<Option<DbPerson>, sqlx::Error> {
    let sql = concat!(
        "SELECT ",
        person_columns!(),
        " FROM people WHERE local = 1 AND name = $1"
    );
    sqlx::query_as(sql).bind(name).fetch_optional(conn).await
}

/// Any person by ActivityPub id.
pub async fn find_by_ap_id(
    conn: &mut AnyConnection,
    ap_id: &str,
) -> Result<Option<DbPerson>, sqlx::Error> {
    let sql = concat!(
        "SELECT ",
        person_columns!(),
        " FROM people WHERE ap_id = $1"
    );
    sqlx::query_as(sql).bind(ap_id).fetch_optional(conn).await
}

/// Any person by row id.
/// People by row id, in one query per hundred (for pages that list many authors).
pub async fn find_many(
    conn: &mut AnyConnection,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, DbPerson>, sqlx::Error> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut out = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(100) {
        let sql = format!(
            concat!(
                "SELECT ",
                person_columns!(),
                " FROM people WHERE id IN ({})"
            ),
            super::placeholders(chunk.len())
        );
        // Only `$n` placeholders are formatted in; every value is bound.
        let mut q = sqlx::query_as::<_, DbPerson>(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(*id);
        }
        for p in q.fetch_all(&mut *conn).await? {
            out.insert(p.id, p);
        }
    }
    Ok(out)
}

pub async fn find_by_id(conn: &mut AnyConnection, id: i64) -> Result<DbPerson, sqlx::Error> {
    let sql = concat!("SELECT ", person_columns!(), " FROM people WHERE id = $1");
    sqlx::query_as(sql).bind(id).fetch_one(conn).await
}
