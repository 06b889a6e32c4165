//! The page an invitation link opens (`/invite/{token}`): the community, its guidelines,
//! and a Join button that accepts them and the invitation.

use super::extract::WebPath;
use super::{Viewer, error_page, escape, not_found, page, see_other, session::check_origin};
use crate::{domain::invitations, state::AppState, store};
use axum::{
    Router,
    extract::State,
    http::HeaderMap,
    response::{IntoResponse, Response},
    routing::get,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/invite/{token}", get(show).post(join))
}

async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    WebPath(token): WebPath<String>,
) -> Response {
    let found = async {
        let mut conn = state.db.pool.acquire().await?;
        match store::invitations::by_token(&mut conn, &token).await? {
            Some((_, cid)) => Ok(Some(store::communities::find_by_id(&mut conn, cid).await?)),
            None => Ok::<_, crate::error::AppError>(None),
        }
    }
    .await;
    let c = match found {
        Ok(Some(c)) => c,
        Ok(None) => return not_found(&state, &viewer, "invitation"),
        Err(e) => return error_page(&state, &viewer, e),
    };
    let mut body = format!(
        "<h1>You are invited to {title}</h1><section><h2>Domain</h2>{summary}</section>",
        title = escape(&c.title),
        summary = c.summary_html,
    );
    if !c.guidelines_html.is_empty() {
        body.push_str(&format!(
            "<section><h2>Guidelines</h2>{}</section>",
            c.guidelines_html
        ));
    }
    if viewer.user().is_some() {
        body.push_str(&format!(
            "<form method=\"post\" action=\"/invite/{}\"><button>Join (I accept the \
             guidelines)</button></form>",
            escape(&token)
        ));
    } else {
        body.push_str(
            "<p><a href=\"/login\">Log in</a> or <a href=\"/register\">register</a> \
                       here, then open this link again to join.</p>",
        );
    }
    page(&state, &viewer, &format!("Invitation · {}", c.title), &body).into_response()
}

async fn join(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    WebPath(token): WebPath<String>,
) -> Response {
    let result = async {
        check_origin(&state, &headers)?;
        let user = viewer.require()?.clone();
        invitations::accept_link(&state, &user.person, &token, true).await
    }
    .await;
    match result {
        Ok((c, _)) => see_other(&format!("/community/{}", c.id)),
        Err(e) => error_page(&state, &viewer, e),
    }
}
