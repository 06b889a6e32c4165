//! Leadership models of communities: the model, the rotation's roster and terms, and the
//! proposals co-leads approve in a shared-leadership community.

use super::now_ms;
use sqlx::{AnyConnection, Row};

/// A community's leadership model and rotation state.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Leadership {
    /// `hierarchical`, `shared` or `rotational`.
    pub model: String,
    /// Rotational: the length of a term, in seconds.
    pub term_secs: i64,
    /// Rotational: when the current term ends (milliseconds).
    pub term_ends_at: Option<i64>,
}

pub async fn get(conn: &mut AnyConnection, community_id: i64) -> Result<Leadership, sqlx::Error> {
    let r =
        sqlx::query("SELECT leadership, term_secs, term_ends_at FROM communities WHERE id = $1")
            .bind(community_id)
            .fetch_one(conn)
            .await?;
    Ok(Leadership {
        model: r.try_get("leadership")?,
        term_secs: r.try_get("term_secs")?,
        term_ends_at: r.try_get("term_ends_at")?,
    })
}

/// Sets the model (and, for a rotation, the term and when the current one ends).
pub async fn set(
    conn: &mut AnyConnection,
    community_id: i64,
    model: &str,
    term_secs: i64,
    term_ends_at: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE communities SET leadership = $1, term_secs = $2, term_ends_at = $3 WHERE id = $4",
    )
    .bind(model)
    .bind(term_secs)
    .bind(term_ends_at)
    .bind(community_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Replaces a community's roster with these people, in this order.
pub async fn set_roster(
    conn: &mut AnyConnection,
    community_id: i64,
    people: &[i64],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM roster WHERE community_id = $1")
        .bind(community_id)
        .execute(&mut *conn)
        .await?;
    for (position, person) in people.iter().enumerate() {
        sqlx::query("INSERT INTO roster (community_id, person_id, position) VALUES ($1, $2, $3)")
            .bind(community_id)
            .bind(person)
            .bind(position as i64)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The roster's people (row ids and ActivityPub ids), in turn order.
pub async fn roster(
    conn: &mut AnyConnection,
    community_id: i64,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT p.id, p.ap_id FROM roster r JOIN people p ON p.id = r.person_id \
         WHERE r.community_id = $1 ORDER BY r.position",
    )
    .bind(community_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("ap_id")?)))
        .collect()
}

/// Local rotational communities whose current term has ended.
pub async fn terms_over(conn: &mut AnyConnection) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM communities WHERE local = 1 AND leadership = 'rotational' \
         AND term_ends_at <= $1",
    )
    .bind(now_ms())
    .fetch_all(conn)
    .await
}

/// A change awaiting a second co-lead.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Proposal {
    pub id: i64,
    pub community_id: i64,
    /// `add_moderator`, `remove_moderator`, `set_leadership`, or `swap` (of two places on
    /// a rotation's roster: the proposer's and `person`'s).
    pub action: String,
    /// The person concerned (ActivityPub id), for moderator changes.
    pub person: Option<String>,
    /// The new model (JSON), for `set_leadership`.
    pub value: Option<String>,
    pub proposed_by: String,
    pub status: String,
    pub created_at: i64,
}

pub async fn propose(
    conn: &mut AnyConnection,
    community_id: i64,
    action: &str,
    person_id: Option<i64>,
    value: Option<&str>,
    proposed_by: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO proposals (community_id, action, person_id, value, proposed_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(community_id)
    .bind(action)
    .bind(person_id)
    .bind(value)
    .bind(proposed_by)
    .bind(now_ms())
    .fetch_one(conn)
    .await
}

const PROPOSAL: &str = "SELECT q.id, q.community_id, q.action, p.ap_id AS person, q.value, \
    b.ap_id AS proposed_by, q.status, q.created_at FROM proposals q \
    LEFT JOIN people p ON p.id = q.person_id JOIN people b ON b.id = q.proposed_by";

fn proposal(r: &sqlx::any::AnyRow) -> Result<Proposal, sqlx::Error> {
    Ok(Proposal {
        id: r.try_get("id")?,
        community_id: r.try_get("community_id")?,
        action: r.try_get("action")?,
        person: r.try_get("person")?,
        value: r.try_get("value")?,
        proposed_by: r.try_get("proposed_by")?,
        status: r.try_get("status")?,
        created_at: r.try_get("created_at")?,
    })
}

/// A community's open proposals, oldest first.
pub async fn open_proposals(
    conn: &mut AnyConnection,
    community_id: i64,
) -> Result<Vec<Proposal>, sqlx::Error> {
    let sql = format!("{PROPOSAL} WHERE q.community_id = $1 AND q.status = 'open' ORDER BY q.id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(community_id)
        .fetch_all(conn)
        .await?;
    rows.iter().map(proposal).collect()
}

pub async fn find_proposal(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Option<(Proposal, i64)>, sqlx::Error> {
    let sql = format!("{PROPOSAL} WHERE q.id = $1");
    let r = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(r) = r else { return Ok(None) };
    let proposer: i64 = sqlx::query_scalar("SELECT proposed_by FROM proposals WHERE id = $1")
        .bind(id)
        .fetch_one(conn)
        .await?;
    Ok(Some((proposal(&r)?, proposer)))
}

/// Closes an open proposal as `approved` or `declined`; false if it was not open.
pub async fn decide(
    conn: &mut AnyConnection,
    id: i64,
    status: &str,
    by: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE proposals SET status = $1, decided_by = $2, decided_at = $3 \
         WHERE id = $4 AND status = 'open'",
    )
    .bind(status)
    .bind(by)
    .bind(now_ms())
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Opens a proposal again (carrying it out failed).
pub async fn reopen(conn: &mut AnyConnection, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE proposals SET status = 'open', decided_by = NULL, decided_at = NULL WHERE id = $1",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}
