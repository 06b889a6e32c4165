//! The admin page for the federation policy (`/admin/federation`, admins only): the mode,
//! the allow and block lists, and forms to change them (issue #6). The CLI and the JSON API
//! do the same (`domain::federation_policy`). Below them, the activities the inbox refused
//! lately (`domain::refused`).

use super::extract::WebForm;
use super::{Viewer, error_page, escape, page, see_other, session::check_origin};
use crate::{
    domain::federation_policy::{self, PolicyChange},
    error::AppError,
    state::AppState,
    store::refused::RefusedActivity,
};
use axum::{
    Router,
    extract::State,
    http::HeaderMap,
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;
use std::fmt::Write;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/federation", get(show).post(change))
}

fn require_admin(viewer: &Viewer) -> Result<&crate::domain::accounts::LocalUser, AppError> {
    let user = viewer.require()?;
    if !user.account.is_admin {
        return Err(AppError::forbidden(
            "not_admin",
            "only an instance admin can see this page",
        ));
    }
    Ok(user)
}

async fn show(State(state): State<AppState>, viewer: Viewer) -> Response {
    let policy = match require_admin(&viewer) {
        Ok(_) => federation_policy::summary(&state)
            .await
            .map_err(AppError::from),
        Err(e) => Err(e),
    };
    let policy = match policy {
        Ok(p) => p,
        Err(e) => return error_page(&state, &viewer, e),
    };
    let mode = policy["mode"].as_str().unwrap_or("open");
    let other = if mode == "open" { "allowlist" } else { "open" };
    let mut body = format!(
        "<h1>Federation</h1><p>Mode: <strong>{mode}</strong> — {what}</p>\
         <form method=\"post\" action=\"/admin/federation\"><input type=\"hidden\" \
         name=\"action\" value=\"mode\"><input type=\"hidden\" name=\"mode\" value=\"{other}\">\
         <button>Switch to {other}</button></form>",
        what = if mode == "open" {
            "this server federates with every server it has not blocked."
        } else {
            "this server federates only with the allowed domains below."
        },
    );
    for (list, title, add, remove) in [
        ("allowed", "Allowed", "allow", "disallow"),
        ("blocked", "Blocked", "block", "unblock"),
    ] {
        let _ = write!(body, "<section><h2>{title}</h2><ul>");
        let items = policy[list].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            body.push_str("<li class=\"muted\">None.</li>");
        }
        for d in items.iter().filter_map(|d| d.as_str()) {
            let _ = write!(
                body,
                "<li>{d} <form class=\"inline\" method=\"post\" action=\"/admin/federation\">\
                 <input type=\"hidden\" name=\"action\" value=\"{remove}\"><input type=\"hidden\" \
                 name=\"domain\" value=\"{d}\"><button>{remove}</button></form></li>",
                d = escape(d),
            );
        }
        let _ = write!(
            body,
            "</ul><form method=\"post\" action=\"/admin/federation\"><input type=\"hidden\" \
             name=\"action\" value=\"{add}\"><input name=\"domain\" placeholder=\"domain\" \
             required> <input name=\"reason\" placeholder=\"reason (optional)\"> \
             <button>{add}</button></form></section>"
        );
    }
    body.push_str(
        "<p class=\"muted\">Nothing stored is deleted when federation with a server stops; \
         every change applies at once and can be undone here.</p>",
    );
    match crate::domain::refused::recent(&state, None, REFUSED_SHOWN).await {
        Ok(rows) => body.push_str(&refused_html(&rows)),
        Err(e) => return error_page(&state, &viewer, e),
    }
    page(&state, &viewer, "Federation", &body).into_response()
}

/// Refused activities shown on the page (the newest, grouped by instance).
const REFUSED_SHOWN: i64 = 100;

/// The last refused activities per instance (newest instance first): type, actor, reason,
/// when. Every value came from a peer or from its activity: all escaped.
fn refused_html(rows: &[RefusedActivity]) -> String {
    let mut out = String::from(
        "<section><h2>Refused activities</h2><p class=\"muted\">What the inbox refused lately \
         and why (at most one a second per instance and reason). The instance is the one the \
         activity names: unverified when the reason is its signature.</p>",
    );
    if rows.is_empty() {
        out.push_str("<p class=\"muted\">None.</p></section>");
        return out;
    }
    let mut domains: Vec<&str> = Vec::new();
    for r in rows {
        if !domains.contains(&r.domain.as_str()) {
            domains.push(&r.domain);
        }
    }
    for d in domains {
        let _ = write!(out, "<h3>{}</h3><ul>", escape(d));
        for r in rows.iter().filter(|r| r.domain == d) {
            let _ = write!(
                out,
                "<li><strong>{kind}</strong> from <code>{actor}</code>: {status} <code>{code}</code> \
                 — {reason} <span class=\"muted\">{when}</span>{id}</li>",
                kind = escape(r.kind.as_deref().unwrap_or("(no type)")),
                actor = escape(r.actor.as_deref().unwrap_or("(no actor)")),
                status = r.status,
                code = escape(&r.code),
                reason = escape(&r.reason),
                when = escape(&super::modlog::when(r.created_at)),
                id = r
                    .activity_id
                    .as_deref()
                    .map(|id| format!("<br><span class=\"muted\">{}</span>", escape(id)))
                    .unwrap_or_default(),
            );
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>");
    out
}

#[derive(Deserialize)]
struct ChangeForm {
    action: String,
    #[serde(default)]
    domain: Option<String>,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

async fn change(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    WebForm(f): WebForm<ChangeForm>,
) -> Response {
    let result = async {
        check_origin(&state, &headers)?;
        let admin = require_admin(&viewer)?;
        federation_policy::change(
            &state,
            &admin.person,
            PolicyChange {
                action: &f.action,
                domain: f.domain.as_deref(),
                mode: f.mode.as_deref(),
                reason: f.reason.as_deref().filter(|r| !r.trim().is_empty()),
            },
        )
        .await
    }
    .await;
    match result {
        Ok(()) => see_other("/admin/federation"),
        Err(e) => error_page(&state, &viewer, e),
    }
}
