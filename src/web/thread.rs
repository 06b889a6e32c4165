//! A post with its replies as a nested list, and the forms on it: reply, vote, edit, delete.

use super::extract::{WebForm, WebPath, WebQuery};
use super::{
    Viewer, error_page, escape,
    forms::{self, Field, Kind},
    not_found, page, person_handle, see_other,
    session::check_origin,
};
use crate::{
    domain::{
        posts::{self, EditInput},
        privacy,
    },
    error::{AppError, AppResult},
    state::AppState,
    store::{self, posts::DbPost},
};
use axum::{
    Router,
    extract::State,
    http::HeaderMap,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;
use std::{collections::HashMap, fmt::Write};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/thread/{id}", get(thread_page))
        .route("/thread/{id}/reply", post(reply))
        .route("/thread/{id}/vote", post(vote))
        .route("/thread/{id}/delete", post(delete))
        .route("/thread/{id}/lock", post(lock))
        .route("/thread/{id}/pin", post(pin))
        .route("/thread/{id}/edit", get(edit_form).post(edit))
}

/// The forms under a post or reply, for a signed-in viewer.
fn actions(p: &DbPost, viewer: &Viewer, my_vote: i64) -> String {
    let Some(u) = viewer.user() else {
        return String::new();
    };
    if p.is_gone() {
        return String::new();
    }
    let vote = |value: i64, label: &str| {
        format!(
            "<form class=\"inline\" method=\"post\" action=\"/thread/{}/vote\">\
             <input type=\"hidden\" name=\"value\" value=\"{value}\"><button>{label}</button></form> ",
            p.id
        )
    };
    let mut out = String::from("<div>");
    out.push_str(&if my_vote == 1 {
        vote(0, "▲ (undo)")
    } else {
        vote(1, "▲")
    });
    out.push_str(&if my_vote == -1 {
        vote(0, "▼ (undo)")
    } else {
        vote(-1, "▼")
    });
    if p.author_id == u.person.id {
        let _ = write!(out, "<a href=\"/thread/{}/edit\">edit</a> ", p.id);
    }
    let _ = write!(
        out,
        "<form class=\"inline\" method=\"post\" action=\"/thread/{id}/delete\"><button>delete</button></form>\
         <details><summary>reply</summary><form method=\"post\" action=\"/thread/{id}/reply\">\
         <textarea name=\"body\" required></textarea><button>Reply</button></form></details></div>",
        id = p.id
    );
    out
}

#[derive(Deserialize)]
struct ThreadQuery {
    /// 1-based; absent: the first page, or the page of the reply asked for. Any number is
    /// taken (clamped: past the end, the last page).
    page: Option<i64>,
}

