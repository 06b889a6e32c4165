//! Every rejection in `/api/v1` answers the JSON error shape, whatever the client accepts;
//! browsers get HTML error pages in the site's layout, and refused forms come back with
//! what was typed and the message beside its field (issue 12 §4). Both stores.

use crate::bad_input::{TWO_TO_64, assert_json_error, community_with_a_post};
use crate::http::{get, post};
use crate::on_both_stores;
use crate::support::{Backend, test_state};
use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use guildhall::state::AppState;
use serde_json::json;

on_both_stores!(
    every_api_rejection_answers_the_json_shape,
    browsers_get_html_error_pages,
    refused_forms_keep_what_was_typed,
);

async fn send_raw(
    state: &AppState,
    method: &str,
    uri: &str,
    content_type: Option<&str>,
    accept: &str,
    body: &str,
) -> crate::http::Reply {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::ACCEPT, accept)
        .header(header::ORIGIN, "http://gh.test");
    if let Some(ct) = content_type {
        req = req.header(header::CONTENT_TYPE, ct);
    }
    crate::http::send(state, req.body(Body::from(body.to_string())).unwrap()).await
}

/// method, uri, content type, body, status, code.
type Case<'a> = (
    &'a str,
    &'a str,
    Option<&'a str>,
    String,
    StatusCode,
    &'a str,
);

async fn every_api_rejection_answers_the_json_shape(b: Backend) {
    let (state, _db) = test_state(b, "").await;
    community_with_a_post(&state).await;
    let json = Some("application/json");
    let bad = StatusCode::BAD_REQUEST;
    // (method, uri, content type, body, status, code); each also with a browser's Accept.
    let cases: Vec<Case> = vec![
        (
            "GET",
            "/api/v1/posts/abc",
            None,
            String::new(),
            bad,
            "invalid_path",
        ),
        (
            "GET",
            "/api/v1/posts/99999999999999999999",
            None,
            String::new(),
            bad,
            "invalid_path",
        ),
        (
            "GET",
            "/api/v1/communities/wood%00work",
            None,
            String::new(),
            bad,
            "invalid_path",
        ),
        (
            "GET",
            "/api/v1/communities?limit=many",
            None,
            String::new(),
            bad,
            "invalid_query",
        ),
        (
            "GET",
            "/api/v1/communities?after=a%00b",
            None,
            String::new(),
            bad,
            "invalid_query",
        ),
        (
            "POST",
            "/api/v1/accounts",
            json,
            "{\"username\": ".into(),
            bad,
            "invalid_json",
        ),
        (
            "POST",
            "/api/v1/accounts",
            Some("text/plain"),
            "{}".into(),
            bad,
            "invalid_json",
        ),
        (
            "POST",
            "/api/v1/accounts",
            None,
            "{}".into(),
            bad,
            "invalid_json",
        ),
        (
            "POST",
            "/api/v1/accounts",
            json,
            "{\"username\": \"bob\"}".into(),
            bad,
            "invalid_json",
        ),
        (
            "POST",
            "/api/v1/accounts",
            json,
            json!({ "username": "bob", "password": "correct horse battery", "admin": true })
                .to_string(),
            bad,
            "invalid_json",
        ),
        (
            "POST",
            "/api/v1/accounts",
            json,
            format!("{{\"username\":\"{}\"}}", "a".repeat(2 * 1024 * 1024)),
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
        ),
        (
            "DELETE",
            "/api/v1/communities",
            None,
            String::new(),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            "PUT",
            "/api/v1/posts/1",
            json,
            "{}".into(),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            "GET",
            "/api/v1/nope/nothing",
            None,
            String::new(),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "POST",
            "/api/v1",
            None,
            String::new(),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ];
    // A NUL inside a JSON string: SQLite compares it, PostgreSQL refuses it as text; either
    // way the client hears it in our shape, never as a 500.
    let r = post(
        &state,
        "/api/v1/sessions",
        json!({ "username": "ali\u{0}ce", "password": "correct horse battery" }),
        None,
    )
    .await;
    assert!(r.status.is_client_error(), "{}", r.body);
    assert!(r.json()["error"].is_string(), "{}", r.body);
    for (method, uri, ct, body, status, code) in cases {
        for accept in [
            "application/json",
            "text/html,application/xhtml+xml,*/*;q=0.8",
        ] {
            let r = send_raw(&state, method, uri, ct, accept, &body).await;
            let what = format!("{method} {uri} ({accept})");
            assert_json_error(&r, status, code, &what);
            if status == StatusCode::METHOD_NOT_ALLOWED {
                assert!(r.headers.contains_key(header::ALLOW), "{what}: Allow");
            }
        }
    }
}

fn assert_html_page(r: &crate::http::Reply, status: StatusCode, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.body);
    assert!(
        r.content_type().starts_with("text/html"),
        "{what}: {}",
        r.content_type()
    );
    assert!(
        r.body.starts_with("<!doctype html>") && r.body.contains("<header>"),
        "{what}: the site's layout: {}",
        r.body
    );
}

