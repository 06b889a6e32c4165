//! Helpers to drive the in-process app with `oneshot`.

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use guildhall::state::AppState;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// A response: status, headers and body text.
pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    pub fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

/// Sends one request through the whole app.
pub async fn send(state: &AppState, req: Request<Body>) -> Reply {
    let app = guildhall::app(state.clone()).await.expect("app");
    let res = app.oneshot(req).await.expect("infallible");
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub async fn get(state: &AppState, uri: &str, accept: &str) -> Reply {
    let req = Request::get(uri)
        .header(header::ACCEPT, accept)
        .body(Body::empty())
        .unwrap();
    send(state, req).await
}

/// POSTs a raw body as `application/json`, with an optional bearer token.
pub async fn post_raw(state: &AppState, uri: &str, body: &str, token: Option<&str>) -> Reply {
    let mut req = Request::post(uri).header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    send(state, req.body(Body::from(body.to_string())).unwrap()).await
}

pub async fn post(state: &AppState, uri: &str, body: Value, token: Option<&str>) -> Reply {
    post_raw(state, uri, &body.to_string(), token).await
}

pub async fn with_token(state: &AppState, method: &str, uri: &str, token: &str) -> Reply {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    send(state, req).await
}

/// Registers `name` and logs in; returns the bearer token.
pub async fn register_and_login(state: &AppState, name: &str) -> String {
    let r = post(
        state,
        "/api/v1/accounts",
        serde_json::json!({ "username": name, "password": "correct horse battery" }),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = post(
        state,
        "/api/v1/sessions",
        serde_json::json!({ "username": name, "password": "correct horse battery" }),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.json()["token"].as_str().expect("token").to_string()
}
