//! `/notices`: a signed-in person's notices (facilitator hand-overs in their communities),
//! newest first, unread ones marked, and a button to mark them read.

use super::{Viewer, error_page, escape, page, see_other, session::check_origin};
use crate::{state::AppState, store};
use axum::{
    Router,
    extract::State,
    http::HeaderMap,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use std::fmt::Write;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/notices", get(show))
        .route("/notices/read", post(read))
}

async fn show(State(state): State<AppState>, viewer: Viewer) -> Response {
    let result = async {
        let user = viewer.require()?.clone();
        let mut conn = state.db.pool.acquire().await?;
        Ok::<_, crate::error::AppError>(store::notices::list(&mut conn, user.person.id, 100).await?)
    }
    .await;
    let notices = match result {
        Ok(n) => n,
        Err(e) => return error_page(&state, &viewer, e),
    };
    let mut body = String::from("<h1>Notices</h1><ul>");
    if notices.is_empty() {
        body.push_str("<li class=\"muted\">Nothing yet.</li>");
    }
    for n in &notices {
        let when = chrono::DateTime::from_timestamp_millis(n.created_at)
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default();
        let text = escape(&n.body);
        let _ = write!(
            body,
            "<li>{}<span class=\"muted\"> · {} · {when}</span></li>",
            if n.read {
                text
            } else {
                format!("<strong>{text}</strong>")
            },
            escape(&n.community_title),
        );
    }
    body.push_str("</ul>");
    if notices.iter().any(|n| !n.read) {
        body.push_str(
            "<form method=\"post\" action=\"/notices/read\"><button>Mark all read</button></form>",
        );
    }
    page(&state, &viewer, "Notices", &body).into_response()
}

async fn read(State(state): State<AppState>, viewer: Viewer, headers: HeaderMap) -> Response {
    let result = async {
        check_origin(&state, &headers)?;
        let user = viewer.require()?.clone();
        let mut conn = state.db.write_conn().await?;
        store::notices::mark_read(&mut conn, user.person.id).await?;
        Ok::<_, crate::error::AppError>(())
    }
    .await;
    match result {
        Ok(()) => see_other("/notices"),
        Err(e) => error_page(&state, &viewer, e),
    }
}
