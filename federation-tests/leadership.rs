//! Leadership models between real processes (issue #6): a rotation hands the facilitator
//! role over across instances, by the clock and early; shared leadership needs a second
//! co-lead for sensitive changes.

use crate::{
    federation::{User, WAIT},
    support::{poll_until, process::TestServer},
};
use serde_json::{Value, json};

async fn facilitators(user: &User, handle: &str) -> Value {
    user.get(&format!("/communities/{handle}/roles")).await["facilitator"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["ap_id"].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_hands_the_facilitator_role_over_across_instances() {
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
    carol.post("/communities/woodwork/follow", json!({})).await;
    let handle = format!("woodwork@alpha.test:{}", alpha.port);
    let alice_id = format!("{}/u/alice", alpha.base_url);
    let bob = User::create(&beta, "bob").await;
    let bob_id = format!("{}/u/bob", beta.base_url);
    bob.join_accepted(&handle).await;

    // Two-second terms: alice first, then bob (who lives on beta).
    let l = alice
        .post(
            "/communities/woodwork/leadership",
            json!({ "model": "rotational", "term_secs": 2, "roster": ["alice", bob_id] }),
        )
        .await;
    assert_eq!(l["model"], "rotational", "{l}");
    assert_eq!(l["roster"], json!([alice_id, bob_id]), "{l}");
    assert_eq!(l["facilitators"], json!([alice_id]), "{l}");
    // The Group says how it is led, for every server that fetches it.
    let group: Value = alpha
        .get("/c/woodwork", "application/activity+json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(group["leadership"]["model"], "rotational", "{group}");
    assert_eq!(
        group["leadership"]["roster"],
        json!([alice_id, bob_id]),
        "{group}"
    );
    // The term ends: the role passes to bob, and beta hears it from the community.
    poll_until(WAIT, "bob facilitates on alpha", || async {
        (facilitators(&alice, "woodwork").await == json!([bob_id])).then_some(())
    })
    .await;
    poll_until(WAIT, "beta learns bob facilitates", || async {
        facilitators(&bob, &handle)
            .await
            .as_array()
            .unwrap()
            .contains(&json!(bob_id))
            .then_some(())
    })
    .await;

    // Long terms from now on; the first on the roster takes over at once.
    let l = alice
        .post(
            "/communities/woodwork/leadership",
            json!({ "model": "rotational", "term_secs": 3600, "roster": ["alice", bob_id] }),
        )
        .await;
    assert_eq!(l["facilitators"], json!([alice_id]), "{l}");
    // Someone who neither facilitates nor moderates cannot pass it on; alice can.
    let (s, v) = carol
        .call(
            reqwest::Method::POST,
            "/communities/woodwork/leadership/pass",
            None,
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (403, Some("not_your_turn")),
        "{v}"
    );
    let l = alice
        .post("/communities/woodwork/leadership/pass", json!({}))
        .await;
    assert_eq!(l["facilitators"], json!([bob_id]), "{l}");
    poll_until(WAIT, "beta sees alice hand over to bob", || async {
        (facilitators(&bob, &handle).await == json!([bob_id])).then_some(())
    })
    .await;

    // Every hand-over is logged, here and on beta.
    let log = alice.get("/communities/woodwork/modlog").await;
    let rotations = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "rotate")
        .count();
    assert!(rotations >= 3, "{log}");
    let on_beta = bob.get(&format!("/communities/{handle}/modlog")).await;
    assert!(
        on_beta["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "rotate" && e["person"] == bob_id.as_str()),
        "{on_beta}"
    );

    // Members hear of every hand-over: carol here, bob on beta (from the community's Add).
    let to_bob = |n: &Value, name: &str| {
        n["items"].as_array().unwrap().iter().any(|i| {
            i["kind"] == "handover"
                && i["body"].as_str().is_some_and(|b| {
                    b.starts_with(&format!(
                        "{name} is now the facilitator of Green woodworking"
                    ))
                })
        })
    };
    let here = carol.get("/notices").await;
    assert!(here["unread"].as_i64().unwrap() >= 3, "{here}");
    assert!(
        to_bob(&here, &format!("bob@beta.test:{}", beta.port)),
        "{here}"
    );
    poll_until(WAIT, "bob's notice on beta", || async {
        to_bob(&bob.get("/notices").await, "bob").then_some(())
    })
    .await;
    let read = carol.post("/notices/read", json!({})).await;
    assert!(read["marked"].as_u64().unwrap() >= 3, "{read}");
    assert_eq!(carol.get("/notices").await["unread"], 0);
    let anonymous = alpha.get("/api/v1/notices", "application/json").await;
    assert_eq!(anonymous.status(), 401, "notices are their reader's own");

    // Swapping terms: alice (facilitating) asks carol, who accepts and takes the term now.
    alice
        .post(
            "/communities/woodwork/leadership",
            json!({ "model": "rotational", "term_secs": 3600,
                    "roster": ["alice", "carol", bob_id] }),
        )
        .await;
    let carol_id = format!("{}/u/carol", alpha.base_url);
    let (s, asked) = alice
        .call(
            reqwest::Method::POST,
            "/communities/woodwork/leadership/swap",
            Some(json!({ "with": "carol" })),
        )
        .await;
    assert_eq!(s, 202, "{asked}");
    assert_eq!(asked["status"], "proposed", "{asked}");
    let shown = alice.get("/communities/woodwork/leadership").await;
    assert_eq!(shown["swaps"][0]["person"], carol_id.as_str(), "{shown}");
    let erin = User::create(&alpha, "erin").await;
    let (s, v) = erin
        .call(
            reqwest::Method::POST,
            "/communities/woodwork/leadership/swap",
            Some(json!({ "with": "alice" })),
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (403, Some("not_on_roster")),
        "{v}"
    );
    let (s, _) = erin
        .call(
            reqwest::Method::POST,
            &format!("/proposals/{}", asked["proposal"]),
            Some(json!({ "approve": true })),
        )
        .await;
    assert_eq!(
        s, 403,
        "only the person asked, or a moderator, accepts a swap"
    );
    carol
        .post(
            &format!("/proposals/{}", asked["proposal"]),
            json!({ "approve": true }),
        )
        .await;
    let l = alice.get("/communities/woodwork/leadership").await;
    assert_eq!(l["roster"], json!([carol_id, alice_id, bob_id]), "{l}");
    assert_eq!(l["facilitators"], json!([carol_id]), "{l}");
    assert_eq!(l["swaps"], json!([]), "{l}");

    // Carol swaps with bob, who lives on beta: a moderator accepts for him, and beta sees
    // the term pass to bob.
    let (s, asked) = carol
        .call(
            reqwest::Method::POST,
            "/communities/woodwork/leadership/swap",
            Some(json!({ "with": bob_id })),
        )
        .await;
    assert_eq!(s, 202, "{asked}");
    alice
        .post(
            &format!("/proposals/{}", asked["proposal"]),
            json!({ "approve": true }),
        )
        .await;
    let l = alice.get("/communities/woodwork/leadership").await;
    assert_eq!(l["roster"], json!([bob_id, alice_id, carol_id]), "{l}");
    poll_until(WAIT, "beta sees the swapped term go to bob", || async {
        (facilitators(&bob, &handle).await == json!([bob_id])).then_some(())
    })
    .await;
    let log = alice.get("/communities/woodwork/modlog").await;
    assert_eq!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "swap_terms")
            .count(),
        2,
        "{log}"
    );
}

/// The names of a community's moderators, longest-serving first.
async fn mods(u: &User) -> Vec<String> {
    u.get("/communities/woodwork/moderators").await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_leadership_needs_a_second_co_lead_for_sensitive_changes() {
    let alpha = TestServer::start_named("alpha.test", "", "").await;
    let alice = User::create(&alpha, "alice").await;
    let dave = User::create(&alpha, "dave").await;
    let carol = User::create(&alpha, "carol").await;
    alice
        .post(
            "/communities",
            json!({ "name": "woodwork", "title": "Green woodworking" }),
        )
        .await;
    alice
        .post(
            "/communities/woodwork/moderators",
            json!({ "person": "dave" }),
        )
        .await;
    // From hierarchical to shared: alice's own decision.
    let l = alice
        .post(
            "/communities/woodwork/leadership",
            json!({ "model": "shared" }),
        )
        .await;
    assert_eq!(l["model"], "shared");

    // Alice proposes carol as co-lead: nothing changes until someone else approves.
    let (s, p) = alice
        .call(
            reqwest::Method::POST,
            "/communities/woodwork/moderators",
            Some(json!({ "person": "carol" })),
        )
        .await;
    assert_eq!((s, p["status"].as_str()), (202, Some("proposed")), "{p}");
    assert_eq!(mods(&alice).await, ["alice", "dave"]);
    let id = p["proposal"].as_i64().unwrap();
    let (s, v) = alice
        .call(
            reqwest::Method::POST,
            &format!("/proposals/{id}"),
            Some(json!({ "approve": true })),
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (403, Some("second_co_lead")),
        "{v}"
    );
    let open = dave.get("/communities/woodwork/proposals").await;
    assert_eq!(open["items"][0]["action"], "add_moderator", "{open}");
    let done = dave
        .post(&format!("/proposals/{id}"), json!({ "approve": true }))
        .await;
    assert_eq!(done["status"], "approved");
    let (s, v) = dave
        .call(
            reqwest::Method::POST,
            &format!("/proposals/{id}"),
            Some(json!({ "approve": false })),
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (409, Some("decided")),
        "decided once: {v}"
    );
    assert_eq!(mods(&alice).await, ["alice", "dave", "carol"]);

    // Equal powers: carol, the newest, proposes removing alice; alice declines once,
    // dave approves the second time.
    let (_, p) = carol
        .call(
            reqwest::Method::POST,
            "/communities/woodwork/moderators",
            Some(json!({ "person": "alice", "moderator": false })),
        )
        .await;
    let first = p["proposal"].as_i64().unwrap();
    let declined = alice
        .post(&format!("/proposals/{first}"), json!({ "approve": false }))
        .await;
    assert_eq!(declined["status"], "declined");
    assert_eq!(mods(&alice).await, ["alice", "dave", "carol"]);
    let (_, p) = carol
        .call(
            reqwest::Method::POST,
            "/communities/woodwork/moderators",
            Some(json!({ "person": "alice", "moderator": false })),
        )
        .await;
    dave.post(
        &format!("/proposals/{}", p["proposal"]),
        json!({ "approve": true }),
    )
    .await;
    assert_eq!(mods(&dave).await, ["dave", "carol"]);

    // A co-lead on another server cannot skip the proposal: their Add is refused.
    let remote = crate::delivery::start_remote(std::time::Duration::ZERO).await;
    let far = format!("{}/users/1", remote.base);
    let (_, p) = dave
        .call(
            reqwest::Method::POST,
            "/communities/woodwork/moderators",
            Some(json!({ "person": far })),
        )
        .await;
    carol
        .post(
            &format!("/proposals/{}", p["proposal"]),
            json!({ "approve": true }),
        )
        .await;
    assert_eq!(mods(&dave).await, ["dave", "carol", "u1"]);
    let add = json!({ "id": format!("{}/adds/1", remote.base), "type": "Add", "actor": far,
                      "object": format!("{}/u/alice", alpha.base_url),
                      "target": format!("{}/c/woodwork/moderators", alpha.base_url) });
    assert_eq!(remote.send(&alpha, &far, add).await, 403);
    assert_eq!(mods(&dave).await, ["dave", "carol", "u1"]);

    // Changing the model is sensitive too.
    let (s, p) = carol
        .call(
            reqwest::Method::POST,
            "/communities/woodwork/leadership",
            Some(json!({ "model": "hierarchical" })),
        )
        .await;
    assert_eq!(s, 202, "{p}");
    assert_eq!(
        dave.get("/communities/woodwork/leadership").await["model"],
        "shared"
    );
    dave.post(
        &format!("/proposals/{}", p["proposal"]),
        json!({ "approve": true }),
    )
    .await;
    assert_eq!(
        dave.get("/communities/woodwork/leadership").await["model"],
        "hierarchical"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_accept_the_guidelines_and_newcomers_start_without_links() {
    let alpha = TestServer::start_named("alpha.test", "", "").await;
    let remote = crate::delivery::start_remote(std::time::Duration::ZERO).await;
    let alice = User::create(&alpha, "alice").await;
    let carol = User::create(&alpha, "carol").await;
    alice
        .post(
            "/communities",
            json!({ "name": "woodwork", "title": "Green woodworking",
                    "guidelines": "Be kind. Show your work." }),
        )
        .await;
    let c = alice
        .call(
            reqwest::Method::PATCH,
            "/communities/woodwork",
            Some(json!({ "guidelines_required": true, "newcomer_limits": true })),
        )
        .await
        .1;
    assert_eq!(
        (&c["guidelines_required"], &c["newcomer_limits"]),
        (&json!(true), &json!(true))
    );

    // Joining asks for the guidelines to be accepted.
    let (s, v) = carol
        .call(reqwest::Method::POST, "/communities/woodwork/follow", None)
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (422, Some("guidelines_not_accepted")),
        "{v}"
    );
    let joined = carol
        .post(
            "/communities/woodwork/follow",
            json!({ "accept_guidelines": true }),
        )
        .await;
    assert_eq!(joined["state"], "accepted");

    // A newcomer's links wait; their words do not. Moderators are no newcomers.
    let post = |title: &str, url: Option<&str>, body: &str| json!({ "title": title, "url": url, "body": body });
    let (s, v) = carol
        .call(
            reqwest::Method::POST,
            "/communities/woodwork/posts",
            Some(post("My blog", Some("https://blog.example/spoons"), "x")),
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (403, Some("newcomer_links")),
        "{v}"
    );
    let (s, v) = carol
        .call(
            reqwest::Method::POST,
            "/communities/woodwork/posts",
            Some(post("Look", None, "See [this](https://blog.example/x)")),
        )
        .await;
    assert_eq!(s, 403, "a link in the text counts too: {v}");
    for n in 0..3 {
        carol
            .post(
                "/communities/woodwork/posts",
                post(&format!("Hello {n}"), None, "First steps"),
            )
            .await;
    }
    carol
        .post(
            "/communities/woodwork/posts",
            post("My blog", Some("https://blog.example/spoons"), "x"),
        )
        .await;
    alice
        .post(
            "/communities/woodwork/posts",
            post("Tool list", Some("https://tools.example/"), "x"),
        )
        .await;

    // From another server: a plain link is held back, a mention of the group is not.
    let group = format!("{}/c/woodwork", alpha.base_url);
    let actor = format!("{}/users/1", remote.base);
    let create = |n: u32, content: &str| {
        json!({ "id": format!("{}/activities/create/{n}", remote.base), "type": "Create",
                "actor": actor, "object": {
                    "id": format!("{}/objects/{n}", remote.base), "type": "Page",
                    "attributedTo": actor, "name": format!("Remote {n}"), "content": content,
                    "to": [group, "https://www.w3.org/ns/activitystreams#Public"],
                    "audience": group } })
    };
    let spam = "<p>Buy at <a href=\"https://spam.example/\">spam</a></p>";
    assert_eq!(remote.send(&alpha, &actor, create(1, spam)).await, 403);
    let mention = format!(
        "<p><span class=\"h-card\"><a class=\"u-url mention\" href=\"{group}\">@woodwork</a></span> hello</p>"
    );
    assert_eq!(remote.send(&alpha, &actor, create(2, &mention)).await, 202);
}
