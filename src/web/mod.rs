//! Server-rendered HTML: the instance home (community directory), community pages and
//! profiles. No JavaScript; every value from a person or a peer is escaped, except HTML we
//! rendered and sanitised ourselves on the way in.

use crate::{
    domain::communities,
    error::{AppError, AppResult},
    state::AppState,
    store::{self, posts::Sort},
};
use axum::{
    Router,
    extract::{Query, State},
    http::StatusCode,
    response::{Html, IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;
use std::fmt::Write;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/thread/{id}", get(thread_page))
}

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:50rem;margin:0 auto;\
padding:1rem;line-height:1.5;color:#222}header{border-bottom:1px solid #ddd;margin-bottom:1rem}\
a{color:#0b5394}.topic{background:#eef;border-radius:.3rem;padding:0 .3rem;margin-right:.3rem}\
.muted{color:#666}li{margin:.5rem 0}";

/// Wraps `body` in the page layout.
fn page(state: &AppState, title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title} · {site}</title><style>{STYLE}</style></head><body>\
         <header><a href=\"/\"><strong>{site}</strong></a></header><main>{body}</main></body></html>",
        title = escape(title),
        site = escape(&state.config.instance.name),
    ))
}

/// A 404 page in HTML.
fn not_found(state: &AppState, what: &str) -> Response {
    let body = format!("<h1>Not found</h1><p>No {} here.</p>", escape(what));
    (StatusCode::NOT_FOUND, page(state, "Not found", &body)).into_response()
}

#[derive(Deserialize)]
struct HomeQuery {
    after: Option<String>,
}

async fn home(State(state): State<AppState>, Query(q): Query<HomeQuery>) -> AppResult<Response> {
    let (list, next) = communities::list_local(&state, q.after.as_deref(), 50).await?;
    let mut body = format!(
        "<h1>{}</h1><p>{}</p><h2>Communities</h2>",
        escape(&state.config.instance.name),
        escape(&state.config.instance.description)
    );
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
    Ok(page(&state, "Communities", &body).into_response())
}

fn topics_html(topics: &[String]) -> String {
    topics
        .iter()
        .map(|t| format!("<span class=\"topic\">#{}</span>", escape(t)))
        .collect()
}

/// The HTML page of a local community, with its posts (`?sort=active|new|top`).
pub async fn community_page(
    state: &AppState,
    name: &str,
    sort: Option<Sort>,
) -> AppResult<Response> {
    let sort = sort.unwrap_or(Sort::Active);
    let v = match communities::view_local(state, name).await {
        Ok(v) => v,
        Err(AppError::NotFound(_)) => return Ok(not_found(state, "community")),
        Err(e) => return Err(e),
    };
    let c = &v.community;
    let mods: Vec<String> = v
        .moderators
        .iter()
        .map(|m| format!("<a href=\"{}\">{}</a>", escape(&m.ap_id), escape(&m.name)))
        .collect();
    let mut body = format!(
        "<h1>{title}</h1><p class=\"muted\">!{name}@{domain} · {followers} followers</p>\
         <p>{topics}</p><section><h2>Domain</h2>{summary}</section>",
        title = escape(&c.title),
        name = escape(&c.name),
        domain = escape(&state.domain),
        followers = v.followers,
        topics = topics_html(&v.topics),
        summary = c.summary_html,
    );
    if !c.guidelines_html.is_empty() {
        let _ = write!(
            body,
            "<section><h2>Guidelines</h2>{}</section>",
            c.guidelines_html
        );
    }
    let _ = write!(
        body,
        "<section><h2>Moderators</h2><p>{}</p></section>\
         <p class=\"muted\">Follow from Mastodon, Lemmy or any fediverse server: search for \
         <code>@{}@{}</code>.</p>",
        mods.join(", "),
        escape(&c.name),
        escape(&state.domain)
    );
    body.push_str(&feed_html(state, c.id, sort).await?);
    Ok(page(state, &c.title, &body).into_response())
}

