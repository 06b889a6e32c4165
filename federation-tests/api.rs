//! The JSON client API through `app().oneshot()`, on both stores.

use crate::http::{get, post, post_raw, register_and_login, send, with_token};
use crate::on_both_stores;
use crate::support::{Backend, count, test_state};
use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use guildhall::state::AppState;
use serde_json::json;

on_both_stores!(
    register_login_me_logout,
    bad_registrations_are_rejected_and_store_nothing,
    closed_registration_is_refused,
    approval_registration_waits_for_an_admin,
    communities_create_get_and_list,
    bad_community_input_stores_nothing,
    unknown_api_paths_and_openapi,
);

async fn tables(state: &AppState) -> [i64; 4] {
    [
        count(state, "people").await,
        count(state, "accounts").await,
        count(state, "local_names").await,
        count(state, "communities").await,
    ]
}

async fn register_login_me_logout(b: Backend) {
    let (state, _db) = test_state(b, "").await;
    let r = post(
        &state,
        "/api/v1/accounts",
        json!({ "username": "alice", "password": "correct horse battery", "email": "alice@example.org", "display_name": "Alice <b>A</b>" }),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let body = r.json();
    assert_eq!(body["name"], "alice");
    assert_eq!(body["actor_id"], "http://gh.test/u/alice");
    assert_eq!(body["approved"], true);
    assert_eq!(body["is_admin"], false);
    assert!(body.get("password").is_none() && body.get("password_hash").is_none());

    let r = post(
        &state,
        "/api/v1/sessions",
        json!({ "username": "alice", "password": "nope nope nope" }),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["error"], "unauthorized");

    let r = post(
        &state,
        "/api/v1/sessions",
        json!({ "username": "alice", "password": "correct horse battery" }),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let token = r.json()["token"].as_str().unwrap().to_string();
    assert!(token.len() >= 40);

    let r = with_token(&state, "GET", "/api/v1/accounts/me", &token).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["email"], "alice@example.org");
    assert_eq!(r.json()["display_name"], "Alice <b>A</b>");

    let r = get(&state, "/api/v1/accounts/alice", "application/json").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.json().get("email").is_none(),
        "public profile hides the e-mail"
    );

    let r = with_token(&state, "DELETE", "/api/v1/sessions/current", &token).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = with_token(&state, "GET", "/api/v1/accounts/me", &token).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = get(&state, "/api/v1/accounts/me", "application/json").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["error"], "unauthorized");
}

