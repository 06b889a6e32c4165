//! Refused activities are visible to admins (issue 12 §4): an activity the inbox refuses
//! appears, with its reason, in the admin API and on the admin federation page (escaped),
//! for admins only; the table stays bounded. Both stores.

use crate::http::{get, post, register_and_login, send, with_token};
use crate::on_both_stores;
use crate::support::{Backend, count, poll_until, test_state};
use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use guildhall::{domain::accounts, state::AppState, store};
use serde_json::{Value, json};
use std::time::Duration;

on_both_stores!(
    refused_activities_show_to_admins_with_their_reason,
    the_refused_log_keeps_the_newest_per_instance,
);

async fn admin_token(state: &AppState) -> String {
    accounts::create(
        state,
        accounts::NewAccount {
            username: "dora".into(),
            password: "correct horse battery".into(),
            email: None,
            display_name: None,
            reason: None,
        },
        true,
        true,
    )
    .await
    .unwrap();
    let r = post(
        state,
        "/api/v1/sessions",
        json!({ "username": "dora", "password": "correct horse battery" }),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.json()["token"].as_str().unwrap().to_string()
}

async fn to_inbox(state: &AppState, body: &str) -> StatusCode {
    let req = Request::post("/inbox")
        .header(header::CONTENT_TYPE, "application/activity+json")
        .body(Body::from(body.to_string()))
        .unwrap();
    send(state, req).await.status
}

/// The refused activities the admin API lists once `n` are there (the inbox writes them on
/// a task of their own).
async fn listed(state: &AppState, token: &str, query: &str, n: usize) -> Vec<Value> {
    let uri = format!("/api/v1/admin/federation/refused{query}");
    poll_until(
        Duration::from_secs(10),
        "refused activities listed",
        || async {
            let r = with_token(state, "GET", &uri, token).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            let items = r.json()["items"].as_array().cloned().unwrap_or_default();
            (items.len() >= n).then_some(items)
        },
    )
    .await
}

async fn refused_activities_show_to_admins_with_their_reason(b: Backend) {
    let (state, _db) = test_state(b, "").await;
    let admin = admin_token(&state).await;
    let member = register_and_login(&state, "carol").await;
    // Unsigned, from a made-up peer, with markup in its actor: refused 401.
    let follow = json!({
        "id": "https://evil.example/activities/1",
        "type": "Follow",
        "actor": "https://evil.example/u/<script>alert(1)</script>",
        "object": "http://gh.test/c/nothing",
    });
    assert_eq!(
        to_inbox(&state, &follow.to_string()).await,
        StatusCode::UNAUTHORIZED
    );
    // Not JSON at all: refused 400, from nobody known.
    assert_eq!(to_inbox(&state, "not json").await, StatusCode::BAD_REQUEST);

    let items = listed(&state, &admin, "", 2).await;
    let evil = items
        .iter()
        .find(|i| i["domain"] == "evil.example")
        .unwrap_or_else(|| panic!("{items:?}"));
    assert_eq!(evil["kind"], "Follow");
    assert_eq!(evil["actor"], follow["actor"]);
    assert_eq!(evil["activity_id"], "https://evil.example/activities/1");
    assert_eq!(
        (evil["status"].as_i64(), evil["code"].as_str()),
        (Some(401), Some("unauthorized"))
    );
    assert!(
        evil["reason"].as_str().unwrap().contains("signature"),
        "{evil}"
    );
    assert!(evil["created_at"].as_i64().unwrap() > 0);
    let junk = items
        .iter()
        .find(|i| i["domain"] == "(unknown)")
        .expect("the non-JSON one");
    assert_eq!(junk["code"], "invalid_json");

    // One instance only.
    let only = listed(&state, &admin, "?instance=Evil.Example", 1).await;
    assert!(
        only.iter().all(|i| i["domain"] == "evil.example"),
        "{only:?}"
    );
    let r = with_token(
        &state,
        "GET",
        "/api/v1/admin/federation/refused?instance=other.example",
        &admin,
    )
    .await;
    assert_eq!(r.json()["items"], json!([]));

    // Admins only.
    let r = with_token(&state, "GET", "/api/v1/admin/federation/refused", &member).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["error"], "not_admin");
    let r = get(
        &state,
        "/api/v1/admin/federation/refused",
        "application/json",
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // The admin page shows them, escaped.
    let page = |token: String| {
        let state = state.clone();
        async move {
            let req = Request::get("/admin/federation")
                .header(header::ACCEPT, "text/html")
                .header(header::COOKIE, format!("gh_session={token}"))
                .body(Body::empty())
                .unwrap();
            send(&state, req).await
        }
    };
    let p = page(admin.clone()).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(
        p.body.contains("Refused activities") && p.body.contains("<h3>evil.example</h3>"),
        "{}",
        p.body
    );
    assert!(
        p.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        p.body
    );
    assert!(!p.body.contains("<script>"), "escaped");
    assert!(p.body.contains("HTTP signature"), "the reason: {}", p.body);
    assert_eq!(page(member).await.status, StatusCode::FORBIDDEN);
}

async fn the_refused_log_keeps_the_newest_per_instance(b: Backend) {
    let (state, _db) = test_state(b, "").await;
    let mut conn = state.db.pool.acquire().await.unwrap();
    let keep = store::refused::KEEP_PER_INSTANCE;
    for n in 0..keep + 5 {
        for domain in ["a.example", "b.example"] {
            let id = format!("https://{domain}/activities/{n}");
            let row = store::refused::NewRefusal {
                domain,
                kind: Some("Create"),
                actor: None,
                activity_id: Some(&id),
                status: 401,
                code: "unauthorized",
                reason: "HTTP signature: missing",
            };
            store::refused::insert(&mut conn, &row).await.unwrap();
        }
    }
    drop(conn);
    assert_eq!(count(&state, "refused_activities").await, 2 * keep);
    let mut conn = state.db.pool.acquire().await.unwrap();
    let a = store::refused::recent(&mut conn, Some("a.example"), 1000)
        .await
        .unwrap();
    assert_eq!(a.len() as i64, keep);
    assert_eq!(
        a[0].activity_id.as_deref(),
        Some(format!("https://a.example/activities/{}", keep + 4).as_str()),
        "newest first"
    );
    assert_eq!(
        a.last().unwrap().activity_id.as_deref(),
        Some("https://a.example/activities/5"),
        "the oldest five went"
    );
}