async fn thread_page(
    State(state): State<AppState>,
    viewer: Viewer,
    WebPath(id): WebPath<i64>,
    WebQuery(q): WebQuery<ThreadQuery>,
) -> AppResult<Response> {
    let mut conn = state.db.pool.acquire().await?;
    let Some(p) = store::posts::find_by_id(&mut conn, id).await? else {
        return Ok(not_found(&state, &viewer, "post"));
    };
    let asked_reply = p.root_id.map(|_| p.id);
    let root = match p.root_id {
        Some(r) => store::posts::find_by_id(&mut conn, r).await?.unwrap_or(p),
        None => p,
    };
    let community = store::communities::find_by_id(&mut conn, root.community_id).await?;
    let reader = viewer.reader();
    if !privacy::may_read(&mut conn, &community, reader).await? {
        // A private community's thread: as if it were not here.
        return Ok(not_found(&state, &viewer, "post"));
    }
    let author = store::people::find_by_id(&mut conn, root.author_id).await?;
    // This page's top-level replies with their subtrees (only they are read).
    let asked_page = q
        .page
        .map(|p| crate::domain::paging::Paging::number_clamped(p) as usize);
    let shown = crate::domain::threads::load(&mut conn, root.id, asked_page, asked_reply).await?;
    // One query for the authors and one for the viewer's votes, however long the page.
    let author_ids: Vec<i64> = shown.replies.iter().map(|r| r.author_id).collect();
    let names: HashMap<i64, String> = store::people::find_many(&mut conn, &author_ids)
        .await?
        .into_iter()
        .map(|(id, p)| (id, person_handle(&p)))
        .chain(std::iter::once((root.author_id, person_handle(&author))))
        .collect();
    let votes: HashMap<i64, i64> = match viewer.user() {
        Some(u) => store::posts::votes_in_thread(&mut conn, root.id, u.person.id).await?,
        None => HashMap::new(),
    };
    let title = if root.is_gone() {
        "(deleted)".to_string()
    } else {
        root.title.clone().unwrap_or_default()
    };
    let mut body = format!(
        "<p class=\"muted\">in <a href=\"/community/{c_id}\">{c_title}</a></p><h1>{title}</h1>\
         <p class=\"muted\">by {author} · {score} points</p>",
        c_id = community.id,
        c_title = escape(&community.title),
        title = escape(&title),
        author = escape(&person_handle(&author)),
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
    body.push_str(&actions(
        &root,
        &viewer,
        votes.get(&root.id).copied().unwrap_or(0),
    ));
    if root.locked {
        body.push_str(
            "<p class=\"muted\"><strong>Locked</strong>: this thread takes no new replies.</p>",
        );
    }
    let moderator = match viewer.user() {
        Some(u) if community.local => {
            store::roles::has_role(&mut conn, community.id, u.person.id, "moderator").await?
        }
        _ => false,
    };
    if root.featured {
        body.push_str("<p class=\"muted\"><strong>Pinned</strong> by the moderators.</p>");
    }
    if moderator {
        let (value, label) = if root.featured {
            ("false", "Unpin")
        } else {
            ("true", "Pin")
        };
        let _ = write!(
            body,
            "<form method=\"post\" action=\"/thread/{id}/pin\"><input type=\"hidden\" \
             name=\"pinned\" value=\"{value}\"> <button>{label} post</button></form>",
            id = root.id
        );
        let (value, label) = if root.locked {
            ("false", "Unlock")
        } else {
            ("true", "Lock")
        };
        let _ = write!(
            body,
            "<form method=\"post\" action=\"/thread/{id}/lock\"><input type=\"hidden\" \
             name=\"locked\" value=\"{value}\"><input name=\"reason\" placeholder=\"Reason \
             (optional)\" maxlength=\"1000\"> <button>{label} thread</button></form>",
            id = root.id
        );
    }
    body.push_str("<section><h2>Replies</h2>");
    let mut children: HashMap<Option<i64>, Vec<&DbPost>> = HashMap::new();
    for r in &shown.replies {
        children.entry(r.parent_id).or_default().push(r);
    }
    let (current, pages) = (shown.page, shown.pages);
    let view = ThreadView {
        children: &children,
        names: &names,
        votes: &votes,
        viewer: &viewer,
    };
    body.push_str(&view.replies(Some(root.id), 0));
    if pages > 1 {
        body.push_str(&pager(root.id, current, pages));
    }
    body.push_str("</section>");
    Ok(page(&state, &viewer, &title, &body).into_response())
}

struct ThreadView<'a> {
    /// Replies by parent id, in thread order (built once: a long thread is not rescanned
    /// for every reply).
    children: &'a HashMap<Option<i64>, Vec<&'a DbPost>>,
    names: &'a HashMap<i64, String>,
    votes: &'a HashMap<i64, i64>,
    viewer: &'a Viewer,
}

impl ThreadView<'_> {
    fn replies(&self, parent: Option<i64>, depth: usize) -> String {
        let children = self
            .children
            .get(&parent)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if children.is_empty() || depth > 200 {
            return String::new();
        }
        let mut out = String::from("<ul>");
        for r in children {
            let who = self
                .names
                .get(&r.author_id)
                .map(String::as_str)
                .unwrap_or("?");
            let text = if r.is_gone() {
                "<p class=\"muted\">(deleted)</p>"
            } else {
                r.content_html.as_str()
            };
            let _ = write!(
                out,
                "<li id=\"r{id}\"><span class=\"muted\">{who} · {score} points</span>{text}{actions}{kids}</li>",
                id = r.id,
                who = escape(who),
                score = r.score,
                actions = actions(r, self.viewer, self.votes.get(&r.id).copied().unwrap_or(0)),
                kids = self.replies(Some(r.id), depth + 1),
            );
        }
        out.push_str("</ul>");
        out
    }
}

async fn load(state: &AppState, id: i64) -> AppResult<DbPost> {
    let mut conn = state.db.pool.acquire().await?;
    store::posts::find_by_id(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound("post"))
}

/// Links to the other pages of a long thread (`current` is 0-based).
fn pager(root_id: i64, current: usize, pages: usize) -> String {
    let mut out = format!(
        "<nav class=\"pager\"><span class=\"muted\">Replies page {} of {pages}</span>",
        current + 1
    );
    if current > 0 {
        let _ = write!(
            out,
            " <a href=\"/thread/{root_id}?page={}\" rel=\"prev\">Earlier replies</a>",
            current
        );
    }
    if current + 1 < pages {
        let _ = write!(
            out,
            " <a href=\"/thread/{root_id}?page={}\" rel=\"next\">Later replies</a>",
            current + 2
        );
    }
    out.push_str("</nav>");
    out
}

/// The thread page of a post or reply (for a reply: the page of the thread that holds it,
/// at the reply).
fn thread_url(p: &DbPost) -> String {
    match p.root_id {
        Some(_) => format!("/thread/{0}#r{0}", p.id),
        None => format!("/thread/{}", p.id),
    }
}