async fn bad_registrations_are_rejected_and_store_nothing(b: Backend) {
    let (state, _db) = test_state(b, "").await;
    register_and_login(&state, "taken").await;
    let before = tables(&state).await;
    let long = "a".repeat(31);
    let cases: Vec<(String, StatusCode, &str)> = vec![
        (json!({}).to_string(), StatusCode::BAD_REQUEST, "invalid_json"),
        (json!({ "username": "", "password": "correct horse battery" }).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_name"),
        (json!({ "username": long, "password": "correct horse battery" }).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_name"),
        (json!({ "username": "Bad Name", "password": "correct horse battery" }).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_name"),
        (json!({ "username": "admin", "password": "correct horse battery" }).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "reserved_name"),
        (json!({ "username": "taken", "password": "correct horse battery" }).to_string(), StatusCode::CONFLICT, "name_taken"),
        (json!({ "username": "fresh", "password": "short" }).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_password"),
        (json!({ "username": "fresh", "password": "correct horse battery", "email": "not-an-email" }).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_email"),
        (json!({ "username": "fresh", "password": "correct horse battery", "display_name": "x".repeat(101) }).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "too_long"),
        (json!({ "username": "fresh", "password": "correct horse battery", "is_admin": true }).to_string(), StatusCode::BAD_REQUEST, "invalid_json"),
        ("{\"username\": ".to_string(), StatusCode::BAD_REQUEST, "invalid_json"),
        ("[1, 2".to_string(), StatusCode::BAD_REQUEST, "invalid_json"),
    ];
    for (body, status, code) in cases {
        let r = post_raw(&state, "/api/v1/accounts", &body, None).await;
        assert_eq!(r.status, status, "{body} -> {}", r.body);
        assert_eq!(r.json()["error"], code, "{body} -> {}", r.body);
        assert!(r.json()["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert_eq!(tables(&state).await, before, "{body} changed the database");
    }
    // Wrong content type.
    let req = Request::post("/api/v1/accounts")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(
            json!({ "username": "fresh", "password": "correct horse battery" }).to_string(),
        ))
        .unwrap();
    let r = send(&state, req).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.json()["error"], "invalid_json");
    // A body over the limit.
    let huge = format!("{{\"username\":\"{}\"}}", "a".repeat(2 * 1024 * 1024));
    let r = post_raw(&state, "/api/v1/accounts", &huge, None).await;
    assert_eq!(
        r.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        &r.body[..r.body.len().min(200)]
    );
    assert_eq!(tables(&state).await, before);
}

async fn closed_registration_is_refused(b: Backend) {
    let (state, _db) = test_state(b, "[registration]\nmode = \"closed\"\n").await;
    let before = tables(&state).await;
    let r = post(
        &state,
        "/api/v1/accounts",
        json!({ "username": "alice", "password": "correct horse battery" }),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["error"], "registration_closed");
    assert_eq!(tables(&state).await, before);
    let r = get(&state, "/nodeinfo/2.1", "application/json").await;
    assert_eq!(r.json()["openRegistrations"], false);
}

async fn approval_registration_waits_for_an_admin(b: Backend) {
    let (state, _db) = test_state(b, "[registration]\nmode = \"approval\"\n").await;
    let r = post(
        &state,
        "/api/v1/accounts",
        json!({ "username": "alice", "password": "correct horse battery" }),
        None,
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a reason is required: {}",
        r.body
    );
    let r = post(
        &state,
        "/api/v1/accounts",
        json!({ "username": "alice", "password": "correct horse battery", "reason": "I teach woodwork" }),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(r.json()["approved"], false);
    let login = json!({ "username": "alice", "password": "correct horse battery" });
    let r = post(&state, "/api/v1/sessions", login.clone(), None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["error"], "pending_approval");
    guildhall::domain::accounts::approve(&state, "alice")
        .await
        .unwrap();
    let r = post(&state, "/api/v1/sessions", login, None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

async fn communities_create_get_and_list(b: Backend) {
    let (state, _db) = test_state(b, "").await;
    let token = register_and_login(&state, "alice").await;
    let input = json!({
        "name": "woodwork",
        "title": "Green woodworking",
        "summary": "Spoons, bowls and **chairs** from green wood.",
        "guidelines": "- Share your failures too",
        "topics": ["Carving", "#chairs"]
    });
    let r = post(&state, "/api/v1/communities", input.clone(), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = post(
        &state,
        "/api/v1/communities",
        input.clone(),
        Some("not-a-token"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = post(&state, "/api/v1/communities", input.clone(), Some(&token)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let c = r.json();
    assert_eq!(c["handle"], "!woodwork@gh.test");
    assert_eq!(c["actor_id"], "http://gh.test/c/woodwork");
    assert_eq!(c["topics"], json!(["carving", "chairs"]));
    assert_eq!(c["owners"], json!(["http://gh.test/u/alice"]));
    assert_eq!(c["moderators"], json!(["http://gh.test/u/alice"]));
    assert!(
        c["summary_html"]
            .as_str()
            .unwrap()
            .contains("<strong>chairs</strong>")
    );

    let r = post(&state, "/api/v1/communities", input, Some(&token)).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.json()["error"], "name_taken");

    for name in ["bowls", "spoons"] {
        let r = post(
            &state,
            "/api/v1/communities",
            json!({ "name": name, "title": name }),
            Some(&token),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let r = get(&state, "/api/v1/communities/woodwork", "application/json").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["title"], "Green woodworking");
    let r = get(
        &state,
        "/api/v1/communities/nothing_here",
        "application/json",
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["error"], "not_found");

    let r = get(&state, "/api/v1/communities?limit=2", "application/json").await;
    let page = r.json();
    let names: Vec<_> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, vec!["bowls", "spoons"]);
    assert_eq!(page["next"], "spoons");
    let r = get(
        &state,
        "/api/v1/communities?limit=2&after=spoons",
        "application/json",
    )
    .await;
    let page = r.json();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["name"], "woodwork");
    assert!(page["next"].is_null());
    let r = get(&state, "/api/v1/communities?limit=many", "application/json").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["error"], "invalid_query");
}

async fn bad_community_input_stores_nothing(b: Backend) {
    let (state, _db) = test_state(b, "").await;
    let token = register_and_login(&state, "alice").await;
    let before = tables(&state).await;
    let cases = [
        (
            json!({ "name": "x", "title": "t" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "name": "alice", "title": "t" }),
            StatusCode::CONFLICT,
        ),
        (
            json!({ "name": "api", "title": "t" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "name": "okname", "title": "" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "name": "okname", "title": "t".repeat(101) }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "name": "okname", "title": "t", "topics": ["no spaces"] }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "name": "okname", "title": "t", "summary": "s".repeat(10_001) }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({ "name": "okname" }), StatusCode::BAD_REQUEST),
        (
            json!({ "name": "okname", "title": "t", "owner": "bob" }),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (body, status) in cases {
        let r = post(&state, "/api/v1/communities", body.clone(), Some(&token)).await;
        assert_eq!(r.status, status, "{body} -> {}", r.body);
        assert!(r.json()["error"].is_string());
        assert_eq!(tables(&state).await, before, "{body} changed the database");
    }
}

async fn unknown_api_paths_and_openapi(b: Backend) {
    let (state, _db) = test_state(b, "").await;
    let r = get(&state, "/api/v1/nope", "application/json").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["error"], "not_found");
    let r = get(&state, "/api/v1/openapi.json", "application/json").await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.1.0");
    // Every route the API's routers declare is described (read from their source, so a
    // new endpoint without its description fails here).
    let dir = format!("{}/src/api", env!("CARGO_MANIFEST_DIR"));
    let mut routes = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let src = std::fs::read_to_string(&path).unwrap();
            for (at, _) in src.match_indices(".route(") {
                let rest = &src[at..];
                let open = rest.find('"').unwrap() + 1;
                let close = open + rest[open..].find('"').unwrap();
                routes.push(rest[open..close].to_string());
            }
        }
    }
    assert!(routes.len() >= 40, "{routes:?}");
    for path in &routes {
        assert!(
            doc["paths"][path.as_str()].is_object(),
            "{path} missing from OpenAPI"
        );
    }
    let r = get(&state, "/healthz", "application/json").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["status"], "ok");
}
