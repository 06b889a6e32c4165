//! Moderation between real instances (issue #6): a moderator on alpha locks a thread that
//! people on beta follow; the lock, its reason and its undoing federate, replies are refused
//! on both sides while it lasts, and both instances log it.

use crate::{
    delivery::start_remote,
    federation::{User, WAIT, wait_follow_accepted, wait_for_post},
    support::{poll_until, process::TestServer},
};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moderator_locks_and_unlocks_a_thread_across_instances() {
    let alpha = TestServer::start_named("alpha.test", "", "").await;
    let beta = TestServer::start_named("beta.test", "", "").await;
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

    let post = alice
        .post(
            "/communities/woodwork/posts",
            json!({ "title": "Sharpening", "body": "Stones?" }),
        )
        .await;
    let post_id = post["id"].as_i64().unwrap();
    let on_beta = wait_for_post(&bob, &handle, "the post on beta", |p| {
        p["title"] == "Sharpening"
    })
    .await;
    assert_eq!(on_beta["locked"], false);
    let beta_id = on_beta["id"].as_i64().unwrap();

    // Only a moderator may lock.
    let (s, v) = bob
        .call(
            reqwest::Method::POST,
            &format!("/posts/{beta_id}/lock"),
            Some(json!({ "locked": true })),
        )
        .await;
    assert_eq!(s, 403, "{v}");

    // Alice locks it with a reason: beta learns of it.
    let locked = alice
        .post(
            &format!("/posts/{post_id}/lock"),
            json!({ "locked": true, "reason": "Answered, thanks" }),
        )
        .await;
    assert_eq!(locked["locked"], true);
    poll_until(WAIT, "the lock on beta", || async {
        let t = bob.get(&format!("/posts/{beta_id}")).await;
        (t["post"]["locked"] == true || t["locked"] == true).then_some(())
    })
    .await;

    // While locked, nobody replies: not on alpha, not through beta.
    let (s, v) = alice
        .call(
            reqwest::Method::POST,
            &format!("/posts/{post_id}/replies"),
            Some(json!({ "body": "One more" })),
        )
        .await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(v["error"], "locked", "{v}");
    let (s, v) = bob
        .call(
            reqwest::Method::POST,
            &format!("/posts/{beta_id}/replies"),
            Some(json!({ "body": "Me too" })),
        )
        .await;
    assert_eq!(s, 403, "{v}");

    // A reply sent straight to alpha by someone else's server is refused too.
    let remote = start_remote(std::time::Duration::ZERO).await;
    let mallory = format!("{}/users/7", remote.base);
    let post_ap_id = post["ap_id"].as_str().unwrap();
    let reply = json!({
        "id": format!("{mallory}/create/1"), "type": "Create", "actor": mallory,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": { "type": "Note", "id": format!("{mallory}/notes/1"), "attributedTo": mallory,
                    "inReplyTo": post_ap_id, "content": "<p>Sneaking in</p>",
                    "to": ["https://www.w3.org/ns/activitystreams#Public"] }
    });
    assert_eq!(remote.send(&alpha, &mallory, reply).await, 403);
    let t = alice.get(&format!("/posts/{post_id}")).await;
    assert_eq!(t["replies"].as_array().unwrap().len(), 0, "{t}");

    // Someone who is not a moderator cannot unlock, pin or ban from another server: 403,
    // nothing changes, nothing is logged.
    let group = format!("{}/c/woodwork", alpha.base_url);
    let unlock = json!({ "id": format!("{mallory}/undo/1"), "type": "Undo", "actor": mallory,
        "object": { "id": format!("{mallory}/lock/1"), "type": "Lock", "actor": mallory,
                    "object": post_ap_id, "audience": group } });
    assert_eq!(remote.send(&alpha, &mallory, unlock).await, 403);
    let pin = json!({ "id": format!("{mallory}/add/1"), "type": "Add", "actor": mallory,
        "object": post_ap_id, "target": format!("{group}/featured"), "audience": group });
    assert_eq!(remote.send(&alpha, &mallory, pin).await, 403);
    let ban = json!({ "id": format!("{mallory}/block/1"), "type": "Block", "actor": mallory,
        "object": format!("http://alpha.test:{}/u/alice", alpha.port), "target": group,
        "removeData": true });
    assert_eq!(remote.send(&alpha, &mallory, ban).await, 403);
    let t = alice.get(&format!("/posts/{post_id}")).await;
    assert_eq!(
        (&t["post"]["locked"], &t["post"]["featured"]),
        (&json!(true), &json!(false)),
        "{t}"
    );
    assert_eq!(
        alice.get("/communities/woodwork/modlog").await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Both instances log it, with the reason.
    let log = alice.get("/communities/woodwork/modlog").await;
    let first = &log["items"][0];
    assert_eq!(first["action"], "lock", "{log}");
    assert_eq!(first["reason"], "Answered, thanks", "{log}");
    assert!(
        first["actor"].as_str().unwrap().ends_with("/u/alice"),
        "{log}"
    );
    poll_until(WAIT, "the lock in beta's log", || async {
        let log = bob.get(&format!("/communities/{handle}/modlog")).await;
        (log["items"][0]["action"] == "lock").then_some(())
    })
    .await;

    // Unlocked: replies flow again, across instances.
    alice
        .post(
            &format!("/posts/{post_id}/lock"),
            json!({ "locked": false }),
        )
        .await;
    poll_until(WAIT, "the unlock on beta", || async {
        let t = bob.get(&format!("/posts/{beta_id}")).await;
        (t["post"]["locked"] == false || t["locked"] == false).then_some(())
    })
    .await;
    bob.post(
        &format!("/posts/{beta_id}/replies"),
        json!({ "body": "Thanks!" }),
    )
    .await;
    poll_until(WAIT, "bob's reply on alpha", || async {
        let t: Value = alice.get(&format!("/posts/{post_id}")).await;
        t["replies"]
            .as_array()?
            .iter()
            .any(|r| {
                r["body_html"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("Thanks!")
            })
            .then_some(())
    })
    .await;
    // Pinned: beta sees it, and alpha's featured collection holds the Page.
    let (s, v) = bob
        .call(
            reqwest::Method::POST,
            &format!("/posts/{beta_id}/pin"),
            Some(json!({ "pinned": true })),
        )
        .await;
    assert_eq!(s, 403, "{v}");
    let pinned = alice
        .post(&format!("/posts/{post_id}/pin"), json!({ "pinned": true }))
        .await;
    assert_eq!(pinned["featured"], true);
    poll_until(WAIT, "the pin on beta", || async {
        let t = bob.get(&format!("/posts/{beta_id}")).await;
        (t["post"]["featured"] == true).then_some(())
    })
    .await;
    let featured: Value = alpha
        .get("/c/woodwork/featured", "application/activity+json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(featured["totalItems"], 1, "{featured}");
    assert_eq!(
        featured["orderedItems"][0]["id"], post["ap_id"],
        "{featured}"
    );
    assert_eq!(featured["orderedItems"][0]["type"], "Page", "{featured}");
    alice
        .post(&format!("/posts/{post_id}/pin"), json!({ "pinned": false }))
        .await;
    poll_until(WAIT, "the unpin on beta", || async {
        let t = bob.get(&format!("/posts/{beta_id}")).await;
        (t["post"]["featured"] == false).then_some(())
    })
    .await;

    // Bob is banned, his content taken down: on alpha and on beta. He cannot post there
    // (beta refuses it already), until the ban is lifted.
    let bob_id = format!("http://beta.test:{}/u/bob", beta.port);
    let (s, v) = bob
        .call(
            reqwest::Method::POST,
            &format!("/communities/{handle}/bans"),
            Some(json!({ "person": bob_id })),
        )
        .await;
    assert_eq!(s, 403, "only a moderator bans: {v}");
    alice
        .post(
            "/communities/woodwork/bans",
            json!({ "person": bob_id, "reason": "Spam", "remove_data": true,
                    "expires_at": "2099-01-01T00:00:00Z" }),
        )
        .await;
    let thanks_gone = |t: &Value| {
        t["replies"].as_array().is_some_and(|r| {
            r.iter().any(|r| r["deleted"] == true)
                && !r.iter().any(|r| {
                    r["body_html"]
                        .as_str()
                        .unwrap_or_default()
                        .contains("Thanks!")
                })
        })
    };
    assert!(thanks_gone(&alice.get(&format!("/posts/{post_id}")).await));
    poll_until(WAIT, "bob's reply taken down on beta", || async {
        thanks_gone(&bob.get(&format!("/posts/{beta_id}")).await).then_some(())
    })
    .await;
    let (s, v) = bob
        .call(
            reqwest::Method::POST,
            &format!("/communities/{handle}/posts"),
            Some(json!({ "title": "Back!", "body": "x" })),
        )
        .await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(v["error"], "banned", "{v}");
    let (s, v) = bob
        .call(
            reqwest::Method::POST,
            &format!("/posts/{beta_id}/vote"),
            Some(json!({ "value": 1 })),
        )
        .await;
    assert_eq!(s, 403, "a banned person does not vote: {v}");
    // A banned person's vote sent straight to alpha by their server is refused as well.
    alice
        .post(
            "/communities/woodwork/bans",
            json!({ "person": mallory, "reason": "Sneaking" }),
        )
        .await;
    let like = json!({ "id": format!("{mallory}/likes/1"), "type": "Like", "actor": mallory,
                       "object": post_ap_id, "audience": format!("{}/c/woodwork", alpha.base_url) });
    assert_eq!(remote.send(&alpha, &mallory, like).await, 403);
    assert_eq!(
        alice.get(&format!("/posts/{post_id}")).await["post"]["upvotes"],
        0
    );
    alice
        .post(
            "/communities/woodwork/bans",
            json!({ "person": bob_id, "banned": false }),
        )
        .await;
    poll_until(WAIT, "the unban on beta", || async {
        let (s, _) = bob
            .call(
                reqwest::Method::POST,
                &format!("/communities/{handle}/posts"),
                Some(json!({ "title": "Back again", "body": "x" })),
            )
            .await;
        (s == 200 || s == 201).then_some(())
    })
    .await;
    wait_for_post(&alice, "woodwork", "bob's post after the unban", |p| {
        p["title"] == "Back again"
    })
    .await;

    let log = alice.get("/communities/woodwork/modlog").await;
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["unban", "ban", "ban", "unpin", "pin", "unlock", "lock"],
        "{log}"
    );
    assert_eq!(log["items"][2]["person"], bob_id.as_str(), "{log}");
    assert_eq!(log["items"][2]["reason"], "Spam", "{log}");
}

/// The moderators of `handle` as `user`'s instance knows them (ActivityPub ids).
async fn moderators(user: &User, handle: &str) -> Vec<String> {
    user.get(&format!("/communities/{handle}/moderators")).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["ap_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moderator_on_another_instance_is_appointed_moderates_from_home_and_is_removed() {
    let alpha = TestServer::start_named("alpha.test", "", "").await;
    let beta = TestServer::start_named("beta.test", "", "").await;
    let alice = User::create(&alpha, "alice").await;
    let carol = User::create(&alpha, "carol").await;
    alice
        .post(
            "/communities",
            json!({ "name": "woodwork", "title": "Green woodworking" }),
        )
        .await;
    let handle = format!("woodwork@alpha.test:{}", alpha.port);
    let bob = User::create(&beta, "bob").await;
    let bob_id = format!("{}/u/bob", beta.base_url);
    let alice_id = format!("{}/u/alice", alpha.base_url);
    bob.join_accepted(&handle).await;
    let post = alice
        .post(
            "/communities/woodwork/posts",
            json!({ "title": "Froe or axe?", "body": "For riving" }),
        )
        .await;
    let post_id = post["id"].as_i64().unwrap();
    let on_beta = wait_for_post(&bob, &handle, "the post on beta", |p| {
        p["title"] == "Froe or axe?"
    })
    .await;
    let beta_id = on_beta["id"].as_i64().unwrap();

    // Not a moderator yet: bob cannot lock from beta.
    let lock = json!({ "locked": true, "reason": "Settled" });
    let (s, v) = bob
        .call(
            reqwest::Method::POST,
            &format!("/posts/{beta_id}/lock"),
            Some(lock.clone()),
        )
        .await;
    assert_eq!(s, 403, "{v}");

    // Alice appoints bob (who lives on beta); beta learns it from the community's Announce.
    let mods = alice
        .post(
            "/communities/woodwork/moderators",
            json!({ "person": bob_id }),
        )
        .await;
    assert_eq!(mods["items"].as_array().unwrap().len(), 2, "{mods}");
    assert_eq!(
        moderators(&alice, "woodwork").await,
        [alice_id.clone(), bob_id.clone()]
    );
    poll_until(WAIT, "bob as moderator on beta", || async {
        moderators(&bob, &handle)
            .await
            .contains(&bob_id)
            .then_some(())
    })
    .await;

    // Bob moderates from home: his Lock goes to the community, which accepts and relays it.
    bob.post(&format!("/posts/{beta_id}/lock"), lock.clone())
        .await;
    poll_until(WAIT, "bob's lock on alpha", || async {
        let t = alice.get(&format!("/posts/{post_id}")).await;
        (t["post"]["locked"] == true).then_some(())
    })
    .await;
    let log = alice.get("/communities/woodwork/modlog").await;
    let actions: Vec<(&str, &str)> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [
            ("lock", bob_id.as_str()),
            ("add_moderator", alice_id.as_str())
        ],
        "{log}"
    );

    // Seniority: carol, appointed after alice, cannot remove her; alice removes carol.
    alice
        .post(
            "/communities/woodwork/moderators",
            json!({ "person": "carol" }),
        )
        .await;
    let (s, v) = carol
        .call(
            reqwest::Method::POST,
            "/communities/woodwork/moderators",
            Some(json!({ "person": "alice", "moderator": false })),
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (403, Some("senior_moderator")),
        "{v}"
    );
    alice
        .post(
            "/communities/woodwork/moderators",
            json!({ "person": "carol", "moderator": false }),
        )
        .await;

    // A signed Remove from someone who is no moderator changes nothing.
    let remote = start_remote(std::time::Duration::ZERO).await;
    let mallory = format!("{}/users/1", remote.base);
    let forged = json!({
        "id": format!("{}/activities/remove/1", remote.base), "type": "Remove",
        "actor": mallory, "object": alice_id,
        "target": format!("{}/c/woodwork/moderators", alpha.base_url),
    });
    assert_eq!(remote.send(&alpha, &mallory, forged).await, 403);

    // Alice removes bob: beta forgets his role, and his next lock is refused at home.
    alice
        .post(
            "/communities/woodwork/moderators",
            json!({ "person": bob_id, "moderator": false }),
        )
        .await;
    poll_until(WAIT, "bob no longer moderator on beta", || async {
        (!moderators(&bob, &handle).await.contains(&bob_id)).then_some(())
    })
    .await;
    let (s, v) = bob
        .call(
            reqwest::Method::POST,
            &format!("/posts/{beta_id}/lock"),
            Some(json!({ "locked": false })),
        )
        .await;
    assert_eq!(s, 403, "{v}");

    // The last moderator stays.
    let (s, v) = alice
        .call(
            reqwest::Method::POST,
            "/communities/woodwork/moderators",
            Some(json!({ "person": "alice", "moderator": false })),
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (422, Some("last_moderator")),
        "{v}"
    );
    assert_eq!(moderators(&alice, "woodwork").await, [alice_id]);
}

/// The reports of `handle` that `user` (a moderator) sees.
async fn reports(user: &User, handle: &str) -> Vec<Value> {
    user.get(&format!("/communities/{handle}/reports?all=true"))
        .await["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_reach_every_moderator_and_name_the_reporter_only_where_it_was_made() {
    let alpha = TestServer::start_named("alpha.test", "", "").await;
    let beta = TestServer::start_named("beta.test", "", "").await;
    let remote = start_remote(std::time::Duration::ZERO).await;
    let alice = User::create(&alpha, "alice").await;
    let carol = User::create(&alpha, "carol").await;
    alice
        .post(
            "/communities",
            json!({ "name": "woodwork", "title": "Green woodworking" }),
        )
        .await;
    let group = format!("{}/c/woodwork", alpha.base_url);
    let handle = format!("woodwork@alpha.test:{}", alpha.port);
    let bob = User::create(&beta, "bob").await;
    let mia = User::create(&beta, "mia").await;
    let bob_id = format!("{}/u/bob", beta.base_url);
    bob.join_accepted(&handle).await;
    remote.follow(&alpha, &group, 1).await;
    // Mia, on beta, moderates the community too.
    alice
        .post(
            "/communities/woodwork/moderators",
            json!({ "person": format!("{}/u/mia", beta.base_url) }),
        )
        .await;
    let mia_id = format!("{}/u/mia", beta.base_url);
    poll_until(WAIT, "mia as moderator on beta", || async {
        moderators(&mia, &handle)
            .await
            .contains(&mia_id)
            .then_some(())
    })
    .await;
    let post = carol
        .post(
            "/communities/woodwork/posts",
            json!({ "title": "Cheap axes here", "body": "Buy now" }),
        )
        .await;
    let on_beta = wait_for_post(&bob, &handle, "the post on beta", |p| {
        p["title"] == "Cheap axes here"
    })
    .await;

    // Bob reports from beta: the community's instance gets the report, naming him.
    let (s, v) = bob
        .call(
            reqwest::Method::POST,
            &format!("/posts/{}/report", on_beta["id"]),
            Some(json!({ "reason": "Spam, from beta" })),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let from_bob = poll_until(WAIT, "bob's report on alpha", || async {
        reports(&alice, "woodwork")
            .await
            .into_iter()
            .find(|r| r["reason"] == "Spam, from beta")
    })
    .await;
    assert_eq!(from_bob["reporter"], bob_id.as_str(), "{from_bob}");
    assert_eq!(from_bob["status"], "open");

    // Alice reports on alpha: mia's instance gets it from the community, without her name.
    let (s, v) = alice
        .call(
            reqwest::Method::POST,
            &format!("/posts/{}/report", post["id"]),
            Some(json!({ "reason": "Advertising" })),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let forwarded = poll_until(WAIT, "alice's report at mia's instance", || async {
        reports(&mia, &handle)
            .await
            .into_iter()
            .find(|r| r["reason"] == "Advertising")
    })
    .await;
    assert_eq!(forwarded["reporter"], Value::Null, "{forwarded}");
    assert!(
        alice.get("/communities/woodwork/reports").await["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["reporter"]
                .as_str()
                .is_some_and(|r| r.ends_with("/u/alice"))),
        "alpha's own moderators see who reported"
    );

    // Closing a report tells the other side (Lemmy's Resolve). Mia closes bob's report on
    // beta: alpha's copy closes; alice closes hers on alpha: mia's unnamed copy closes.
    let bobs_on_beta = reports(&mia, &handle)
        .await
        .into_iter()
        .find(|r| r["reason"] == "Spam, from beta")
        .expect("bob's report, kept on beta too");
    mia.post(
        &format!("/reports/{}", bobs_on_beta["id"]),
        json!({ "status": "resolved" }),
    )
    .await;
    poll_until(WAIT, "bob's report resolved on alpha", || async {
        reports(&alice, "woodwork")
            .await
            .into_iter()
            .find(|r| r["id"] == from_bob["id"] && r["status"] == "resolved")
    })
    .await;
    let alices = reports(&alice, "woodwork")
        .await
        .into_iter()
        .find(|r| r["reason"] == "Advertising")
        .unwrap();
    alice
        .post(
            &format!("/reports/{}", alices["id"]),
            json!({ "status": "dismissed" }),
        )
        .await;
    poll_until(WAIT, "the unnamed copy closed at mia's", || async {
        reports(&mia, &handle)
            .await
            .into_iter()
            .find(|r| r["reason"] == "Advertising" && r["status"] == "resolved")
    })
    .await;

    // Only moderators read reports; a moderator resolves one.
    let (s, _) = carol
        .call(reqwest::Method::GET, "/communities/woodwork/reports", None)
        .await;
    assert_eq!(s, 403);
    let resolved = alice
        .post(
            &format!("/reports/{}", from_bob["id"]),
            json!({ "status": "resolved" }),
        )
        .await;
    assert_eq!(resolved["status"], "resolved");
    let open = alice.get("/communities/woodwork/reports").await;
    assert!(
        open["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["id"] != from_bob["id"]),
        "{open}"
    );
    let (s, _) = carol
        .call(
            reqwest::Method::POST,
            &format!("/reports/{}", from_bob["id"]),
            Some(json!({ "status": "open" })),
        )
        .await;
    assert_eq!(s, 403);

    // Followers never hear of reports: the remote follower got the post, no Flag.
    poll_until(WAIT, "the post at the remote follower", || async {
        (remote.count(|v| v.to_string().contains("Cheap axes here")) > 0).then_some(())
    })
    .await;
    poll_until(WAIT, "alpha's delivery queue to drain", || async {
        let out = alpha.cli(&["admin", "federation", "status", "--json"], "");
        let v: Value = serde_json::from_slice(&out.stdout).ok()?;
        (v["pending_deliveries"] == 0).then_some(())
    })
    .await;
    assert_eq!(remote.count(|v| v.to_string().contains("\"Flag\"")), 0);

    // Alice removes the post with a reason: logged here, on beta, and in the instance log.
    let (s, _) = alice
        .call(
            reqwest::Method::DELETE,
            &format!("/posts/{}", post["id"]),
            Some(json!({ "reason": "Spam" })),
        )
        .await;
    assert_eq!(s, 204);
    let log = alice.get("/communities/woodwork/modlog").await;
    assert_eq!(log["items"][0]["action"], "remove", "{log}");
    assert_eq!(log["items"][0]["reason"], "Spam", "{log}");
    poll_until(WAIT, "the removal in beta's log", || async {
        let log = bob.get(&format!("/communities/{handle}/modlog")).await;
        (log["items"][0]["action"] == "remove" && log["items"][0]["reason"] == "Spam").then_some(())
    })
    .await;
    let all = alice.get("/modlog").await;
    assert_eq!(all["items"][0]["action"], "remove", "{all}");
    assert_eq!(all["items"][0]["community"], group.as_str(), "{all}");
    let page = alpha
        .get("/modlog", "text/html")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Removed a post") && page.contains("Spam"),
        "{page}"
    );
    let feed = alpha
        .get("/modlog.atom", "application/atom+xml")
        .await
        .text()
        .await
        .unwrap();
    assert!(feed.contains("<title>Removed a post"), "{feed}");

    // The community may keep its moderators' names out of the public log.
    let (s, _) = alice
        .call(
            reqwest::Method::PATCH,
            "/communities/woodwork",
            Some(json!({ "modlog_anonymous": true })),
        )
        .await;
    assert_eq!(s, 200);
    let log = alice.get("/communities/woodwork/modlog").await;
    let items = log["items"].as_array().unwrap();
    assert!(
        !items.is_empty() && items.iter().all(|e| e["actor"].is_null()),
        "{log}"
    );
    let page = alpha
        .get("/modlog", "text/html")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("by a moderator") && !page.contains("/u/alice"),
        "{page}"
    );
}

/// The ActivityPub ids of the people waiting to join `handle`, as `user` (a moderator) sees.
async fn waiting(user: &User, handle: &str) -> Vec<String> {
    user.get(&format!("/communities/{handle}/pending")).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["ap_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_only_community_admits_the_members_a_moderator_accepts() {
    let alpha = TestServer::start_named("alpha.test", "", "").await;
    let beta = TestServer::start_named("beta.test", "", "").await;
    let remote = start_remote(std::time::Duration::ZERO).await;
    let alice = User::create(&alpha, "alice").await;
    let carol = User::create(&alpha, "carol").await;
    alice
        .post(
            "/communities",
            json!({ "name": "guild", "title": "Master turners", "approval_required": true }),
        )
        .await;
    let group = format!("{}/c/guild", alpha.base_url);
    let handle = format!("guild@alpha.test:{}", alpha.port);
    let actor: Value = alpha
        .get("/c/guild", "application/activity+json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(actor["manuallyApprovesFollowers"], true, "{actor}");

    // Three people ask to join: bob from beta, carol here, a remote user.
    let bob = User::create(&beta, "bob").await;
    let bob_id = format!("{}/u/bob", beta.base_url);
    bob.join(&handle).await;
    let joined = carol.post("/communities/guild/follow", json!({})).await;
    assert_eq!(joined["state"], "pending", "{joined}");
    remote.follow(&alpha, &group, 1).await;
    let remote_user = format!("{}/users/1", remote.base);
    poll_until(WAIT, "three people waiting", || async {
        (waiting(&alice, "guild").await.len() == 3).then_some(())
    })
    .await;
    assert_eq!(
        remote.count(|v| v["type"] == "Accept"),
        0,
        "no Accept before approval"
    );
    let (s, _) = carol
        .call(reqwest::Method::GET, "/communities/guild/pending", None)
        .await;
    assert_eq!(s, 403, "only moderators see who waits");

    // Not yet members: their posts are refused, here and from elsewhere.
    let (s, v) = carol
        .call(
            reqwest::Method::POST,
            "/communities/guild/posts",
            Some(json!({ "title": "Hello", "body": "x" })),
        )
        .await;
    assert_eq!((s, v["error"].as_str()), (403, Some("not_a_member")), "{v}");
    let page = json!({
        "id": format!("{}/objects/1", remote.base), "type": "Page",
        "attributedTo": remote_user, "name": "Let me in",
        "to": [group, "https://www.w3.org/ns/activitystreams#Public"], "audience": group,
        "content": "<p>x</p>",
    });
    let create = json!({ "id": format!("{}/activities/create/1", remote.base), "type": "Create",
                         "actor": remote_user, "object": page });
    assert_eq!(remote.send(&alpha, &remote_user, create).await, 403);

    // Alice accepts bob and carol, and turns the remote user away.
    for person in [bob_id.as_str(), "carol"] {
        alice
            .post(
                "/communities/guild/pending",
                json!({ "person": person, "accept": true }),
            )
            .await;
    }
    let left = alice
        .post(
            "/communities/guild/pending",
            json!({ "person": remote_user, "accept": false }),
        )
        .await;
    assert_eq!(left["items"], json!([]), "{left}");
    wait_follow_accepted(&bob, &handle).await;
    poll_until(WAIT, "the Reject at the remote instance", || async {
        (remote.count(|v| v["type"] == "Reject" && v["object"]["actor"] == remote_user.as_str())
            == 1)
            .then_some(())
    })
    .await;
    carol
        .post(
            "/communities/guild/posts",
            json!({ "title": "Hello", "body": "x" }),
        )
        .await;
    let log = alice.get("/communities/guild/modlog").await;
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["reject_member", "accept_member", "accept_member"],
        "{log}"
    );

    // Open again: the next follow is accepted at once.
    let c = alice
        .call(
            reqwest::Method::PATCH,
            "/communities/guild",
            Some(json!({ "approval_required": false })),
        )
        .await;
    assert_eq!(
        (c.0, &c.1["approval_required"]),
        (200, &json!(false)),
        "{:?}",
        c.1
    );
    remote.follow(&alpha, &group, 2).await;
    poll_until(WAIT, "an Accept at once", || async {
        (remote.count(|v| v["type"] == "Accept") == 1).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn facilitators_and_mentors_are_named_across_instances_and_shown_with_their_posts() {
    let alpha = TestServer::start_named("alpha.test", "", "").await;
    let beta = TestServer::start_named("beta.test", "", "").await;
    let alice = User::create(&alpha, "alice").await;
    let carol = User::create(&alpha, "carol").await;
    alice
        .post(
            "/communities",
            json!({ "name": "woodwork", "title": "Green woodworking" }),
        )
        .await;
    let handle = format!("woodwork@alpha.test:{}", alpha.port);
    let bob = User::create(&beta, "bob").await;
    let bob_id = format!("{}/u/bob", beta.base_url);
    bob.join_accepted(&handle).await;

    // Alice names bob (on beta) a mentor and carol a facilitator.
    alice
        .post(
            "/communities/woodwork/roles",
            json!({ "person": bob_id, "role": "mentor" }),
        )
        .await;
    let roles = alice
        .post(
            "/communities/woodwork/roles",
            json!({ "person": "carol", "role": "facilitator" }),
        )
        .await;
    assert_eq!(roles["mentor"][0]["ap_id"], bob_id.as_str(), "{roles}");
    assert!(
        roles["facilitator"][0]["ap_id"]
            .as_str()
            .unwrap()
            .ends_with("/u/carol")
    );
    let (s, v) = carol
        .call(
            reqwest::Method::POST,
            "/communities/woodwork/roles",
            Some(json!({ "person": "alice", "role": "mentor" })),
        )
        .await;
    assert_eq!(s, 403, "only moderators name people: {v}");
    let (s, v) = alice
        .call(
            reqwest::Method::POST,
            "/communities/woodwork/roles",
            Some(json!({ "person": "carol", "role": "wizard" })),
        )
        .await;
    assert_eq!((s, v["error"].as_str()), (422, Some("bad_role")));

    // The community's collection lists him; beta learns it from the community's Announce.
    let mentors: Value = alpha
        .get("/c/woodwork/mentors", "application/activity+json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mentors["orderedItems"], json!([bob_id]), "{mentors}");
    poll_until(WAIT, "bob as mentor on beta", || async {
        let r = bob.get(&format!("/communities/{handle}/roles")).await;
        (r["mentor"][0]["ap_id"] == bob_id.as_str()).then_some(())
    })
    .await;

    // His posts carry the role, on alpha too.
    bob.post(
        &format!("/communities/{handle}/posts"),
        json!({ "title": "Ask me about froes", "body": "x" }),
    )
    .await;
    let on_alpha = wait_for_post(&alice, "woodwork", "bob's post on alpha", |p| {
        p["title"] == "Ask me about froes"
    })
    .await;
    assert_eq!(on_alpha["author_roles"], json!(["mentor"]), "{on_alpha}");
    // And so does his profile on his own server, by API and in HTML.
    let profile = bob.get("/accounts/bob").await;
    assert_eq!(profile["roles"][0]["role"], "mentor", "{profile}");
    assert_eq!(
        profile["roles"][0]["community"],
        format!("{}/c/woodwork", alpha.base_url),
        "{profile}"
    );
    let html = beta.get("/u/bob", "text/html").await.text().await.unwrap();
    assert!(html.contains("mentor in <a"), "{html}");

    // The role ends: beta forgets it too; the log says so.
    alice
        .post(
            "/communities/woodwork/roles",
            json!({ "person": bob_id, "role": "mentor", "granted": false }),
        )
        .await;
    poll_until(WAIT, "bob no longer mentor on beta", || async {
        let r = bob.get(&format!("/communities/{handle}/roles")).await;
        (r["mentor"] == json!([])).then_some(())
    })
    .await;
    let log = alice.get("/communities/woodwork/modlog").await;
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["remove_mentor", "add_facilitator", "add_mentor"],
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_by_handle_and_by_link_let_people_into_an_approval_only_community() {
    let alpha = TestServer::start_named("alpha.test", "", "").await;
    let beta = TestServer::start_named("beta.test", "", "").await;
    let alice = User::create(&alpha, "alice").await;
    let carol = User::create(&alpha, "carol").await;
    alice
        .post(
            "/communities",
            json!({ "name": "guild", "title": "Master turners", "approval_required": true }),
        )
        .await;
    let group = format!("{}/c/guild", alpha.base_url);
    let handle = format!("guild@alpha.test:{}", alpha.port);
    let bob = User::create(&beta, "bob").await;
    let bob_id = format!("{}/u/bob", beta.base_url);

    // By handle, across instances: bob on beta is invited (alpha has never met him).
    let (s, v) = carol
        .call(
            reqwest::Method::POST,
            "/communities/guild/invitations",
            Some(json!({ "person": bob_id })),
        )
        .await;
    assert_eq!(s, 403, "only moderators invite: {v}");
    let made = alice
        .post(
            "/communities/guild/invitations",
            json!({ "person": bob_id, "days": 3 }),
        )
        .await;
    assert_eq!(made["invitee"], bob_id.as_str(), "{made}");
    let invitation = poll_until(WAIT, "the invitation on beta", || async {
        bob.get("/invitations").await["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["community"] == group.as_str())
            .cloned()
    })
    .await;
    assert_eq!(invitation["community_title"], "Master turners");
    bob.post(
        &format!("/invitations/{}/accept", invitation["id"]),
        json!({}),
    )
    .await;
    // Alpha takes the invited follower at once: nobody waits for approval.
    wait_follow_accepted(&bob, &handle).await;
    assert_eq!(waiting(&alice, "guild").await, Vec::<String>::new());
    assert_eq!(bob.get("/invitations").await["items"], json!([]));

    // By link: whoever has it (signed in here) joins.
    let link = alice
        .post("/communities/guild/invitations", json!({}))
        .await;
    let token = link["token"].as_str().unwrap().to_string();
    assert!(
        link["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/invite/{token}"))
    );
    let page = alpha
        .get(&format!("/invite/{token}"), "text/html")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("You are invited to Master turners"), "{page}");
    let joined = carol
        .post(&format!("/invitations/link/{token}"), json!({}))
        .await;
    assert_eq!(joined["state"], "accepted", "{joined}");
    let (s, _) = carol
        .call(reqwest::Method::POST, "/invitations/link/not-a-token", None)
        .await;
    assert_eq!(s, 404);
    carol
        .post(
            "/communities/guild/posts",
            json!({ "title": "Invited and in", "body": "x" }),
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_group_cannot_relay_moderation_of_our_community() {
    let alpha = TestServer::start_named("alpha.test", "", "").await;
    let remote = start_remote(std::time::Duration::ZERO).await;
    let alice = User::create(&alpha, "alice").await;
    let carol = User::create(&alpha, "carol").await;
    alice
        .post(
            "/communities",
            json!({ "name": "woodwork", "title": "Green woodworking" }),
        )
        .await;
    // A group on another server that carol follows (so its Announces are read here).
    let group = format!("{}/groups/evil", remote.base);
    remote.serve(
        "/groups/evil",
        json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "type": "Group", "id": group, "preferredUsername": "evil", "name": "Evil",
            "inbox": format!("{group}/inbox"), "followers": format!("{group}/followers"),
            "publicKey": { "id": format!("{group}#main-key"), "owner": group,
                           "publicKeyPem": remote.public_pem },
        }),
        std::time::Duration::ZERO,
        0,
    );
    let found = carol.get(&format!("/resolve?q={group}")).await;
    let handle = found["handle"]
        .as_str()
        .unwrap()
        .trim_start_matches('!')
        .to_string();
    carol
        .post(&format!("/communities/{handle}/follow"), json!({}))
        .await;

    // It relays an Add, "by alice" (a moderator here), making its friend a moderator of
    // our community: refused, nothing changes.
    let add = json!({
        "id": format!("{}/activities/add/forged", alpha.base_url), "type": "Add",
        "actor": format!("{}/u/alice", alpha.base_url),
        "object": format!("{}/users/5", remote.base),
        "target": format!("{}/c/woodwork/moderators", alpha.base_url),
    });
    let announce = json!({ "id": format!("{group}/announces/1"), "type": "Announce",
                           "actor": group, "object": add });
    assert_eq!(remote.send(&alpha, &group, announce).await, 403);
    assert_eq!(
        moderators(&alice, "woodwork").await,
        [format!("{}/u/alice", alpha.base_url)]
    );
    assert_eq!(
        alice.get("/communities/woodwork/modlog").await["items"],
        json!([])
    );
}
