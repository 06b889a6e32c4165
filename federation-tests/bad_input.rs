//! Bad input on every path (issue 12 §4), through `app().oneshot()` on both stores: paging
//! numbers of any size are bounded (no overflow, no PostgreSQL error). Rejections:
//! `rejections.rs`.

use crate::http::{get, post, register_and_login};
use crate::on_both_stores;
use crate::support::{Backend, test_state};
use axum::http::StatusCode;
use guildhall::state::AppState;
use serde_json::json;

on_both_stores!(paging_numbers_of_any_size_are_bounded);

const I64_MAX: &str = "9223372036854775807";
const I64_MIN: &str = "-9223372036854775808";
pub const TWO_TO_64: &str = "18446744073709551616";

/// A community with one post and one reply; the post's id.
pub async fn community_with_a_post(state: &AppState) -> i64 {
    let token = register_and_login(state, "alice").await;
    let r = post(
        state,
        "/api/v1/communities",
        json!({ "name": "woodwork", "title": "Green woodworking" }),
        Some(&token),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = post(
        state,
        "/api/v1/communities/woodwork/posts",
        json!({ "title": "Spoons", "body": "Carve them green." }),
        Some(&token),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.json()["id"].as_i64().expect("post id");
    let r = post(
        state,
        &format!("/api/v1/posts/{id}/replies"),
        json!({ "body": "With a hook knife." }),
        Some(&token),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    id
}

/// Asserts a JSON error answer: its status and its `error` code, with a message.
#[track_caller]
pub fn assert_json_error(r: &crate::http::Reply, status: StatusCode, code: &str, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.body);
    assert!(
        r.content_type().starts_with("application/json"),
        "{what}: {} {}",
        r.content_type(),
        r.body
    );
    let body = r.json();
    assert_eq!(body["error"], code, "{what}: {}", r.body);
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: {}",
        r.body
    );
}

async fn paging_numbers_of_any_size_are_bounded(b: Backend) {
    let (state, _db) = test_state(b, "").await;
    let id = community_with_a_post(&state).await;
    let feed = "/api/v1/communities/woodwork/posts";
    let thread = format!("/api/v1/posts/{id}");

    // Page numbers out of range are the client's mistake: 400 `invalid_page`.
    for page in [I64_MAX, I64_MIN, "-1", "0", "100001"] {
        for path in [feed, thread.as_str()] {
            let uri = format!("{path}?page={page}");
            let r = get(&state, &uri, "application/json").await;
            assert_json_error(&r, StatusCode::BAD_REQUEST, "invalid_page", &uri);
        }
    }
    // Numbers no i64 holds, and words, are a malformed query.
    for page in [TWO_TO_64, "x", "1.5"] {
        for path in [feed, thread.as_str()] {
            let uri = format!("{path}?page={page}");
            let r = get(&state, &uri, "application/json").await;
            assert_json_error(&r, StatusCode::BAD_REQUEST, "invalid_query", &uri);
        }
    }
    // The last page served, with the largest size: an empty page, not a database error
    // (the offset is 9 999 900 on both stores).
    let uri = format!("{feed}?page=100000&limit={I64_MAX}");
    let r = get(&state, &uri, "application/json").await;
    assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
    assert_eq!(r.json()["items"], json!([]), "{uri}");
    assert_eq!(r.json()["page"], 100000);
    // Sizes of any i64 are clamped; the first page still shows the post.
    for limit in [I64_MAX, I64_MIN, "0", "-5"] {
        let uri = format!("{feed}?limit={limit}");
        let r = get(&state, &uri, "application/json").await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
        assert_eq!(r.json()["items"].as_array().map(Vec::len), Some(1), "{uri}");
    }
    // A thread page past the end is its last page.
    let r = get(&state, &format!("{thread}?page=100000"), "application/json").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (r.json()["page"].as_i64(), r.json()["pages"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(r.json()["replies"].as_array().map(Vec::len), Some(1));

    // Keyset paging (`before` an entry id, `after` a name) and sizes on the logs and the
    // directory: any i64 answers a page, a number past i64 is a malformed query.
    for path in [
        "/api/v1/communities/woodwork/modlog",
        "/api/v1/modlog",
        "/api/v1/modlog/instance",
    ] {
        for q in [
            format!("before={I64_MAX}&limit={I64_MAX}"),
            format!("before={I64_MIN}&limit={I64_MIN}"),
            "before=0&limit=0".to_string(),
        ] {
            let uri = format!("{path}?{q}");
            let r = get(&state, &uri, "application/json").await;
            assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
            assert!(r.json()["items"].is_array(), "{uri}");
        }
        let uri = format!("{path}?before={TWO_TO_64}");
        let r = get(&state, &uri, "application/json").await;
        assert_json_error(&r, StatusCode::BAD_REQUEST, "invalid_query", &uri);
    }
    for limit in [I64_MAX, I64_MIN, "0"] {
        let uri = format!("/api/v1/communities?limit={limit}&after=%FF%FE");
        let r = get(&state, &uri, "application/json").await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
    }

    // The HTML thread page takes any number and shows its last page.
    for page in [I64_MAX, I64_MIN, "0", "-1", "100001"] {
        let uri = format!("/thread/{id}?page={page}");
        let r = get(&state, &uri, "text/html").await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
        assert!(r.body.contains("With a hook knife."), "{uri}");
    }
    let r = get(&state, &format!("/?after={I64_MAX}"), "text/html").await;
    assert_eq!(r.status, StatusCode::OK);
}
