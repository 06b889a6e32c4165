//! Instance federation policy between real processes (issue #6): an allow list that admins
//! switch on and off at run time (CLI and admin API); a domain off the list is refused
//! inbound and gets no deliveries, one on it federates as before, and nothing stored is
//! deleted.

use crate::{
    delivery::start_remote,
    federation::{User, WAIT, wait_follow_accepted, wait_for_post},
    support::{poll_until, process::TestServer},
};
use serde_json::{Value, json};
use std::time::Duration;

async fn queue_empty(server: &TestServer) {
    poll_until(WAIT, "the delivery queue to drain", || async {
        let out = server.cli(&["admin", "federation", "status", "--json"], "");
        let v: Value = serde_json::from_slice(&out.stdout).ok()?;
        (v["pending_deliveries"] == 0).then_some(())
    })
    .await;
}

fn cli(server: &TestServer, args: &[&str]) -> String {
    let out = server.cli(args, "");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allow_list_limits_federation_to_partners_and_is_reversible() {
    let alpha = TestServer::start_named("alpha.test", "", "").await;
    let beta = TestServer::start_named("beta.test", "", "").await;
    let remote = start_remote(Duration::ZERO).await;
    let alice = User::create(&alpha, "alice").await;
    alice
        .post(
            "/communities",
            json!({ "name": "woodwork", "title": "Green woodworking" }),
        )
        .await;
    let group = format!("{}/c/woodwork", alpha.base_url);
    let handle = format!("woodwork@alpha.test:{}", alpha.port);
    // Before: bob (beta) and remote user 1 (remote.test) both follow.
    let bob = User::create(&beta, "bob").await;
    bob.join_accepted(&handle).await;
    remote.follow(&alpha, &group, 1).await;

    // The admin allows beta only and switches to allow-list mode.
    assert!(cli(&alpha, &["admin", "federation", "allow", "beta.test"]).contains("allowed"));
    let out = cli(&alpha, &["admin", "federation", "mode", "allowlist"]);
    assert!(out.contains("federation mode: allowlist"), "{out}");
    let list: Value =
        serde_json::from_str(&cli(&alpha, &["admin", "federation", "list", "--json"])).unwrap();
    assert_eq!(list["mode"], "allowlist");
    assert_eq!(list["allowed"], json!(["beta.test"]));
    // Public in the instance's own log, made with the command line ("an admin").
    let log = alice.get("/modlog/instance").await;
    let entries: Vec<(&str, &str)> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["target"].as_str().unwrap()))
        .collect();
    assert_eq!(
        entries,
        [("mode", "allowlist"), ("allow", "beta.test")],
        "{log}"
    );
    assert!(log["items"][0]["actor"].is_null());

    // Inbound from remote.test is refused; from beta it is not.
    let actor = format!("{}/users/2", remote.base);
    let follow = json!({ "id": format!("{}/follows/2", remote.base), "type": "Follow",
                         "actor": actor, "object": group });
    assert_eq!(remote.send(&alpha, &actor, follow.clone()).await, 403);

    // Outbound: a new post reaches beta but not remote.test, whose follow is kept.
    alice
        .post(
            "/communities/woodwork/posts",
            json!({ "title": "Partners only", "body": "x" }),
        )
        .await;
    wait_for_post(&bob, &handle, "the post on beta", |p| {
        p["title"] == "Partners only"
    })
    .await;
    queue_empty(&alpha).await;
    let to_remote = |title: &'static str| {
        remote
            .received
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, v)| v.to_string().contains(title))
            .count()
    };
    assert_eq!(
        to_remote("Partners only"),
        0,
        "nothing delivered off the list"
    );
    let c = alice.get("/communities/woodwork").await;
    assert_eq!(c["followers"], 2, "no follow was removed: {c}");

    // The admin API shows the same policy; it is for admins only.
    let (s, _) = alice
        .call(reqwest::Method::GET, "/admin/federation", None)
        .await;
    assert_eq!(s, 403);
    let root = User::admin(&alpha, "dora").await;
    let policy = root.get("/admin/federation").await;
    assert_eq!(policy["mode"], "allowlist", "{policy}");

    // Back to open federation through the API: remote.test is heard and served again.
    let policy = root
        .post(
            "/admin/federation",
            json!({ "action": "mode", "mode": "open" }),
        )
        .await;
    assert_eq!(policy["mode"], "open");
    let (s, v) = root
        .call(
            reqwest::Method::POST,
            "/admin/federation",
            Some(json!({ "action": "mode", "mode": "closed" })),
        )
        .await;
    assert_eq!((s, v["error"].as_str()), (422, Some("bad_mode")));
    assert_eq!(remote.send(&alpha, &actor, follow).await, 202);
    alice
        .post(
            "/communities/woodwork/posts",
            json!({ "title": "Open again", "body": "y" }),
        )
        .await;
    poll_until(WAIT, "the post at remote.test", || async {
        (to_remote("Open again") > 0).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_ban_keeps_a_person_out_here_and_on_the_instances_that_know_them() {
    let alpha = TestServer::start_named("alpha.test", "", "").await;
    let beta = TestServer::start_named("beta.test", "", "").await;
    let remote = start_remote(Duration::ZERO).await;
    let dora = User::admin(&alpha, "dora").await;
    let alice = User::create(&alpha, "alice").await;
    let carol = User::create(&alpha, "carol").await;
    alice
        .post(
            "/communities",
            json!({ "name": "woodwork", "title": "Green woodworking" }),
        )
        .await;
    let group = format!("{}/c/woodwork", alpha.base_url);
    let carol_id = format!("{}/u/carol", alpha.base_url);
    // Carol posts here and in a community on beta.
    let bob = User::create(&beta, "bob").await;
    bob.post(
        "/communities",
        json!({ "name": "turning", "title": "Turning" }),
    )
    .await;
    let turning = format!("turning@beta.test:{}", beta.port);
    carol.get(&format!("/resolve?q=!{turning}")).await;
    carol
        .post(&format!("/communities/{turning}/follow"), json!({}))
        .await;
    wait_follow_accepted(&carol, &turning).await;
    let here = carol
        .post(
            "/communities/woodwork/posts",
            json!({ "title": "Carol here", "body": "x" }),
        )
        .await;
    carol
        .post(
            &format!("/communities/{turning}/posts"),
            json!({ "title": "Carol on beta", "body": "y" }),
        )
        .await;
    let on_beta = wait_for_post(&bob, "turning", "carol's post on beta", |p| {
        p["title"] == "Carol on beta"
    })
    .await;

    // Only admins ban instance-wide.
    let (s, _) = alice
        .call(
            reqwest::Method::POST,
            "/admin/bans",
            Some(json!({ "person": "carol" })),
        )
        .await;
    assert_eq!(s, 403);
    let bans = dora
        .post(
            "/admin/bans",
            json!({ "person": "carol", "reason": "Spam everywhere", "remove_data": true }),
        )
        .await;
    assert_eq!(bans[0]["person"], carol_id.as_str(), "{bans}");
    assert_eq!(bans[0]["banned_by"], "admin");
    // Here: her content is down and she posts nowhere.
    let t = alice.get(&format!("/posts/{}", here["id"])).await;
    assert_eq!(t["post"]["deleted"], true, "{t}");
    let (s, v) = carol
        .call(
            reqwest::Method::POST,
            "/communities/woodwork/posts",
            Some(json!({ "title": "Again", "body": "x" })),
        )
        .await;
    assert_eq!((s, v["error"].as_str()), (403, Some("banned_here")), "{v}");
    // Beta hears it from her own instance and takes her post there down too.
    poll_until(WAIT, "carol's post down on beta", || async {
        let t = bob.get(&format!("/posts/{}", on_beta["id"])).await;
        (t["post"]["deleted"] == true).then_some(())
    })
    .await;

    // A remote person banned here: their activities are refused.
    let actor = format!("{}/users/1", remote.base);
    remote.follow(&alpha, &group, 1).await;
    dora.post("/admin/bans", json!({ "person": actor })).await;
    let target = alice
        .post(
            "/communities/woodwork/posts",
            json!({ "title": "Alice's post", "body": "x" }),
        )
        .await;
    let like = |n: u32| {
        let actor = format!("{}/users/{}", remote.base, n % 10);
        json!({ "id": format!("{}/likes/{n}", remote.base), "type": "Like",
                "actor": actor, "object": target["ap_id"] })
    };
    assert_eq!(remote.send(&alpha, &actor, like(1)).await, 403);
    // Their own instance cannot lift our admin's ban: its Block then Undo(Block) of them
    // (a site ban by its root address) leave it in place.
    let block = json!({ "id": format!("{}/blocks/1", remote.base), "type": "Block",
                        "actor": other_actor(&remote), "object": actor,
                        "target": format!("{}/", remote.base) });
    assert_eq!(
        remote
            .send(&alpha, &other_actor(&remote), block.clone())
            .await,
        202
    );
    let undo = json!({ "id": format!("{}/undos/1", remote.base), "type": "Undo",
                       "actor": other_actor(&remote), "object": block });
    assert_eq!(remote.send(&alpha, &other_actor(&remote), undo).await, 202);
    assert_eq!(
        remote.send(&alpha, &actor, like(11)).await,
        403,
        "still banned here"
    );
    let other = format!("{}/users/2", remote.base);
    assert_eq!(
        remote.send(&alpha, &other, like(2)).await,
        202,
        "others are heard"
    );

    // The instance's log says who banned whom and why.
    let log = alice.get("/modlog/instance").await;
    let carols = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["target"] == carol_id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(
        (&carols["action"], &carols["reason"]),
        (&json!("ban"), &json!("Spam everywhere"))
    );
    assert!(carols["actor"].as_str().unwrap().ends_with("/u/dora"));
    let page = alpha
        .get("/modlog", "text/html")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Banned from the instance"), "{page}");

    // Lifted: carol posts again.
    dora.post("/admin/bans", json!({ "person": "carol", "banned": false }))
        .await;
    carol
        .post(
            "/communities/woodwork/posts",
            json!({ "title": "Back", "body": "x" }),
        )
        .await;
}

/// Another person of the remote instance (its admin, say).
fn other_actor(remote: &crate::delivery::Remote) -> String {
    format!("{}/users/3", remote.base)
}
