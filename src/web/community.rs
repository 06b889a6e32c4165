//! Community pages (ours at `/c/{name}`, any at `/community/{id}`) with their posts, and the
//! forms to follow, leave, post, and find a remote community.

use super::extract::{WebForm, WebPath, WebQuery};
use super::{
    Viewer, error_page, escape,
    forms::{self, Field, Kind},
    not_found, page, person_handle, see_other,
    session::check_origin,
    topics_html,
};
use crate::{
    domain::{communities, follows, posts::NewPostInput, privacy},
    error::{AppError, AppResult},
    state::AppState,
    store::{self, communities::DbCommunity, posts::Sort},
};
use activitypub_federation::config::Data;
use axum::{
    Router,
    extract::State,
    http::HeaderMap,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;
use std::fmt::Write;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/community/{id}", get(by_id))
        .route("/community/{id}/follow", post(follow))
        .route("/community/{id}/unfollow", post(unfollow))
        .route("/community/{id}/posts", post(new_post))
        .route("/resolve", post(resolve))
}

/// The HTML page of a local community, with its posts (`?sort=active|new|top`).
pub async fn community_page(
    state: &AppState,
    viewer: &Viewer,
    name: &str,
    sort: Option<Sort>,
) -> AppResult<Response> {
    let found = {
        let mut conn = state.db.pool.acquire().await?;
        store::communities::find_local_by_name(&mut conn, name).await?
    };
    match found {
        Some(c) => render(state, viewer, c, sort.unwrap_or(Sort::Active)).await,
        None => Ok(not_found(state, viewer, "community")),
    }
}

#[derive(Deserialize)]
struct SortQuery {
    sort: Option<Sort>,
}

async fn by_id(
    State(state): State<AppState>,
    viewer: Viewer,
    WebPath(id): WebPath<i64>,
    WebQuery(q): WebQuery<SortQuery>,
) -> AppResult<Response> {
    let found = {
        let mut conn = state.db.pool.acquire().await?;
        store::communities::find_by_id(&mut conn, id).await
    };
    let Ok(c) = found else {
        return Ok(not_found(&state, &viewer, "community"));
    };
    if c.local {
        return Ok(see_other(&format!("/c/{}", c.name)));
    }
    render(&state, &viewer, c, q.sort.unwrap_or(Sort::Active)).await
}

async fn render(
    state: &AppState,
    viewer: &Viewer,
    c: DbCommunity,
    sort: Sort,
) -> AppResult<Response> {
    let mut conn = state.db.pool.acquire().await?;
    let v = communities::view_of(&mut conn, c).await?;
    let c = &v.community;
    let handle = if c.local {
        format!("{}@{}", c.name, state.domain)
    } else {
        crate::domain::handle_of(&c.name, &c.ap_id, false)
    };
    let mods: Vec<String> = v
        .moderators
        .iter()
        .map(|m| format!("<a href=\"{}\">{}</a>", escape(&m.ap_id), escape(&m.name)))
        .collect();
    let mut body = format!(
        "<h1>{title}</h1><p class=\"muted\">!{handle} · {followers} followers{private}</p>\
         <p>{topics}</p>",
        title = escape(&c.title),
        handle = escape(&handle),
        followers = v.followers,
        private = if c.members_only { " · private" } else { "" },
        topics = topics_html(&v.topics),
    );
    if let Some(u) = viewer.user() {
        let state_of = store::followers::follow_state(&mut conn, c.id, u.person.id).await?;
        let (action, label) = match state_of.as_deref() {
            Some("pending") => ("unfollow", "Cancel follow request (pending)"),
            Some(_) => ("unfollow", "Leave"),
            None if !c.guidelines_html.is_empty() => {
                ("follow", "Join (I accept the guidelines below)")
            }
            None => ("follow", "Join"),
        };
        let _ = write!(
            body,
            "<form method=\"post\" action=\"/community/{}/{action}\"><button>{label}</button></form>",
            c.id
        );
        if store::roles::has_role(&mut conn, c.id, u.person.id, "moderator").await? {
            let _ = write!(
                body,
                "<p><a href=\"/community/{}/moderation\">Moderation</a> (reports, people \
                 waiting to join)</p>",
                c.id
            );
        }
    }
    let _ = write!(body, "<section><h2>Domain</h2>{}</section>", c.summary_html);
    if !c.guidelines_html.is_empty() {
        let _ = write!(
            body,
            "<section><h2>Guidelines</h2>{}</section>",
            c.guidelines_html
        );
    }
    if !mods.is_empty() {
        let _ = write!(
            body,
            "<section><h2>Moderators</h2><p>{}</p></section>",
            mods.join(", ")
        );
    }
    if c.local {
        let _ = write!(
            body,
            "<p class=\"muted\">Follow from Mastodon, Lemmy or any fediverse server: search for \
             <code>@{}@{}</code>.</p>",
            escape(&c.name),
            escape(&state.domain)
        );
    }
    let reader = viewer.reader();
    if !privacy::may_read(&mut conn, c, reader).await? {
        body.push_str(
            "<section><h2>Posts</h2><p>This community is private: only its members see its \
             posts. Ask to join; a moderator answers.</p></section>",
        );
        return Ok(page(state, viewer, &c.title, &body).into_response());
    }
    if viewer.user().is_some() {
        let _ = write!(
            body,
            "<details><summary>New post</summary>{}</details>",
            forms::render(
                &format!("/community/{}/posts", c.id),
                &post_fields("", "", ""),
                "Post",
                None
            )
        );
    }
    body.push_str(&feed_html(&mut conn, c.id, sort).await?);
    Ok(page(state, viewer, &c.title, &body).into_response())
}

