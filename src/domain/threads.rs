//! Reading a long thread a page at a time (as Lemmy does): a page holds up to
//! `REPLIES_PER_PAGE` top-level replies, each with all the replies under it. Shared by the
//! thread page and the API.

use crate::store::posts::DbPost;
use std::collections::{HashMap, HashSet};

/// Top-level replies per page.
pub const REPLIES_PER_PAGE: usize = 50;

/// One page of a thread's replies.
pub struct ThreadPage<'a> {
    /// In thread order (oldest first), subtrees whole.
    pub replies: Vec<&'a DbPost>,
    /// 0-based.
    pub page: usize,
    pub pages: usize,
}

/// The replies of page `page` (1-based; past the end: the last), or, without one, of the
/// page holding reply `at` (else the first). `replies` is the whole thread, oldest first.
pub fn page_of_thread(
    replies: &[DbPost],
    root_id: i64,
    page: Option<usize>,
    at: Option<i64>,
) -> ThreadPage<'_> {
    let top: Vec<i64> = replies
        .iter()
        .filter(|r| r.parent_id == Some(root_id))
        .map(|r| r.id)
        .collect();
    let pages = top.len().div_ceil(REPLIES_PER_PAGE).max(1);
    let parents: HashMap<i64, Option<i64>> = replies.iter().map(|r| (r.id, r.parent_id)).collect();
    // The top-level reply above `id` (a reply's parent chain ends at the root).
    let top_of = |id: i64| {
        let mut cur = id;
        for _ in 0..replies.len() {
            match parents.get(&cur) {
                Some(Some(parent)) if *parent != root_id => cur = *parent,
                _ => break,
            }
        }
        cur
    };
    let current = match (page, at) {
        (Some(n), _) => n.clamp(1, pages) - 1,
        (None, Some(id)) => top
            .iter()
            .position(|t| *t == top_of(id))
            .map_or(0, |i| i / REPLIES_PER_PAGE),
        (None, None) => 0,
    };
    let shown: HashSet<i64> = top
        .iter()
        .skip(current * REPLIES_PER_PAGE)
        .take(REPLIES_PER_PAGE)
        .copied()
        .collect();
    ThreadPage {
        replies: replies
            .iter()
            .filter(|r| shown.contains(&top_of(r.id)))
            .collect(),
        page: current,
        pages,
    }
}
