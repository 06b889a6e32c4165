//! The inbound queue (decision 0006) between a real `guildhall` process and a remote
//! instance played by this test: an activity whose processing is slow is answered 202
//! `queued` and finished after the answer; one whose processing fails for a passing reason
//! is tried again; one queued when the process is killed (`kill -9`) is processed after the
//! restart. Nothing accepted is lost.

use crate::{
    delivery::{Remote, start_remote},
    federation::{User, wait_for_post},
    support::{poll_until, process::TestServer},
};
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

/// A Page by remote user 1 in `group`, served by the remote at `/objects/{n}`.
fn page(remote: &Remote, group: &str, n: u32, title: &str) -> (String, Value) {
    let id = format!("{}/objects/{n}", remote.base);
    let page = json!({
        "id": id, "type": "Page", "attributedTo": format!("{}/users/1", remote.base),
        "to": [group, "https://www.w3.org/ns/activitystreams#Public"], "audience": group,
        "name": title, "content": "<p>Served slowly</p>",
    });
    (id, page)
}

/// A Create that names its object by id only, so processing it means fetching it.
fn create_by_id(remote: &Remote, n: u32, object: &str) -> Value {
    json!({
        "id": format!("{}/activities/create/{n}", remote.base), "type": "Create",
        "actor": format!("{}/users/1", remote.base), "object": object,
    })
}

async fn metric(server: &TestServer, line: &str) -> Option<()> {
    let text = server
        .get("/metrics", "text/plain")
        .await
        .text()
        .await
        .ok()?;
    text.lines().any(|l| l == line).then_some(())
}

async fn community(server: &TestServer) -> (User, String) {
    let alice = User::create(server, "alice").await;
    alice
        .post(
            "/communities",
            json!({ "name": "woodwork", "title": "Green woodworking" }),
        )
        .await;
    (alice, format!("{}/c/woodwork", server.base_url))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_or_failing_fetch_is_answered_queued_and_finished_later() {
    let remote = start_remote(Duration::ZERO).await;
    // The inbox waits 300 ms for the processing before answering `queued`.
    let alpha = TestServer::start_named("alpha.test", "", "inbox_wait_ms = 300").await;
    let (alice, group) = community(&alpha).await;
    let actor = format!("{}/users/1", remote.base);

    // 1. The object takes 2 s to fetch: answered `queued`, the post arrives afterwards.
    let (id, object) = page(&remote, &group, 1, "Fetched slowly");
    remote.serve("/objects/1", object, Duration::from_secs(2), 0);
    let (status, answer) = remote
        .send_for(&alpha, &actor, create_by_id(&remote, 1, &id))
        .await;
    assert_eq!((status, answer["status"].as_str()), (202, Some("queued")));
    wait_for_post(&alice, "woodwork", "the slow post", |p| {
        p["title"] == "Fetched slowly"
    })
    .await;

    // 2. The object's server fails twice (500): answered `queued`, tried again by the
    //    workers (retry_initial_secs = 1 in tests), then stored.
    let (id, object) = page(&remote, &group, 2, "Fetched on the third try");
    remote.serve("/objects/2", object, Duration::ZERO, 2);
    let (status, answer) = remote
        .send_for(&alpha, &actor, create_by_id(&remote, 2, &id))
        .await;
    assert_eq!((status, answer["status"].as_str()), (202, Some("queued")));
    wait_for_post(&alice, "woodwork", "the post after two failures", |p| {
        p["title"] == "Fetched on the third try"
    })
    .await;

    // 3. The same activity again: remembered, no second effect.
    let (status, answer) = remote
        .send_for(&alpha, &actor, create_by_id(&remote, 2, &id))
        .await;
    assert_eq!((status, answer["status"].as_str()), (202, Some("ignored")));

    // 4. A refusal found while processing within the wait keeps its status: a Create whose
    //    object is attributed to someone else.
    let (_, mut forged) = page(&remote, &group, 3, "Forged");
    forged["attributedTo"] = json!(format!("{}/users/2", remote.base));
    let create = json!({
        "id": format!("{}/activities/create/3", remote.base), "type": "Create",
        "actor": actor, "object": forged,
    });
    assert_eq!(remote.send(&alpha, &actor, create).await, 403);

    poll_until(WAIT, "an empty inbound queue", || {
        metric(&alpha, "guildhall_inbox_queue_depth 0")
    })
    .await;
    let feed = alice.get("/communities/woodwork/posts?sort=new").await;
    let titles: Vec<&str> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["title"].as_str())
        .collect();
    assert_eq!(titles, ["Fetched on the third try", "Fetched slowly"]);
    assert!(
        metric(
            &alpha,
            "guildhall_inbox_activities_total{result=\"queued\"} 2"
        )
        .await
        .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activity_queued_when_the_process_is_killed_is_processed_after_the_restart() {
    let remote = start_remote(Duration::ZERO).await;
    // Answer `queued` after 300 ms; a row of a stopped process is taken up after 2 s.
    let mut alpha = TestServer::start_named(
        "alpha.test",
        "",
        "inbox_wait_ms = 300\ninbox_lease_secs = 2",
    )
    .await;
    let (alice, group) = community(&alpha).await;
    let actor = format!("{}/users/1", remote.base);
    // The fetch hangs for longer than the test: the process is killed in the middle of it.
    let (id, object) = page(&remote, &group, 1, "Survives kill -9");
    remote.serve("/objects/1", object.clone(), Duration::from_secs(600), 0);
    let (status, answer) = remote
        .send_for(&alpha, &actor, create_by_id(&remote, 1, &id))
        .await;
    assert_eq!((status, answer["status"].as_str()), (202, Some("queued")));

    alpha.kill(); // SIGKILL: no shutdown, no cleanup
    remote.serve("/objects/1", object, Duration::ZERO, 0);
    alpha.spawn().await;
    wait_for_post(
        &alice,
        "woodwork",
        "the queued post after the restart",
        |p| p["title"] == "Survives kill -9",
    )
    .await;
    poll_until(WAIT, "an empty inbound queue", || {
        metric(&alpha, "guildhall_inbox_queue_depth 0")
    })
    .await;
    // Exactly one post: the restart processed it once.
    let feed = alice.get("/communities/woodwork/posts?sort=new").await;
    assert_eq!(feed["items"].as_array().unwrap().len(), 1, "{feed}");
}
