//! Federation between real `guildhall` processes on loopback, each with its own database
//! and host name: alpha (PostgreSQL) hosts the community; beta and gamma (SQLite) take part
//! from afar. Every wait is a poll with a deadline.

use crate::support::{
    Backend, poll_until,
    process::{TestServer, client},
    test_db,
};
use serde_json::{Value, json};
use std::time::Duration;

pub(crate) const WAIT: Duration = Duration::from_secs(30);

/// A signed-in user on a test server, driving its JSON API.
pub(crate) struct User {
    base: String,
    token: String,
}

impl User {
    pub(crate) async fn create(server: &TestServer, name: &str) -> User {
        Self::create_with(server, &["admin", "create-user", name]).await
    }

    /// A user with the instance admin flag.
    pub(crate) async fn admin(server: &TestServer, name: &str) -> User {
        Self::create_with(server, &["admin", "create-user", name, "--admin"]).await
    }

    async fn create_with(server: &TestServer, args: &[&str]) -> User {
        let name = args[2];
        let out = server.cli(args, "correct horse battery\n");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r: Value = client()
            .post(format!("{}/api/v1/sessions", server.base_url))
            .json(&json!({ "username": name, "password": "correct horse battery" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        User {
            base: server.base_url.clone(),
            token: r["token"].as_str().expect("token").into(),
        }
    }

    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = client()
            .request(method, format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// The API token, for calls to another process of the same instance.
    pub(crate) fn token(&self) -> &str {
        &self.token
    }

    pub(crate) async fn get(&self, path: &str) -> Value {
        let (s, v) = self.call(reqwest::Method::GET, path, None).await;
        assert_eq!(s, 200, "GET {path}: {v}");
        v
    }

    /// Finds a community by handle (`name@host`) from this user's server and asks to join;
    /// the follow's answer (`state`: `accepted` or `pending`).
    pub(crate) async fn join(&self, handle: &str) -> Value {
        self.get(&format!("/resolve?q=!{handle}")).await;
        self.post(&format!("/communities/{handle}/follow"), json!({}))
            .await
    }

    /// `join`, then waits until the community's server has accepted.
    pub(crate) async fn join_accepted(&self, handle: &str) {
        self.join(handle).await;
        wait_follow_accepted(self, handle).await;
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> Value {
        let (s, v) = self.call(reqwest::Method::POST, path, Some(body)).await;
        assert!(s == 200 || s == 201, "POST {path}: {s} {v}");
        v
    }
}

/// Polls `user`'s view of a community feed until a post matches `pred`.
pub(crate) async fn wait_for_post(
    user: &User,
    community: &str,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    poll_until(WAIT, what, || async {
        let feed = user
            .get(&format!("/communities/{community}/posts?sort=new"))
            .await;
        feed["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| pred(p))
            .cloned()
    })
    .await
}

/// Polls a thread until a reply matches `pred`.
pub(crate) async fn wait_for_reply(
    user: &User,
    post_id: i64,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    poll_until(WAIT, what, || async {
        let t = user.get(&format!("/posts/{post_id}")).await;
        t["replies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| pred(r))
            .cloned()
    })
    .await
}

pub(crate) async fn wait_follow_accepted(user: &User, handle: &str) {
    poll_until(WAIT, "the follow to be accepted", || async {
        let follows = user.get("/accounts/me/follows").await;
        follows
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["community"] == handle && f["state"] == "accepted")
            .then_some(())
    })
    .await;
}

async fn queue_empty(server: &TestServer) {
    poll_until(WAIT, "the delivery queue to drain", || async {
        let out = server.cli(&["admin", "federation", "status", "--json"], "");
        let v: Value = serde_json::from_slice(&out.stdout).ok()?;
        (v["pending_deliveries"] == 0).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_community_lives_across_three_instances() {
    let pg = test_db(Backend::Postgres).await;
    let alpha = TestServer::start_named("alpha.test", &pg.url, "").await;
    let beta = TestServer::start_named("beta.test", "", "").await;
    let gamma = TestServer::start_named("gamma.test", "", "").await;

    let alice = User::create(&alpha, "alice").await;
    alice.post("/communities", json!({ "name": "woodwork", "title": "Green woodworking", "summary": "Spoons and bowls" })).await;
    let handle = format!("woodwork@alpha.test:{}", alpha.port);
    let bob = User::create(&beta, "bob").await;
    let carol = User::create(&gamma, "carol").await;

    // Beta and gamma find the community by handle and follow it.
    for (user, name) in [(&bob, "bob"), (&carol, "carol")] {
        let found = user.get(&format!("/resolve?q=!{handle}")).await;
        assert_eq!(found["title"], "Green woodworking", "{name}: {found}");
        let f = user
            .post(&format!("/communities/{handle}/follow"), json!({}))
            .await;
        assert_eq!(f["state"], "pending");
        wait_follow_accepted(user, &handle).await;
    }
    let followers: Value = alpha
        .get("/c/woodwork/followers", "application/activity+json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(followers["totalItems"], 2);

    // Carol (gamma) posts; alpha stores and announces it; beta sees it.
    let post = carol
        .post(
            &format!("/communities/{handle}/posts"),
            json!({ "title": "Which axe?", "body": "For *spoons*" }),
        )
        .await;
    let on_alpha = wait_for_post(&alice, "woodwork", "carol's post on alpha", |p| {
        p["title"] == "Which axe?"
    })
    .await;
    assert_eq!(
        on_alpha["author"],
        format!("carol@gamma.test:{}", gamma.port)
    );
    let on_beta = wait_for_post(&bob, &handle, "carol's post on beta", |p| {
        p["title"] == "Which axe?"
    })
    .await;
    assert_eq!(
        on_beta["ap_id"], post["ap_id"],
        "the same object everywhere"
    );
    assert!(
        on_beta["body_html"]
            .as_str()
            .unwrap()
            .contains("<em>spoons</em>")
    );

    // A reply chain across all three: bob replies, alice answers bob, carol answers alice.
    let bob_reply = bob
        .post(
            &format!("/posts/{}/replies", on_beta["id"]),
            json!({ "body": "A sloyd knife first" }),
        )
        .await;
    let r1_alpha = wait_for_reply(
        &alice,
        on_alpha["id"].as_i64().unwrap(),
        "bob's reply on alpha",
        |r| r["ap_id"] == bob_reply["ap_id"],
    )
    .await;
    let alice_reply = alice
        .post(
            &format!("/posts/{}/replies", r1_alpha["id"]),
            json!({ "body": "Agreed" }),
        )
        .await;
    let carol_post_id = post["id"].as_i64().unwrap();
    let r2_gamma = wait_for_reply(&carol, carol_post_id, "alice's reply on gamma", |r| {
        r["ap_id"] == alice_reply["ap_id"]
    })
    .await;
    assert_eq!(r2_gamma["depth"], 2);
    let r1_gamma = wait_for_reply(&carol, carol_post_id, "bob's reply on gamma", |r| {
        r["ap_id"] == bob_reply["ap_id"]
    })
    .await;
    assert_eq!(
        r2_gamma["parent_id"], r1_gamma["id"],
        "the thread keeps its shape"
    );
    let carol_reply = carol
        .post(
            &format!("/posts/{}/replies", r2_gamma["id"]),
            json!({ "body": "Thanks both" }),
        )
        .await;
    let r3_beta = wait_for_reply(
        &bob,
        on_beta["id"].as_i64().unwrap(),
        "carol's reply on beta",
        |r| r["ap_id"] == carol_reply["ap_id"],
    )
    .await;
    assert_eq!(r3_beta["depth"], 3);

    // Carol edits her post; the edit reaches beta.
    let (s, _) = carol
        .call(
            reqwest::Method::PATCH,
            &format!("/posts/{carol_post_id}"),
            Some(json!({ "title": "Which axe for spoons?", "body": "Edited" })),
        )
        .await;
    assert_eq!(s, 200);
    wait_for_post(&bob, &handle, "the edit on beta", |p| {
        p["title"] == "Which axe for spoons?"
            && p["body_html"]
                .as_str()
                .is_some_and(|b| b.contains("Edited"))
    })
    .await;

    // Bob upvotes it; alpha and gamma count the vote.
    bob.post(
        &format!("/posts/{}/vote", on_beta["id"]),
        json!({ "value": 1 }),
    )
    .await;
    wait_for_post(&alice, "woodwork", "the vote on alpha", |p| {
        p["title"] == "Which axe for spoons?" && p["score"] == 1
    })
    .await;
    wait_for_post(&carol, &handle, "the vote on gamma", |p| {
        p["id"] == carol_post_id && p["score"] == 1
    })
    .await;
    // ... and withdraws it.
    bob.post(
        &format!("/posts/{}/vote", on_beta["id"]),
        json!({ "value": 0 }),
    )
    .await;
    wait_for_post(&carol, &handle, "the withdrawn vote on gamma", |p| {
        p["id"] == carol_post_id && p["score"] == 0
    })
    .await;

    // Bob deletes his reply; it is gone on alpha and gamma.
    let bob_reply_id = bob_reply["id"].as_i64().unwrap();
    let (s, _) = bob
        .call(
            reqwest::Method::DELETE,
            &format!("/posts/{bob_reply_id}"),
            None,
        )
        .await;
    assert_eq!(s, 204);
    wait_for_reply(&carol, carol_post_id, "the deletion on gamma", |r| {
        r["ap_id"] == bob_reply["ap_id"] && r["deleted"] == true
    })
    .await;
    wait_for_reply(
        &alice,
        on_alpha["id"].as_i64().unwrap(),
        "the deletion on alpha",
        |r| r["ap_id"] == bob_reply["ap_id"] && r["deleted"] == true,
    )
    .await;
    // The deleted reply answers 410 with a Tombstone at its id.
    let gone = client()
        .get(bob_reply["ap_id"].as_str().unwrap())
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 410);
    assert_eq!(gone.json::<Value>().await.unwrap()["type"], "Tombstone");

    // Beta unfollows: alpha stops delivering to it.
    let (s, _) = bob
        .call(
            reqwest::Method::DELETE,
            &format!("/communities/{handle}/follow"),
            None,
        )
        .await;
    assert_eq!(s, 204);
    poll_until(WAIT, "alpha to drop beta's follow", || async {
        let f: Value = alpha
            .get("/c/woodwork/followers", "application/activity+json")
            .await
            .json()
            .await
            .ok()?;
        (f["totalItems"] == 1).then_some(())
    })
    .await;
    alice
        .post(
            "/communities/woodwork/posts",
            json!({ "title": "Only for followers", "body": "x" }),
        )
        .await;
    wait_for_post(&carol, &handle, "the new post on gamma", |p| {
        p["title"] == "Only for followers"
    })
    .await;
    queue_empty(&alpha).await;
    let feed = bob
        .get(&format!("/communities/{handle}/posts?sort=new"))
        .await;
    assert!(
        !feed["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["title"] == "Only for followers"),
        "beta no longer follows, so it gets nothing new: {feed}"
    );

    // The community's outbox lists its posts as Announce(Create(Page)), newest first.
    let outbox: Value = alpha
        .get("/c/woodwork/outbox", "application/activity+json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        outbox["totalItems"], 2,
        "carol's post and alice's: {outbox}"
    );
    let first = &outbox["orderedItems"][0];
    assert_eq!(first["type"], "Announce");
    assert_eq!(first["object"]["type"], "Create");
    assert_eq!(first["object"]["object"]["type"], "Page");
    assert_eq!(first["object"]["object"]["name"], "Only for followers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_survive_a_crash_and_a_receiver_outage() {
    let mut alpha = TestServer::start_named("alpha.test", "", "").await;
    let mut beta = TestServer::start_named("beta.test", "", "").await;
    let alice = User::create(&alpha, "alice").await;
    alice
        .post(
            "/communities",
            json!({ "name": "woodwork", "title": "Green woodworking" }),
        )
        .await;
    let handle = format!("woodwork@alpha.test:{}", alpha.port);
    let bob = User::create(&beta, "bob").await;
    bob.join_accepted(&handle).await;

    // Beta goes down; alice posts; alpha cannot deliver and keeps the delivery.
    beta.kill();
    alice
        .post(
            "/communities/woodwork/posts",
            json!({ "title": "While you were out", "body": "x" }),
        )
        .await;
    poll_until(WAIT, "a failed delivery attempt on alpha", || async {
        let out = alpha.cli(&["admin", "federation", "status", "--json"], "");
        let v: Value = serde_json::from_slice(&out.stdout).ok()?;
        v["failing_inboxes"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
            .then_some(())
    })
    .await;
    // Alpha crashes (SIGKILL) with the delivery still queued, and comes back.
    alpha.kill();
    alpha.spawn().await;
    // Beta comes back; the post arrives.
    beta.spawn().await;
    wait_for_post(&bob, &handle, "the post after the outage", |p| {
        p["title"] == "While you were out"
    })
    .await;
    queue_empty(&alpha).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorized_fetch_requires_signed_gets() {
    let alpha = TestServer::start_named("alpha.test", "", "authorized_fetch = true\n").await;
    let beta = TestServer::start_named("beta.test", "", "").await;
    let alice = User::create(&alpha, "alice").await;
    alice
        .post(
            "/communities",
            json!({ "name": "woodwork", "title": "Green woodworking" }),
        )
        .await;
    let post = alice
        .post(
            "/communities/woodwork/posts",
            json!({ "title": "Hello", "body": "x" }),
        )
        .await;

    // Unsigned ActivityPub fetches are refused; pages, WebFinger and the instance actor are not.
    for path in [
        "/c/woodwork",
        "/u/alice",
        "/c/woodwork/outbox",
        "/c/woodwork/followers",
    ] {
        let r = alpha.get(path, "application/activity+json").await;
        assert_eq!(r.status(), 401, "{path}");
    }
    let r = client()
        .get(post["ap_id"].as_str().unwrap())
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(alpha.get("/c/woodwork", "text/html").await.status(), 200);
    assert_eq!(
        alpha
            .get("/actor", "application/activity+json")
            .await
            .status(),
        200
    );
    let wf = format!(
        "/.well-known/webfinger?resource=acct:woodwork@alpha.test:{}",
        alpha.port
    );
    assert_eq!(alpha.get(&wf, "application/jrd+json").await.status(), 200);
    // A forged signature is refused too.
    let r = client()
        .get(format!("{}/c/woodwork", alpha.base_url))
        .header("accept", "application/activity+json")
        .header("date", httpdate::fmt_http_date(std::time::SystemTime::now()))
        .header("signature", format!("keyId=\"{}/actor#main-key\",algorithm=\"rsa-sha256\",headers=\"(request-target) host date\",signature=\"AAAA\"", beta.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Another instance signs its fetches with its instance actor: it resolves, follows and
    // backfills the community.
    let handle = format!("woodwork@alpha.test:{}", alpha.port);
    let bob = User::create(&beta, "bob").await;
    let found = bob.get(&format!("/resolve?q=!{handle}")).await;
    assert_eq!(found["title"], "Green woodworking");
    wait_for_post(&bob, &handle, "the backfilled post", |p| {
        p["title"] == "Hello"
    })
    .await;
    bob.post(&format!("/communities/{handle}/follow"), json!({}))
        .await;
    wait_follow_accepted(&bob, &handle).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_instance_is_skipped_until_it_speaks_again() {
    let alpha = TestServer::start_named("alpha.test", "", "dead_after_secs = 1\n").await;
    let mut beta = TestServer::start_named("beta.test", "", "").await;
    let alice = User::create(&alpha, "alice").await;
    alice
        .post(
            "/communities",
            json!({ "name": "woodwork", "title": "Green woodworking" }),
        )
        .await;
    let handle = format!("woodwork@alpha.test:{}", alpha.port);
    let bob = User::create(&beta, "bob").await;
    bob.join_accepted(&handle).await;
    let beta_domain = format!("beta.test:{}", beta.port);
    let status = || {
        let out = alpha.cli(&["admin", "federation", "status", "--json"], "");
        serde_json::from_slice::<Value>(&out.stdout).unwrap_or(Value::Null)
    };

    // Beta is down long enough to be marked dead; its deliveries are dropped.
    beta.kill();
    alice
        .post(
            "/communities/woodwork/posts",
            json!({ "title": "While dead 1", "body": "x" }),
        )
        .await;
    poll_until(WAIT, "beta to be marked dead", || async {
        let s = status();
        let dead = s["instances"]
            .as_array()?
            .iter()
            .any(|i| i["domain"] == beta_domain && i["dead"] == true);
        (dead && s["pending_deliveries"] == 0).then_some(())
    })
    .await;
    alice
        .post(
            "/communities/woodwork/posts",
            json!({ "title": "While dead 2", "body": "x" }),
        )
        .await;
    queue_empty(&alpha).await;
    let metrics = alpha
        .get("/metrics", "text/plain")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("guildhall_instances{state=\"dead\"} 1"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("guildhall_deliveries_total{result=\"dropped\"} 0"),
        "{metrics}"
    );

    // Beta comes back and speaks to alpha: alive again, deliveries resume.
    beta.spawn().await;
    let (s, _) = bob
        .call(
            reqwest::Method::DELETE,
            &format!("/communities/{handle}/follow"),
            None,
        )
        .await;
    assert_eq!(s, 204);
    bob.post(&format!("/communities/{handle}/follow"), json!({}))
        .await;
    wait_follow_accepted(&bob, &handle).await;
    let s = status();
    assert!(
        s["instances"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["domain"] == beta_domain && i["dead"] == false),
        "{s}"
    );
    alice
        .post(
            "/communities/woodwork/posts",
            json!({ "title": "Welcome back", "body": "x" }),
        )
        .await;
    wait_for_post(&bob, &handle, "the post after revival", |p| {
        p["title"] == "Welcome back"
    })
    .await;
    let feed = bob
        .get(&format!("/communities/{handle}/posts?sort=new"))
        .await;
    let titles: Vec<_> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        !titles.iter().any(|t| t.starts_with("While dead")),
        "dropped while dead: {titles:?}"
    );
    let metrics = alpha
        .get("/metrics", "text/plain")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("guildhall_instances{state=\"dead\"} 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("guildhall_inbox_activities_total{result=\"accepted\"}"),
        "{metrics}"
    );
}