/// The posts of a community, sorted, with links to the other sorts.
async fn feed_html(state: &AppState, community_id: i64, sort: Sort) -> AppResult<String> {
    let mut conn = state.db.pool.acquire().await?;
    let rows = store::posts::list_for_community(&mut conn, community_id, sort, 50, 0).await?;
    let mut out = String::from("<section><h2>Posts</h2><p>");
    for (s, label) in [
        (Sort::Active, "active"),
        (Sort::New, "new"),
        (Sort::Top, "top"),
    ] {
        if s == sort {
            let _ = write!(out, "<strong>{label}</strong> ");
        } else {
            let _ = write!(out, "<a href=\"?sort={label}\">{label}</a> ");
        }
    }
    out.push_str("</p><ul>");
    if rows.is_empty() {
        out.push_str("<li class=\"muted\">No posts yet.</li>");
    }
    for p in rows {
        let author = store::people::find_by_id(&mut conn, p.author_id).await?;
        let _ = write!(
            out,
            "<li><a href=\"/thread/{id}\">{title}</a><br><span class=\"muted\">{score} points · \
             {replies} replies · by {author}</span></li>",
            id = p.id,
            title = escape(p.title.as_deref().unwrap_or("(untitled)")),
            score = p.score,
            replies = p.reply_count,
            author = escape(&author_handle(&author)),
        );
    }
    out.push_str("</ul></section>");
    Ok(out)
}

fn author_handle(p: &store::people::DbPerson) -> String {
    match p.ap_id.host_str() {
        Some(h) if !p.local => format!("{}@{h}", p.name),
        _ => p.name.clone(),
    }
}

/// A post with its replies as a nested list.
async fn thread_page(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<i64>,
) -> AppResult<Response> {
    let mut conn = state.db.pool.acquire().await?;
    let Some(p) = store::posts::find_by_id(&mut conn, id).await? else {
        return Ok(not_found(&state, "post"));
    };
    let root = match p.root_id {
        Some(r) => store::posts::find_by_id(&mut conn, r).await?.unwrap_or(p),
        None => p,
    };
    let community = store::communities::find_by_id(&mut conn, root.community_id).await?;
    let author = store::people::find_by_id(&mut conn, root.author_id).await?;
    let replies = store::posts::thread(&mut conn, root.id).await?;
    let mut names = std::collections::HashMap::new();
    for r in &replies {
        if let std::collections::hash_map::Entry::Vacant(e) = names.entry(r.author_id) {
            e.insert(author_handle(
                &store::people::find_by_id(&mut conn, r.author_id).await?,
            ));
        }
    }
    let title = if root.is_gone() {
        "(deleted)".to_string()
    } else {
        root.title.clone().unwrap_or_default()
    };
    let mut body = format!(
        "<p class=\"muted\">in <a href=\"{c_url}\">{c_title}</a></p><h1>{title}</h1>\
         <p class=\"muted\">by {author} · {score} points</p>",
        c_url = escape(community.ap_id.as_str()),
        c_title = escape(&community.title),
        title = escape(&title),
        author = escape(&author_handle(&author)),
        score = root.score,
    );
    if let Some(u) = root.url.as_deref().filter(|_| !root.is_gone()) {
        let _ = write!(
            body,
            "<p><a href=\"{0}\" rel=\"nofollow ugc noopener\">{0}</a></p>",
            escape(u)
        );
    }
    if !root.is_gone() {
        body.push_str(&root.content_html);
    }
    body.push_str("<section><h2>Replies</h2>");
    body.push_str(&replies_html(&replies, Some(root.id), &names, 0));
    body.push_str("</section>");
    Ok(page(&state, &title, &body).into_response())
}

fn replies_html(
    all: &[store::posts::DbPost],
    parent: Option<i64>,
    names: &std::collections::HashMap<i64, String>,
    depth: usize,
) -> String {
    let children: Vec<_> = all.iter().filter(|r| r.parent_id == parent).collect();
    if children.is_empty() || depth > 200 {
        return String::new();
    }
    let mut out = String::from("<ul>");
    for r in children {
        let who = names.get(&r.author_id).map(String::as_str).unwrap_or("?");
        let text = if r.is_gone() {
            "<p class=\"muted\">(deleted)</p>"
        } else {
            r.content_html.as_str()
        };
        let _ = write!(
            out,
            "<li id=\"r{id}\"><span class=\"muted\">{who} · {score} points</span>{text}{kids}</li>",
            id = r.id,
            who = escape(who),
            score = r.score,
            kids = replies_html(all, Some(r.id), names, depth + 1),
        );
    }
    out.push_str("</ul>");
    out
}

/// The HTML profile of a local person.
pub async fn person_page(state: &AppState, name: &str) -> AppResult<Response> {
    let mut conn = state.db.pool.acquire().await?;
    let Some(p) = store::people::find_local_by_name(&mut conn, name).await? else {
        return Ok(not_found(state, "user"));
    };
    let shown = p.display_name.clone().unwrap_or_else(|| p.name.clone());
    let body = format!(
        "<h1>{}</h1><p class=\"muted\">@{}@{}</p>{}",
        escape(&shown),
        escape(&p.name),
        escape(&state.domain),
        p.bio_html.as_deref().unwrap_or_default()
    );
    Ok(page(state, &shown, &body).into_response())
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
