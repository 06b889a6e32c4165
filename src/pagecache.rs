//! A microcache of anonymous page views: the HTML of a page read without a session is kept
//! for `server.page_cache_ms` (default one second) and served to every anonymous reader in
//! that time. A crowd arriving at a community page or a long thread costs one render a
//! second instead of one per reader, and leaves the database to the inbox and the delivery
//! engine. Signed-in people always get a fresh page; a local change (any form or API write
//! in this process) empties the cache at once; what arrives by federation shows within the
//! second.

use crate::state::AppState;
use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Pages kept at most (the cache starts again when full).
const CAPACITY: usize = 2_000;
/// Larger pages are not kept.
const MAX_PAGE: usize = 2 * 1024 * 1024;

/// A kept page: when, its body, its `Content-Type` and `Vary`.
type Page = (Instant, Bytes, HeaderValue, Option<HeaderValue>);

#[derive(Debug)]
pub struct PageCache {
    ttl: Duration,
    pages: Mutex<HashMap<String, Page>>,
}

impl PageCache {
    pub fn new(ttl_ms: u64) -> PageCache {
        PageCache {
            ttl: Duration::from_millis(ttl_ms),
            pages: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Page>> {
        self.pages.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self, key: &str) -> Option<Page> {
        let pages = self.lock();
        let page = pages.get(key)?;
        (page.0.elapsed() < self.ttl).then(|| page.clone())
    }

    fn put(&self, key: String, page: Page) {
        let mut pages = self.lock();
        if pages.len() >= CAPACITY {
            pages.clear();
        }
        pages.insert(key, page);
    }

    /// Forgets every page (a local change).
    pub fn clear(&self) {
        self.lock().clear();
    }
}

fn is_anonymous_page_view(req: &Request) -> bool {
    let h = req.headers();
    let has_session = h
        .get_all(header::COOKIE)
        .iter()
        .any(|c| c.to_str().is_ok_and(|c| c.contains("gh_session=")));
    // A browser's Accept; never a federation fetch that also lists text/html.
    let wants_html = h
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| {
            a.contains("text/html") && !a.contains("activity+json") && !a.contains("ld+json")
        });
    req.method() == Method::GET
        && wants_html
        && !has_session
        && !h.contains_key(header::AUTHORIZATION)
        && !h.contains_key("signature")
}

/// Middleware: serves and keeps anonymous page views; a local write empties the cache.
pub async fn middleware(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let cache = &state.page_cache;
    if cache.ttl.is_zero() {
        return next.run(req).await;
    }
    if !is_anonymous_page_view(&req) {
        let local_write = !matches!(*req.method(), Method::GET | Method::HEAD)
            && !req.uri().path().ends_with("/inbox");
        let response = next.run(req).await;
        if local_write {
            cache.clear();
        }
        return response;
    }
    let key = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    if let Some((_, body, kind, vary)) = cache.get(&key) {
        let mut r = Response::new(Body::from(body));
        r.headers_mut().insert(header::CONTENT_TYPE, kind);
        if let Some(v) = vary {
            r.headers_mut().insert(header::VARY, v);
        }
        return r;
    }
    let response = next.run(req).await;
    let keep = response.status() == StatusCode::OK
        && !response.headers().contains_key(header::SET_COOKIE)
        && response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|c| c.to_str().ok())
            .is_some_and(|c| c.starts_with("text/html"));
    if !keep {
        return response;
    }
    let (parts, body) = response.into_parts();
    // Our own rendered HTML: reading it whole cannot fail short of a bug.
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    if bytes.len() <= MAX_PAGE
        && let Some(kind) = parts.headers.get(header::CONTENT_TYPE)
    {
        let vary = parts.headers.get(header::VARY).cloned();
        cache.put(key, (Instant::now(), bytes.clone(), kind.clone(), vary));
    }
    Response::from_parts(parts, Body::from(bytes))
}