async fn act<F, Fut>(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    id: i64,
    f: F,
) -> Response
where
    F: FnOnce(crate::domain::accounts::LocalUser, DbPost) -> Fut,
    Fut: std::future::Future<Output = AppResult<String>>,
{
    let result = async {
        check_origin(state, headers)?;
        let user = viewer.require()?.clone();
        let p = load(state, id).await?;
        f(user, p).await
    }
    .await;
    match result {
        Ok(back) => see_other(&back),
        Err(e) => error_page(state, viewer, e),
    }
}

#[derive(Deserialize)]
struct ReplyForm {
    body: String,
}

async fn reply(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    WebPath(id): WebPath<i64>,
    WebForm(f): WebForm<ReplyForm>,
) -> Response {
    let found = async {
        check_origin(&state, &headers)?;
        let user = viewer.require()?.clone();
        Ok::<_, AppError>((user, load(&state, id).await?))
    }
    .await;
    let (user, parent) = match found {
        Ok(found) => found,
        Err(e) => return error_page(&state, &viewer, e),
    };
    match posts::create_reply(&state, &user.person, &parent, &f.body).await {
        Ok(r) => see_other(&thread_url(&r)),
        Err(e) => {
            // Refused (too long, locked, banned…): the text is kept, the reason beside it.
            let fields =
                [Field::new("body", "Your reply (Markdown)", Kind::Textarea, &f.body).required()];
            let body = format!(
                "<h1>Reply</h1><p><a href=\"{}\">Back to the thread</a></p>{}",
                thread_url(&parent),
                forms::render(&format!("/thread/{id}/reply"), &fields, "Reply", Some(&e))
            );
            (e.status(), page(&state, &viewer, "Reply", &body)).into_response()
        }
    }
}

#[derive(Deserialize)]
struct VoteForm {
    value: i64,
}

async fn vote(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    WebPath(id): WebPath<i64>,
    WebForm(f): WebForm<VoteForm>,
) -> Response {
    let st = state.clone();
    act(&state, &viewer, &headers, id, |u, p| async move {
        posts::vote(&st, &u.person, &p, f.value).await?;
        Ok(thread_url(&p))
    })
    .await
}

#[derive(serde::Deserialize)]
struct PinForm {
    pinned: bool,
}

async fn pin(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    WebPath(id): WebPath<i64>,
    WebForm(f): WebForm<PinForm>,
) -> Response {
    let st = state.clone();
    act(&state, &viewer, &headers, id, |u, p| async move {
        crate::domain::moderation::pin(&st, &u.person, &p, f.pinned).await?;
        Ok(thread_url(&p))
    })
    .await
}

#[derive(serde::Deserialize)]
struct LockForm {
    locked: bool,
    #[serde(default)]
    reason: String,
}

async fn lock(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    WebPath(id): WebPath<i64>,
    WebForm(f): WebForm<LockForm>,
) -> Response {
    let st = state.clone();
    act(&state, &viewer, &headers, id, |u, p| async move {
        let reason = Some(f.reason.trim()).filter(|r| !r.is_empty());
        crate::domain::moderation::lock(&st, &u.person, &p, f.locked, reason).await?;
        Ok(thread_url(&p))
    })
    .await
}

async fn delete(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    WebPath(id): WebPath<i64>,
) -> Response {
    let st = state.clone();
    act(&state, &viewer, &headers, id, |u, p| async move {
        posts::delete(&st, &u.person, &p, None).await?;
        Ok(thread_url(&p))
    })
    .await
}

async fn edit_form(
    State(state): State<AppState>,
    viewer: Viewer,
    WebPath(id): WebPath<i64>,
) -> Response {
    let p = match load(&state, id).await {
        Ok(p) => p,
        Err(e) => return error_page(&state, &viewer, e),
    };
    // Only the author edits; nobody else sees the source here (a private post's included).
    if viewer.user().is_none_or(|u| u.person.id != p.author_id) {
        return not_found(&state, &viewer, "post");
    }
    let title = match (&p.title, p.root_id) {
        (Some(t), None) => format!(
            "<p><label>Title <input type=\"text\" name=\"title\" value=\"{}\" required maxlength=\"200\"></label></p>",
            escape(t)
        ),
        _ => String::new(),
    };
    let body = format!(
        "<h1>Edit</h1><form method=\"post\" action=\"/thread/{id}/edit\">{title}\
         <p><label>Text (Markdown) <textarea name=\"body\">{}</textarea></label></p>\
         <p><button>Save</button></p></form>",
        escape(p.source.as_deref().unwrap_or_default())
    );
    page(&state, &viewer, "Edit", &body).into_response()
}

#[derive(Deserialize)]
struct EditForm {
    #[serde(default)]
    title: Option<String>,
    body: String,
}

async fn edit(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    WebPath(id): WebPath<i64>,
    WebForm(f): WebForm<EditForm>,
) -> Response {
    let st = state.clone();
    act(&state, &viewer, &headers, id, |u, p| async move {
        let e = posts::edit(
            &st,
            &u.person,
            &p,
            EditInput {
                title: f.title,
                body: f.body,
                url: None,
            },
        )
        .await?;
        Ok(thread_url(&e))
    })
    .await
}
