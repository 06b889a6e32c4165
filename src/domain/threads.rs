//! Reading a long thread a page at a time (as Lemmy does): a page holds up to
//! `REPLIES_PER_PAGE` top-level replies, each with all the replies under it. Only the page
//! is read from the store. Shared by the thread page and the API.

use crate::{
    error::AppResult,
    store::{self, posts::DbPost},
};
use sqlx::AnyConnection;

/// Top-level replies per page.
pub const REPLIES_PER_PAGE: usize = 50;

/// One page of a thread's replies.
pub struct ThreadPage {
    /// In thread order (oldest first), subtrees whole.
    pub replies: Vec<DbPost>,
    /// 0-based.
    pub page: usize,
    pub pages: usize,
}

/// The replies of page `page` (1-based; past the end: the last), or, without one, of the
/// page holding reply `at` (else the first), of the thread under `root_id`.
pub async fn load(
    conn: &mut AnyConnection,
    root_id: i64,
    page: Option<usize>,
    at: Option<i64>,
) -> AppResult<ThreadPage> {
    let top = store::posts::top_level_count(conn, root_id).await? as usize;
    let pages = top.div_ceil(REPLIES_PER_PAGE).max(1);
    let current = match (page, at) {
        (Some(n), _) => n.clamp(1, pages) - 1,
        (None, Some(id)) => store::posts::top_level_position(conn, root_id, id)
            .await?
            .map_or(0, |i| i as usize / REPLIES_PER_PAGE),
        (None, None) => 0,
    };
    let replies = store::posts::thread_page(
        conn,
        root_id,
        (current * REPLIES_PER_PAGE) as i64,
        REPLIES_PER_PAGE as i64,
    )
    .await?;
    Ok(ThreadPage {
        replies,
        page: current,
        pages,
    })
}