async fn browsers_get_html_error_pages(b: Backend) {
    let (state, _db) = test_state(b, "").await;
    let id = community_with_a_post(&state).await;
    let html = "text/html,application/xhtml+xml,*/*;q=0.8";
    // Unknown addresses: a 404 page for browsers, JSON for everyone else.
    let r = get(&state, "/no/such/page", html).await;
    assert_html_page(&r, StatusCode::NOT_FOUND, "unknown path");
    assert!(
        r.body.contains("Not found") && r.body.contains("href=\"/\""),
        "{}",
        r.body
    );
    let r = get(&state, "/no/such/page", "application/json").await;
    assert_json_error(&r, StatusCode::NOT_FOUND, "not_found", "unknown path, JSON");
    // A path segment, a query or a form that does not parse; a method not taken.
    let cases = [
        ("GET", "/thread/abc".to_string(), None, ""),
        ("GET", "/community/1%002".to_string(), None, ""),
        ("GET", format!("/thread/{id}?page={TWO_TO_64}"), None, ""),
        ("GET", "/community/1?sort=sideways".to_string(), None, ""),
        (
            "POST",
            "/login".to_string(),
            Some("application/x-www-form-urlencoded"),
            "username=alice",
        ),
        (
            "POST",
            "/login".to_string(),
            Some("text/plain"),
            "username=alice&password=x",
        ),
    ];
    for (method, uri, ct, body) in cases {
        let r = send_raw(&state, method, &uri, ct, html, body).await;
        assert_html_page(&r, StatusCode::BAD_REQUEST, &format!("{method} {uri}"));
        assert!(r.body.contains("class=\"error\""), "{uri}: {}", r.body);
    }
    let r = send_raw(&state, "GET", "/logout", None, html, "").await;
    assert_html_page(&r, StatusCode::METHOD_NOT_ALLOWED, "GET /logout");
    assert!(r.headers.contains_key(header::ALLOW));
}

/// A form POST from our own site; the cookie if any.
async fn form(state: &AppState, uri: &str, body: &str, cookie: Option<&str>) -> crate::http::Reply {
    let mut req = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html")
        .header(header::ORIGIN, "http://gh.test");
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    crate::http::send(state, req.body(Body::from(body.to_string())).unwrap()).await
}

/// The message of `field` comes right after that field's control, before any other.
#[track_caller]
fn beside(html: &str, field: &str) {
    let control = html
        .find(&format!("name=\"{field}\""))
        .unwrap_or_else(|| panic!("no field {field}: {html}"));
    let message = html
        .find(&format!("id=\"{field}-error\""))
        .unwrap_or_else(|| panic!("no message for {field}: {html}"));
    let next = html[control + 1..]
        .find("name=\"")
        .map_or(usize::MAX, |i| i + control + 1);
    assert!(control < message && message < next, "{field}: {html}");
}

async fn refused_forms_keep_what_was_typed(b: Backend) {
    let (state, _db) = test_state(b, "").await;
    let id = community_with_a_post(&state).await;
    let r = form(&state, "/register", "username=Bad+Name&password=correct+horse+battery&email=b%40example.org&reason=I+%3Cteach%3E", None).await;
    assert_html_page(&r, StatusCode::UNPROCESSABLE_ENTITY, "register");
    beside(&r.body, "username");
    assert!(r.body.contains("value=\"Bad Name\""), "{}", r.body);
    assert!(r.body.contains("value=\"b@example.org\""), "{}", r.body);
    assert!(
        r.body.contains("I &lt;teach&gt;</textarea>"),
        "escaped: {}",
        r.body
    );
    assert!(
        !r.body.contains("correct horse battery"),
        "no password sent back"
    );
    let r = form(&state, "/register", "username=bob&password=short", None).await;
    beside(&r.body, "password");

    let r = form(
        &state,
        "/login",
        "username=alice&password=wrong+wrong+wrong",
        None,
    )
    .await;
    assert_html_page(&r, StatusCode::UNAUTHORIZED, "login");
    assert!(
        r.body.contains("value=\"alice\"") && r.body.contains("id=\"form-error\""),
        "{}",
        r.body
    );
    let r = form(
        &state,
        "/login",
        "username=alice&password=correct+horse+battery",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let cookie = r.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();

    let cid = {
        let mut conn = state.db.pool.acquire().await.unwrap();
        guildhall::store::communities::find_local_by_name(&mut conn, "woodwork")
            .await
            .unwrap()
            .expect("woodwork")
            .id
    };
    let r = form(
        &state,
        &format!("/community/{cid}/posts"),
        "title=+&url=https%3A%2F%2Fexample.org%2Fx&body=Kept+text",
        Some(&cookie),
    )
    .await;
    assert_html_page(&r, StatusCode::UNPROCESSABLE_ENTITY, "new post");
    beside(&r.body, "title");
    assert!(
        r.body.contains("Kept text</textarea>")
            && r.body.contains("value=\"https://example.org/x\""),
        "{}",
        r.body
    );

    let long = "x".repeat(guildhall::domain::posts::BODY_MAX + 1);
    let r = form(
        &state,
        &format!("/thread/{id}/reply"),
        &format!("body={long}"),
        Some(&cookie),
    )
    .await;
    assert_html_page(&r, StatusCode::UNPROCESSABLE_ENTITY, "reply");
    beside(&r.body, "body");
    assert!(r.body.contains(&long), "the reply is kept");
}