/// The posts of a community, sorted, with links to the other sorts. Uses the caller's
/// connection: taking a second one while holding one starves the pool under load.
async fn feed_html(
    conn: &mut sqlx::AnyConnection,
    community_id: i64,
    sort: Sort,
) -> AppResult<String> {
    let rows = store::posts::list_for_community(conn, community_id, sort, 50, 0).await?;
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
    let author_ids: Vec<i64> = rows.iter().map(|p| p.author_id).collect();
    let authors = store::people::find_many(conn, &author_ids).await?;
    for p in rows {
        let author = authors
            .get(&p.author_id)
            .map(person_handle)
            .unwrap_or_default();
        let _ = write!(
            out,
            "<li>{pin}<a href=\"/thread/{id}\">{title}</a><br><span class=\"muted\">{score} \
             points · {replies} replies · by {author}</span></li>",
            pin = if p.featured {
                "<strong>Pinned</strong> "
            } else {
                ""
            },
            id = p.id,
            title = escape(p.title.as_deref().unwrap_or("(untitled)")),
            score = p.score,
            replies = p.reply_count,
            author = escape(&author),
        );
    }
    out.push_str("</ul></section>");
    Ok(out)
}

async fn load(state: &AppState, id: i64) -> AppResult<DbCommunity> {
    let mut conn = state.db.pool.acquire().await?;
    store::communities::find_by_id(&mut conn, id)
        .await
        .map_err(|_| AppError::NotFound("community"))
}

/// Runs a form action for a signed-in user and redirects to `back`, or shows the error.
async fn act<F, Fut>(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    back: &str,
    f: F,
) -> Response
where
    F: FnOnce(crate::domain::accounts::LocalUser) -> Fut,
    Fut: std::future::Future<Output = AppResult<()>>,
{
    let result = async {
        check_origin(state, headers)?;
        let user = viewer.require()?.clone();
        f(user).await
    }
    .await;
    match result {
        Ok(()) => see_other(back),
        Err(e) => error_page(state, viewer, e),
    }
}

async fn follow(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    WebPath(id): WebPath<i64>,
) -> Response {
    let back = format!("/community/{id}");
    let st = state.clone();
    act(&state, &viewer, &headers, &back, |u| async move {
        let c = load(&st, id).await?;
        // The join form shows the guidelines; joining through it accepts them.
        follows::follow(&st, &u.person, &c, true).await.map(|_| ())
    })
    .await
}

async fn unfollow(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    WebPath(id): WebPath<i64>,
) -> Response {
    let back = format!("/community/{id}");
    let st = state.clone();
    act(&state, &viewer, &headers, &back, |u| async move {
        let c = load(&st, id).await?;
        follows::unfollow(&st, &u.person, &c).await
    })
    .await
}

#[derive(Deserialize)]
struct PostForm {
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    url: String,
}

async fn new_post(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    WebPath(id): WebPath<i64>,
    WebForm(f): WebForm<PostForm>,
) -> Response {
    let found = async {
        check_origin(&state, &headers)?;
        let user = viewer.require()?.clone();
        Ok::<_, AppError>((user, load(&state, id).await?))
    }
    .await;
    let (user, c) = match found {
        Ok(found) => found,
        Err(e) => return error_page(&state, &viewer, e),
    };
    let input = NewPostInput {
        title: f.title.clone(),
        body: f.body.clone(),
        url: Some(f.url.clone()).filter(|u| !u.trim().is_empty()),
        sensitive: false,
    };
    match crate::domain::posts::create_post(&state, &user.person, &c, input).await {
        Ok(_) => see_other(&format!("/community/{id}?sort=new")),
        Err(e) => post_form_page(&state, &viewer, &c, &f, &e),
    }
}

/// The new-post form of `c`, refused: what was typed, and why beside its field.
fn post_form_page(
    state: &AppState,
    viewer: &Viewer,
    c: &DbCommunity,
    f: &PostForm,
    e: &AppError,
) -> Response {
    let fields = post_fields(&f.title, &f.url, &f.body);
    let body = format!(
        "<h1>New post in <a href=\"/community/{}\">{}</a></h1>{}",
        c.id,
        escape(&c.title),
        forms::render(
            &format!("/community/{}/posts", c.id),
            &fields,
            "Post",
            Some(e)
        )
    );
    (e.status(), page(state, viewer, "New post", &body)).into_response()
}

fn post_fields<'a>(title: &'a str, url: &'a str, body: &'a str) -> [Field<'a>; 3] {
    [
        Field::new("title", "Title", Kind::Text, title)
            .required()
            .attrs(" maxlength=\"200\""),
        Field::new("url", "Link (optional)", Kind::Url, url),
        Field::new("body", "Text (Markdown)", Kind::Textarea, body),
    ]
}

#[derive(Deserialize)]
struct ResolveForm {
    q: String,
}

async fn resolve(
    data: Data<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    WebForm(f): WebForm<ResolveForm>,
) -> Response {
    let result = async {
        check_origin(&data, &headers)?;
        viewer.require()?;
        follows::resolve_community(&data, &f.q).await
    }
    .await;
    match result {
        Ok(c) => see_other(&format!("/community/{}", c.id)),
        Err(e) => error_page(&data, &viewer, e),
    }
}
