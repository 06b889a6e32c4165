//! The public moderation log of a community, and of the whole instance (every community it
//! knows), as a page and as an Atom feed (for members who follow their community's
//! stewardship from a feed reader).

use super::extract::WebPath;
use super::{Viewer, escape, not_found, page};
use crate::{
    domain::privacy,
    error::AppResult,
    state::AppState,
    store::{self, modlog::ModlogEntry},
};
use axum::{
    Router,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
    routing::get,
};
use std::fmt::Write;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/community/{id}/modlog", get(html))
        .route("/community/{id}/modlog.atom", get(atom))
        .route("/modlog", get(instance_html))
        .route("/modlog.atom", get(instance_atom))
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
        "remove" => "Removed a post",
        "restore" => "Restored a post",
        "add_moderator" => "Appointed a moderator",
        "remove_moderator" => "Removed a moderator",
        "add_facilitator" => "Named a facilitator",
        "remove_facilitator" => "Ended a facilitator's role",
        "add_mentor" => "Named a mentor",
        "remove_mentor" => "Ended a mentor's role",
        "accept_member" => "Accepted a new member",
        "rotate" => "Passed the facilitator role on (rotation)",
        "set_leadership" => "Changed the leadership model",
        "reject_member" => "Turned away a request to join",
        other => other,
    };
    let on = e
        .post
        .as_deref()
        .or(e.person.as_deref())
        .unwrap_or_default();
    format!("{what}: {on}")
}

pub(super) fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// What one log shows: its title, its page and feed paths, a link back, its entries.
struct Log {
    title: String,
    path: String,
    back: String,
    updated_fallback: i64,
    items: Vec<ModlogEntry>,
}

/// The instance's log: every community it knows.
async fn instance_entries(state: &AppState) -> AppResult<Log> {
    let mut conn = state.db.pool.acquire().await?;
    let items = store::modlog::list(&mut conn, None, None, 100).await?;
    Ok(Log {
        title: format!("Moderation log · {}", state.config.instance.name),
        path: "/modlog".into(),
        back: "<a href=\"/\">Home</a>".into(),
        updated_fallback: 0,
        items,
    })
}

/// A community's log; a private community's is for its members (403 otherwise).
async fn entries(state: &AppState, id: i64, viewer: &Viewer) -> AppResult<Option<Log>> {
    let mut conn = state.db.pool.acquire().await?;
    let Some(c) = store::communities::find_by_id_opt(&mut conn, id).await? else {
        return Ok(None);
    };
    let reader = viewer.reader();
    privacy::check_read(&mut conn, &c, reader).await?;
    let items = store::modlog::for_community(&mut conn, c.id, None, 100).await?;
    Ok(Some(Log {
        title: format!("Moderation log · {}", c.title),
        path: format!("/community/{}/modlog", c.id),
        back: format!("<a href=\"/community/{}\">{}</a>", c.id, escape(&c.title)),
        updated_fallback: c.published,
        items,
    }))
}

async fn html(
    State(state): State<AppState>,
    viewer: Viewer,
    WebPath(id): WebPath<i64>,
) -> AppResult<Response> {
    match entries(&state, id, &viewer).await? {
        Some(log) => Ok(log_page(&state, &viewer, log, "")),
        None => Ok(not_found(&state, &viewer, "community")),
    }
}

async fn instance_html(State(state): State<AppState>, viewer: Viewer) -> AppResult<Response> {
    let log = instance_entries(&state).await?;
    let admin = {
        let mut conn = state.db.pool.acquire().await?;
        store::modlog::admin_list(&mut conn, None, 100).await?
    };
    let mut section = String::from("<section><h2>The instance</h2><ul>");
    if admin.is_empty() {
        section.push_str("<li class=\"muted\">Nothing yet.</li>");
    }
    for e in &admin {
        let what = match e.action.as_str() {
            "ban" => "Banned from the instance",
            "unban" => "Lifted an instance ban",
            "mode" => "Federation mode set to",
            "allow" => "Allowed federation with",
            "disallow" => "Took off the allow list",
            "block" => "Blocked federation with",
            "unblock" => "Unblocked federation with",
            other => other,
        };
        let _ = write!(
            section,
            "<li>{what} {target}<br><span class=\"muted\">{when} · by {who}{why}</span></li>",
            target = escape(e.target.as_deref().unwrap_or_default()),
            when = when(e.created_at),
            who = escape(e.actor.as_deref().unwrap_or("an admin")),
            why = e
                .reason
                .as_deref()
                .map(|r| format!(" · {}", escape(r)))
                .unwrap_or_default(),
        );
    }
    section.push_str("</ul></section>");
    Ok(log_page(&state, &viewer, log, &section))
}

fn log_page(state: &AppState, viewer: &Viewer, log: Log, extra: &str) -> Response {
    let mut body = format!(
        "<p class=\"muted\">{back} · <a href=\"{path}.atom\">Atom feed</a></p>\
         <h1>Moderation log</h1><ul>",
        back = log.back,
        path = log.path,
    );
    if log.items.is_empty() {
        body.push_str("<li class=\"muted\">Nothing yet.</li>");
    }
    for e in &log.items {
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
    body.push_str(extra);
    page(state, viewer, &log.title, &body).into_response()
}

async fn atom(
    State(state): State<AppState>,
    viewer: Viewer,
    WebPath(id): WebPath<i64>,
) -> AppResult<Response> {
    match entries(&state, id, &viewer).await? {
        Some(log) => Ok(feed(&state, log)),
        None => Ok(not_found(&state, &viewer, "community")),
    }
}

async fn instance_atom(State(state): State<AppState>) -> AppResult<Response> {
    let log = instance_entries(&state).await?;
    Ok(feed(&state, log))
}

fn feed(state: &AppState, log: Log) -> Response {
    let self_url = state.url(&format!("{}.atom", log.path));
    let updated = log
        .items
        .first()
        .map(|e| e.created_at)
        .unwrap_or(log.updated_fallback);
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\
         <title>{title}</title><id>{self_url}</id>\
         <link rel=\"self\" href=\"{self_url}\"/><updated>{updated}</updated>",
        title = escape(&log.title),
        updated = when(updated),
    );
    for e in &log.items {
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
    (
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        xml,
    )
        .into_response()
}
