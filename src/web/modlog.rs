//! A community's public moderation log, as a page and as an Atom feed (for members who
//! follow their community's stewardship from a feed reader).

use super::{Viewer, escape, not_found, page};
use crate::{
    error::AppResult,
    state::AppState,
    store::{self, modlog::ModlogEntry},
};
use axum::{
    Router,
    extract::{Path, State},
    http::header,
    response::{IntoResponse, Response},
    routing::get,
};
use std::fmt::Write;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/community/{id}/modlog", get(html))
        .route("/community/{id}/modlog.atom", get(atom))
}

/// A sentence for an entry: "Locked thread <post>", …
fn describe(e: &ModlogEntry) -> String {
    let what = match e.action.as_str() {
        "lock" => "Locked a thread",
        "unlock" => "Unlocked a thread",
        "pin" => "Pinned a post",
        "unpin" => "Unpinned a post",
        "ban" => "Banned someone",
        "unban" => "Lifted a ban",
        other => other,
    };
    let on = e
        .post
        .as_deref()
        .or(e.person.as_deref())
        .unwrap_or_default();
    format!("{what}: {on}")
}

fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn entries(
    state: &AppState,
    id: i64,
) -> AppResult<Option<(store::communities::DbCommunity, Vec<ModlogEntry>)>> {
    let mut conn = state.db.pool.acquire().await?;
    let Some(c) = store::communities::find_by_id_opt(&mut conn, id).await? else {
        return Ok(None);
    };
    let items = store::modlog::for_community(&mut conn, c.id, None, 100).await?;
    Ok(Some((c, items)))
}

async fn html(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let Some((c, items)) = entries(&state, id).await? else {
        return Ok(not_found(&state, &viewer, "community"));
    };
    let mut body = format!(
        "<p class=\"muted\"><a href=\"/community/{id}\">{title}</a> · \
         <a href=\"/community/{id}/modlog.atom\">Atom feed</a></p><h1>Moderation log</h1><ul>",
        id = c.id,
        title = escape(&c.title)
    );
    if items.is_empty() {
        body.push_str("<li class=\"muted\">Nothing yet.</li>");
    }
    for e in &items {
        let _ = write!(
            body,
            "<li>{what}<br><span class=\"muted\">{when} · by {who}{why}</span></li>",
            what = escape(&describe(e)),
            when = when(e.created_at),
            who = escape(e.actor.as_deref().unwrap_or("a moderator")),
            why = e
                .reason
                .as_deref()
                .map(|r| format!(" · {}", escape(r)))
                .unwrap_or_default(),
        );
    }
    body.push_str("</ul>");
    Ok(page(
        &state,
        &viewer,
        &format!("Moderation log · {}", c.title),
        &body,
    )
    .into_response())
}

async fn atom(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let Some((c, items)) = entries(&state, id).await? else {
        return Ok(not_found(&state, &viewer, "community"));
    };
    let self_url = state.url(&format!("/community/{}/modlog.atom", c.id));
    let updated = items.first().map(|e| e.created_at).unwrap_or(c.published);
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\
         <title>Moderation log · {title}</title><id>{self_url}</id>\
         <link rel=\"self\" href=\"{self_url}\"/><updated>{updated}</updated>",
        title = escape(&c.title),
        updated = when(updated),
    );
    for e in &items {
        let _ = write!(
            xml,
            "<entry><id>{self_url}#{id}</id><title>{title}</title><updated>{when}</updated>\
             <author><name>{who}</name></author><content type=\"text\">{why}</content></entry>",
            id = e.id,
            title = escape(&describe(e)),
            when = when(e.created_at),
            who = escape(e.actor.as_deref().unwrap_or("a moderator")),
            why = escape(e.reason.as_deref().unwrap_or_default()),
        );
    }
    xml.push_str("</feed>");
    Ok((
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        xml,
    )
        .into_response())
}
