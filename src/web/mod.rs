//! Server-rendered HTML: the instance home (community directory), community pages with
//! their posts, threads, profiles, and forms to take part (log in, follow, post, reply,
//! vote, edit, delete) — no JavaScript. Every value from a person or a peer is escaped,
//! except HTML we rendered and sanitised ourselves on the way in.

mod admin;
mod community;
pub mod extract;
mod forms;
mod invite;
mod moderation;
mod modlog;
mod notices;
mod session;
mod stewardship;
mod thread;

pub use community::community_page;
pub use session::{Viewer, viewer_from_headers};

use crate::{
    domain::communities,
    error::{AppError, AppResult},
    state::AppState,
    store,
};
use axum::{
    Router,
    extract::State,
    http::{StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use extract::WebQuery;
use serde::Deserialize;
use std::fmt::Write;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .merge(session::router())
        .merge(community::router())
        .merge(thread::router())
        .merge(modlog::router())
        .merge(invite::router())
        .merge(admin::router())
        .merge(moderation::router())
        .merge(notices::router())
        .merge(stewardship::router())
}

pub use crate::domain::markdown::escape;

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:50rem;margin:0 auto;\
padding:1rem;line-height:1.5;color:#222}header{border-bottom:1px solid #ddd;margin-bottom:1rem;\
display:flex;justify-content:space-between;align-items:baseline}a{color:#0b5394}\
.topic{background:#eef;border-radius:.3rem;padding:0 .3rem;margin-right:.3rem}\
.muted{color:#666}li{margin:.5rem 0}form.inline{display:inline}\
textarea{width:100%;min-height:5rem}input[type=text],input[type=url]{width:100%}\
.error{color:#a00}";

/// Wraps `body` in the page layout; the header shows who is signed in.
fn page(state: &AppState, viewer: &Viewer, title: &str, body: &str) -> Html<String> {
    let who = match viewer.user() {
        Some(u) => format!(
            "<span>{} · <a href=\"/notices\">Notices</a> · <form class=\"inline\" method=\"post\" action=\"/logout\">\
             <button>Log out</button></form></span>",
            escape(&u.person.name)
        ),
        None => "<span><a href=\"/login\">Log in</a> · <a href=\"/register\">Register</a></span>"
            .to_string(),
    };
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title} · {site}</title><style>{STYLE}</style></head><body>\
         <header><a href=\"/\"><strong>{site}</strong></a>{who}</header>\
         <main>{body}</main></body></html>",
        title = escape(title),
        site = escape(&state.config.instance.name),
    ))
}

/// A 404 page in HTML.
fn not_found(state: &AppState, viewer: &Viewer, what: &str) -> Response {
    let body = format!(
        "<h1>Not found</h1><p>No {} here: the address may be mistyped, or what it named was \
         removed.</p><p><a href=\"/\">Back to the communities</a></p>",
        escape(what)
    );
    (
        StatusCode::NOT_FOUND,
        page(state, viewer, "Not found", &body),
    )
        .into_response()
}

/// An error page for a refused form, with the error's own status.
fn error_page(state: &AppState, viewer: &Viewer, e: AppError) -> Response {
    if let AppError::Internal(cause) = &e {
        tracing::error!(error = format!("{cause:#}"), "internal error");
    }
    let body = format!(
        "<h1>That did not work</h1><p class=\"error\">{}</p><p><a href=\"/\">Home</a></p>",
        escape(&e.to_string())
    );
    (e.status(), page(state, viewer, "Error", &body)).into_response()
}

/// After a form: back to `to` (303, so a reload does not repeat the POST).
fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

fn topics_html(topics: &[String]) -> String {
    topics
        .iter()
        .map(|t| format!("<span class=\"topic\">#{}</span>", escape(t)))
        .collect()
}

/// `name` for local people, `name@host` for remote ones.
fn person_handle(p: &store::people::DbPerson) -> String {
    crate::domain::handle_of(&p.name, &p.ap_id, p.local)
}

#[derive(Deserialize)]
struct HomeQuery {
    after: Option<String>,
}

async fn home(
    State(state): State<AppState>,
    viewer: Viewer,
    WebQuery(q): WebQuery<HomeQuery>,
) -> AppResult<Response> {
    let (list, next) = communities::list_local(&state, q.after.as_deref(), 50).await?;
    let mut body = format!(
        "<h1>{}</h1><p>{}</p>",
        escape(&state.config.instance.name),
        escape(&state.config.instance.description)
    );
    if let Some(u) = viewer.user() {
        let mut conn = state.db.pool.acquire().await?;
        let followed = store::communities::followed_by(&mut conn, u.person.id).await?;
        body.push_str("<h2>Your communities</h2><ul>");
        for (c, s) in &followed {
            let pending = if s == "pending" {
                " <span class=\"muted\">(pending)</span>"
            } else {
                ""
            };
            let _ = write!(
                body,
                "<li><a href=\"/community/{}\">{}</a>{pending}</li>",
                c.id,
                escape(&c.title)
            );
        }
        if followed.is_empty() {
            body.push_str("<li class=\"muted\">None yet.</li>");
        }
        body.push_str(
            "</ul><form method=\"post\" action=\"/resolve\"><label>Find a community anywhere on the \
             fediverse: <input type=\"text\" name=\"q\" placeholder=\"!name@host\" required></label> \
             <button>Find</button></form>",
        );
    }
    body.push_str("<h2>Communities here</h2>");
    if list.is_empty() {
        body.push_str("<p class=\"muted\">No communities yet.</p>");
    }
    body.push_str("<ul>");
    for v in &list {
        let c = &v.community;
        let _ = write!(
            body,
            "<li><a href=\"/c/{name}\">{title}</a> <span class=\"muted\">!{name}@{domain} · \
             {followers} followers</span><br>{topics}</li>",
            name = escape(&c.name),
            title = escape(&c.title),
            domain = escape(&state.domain),
            followers = v.followers,
            topics = topics_html(&v.topics),
        );
    }
    body.push_str("</ul>");
    if let Some(next) = next {
        let _ = write!(
            body,
            "<p><a href=\"/?after={}\">More communities →</a></p>",
            escape(&next)
        );
    }
    Ok(page(&state, &viewer, "Communities", &body).into_response())
}

/// The HTML profile of a local person.
pub async fn person_page(state: &AppState, viewer: &Viewer, name: &str) -> AppResult<Response> {
    let mut conn = state.db.pool.acquire().await?;
    let Some(p) = store::people::find_local_by_name(&mut conn, name).await? else {
        return Ok(not_found(state, viewer, "user"));
    };
    let shown = p.display_name.clone().unwrap_or_else(|| p.name.clone());
    let mut body = format!(
        "<h1>{}</h1><p class=\"muted\">@{}@{}</p>{}",
        escape(&shown),
        escape(&p.name),
        escape(&state.domain),
        p.bio_html.as_deref().unwrap_or_default()
    );
    let roles = store::roles::roles_held(&mut conn, p.id).await?;
    if !roles.is_empty() {
        body.push_str("<section><h2>Roles</h2><ul>");
        for r in &roles {
            let _ = write!(
                body,
                "<li>{} in <a href=\"{}\">{}</a></li>",
                escape(&r.role),
                escape(&r.community),
                escape(&r.community_title)
            );
        }
        body.push_str("</ul></section>");
    }
    Ok(page(state, viewer, &shown, &body).into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn escape_covers_html_specials() {
        assert_eq!(
            super::escape(r#"<a href="x" onclick='y'>&</a>"#),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
    }
}
