//! The moderators' page of a community (`/community/{id}/moderation`): open reports with
//! resolve / dismiss buttons, the people waiting to join with accept / turn away buttons,
//! and (`stewardship`) roles, leadership and membership settings (issue #6). The same use-cases as the API (`domain::reports`,
//! `domain::membership`); moderators only.

use super::extract::{WebForm, WebPath};
use super::{Viewer, error_page, escape, page, stewardship::act};
use crate::{
    domain::{membership, reports},
    error::{AppError, AppResult},
    state::AppState,
    store,
};
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
        .route("/community/{id}/moderation", get(show))
        .route("/community/{id}/moderation/report", post(close_report))
        .route("/community/{id}/moderation/member", post(decide_member))
}

async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    WebPath(id): WebPath<i64>,
) -> Response {
    match render(&state, &viewer, id).await {
        Ok(r) => r,
        Err(e) => error_page(&state, &viewer, e),
    }
}

async fn render(state: &AppState, viewer: &Viewer, id: i64) -> AppResult<Response> {
    let user = viewer.require()?;
    let c = {
        let mut conn = state.db.pool.acquire().await?;
        store::communities::find_by_id_opt(&mut conn, id)
            .await?
            .ok_or(AppError::NotFound("community"))?
    };
    let open = reports::list(state, &user.person, &c, false).await?;
    let waiting = if c.local {
        membership::pending(state, &user.person, &c).await?
    } else {
        Vec::new()
    };
    let mut body = format!(
        "<p class=\"muted\"><a href=\"/community/{id}\">{title}</a> · \
         <a href=\"/community/{id}/modlog\">Moderation log</a></p><h1>Moderation</h1>\
         <section><h2>Open reports</h2><ul>",
        title = escape(&c.title),
    );
    if open.is_empty() {
        body.push_str("<li class=\"muted\">None.</li>");
    }
    for r in &open {
        let post = r.post_title.as_deref().unwrap_or("a reply");
        let _ = write!(
            body,
            "<li><a href=\"/thread/{pid}#r{pid}\">{post}</a>: {reason}<br>\
             <span class=\"muted\">reported by {who}</span> \
             <form class=\"inline\" method=\"post\" action=\"/community/{id}/moderation/report\">\
             <input type=\"hidden\" name=\"report\" value=\"{rid}\">\
             <button name=\"status\" value=\"resolved\">Resolved</button> \
             <button name=\"status\" value=\"dismissed\">Dismiss</button></form></li>",
            pid = r.post_id,
            post = escape(post),
            reason = escape(&r.reason),
            who = escape(r.reporter.as_deref().unwrap_or("someone on another server")),
            rid = r.id,
        );
    }
    body.push_str("</ul></section>");
    if c.local {
        body.push_str("<section><h2>Waiting to join</h2><ul>");
        if waiting.is_empty() {
            body.push_str("<li class=\"muted\">Nobody.</li>");
        }
        for f in &waiting {
            let _ = write!(
                body,
                "<li>{who}{warn} <form class=\"inline\" method=\"post\" \
                 action=\"/community/{id}/moderation/member\">\
                 <input type=\"hidden\" name=\"person\" value=\"{who}\">\
                 <button name=\"accept\" value=\"true\">Accept</button> \
                 <button name=\"accept\" value=\"false\">Turn away</button></form></li>",
                who = escape(&f.ap_id),
                warn = if f.new_instance && c.members_only {
                    " <strong>(the first member from that instance: its admins will be able \
                     to read this private community)</strong>"
                } else {
                    ""
                },
            );
        }
        body.push_str("</ul></section>");
        body.push_str(&super::stewardship::sections(state, &c).await?);
    }
    Ok(page(state, viewer, &format!("Moderation · {}", c.title), &body).into_response())
}

#[derive(Deserialize)]
struct ReportForm {
    report: i64,
    status: String,
}

async fn close_report(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    WebPath(id): WebPath<i64>,
    WebForm(f): WebForm<ReportForm>,
) -> Response {
    let st = state.clone();
    act(&state, &viewer, &headers, id, |me, _| async move {
        reports::set_status(&st, &me, f.report, &f.status).await?;
        Ok(())
    })
    .await
}

#[derive(Deserialize)]
struct MemberForm {
    person: String,
    accept: bool,
}

async fn decide_member(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    WebPath(id): WebPath<i64>,
    WebForm(f): WebForm<MemberForm>,
) -> Response {
    let st = state.clone();
    act(&state, &viewer, &headers, id, |me, c| async move {
        membership::decide(&st, &me, &c, &f.person, f.accept).await
    })
    .await
}
