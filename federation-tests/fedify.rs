//! An independent implementation: a Fedify 2.3.6 peer (federation-tests/fedify-peer) acting
//! as a Mastodon-style person, talking to a real `guildhall` process. Fedify verifies our
//! HTTP signatures with its own code; we verify its.

use crate::support::{
    poll_until,
    process::{TestServer, client, free_port},
};
use serde_json::{Value, json};
use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

const WAIT: Duration = Duration::from_secs(30);

/// The peer process; killed when dropped.
struct Peer {
    child: Child,
    origin: String,
    base: String,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Peer {
    async fn start() -> Peer {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("federation-tests/fedify-peer");
        // Installs Fedify and Node 22 from npm the first time (idempotent, fast afterwards).
        let out = Command::new("bash")
            .arg(dir.join("install.sh"))
            .output()
            .expect("run install.sh");
        assert!(
            out.status.success(),
            "fedify-peer/install.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let node = String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap_or_default()
            .trim()
            .to_string();
        let port = free_port();
        let origin = format!("http://fedify.test:{port}");
        let child = Command::new(&node)
            .arg(dir.join("peer.mjs"))
            .env("PEER_PORT", port.to_string())
            .env("PEER_ORIGIN", &origin)
            .env("PEER_RESOLVE", "fedify.test=127.0.0.1,alpha.test=127.0.0.1")
            .env("PEER_EXIT_WITH_STDIN", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the Fedify peer");
        let peer = Peer {
            child,
            origin,
            base: format!("http://127.0.0.1:{port}"),
        };
        poll_until(WAIT, "the Fedify peer to start", || async {
            let r = client()
                .get(format!("{}/_control/health", peer.base))
                .send()
                .await
                .ok()?;
            r.status().is_success().then_some(())
        })
        .await;
        peer
    }

    async fn control(&self, path: &str, body: Value) -> Value {
        let r = client()
            .post(format!("{}/_control/{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "peer {path}: {status} {v}");
        v
    }

    /// What alice's inbox accepted (each entry passed Fedify's signature checks).
    async fn inbox(&self) -> Vec<Value> {
        let v: Value = client()
            .get(format!("{}/_control/inbox", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["activities"].as_array().cloned().unwrap_or_default()
    }

    async fn wait_inbox(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        poll_until(WAIT, what, || async {
            self.inbox().await.into_iter().find(|a| pred(a))
        })
        .await
    }
}

async fn api(
    server: &TestServer,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let mut req = client()
        .request(method, format!("{}/api/v1{path}", server.base_url))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {v}");
    v
}

async fn feed(server: &TestServer, token: &str) -> Vec<Value> {
    api(
        server,
        token,
        reqwest::Method::GET,
        "/communities/woodwork/posts?sort=new",
        None,
    )
    .await["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fedify_person_follows_posts_replies_and_votes() {
    let alpha = TestServer::start_named("alpha.test", "", "").await;
    let peer = Peer::start().await;
    let out = alpha.cli(
        &["admin", "create-user", "maria"],
        "correct horse battery\n",
    );
    assert!(out.status.success());
    let out = alpha.cli(
        &[
            "admin",
            "create-community",
            "woodwork",
            "--owner",
            "maria",
            "--title",
            "Green woodworking",
        ],
        "",
    );
    assert!(out.status.success());
    let login: Value = client()
        .post(format!("{}/api/v1/sessions", alpha.base_url))
        .json(&json!({ "username": "maria", "password": "correct horse battery" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_string();
    let group = format!("{}/c/woodwork", alpha.base_url);
    let alice = format!("{}/users/alice", peer.origin);

    // Follow → Accept, verified by Fedify.
    peer.control("follow", json!({ "target": group })).await;
    let accept = peer
        .wait_inbox("the Accept at the peer", |a| a["type"] == "Accept")
        .await;
    assert_eq!(accept["actor"], group);
    assert_eq!(accept["signature"], "draft-cavage");
    let followers: Value = alpha
        .get("/c/woodwork/followers", "application/activity+json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(followers["totalItems"], 1);

    // A Mastodon-style Note mentioning the group becomes a post with a clean title.
    let note = peer
        .control("post", json!({ "group": group, "content": "<p>Which axe for carving spoons?</p><p>I have a hatchet.</p>" }))
        .await;
    let post = poll_until(WAIT, "alice's note as a post", || async {
        feed(&alpha, &token)
            .await
            .into_iter()
            .find(|p| p["ap_id"] == note["object"])
    })
    .await;
    assert_eq!(
        post["title"],
        "Which axe for carving spoons? I have a hatchet."
    );
    assert!(
        !post["body_html"].as_str().unwrap().contains("h-card"),
        "{post}"
    );
    assert_eq!(post["author_id"], alice);
    // The community announces it back to its follower; Fedify accepts our signature.
    peer.wait_inbox("the Announce of alice's note", |a| {
        a["type"] == "Announce"
            && a["actor"] == group
            && a["raw"]
                .to_string()
                .contains(note["object"].as_str().unwrap())
    })
    .await;

    // Maria replies to alice's post; the reply is announced to alice.
    let post_id = post["id"].as_i64().unwrap();
    let reply = api(
        &alpha,
        &token,
        reqwest::Method::POST,
        &format!("/posts/{post_id}/replies"),
        Some(json!({ "body": "A sloyd knife" })),
    )
    .await;
    peer.wait_inbox("the Announce of maria's reply", |a| {
        a["type"] == "Announce"
            && a["raw"]
                .to_string()
                .contains(reply["ap_id"].as_str().unwrap())
    })
    .await;

    // Alice replies to maria's reply and likes it.
    let alice_reply = peer
        .control(
            "reply",
            json!({ "inReplyTo": reply["ap_id"], "group": group, "content": "<p>Thanks!</p>" }),
        )
        .await;
    poll_until(WAIT, "alice's reply in the thread", || async {
        let t = api(
            &alpha,
            &token,
            reqwest::Method::GET,
            &format!("/posts/{post_id}"),
            None,
        )
        .await;
        t["replies"]
            .as_array()?
            .iter()
            .find(|r| r["ap_id"] == alice_reply["object"] && r["parent_id"] == reply["id"])
            .cloned()
    })
    .await;
    peer.control("like", json!({ "object": reply["ap_id"], "group": group }))
        .await;
    poll_until(WAIT, "alice's like", || async {
        let t = api(
            &alpha,
            &token,
            reqwest::Method::GET,
            &format!("/posts/{post_id}"),
            None,
        )
        .await;
        t["replies"]
            .as_array()?
            .iter()
            .find(|r| r["id"] == reply["id"] && r["score"] == 1)
            .cloned()
    })
    .await;
    peer.control(
        "undo-like",
        json!({ "object": reply["ap_id"], "group": group }),
    )
    .await;
    poll_until(WAIT, "alice's like withdrawn", || async {
        let t = api(
            &alpha,
            &token,
            reqwest::Method::GET,
            &format!("/posts/{post_id}"),
            None,
        )
        .await;
        t["replies"]
            .as_array()?
            .iter()
            .find(|r| r["id"] == reply["id"] && r["score"] == 0)
            .cloned()
    })
    .await;

    // Alice edits, then deletes her note.
    peer.control(
        "update",
        json!({ "object": note["object"], "content": "<p>Which axe? Edited.</p>" }),
    )
    .await;
    poll_until(WAIT, "the edit", || async {
        feed(&alpha, &token).await.into_iter().find(|p| {
            p["id"] == post_id
                && p["body_html"]
                    .as_str()
                    .is_some_and(|b| b.contains("Edited"))
        })
    })
    .await;
    peer.control("delete", json!({ "object": note["object"] }))
        .await;
    poll_until(WAIT, "the deletion", || async {
        let t = api(
            &alpha,
            &token,
            reqwest::Method::GET,
            &format!("/posts/{post_id}"),
            None,
        )
        .await;
        (t["post"]["deleted"] == true).then_some(())
    })
    .await;

    // Unfollow.
    peer.control("unfollow", json!({ "target": group })).await;
    poll_until(WAIT, "the unfollow", || async {
        let f: Value = alpha
            .get("/c/woodwork/followers", "application/activity+json")
            .await
            .json()
            .await
            .ok()?;
        (f["totalItems"] == 0).then_some(())
    })
    .await;
    // Nothing we sent was refused by Fedify.
    let refused: Value = client()
        .get(format!("{}/_control/refused", peer.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Fedify signs with RFC 9421 first: we accept it, so it never falls back to draft-cavage
    // for us, and none of its requests to us was refused.
    let outgoing: Value = client()
        .get(format!("{}/_control/outgoing", peer.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let to_us: Vec<&Value> = outgoing["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["url"]
                .as_str()
                .is_some_and(|u| u.starts_with(&alpha.base_url))
        })
        .collect();
    assert!(
        to_us
            .iter()
            .any(|r| r["method"] == "POST" && r["signature"] == "rfc9421" && r["status"] == 202),
        "{to_us:?}"
    );
    assert!(to_us.iter().all(|r| r["status"] != 401), "{to_us:?}");
    let refused = refused["requests"]
        .as_array()
        .expect("the peer lists refused requests");
    assert!(
        refused.is_empty(),
        "Fedify refused some of our requests: {refused:?}"
    );
}
