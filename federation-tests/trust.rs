//! Trust that holds on every path (issue #12 §3): a relaying group is trusted only for what
//! happens inside it. Played against a real `guildhall` process by a signed remote (the
//! test peer of `delivery.rs`) that serves a Group and people.

use crate::{
    delivery::{Remote, start_remote},
    federation::User,
    support::process::TestServer,
};
use serde_json::{Value, json};

/// A remote Group that carol (on `server`) follows, so that its Announces are read there.
async fn followed_group(remote: &Remote, carol: &User) -> (String, String) {
    let group = format!("{}/groups/relay", remote.base);
    remote.serve(
        "/groups/relay",
        json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "type": "Group", "id": group, "preferredUsername": "relay", "name": "Relay",
            "inbox": format!("{group}/inbox"), "followers": format!("{group}/followers"),
            "publicKey": { "id": format!("{group}#main-key"), "owner": group,
                           "publicKeyPem": remote.public_pem },
        }),
        std::time::Duration::ZERO,
        0,
    );
    let found = carol.get(&format!("/resolve?q={group}")).await;
    let handle = found["handle"].as_str().expect("group resolved");
    let handle = handle.trim_start_matches('!').to_string();
    carol
        .post(&format!("/communities/{handle}/follow"), json!({}))
        .await;
    (group, handle)
}

/// alpha (a real process) with alice's community `woodwork` (its id returned), and a
/// signed test peer.
async fn alpha_with_woodwork() -> (TestServer, Remote, User, String) {
    let alpha = TestServer::start_named("alpha.test", "", "").await;
    let remote = start_remote(std::time::Duration::ZERO).await;
    let alice = User::create(&alpha, "alice").await;
    alice
        .post(
            "/communities",
            json!({ "name": "woodwork", "title": "Green woodworking" }),
        )
        .await;
    let woodwork = format!("{}/c/woodwork", alpha.base_url);
    (alpha, remote, alice, woodwork)
}

fn announce(group: &str, n: usize, object: Value) -> Value {
    json!({ "id": format!("{group}/announces/{n}"), "type": "Announce", "actor": group,
            "to": ["https://www.w3.org/ns/activitystreams#Public"], "object": object })
}

async fn score(user: &User, post_id: &Value) -> Value {
    user.get(&format!("/posts/{post_id}")).await["post"]["score"].clone()
}

async fn followers(user: &User, community: &str) -> Value {
    user.get(&format!("/communities/{community}")).await["followers"].clone()
}

#[tokio::test]
async fn a_group_is_trusted_only_for_what_happens_inside_it() {
    let (alpha, remote, alice, woodwork) = alpha_with_woodwork().await;
    let carol = User::create(&alpha, "carol").await;
    let post = alice
        .post(
            "/communities/woodwork/posts",
            json!({ "title": "Sharpening a hook knife" }),
        )
        .await;
    let (post_id, post_ap) = (
        post["id"].clone(),
        post["ap_id"].as_str().unwrap().to_string(),
    );
    let (group, group_handle) = followed_group(&remote, &carol).await;
    let before = followers(&alice, "woodwork").await.as_i64().unwrap();
    remote.follow(&alpha, &woodwork, 7).await; // a remote member of our community
    assert_eq!(followers(&alice, "woodwork").await, before + 1);
    let person = |n: usize| format!("{}/users/{n}", remote.base);

    // A vote on a post of another community (ours), relayed by the group: refused.
    let like = |n: usize| {
        json!({ "id": format!("{}/likes/{n}", remote.base), "type": "Like",
                "actor": person(n), "object": post_ap, "audience": woodwork })
    };
    assert_eq!(
        remote
            .send(&alpha, &group, announce(&group, 1, like(8)))
            .await,
        403
    );
    assert_eq!(score(&alice, &post_id).await, 0);

    // A vote "by alice", one of our own people, relayed: refused, whatever the group.
    let forged = json!({ "id": format!("{}/activities/like/forged", alpha.base_url),
                         "type": "Like", "actor": format!("{}/u/alice", alpha.base_url),
                         "object": post_ap });
    assert_eq!(
        remote
            .send(&alpha, &group, announce(&group, 2, forged))
            .await,
        403
    );
    assert_eq!(score(&alice, &post_id).await, 0);

    // Someone else's unfollow of our community, or a follow, relayed: nothing changes.
    let undo_follow = json!({
        "id": format!("{}/undos/7", remote.base), "type": "Undo", "actor": person(7),
        "object": { "id": format!("{}/follows/7", remote.base), "type": "Follow",
                    "actor": person(7), "object": woodwork } });
    let status = remote
        .send(&alpha, &group, announce(&group, 3, undo_follow))
        .await;
    assert!((200..300).contains(&status), "{status}");
    let follow = json!({ "id": format!("{}/follows/9", remote.base), "type": "Follow",
                         "actor": person(9), "object": woodwork });
    let status = remote
        .send(&alpha, &group, announce(&group, 4, follow))
        .await;
    assert!((200..300).contains(&status), "{status}");
    assert_eq!(followers(&alice, "woodwork").await, before + 1);

    // A post inside the group, relayed by it: kept. A Lock of it "by alice" (one of ours,
    // who never sent it) relayed by the group: refused, though the group vouches for the
    // moderators of its own posts.
    let page = json!({ "id": format!("{}/posts/1", remote.base), "type": "Page",
                       "attributedTo": person(11), "name": "Inside the relay",
                       "to": ["https://www.w3.org/ns/activitystreams#Public", group],
                       "audience": group, "content": "<p>hello</p>" });
    let create = json!({ "id": format!("{}/creates/1", remote.base), "type": "Create",
                         "actor": person(11), "to": page["to"], "object": page,
                         "audience": group });
    let status = remote
        .send(&alpha, &group, announce(&group, 5, create))
        .await;
    assert!((200..300).contains(&status), "{status}");
    let feed = carol
        .get(&format!("/communities/{group_handle}/posts"))
        .await;
    let inside = feed["items"][0]["id"].clone();
    assert_eq!(feed["items"][0]["title"], "Inside the relay", "{feed}");
    let lock = json!({ "id": format!("{}/activities/lock/forged", alpha.base_url),
                       "type": "Lock", "actor": format!("{}/u/alice", alpha.base_url),
                       "object": page["id"], "audience": group });
    assert_eq!(
        remote.send(&alpha, &group, announce(&group, 6, lock)).await,
        403
    );
    assert_eq!(
        carol.get(&format!("/posts/{inside}")).await["post"]["locked"],
        false
    );

    // The same vote sent by its own author counts: the refusals above were the relay's.
    assert_eq!(remote.send(&alpha, &person(8), like(8)).await, 202);
    assert_eq!(score(&alice, &post_id).await, 1);
}

/// §3.7: a Mastodon user's top-level Note in our community is relayed, for Lemmy 1.0, with
/// its object typed `Page` and titled (the Announce of the Create); Mastodon's boost (the
/// bare object) keeps the Note as its author wrote it.
#[tokio::test]
async fn a_mastodon_post_is_relayed_in_the_shape_lemmy_lists() {
    let (alpha, remote, _alice, woodwork) = alpha_with_woodwork().await;
    remote.follow(&alpha, &woodwork, 7).await; // a follower on a Lemmy-like server
    let author = format!("{}/users/10", remote.base);
    let note = json!({
        "id": format!("{}/statuses/1", remote.base), "type": "Note", "attributedTo": author,
        "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": [woodwork],
        "content": "<p><span class=\"h-card\"><a href=\"x\">@woodwork</a></span> Ash or birch for a first spoon?</p>",
        "tag": [{ "type": "Mention", "href": woodwork }],
    });
    let create = json!({ "id": format!("{}/statuses/1/activity", remote.base), "type": "Create",
                         "actor": author, "to": note["to"], "cc": note["cc"], "object": note });
    let (status, answer) = remote.send_for(&alpha, &author, create).await;
    assert_eq!(status, 202, "{answer}");

    let received = crate::support::poll_until(crate::federation::WAIT, "both announces", || {
        let got: Vec<Value> = remote
            .received
            .lock()
            .unwrap()
            .iter()
            .map(|(_, a)| a.clone())
            .filter(|a| a["type"] == "Announce")
            .collect();
        async move { (got.len() >= 2).then_some(got) }
    })
    .await;
    let wrapped = received
        .iter()
        .find(|a| a["object"]["type"] == "Create")
        .expect("the Announce of the Create");
    let object = &wrapped["object"]["object"];
    assert_eq!(object["type"], "Page", "{wrapped}");
    assert_eq!(object["name"], "Ash or birch for a first spoon?");
    assert_eq!(object["id"], note["id"]);
    assert_eq!(object["attributedTo"], note["attributedTo"]);
    let boost = received
        .iter()
        .find(|a| a["object"]["type"] == "Note")
        .expect("the Announce of the bare Note, for Mastodon");
    assert_eq!(boost["object"]["id"], note["id"]);
}

/// §3.1: a reply not addressed to the public (a direct message answering a post, a
/// followers-only reply) is not stored as a reply, not shown and not relayed; a public one is.
#[tokio::test]
async fn replies_keep_their_addressing() {
    let (alpha, remote, alice, woodwork) = alpha_with_woodwork().await;
    let post = alice
        .post(
            "/communities/woodwork/posts",
            json!({ "title": "Sharpening a hook knife" }),
        )
        .await;
    let post_ap = post["ap_id"].as_str().unwrap().to_string();
    remote.follow(&alpha, &woodwork, 7).await; // a follower who would see relays
    let author = format!("{}/users/12", remote.base);
    let alice_ap = format!("{}/u/alice", alpha.base_url);
    let reply = |n: usize, to: Value, cc: Value| {
        let note = json!({ "id": format!("{}/statuses/{n}", remote.base), "type": "Note",
                           "attributedTo": author, "inReplyTo": post_ap, "to": to, "cc": cc,
                           "content": format!("<p>reply {n}</p>") });
        json!({ "id": format!("{}/statuses/{n}/activity", remote.base), "type": "Create",
                "actor": author, "to": note["to"], "cc": note["cc"], "object": note })
    };
    // A direct message to alice answering her post.
    let (status, answer) = remote
        .send_for(&alpha, &author, reply(1, json!([alice_ap]), json!([])))
        .await;
    assert_eq!((status, answer["status"].as_str()), (202, Some("ignored")));
    // Followers-only (Mastodon's "private" visibility).
    let followers = format!("{author}/followers");
    let (status, answer) = remote
        .send_for(
            &alpha,
            &author,
            reply(2, json!([followers]), json!([alice_ap])),
        )
        .await;
    assert_eq!((status, answer["status"].as_str()), (202, Some("ignored")));
    let thread = alice.get(&format!("/posts/{}", post["id"])).await;
    assert_eq!(thread["replies"], json!([]), "{thread}");
    // Public ("unlisted" too: Public in cc) is a reply.
    let public = "https://www.w3.org/ns/activitystreams#Public";
    let (status, answer) = remote
        .send_for(
            &alpha,
            &author,
            reply(3, json!([followers]), json!([public, woodwork])),
        )
        .await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (202, Some("accepted")),
        "{answer}"
    );
    let thread = alice.get(&format!("/posts/{}", post["id"])).await;
    assert_eq!(
        thread["replies"].as_array().map(Vec::len),
        Some(1),
        "{thread}"
    );
    // Only the public reply was relayed to the follower.
    crate::support::poll_until(crate::federation::WAIT, "the relay of reply 3", || {
        let got = remote.received.lock().unwrap().clone();
        async move {
            got.iter()
                .any(|(_, a)| {
                    a["object"]["object"]["id"]
                        .as_str()
                        .is_some_and(|i| i.ends_with("/statuses/3"))
                })
                .then_some(())
        }
    })
    .await;
    let relayed = remote.received.lock().unwrap().clone();
    for n in [1, 2] {
        let leaked = relayed
            .iter()
            .any(|(_, a)| a.to_string().contains(&format!("/statuses/{n}\"")));
        assert!(!leaked, "reply {n} was relayed");
    }
}

/// §3.4 and §3.5: actors are read tolerantly (no preferredUsername, name, icon, endpoints or
/// followers: the id's last segment names them) and keys strictly (owner is the actor, key
/// id on its host); names from elsewhere are safe to show.
#[tokio::test]
async fn actors_are_read_tolerantly_keys_strictly_and_names_safely() {
    let (alpha, remote, alice, woodwork) = alpha_with_woodwork().await;
    let actor = |path: &str, extra: Value| {
        let id = format!("{}{path}", remote.base);
        let mut a = json!({ "type": "Person", "id": id, "inbox": format!("{id}/inbox"),
                            "publicKey": { "id": format!("{id}#main-key"), "owner": id,
                                           "publicKeyPem": remote.public_pem } });
        for (k, v) in extra.as_object().unwrap() {
            a[k] = v.clone();
        }
        remote.serve(path, a, std::time::Duration::ZERO, 0);
        id
    };
    let post_as = |id: &str, n: usize| {
        let page = json!({ "id": format!("{id}/posts/{n}"), "type": "Page", "attributedTo": id,
                           "name": format!("post {n}"), "content": "<p>hi</p>",
                           "to": ["https://www.w3.org/ns/activitystreams#Public", woodwork],
                           "audience": woodwork });
        json!({ "id": format!("{id}/creates/{n}"), "type": "Create", "actor": id,
                "to": page["to"], "object": page })
    };
    let authors = || async {
        let feed = alice.get("/communities/woodwork/posts").await;
        let mut a: Vec<String> = feed["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["author"].as_str().unwrap().to_string())
            .collect();
        a.sort();
        a
    };
    let host = remote.base.trim_start_matches("http://").to_string();

    // Bare minimum: no preferredUsername, name, endpoints or followers. Its post is kept,
    // its name the id's last segment.
    let minimal = actor("/people/minimal", json!({}));
    assert_eq!(
        remote.send(&alpha, &minimal, post_as(&minimal, 1)).await,
        202
    );
    // A username WebFinger could not carry (an `@` and a space in it): the id's segment.
    let spoof = actor(
        "/people/spoof",
        json!({ "preferredUsername": "alice@alpha.test admin" }),
    );
    assert_eq!(remote.send(&alpha, &spoof, post_as(&spoof, 2)).await, 202);
    assert_eq!(
        authors().await,
        [format!("minimal@{host}"), format!("spoof@{host}")]
    );

    // A key whose id is on another host, or owned by someone else: nothing it signs counts.
    let elsewhere = actor(
        "/people/elsewhere",
        json!({ "publicKey": { "id": "http://other.test/keys/1",
                               "owner": format!("{}/people/elsewhere", remote.base),
                               "publicKeyPem": remote.public_pem } }),
    );
    assert_eq!(
        remote
            .send(&alpha, &elsewhere, post_as(&elsewhere, 3))
            .await,
        401
    );
    let owned = actor(
        "/people/owned",
        json!({ "publicKey": { "id": format!("{}/people/owned#main-key", remote.base),
                               "owner": minimal, "publicKeyPem": remote.public_pem } }),
    );
    assert_eq!(remote.send(&alpha, &owned, post_as(&owned, 4)).await, 401);
    assert_eq!(authors().await.len(), 2);

    // A Group with only what it must have; its title carries a right-to-left override and
    // zero-width spaces, which are taken out before anyone sees it.
    let group = format!("{}/groups/bare", remote.base);
    remote.serve(
        "/groups/bare",
        json!({ "type": "Group", "id": group, "inbox": format!("{group}/inbox"),
                "name": "Spoon\u{202E}gnivrac\u{200B}\u{200B}\u{2066}club",
                "publicKey": { "id": format!("{group}#main-key"), "owner": group,
                               "publicKeyPem": remote.public_pem } }),
        std::time::Duration::ZERO,
        0,
    );
    let found = alice.get(&format!("/resolve?q={group}")).await;
    assert_eq!(found["handle"], format!("!bare@{host}"), "{found}");
    assert_eq!(found["title"], "Spoongnivracclub", "{found}");

    // A Group whose key id is on another host is not taken at all (not only its
    // signatures: it is never stored).
    let keyless = format!("{}/groups/keyless", remote.base);
    remote.serve(
        "/groups/keyless",
        json!({ "type": "Group", "id": keyless, "inbox": format!("{keyless}/inbox"),
                "publicKey": { "id": "http://other.test/keys/2", "owner": keyless,
                               "publicKeyPem": remote.public_pem } }),
        std::time::Duration::ZERO,
        0,
    );
    let (status, answer) = alice
        .call(reqwest::Method::GET, &format!("/resolve?q={keyless}"), None)
        .await;
    assert!((400..500).contains(&status), "{status} {answer}");
    assert_eq!(answer["error"], "invalid_key", "{answer}");
}

/// §3.3: any kind of actor can follow a community — a Group (NodeBB categories sync with
/// communities so), a Service, an Application: the Accept goes to its inbox, announces reach
/// it like any follower, and its Undo ends the follow.
#[tokio::test]
async fn any_kind_of_actor_follows_a_community() {
    let (alpha, remote, alice, woodwork) = alpha_with_woodwork().await;
    let before = followers(&alice, "woodwork").await.as_i64().unwrap();
    let mut actors = Vec::new();
    for (path, kind) in [
        ("/category/5", "Group"),
        ("/bots/feed", "Service"),
        ("/apps/relay", "Application"),
    ] {
        let id = format!("{}{path}", remote.base);
        remote.serve(
            path,
            json!({ "type": kind, "id": id, "preferredUsername": path.rsplit('/').next(),
                    "inbox": format!("{id}/inbox"),
                    "publicKey": { "id": format!("{id}#main-key"), "owner": id,
                                   "publicKeyPem": remote.public_pem } }),
            std::time::Duration::ZERO,
            0,
        );
        let follow = json!({ "id": format!("{id}/follows/1"), "type": "Follow",
                             "actor": id, "object": woodwork });
        let (status, answer) = remote.send_for(&alpha, &id, follow).await;
        assert_eq!(
            (status, answer["status"].as_str()),
            (202, Some("accepted")),
            "{kind}: {answer}"
        );
        actors.push((id, path));
    }
    assert_eq!(followers(&alice, "woodwork").await, before + 3);
    alice
        .post(
            "/communities/woodwork/posts",
            json!({ "title": "Cleaving a log" }),
        )
        .await;
    for (id, path) in &actors {
        let inbox = format!("{path}/inbox");
        crate::support::poll_until(
            crate::federation::WAIT,
            "the Accept and the announce",
            || {
                let got = remote.received.lock().unwrap().clone();
                let inbox = inbox.clone();
                async move {
                    let here = |t: &str| got.iter().any(|(p, a)| *p == inbox && a["type"] == t);
                    (here("Accept") && here("Announce")).then_some(())
                }
            },
        )
        .await;
        let _ = id;
    }
    // The Group leaves.
    let (group, _) = &actors[0];
    let undo = json!({ "id": format!("{group}/undos/1"), "type": "Undo", "actor": group,
                       "object": { "id": format!("{group}/follows/1"), "type": "Follow",
                                   "actor": group, "object": woodwork } });
    let (status, answer) = remote.send_for(&alpha, group, undo).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (202, Some("accepted")),
        "{answer}"
    );
    assert_eq!(followers(&alice, "woodwork").await, before + 2);
}

/// Every way a remote post gets stored meets the admission rules: a post fetched on the way
/// (the object of a vote) is not stored when its author is banned or it is not addressed to
/// the public. A relay cannot restore a post outside its community, nor speak for another
/// community's own role changes. An Update is cleaned like a new post and refused on a
/// removed one.
#[tokio::test]
async fn side_paths_and_relays_meet_the_same_rules() {
    let (alpha, remote, alice, woodwork) = alpha_with_woodwork().await;
    let carol = User::create(&alpha, "carol").await;
    let public = "https://www.w3.org/ns/activitystreams#Public";
    let person = |n: usize| format!("{}/users/{n}", remote.base);
    let titles = || async {
        let feed = alice.get("/communities/woodwork/posts").await;
        feed["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["title"].as_str().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
    };
    let page = |path: &str, author: usize, to: Value| {
        let id = format!("{}{path}", remote.base);
        let p = json!({ "id": id, "type": "Page", "attributedTo": person(author),
                        "name": path, "content": "<p>x</p>", "to": to, "audience": woodwork });
        remote.serve(path, p.clone(), std::time::Duration::ZERO, 0);
        p
    };
    let like = |n: usize, object: &Value| {
        json!({ "id": format!("{}/likes/{n}", remote.base), "type": "Like",
                "actor": person(14), "object": object["id"] })
    };

    // 1. Banned author: known (a follower), then banned by alice.
    remote.follow(&alpha, &woodwork, 13).await;
    let (s, _) = alice
        .call(
            reqwest::Method::POST,
            "/communities/woodwork/bans",
            Some(json!({ "person": person(13) })),
        )
        .await;
    assert_eq!(s, 200);
    let banned = page("/posts/by-banned", 13, json!([public, woodwork]));
    let status = remote.send(&alpha, &person(14), like(1, &banned)).await;
    assert_eq!(
        status, 403,
        "the vote's object is refused where it would be stored"
    );
    // 2. Followers-only, addressed to our (public) community.
    let hidden = page(
        "/posts/hidden",
        15,
        json!([format!("{}/followers", person(15)), woodwork]),
    );
    let status = remote.send(&alpha, &person(14), like(2, &hidden)).await;
    assert_eq!(status, 403);
    assert_eq!(titles().await, Vec::<String>::new(), "neither was stored");

    // 3. A post of woodwork deleted by its author; another group cannot restore it.
    let (group, _) = followed_group(&remote, &carol).await;
    let kept = page("/posts/kept", 16, json!([public, woodwork]));
    let create = json!({ "id": format!("{}/creates/16", remote.base), "type": "Create",
                         "actor": person(16), "to": [public, woodwork], "object": kept });
    assert_eq!(remote.send(&alpha, &person(16), create).await, 202);
    assert_eq!(titles().await, ["/posts/kept"]);
    let delete = json!({ "id": format!("{}/deletes/16", remote.base), "type": "Delete",
                         "actor": person(16), "to": [public], "object": kept["id"] });
    assert_eq!(remote.send(&alpha, &person(16), delete.clone()).await, 202);
    assert_eq!(titles().await, Vec::<String>::new());
    let undo = json!({ "id": format!("{}/undos/16", remote.base), "type": "Undo",
                       "actor": person(16), "object": delete });
    assert_eq!(
        remote
            .send(&alpha, &group, announce(&group, 20, undo))
            .await,
        403
    );
    assert_eq!(titles().await, Vec::<String>::new(), "still deleted");

    // 4. Another group relays "the community's own" Add of carol to its facilitators.
    let (other, other_handle) = {
        let other = format!("{}/groups/other", remote.base);
        remote.serve(
            "/groups/other",
            json!({ "type": "Group", "id": other, "preferredUsername": "other",
                    "inbox": format!("{other}/inbox"),
                    "publicKey": { "id": format!("{other}#main-key"), "owner": other,
                                   "publicKeyPem": remote.public_pem } }),
            std::time::Duration::ZERO,
            0,
        );
        let found = carol.get(&format!("/resolve?q={other}")).await;
        (
            other,
            found["handle"]
                .as_str()
                .unwrap()
                .trim_start_matches('!')
                .to_string(),
        )
    };
    let add = json!({ "id": format!("{}/adds/1", remote.base), "type": "Add", "actor": other,
                      "object": format!("{}/u/carol", alpha.base_url),
                      "target": format!("{other}/facilitators"), "audience": other });
    let status = remote
        .send(&alpha, &group, announce(&group, 21, add.clone()))
        .await;
    assert!((200..300).contains(&status), "{status}");
    let roles = carol
        .get(&format!("/communities/{other_handle}/roles"))
        .await;
    assert!(!roles.to_string().contains("/u/carol"), "{roles}");
    // Sent by the community itself, it counts (the rule is the relay's, not the Add's).
    let status = remote.send(&alpha, &other, add).await;
    assert!((200..300).contains(&status), "{status}");
    let roles = carol
        .get(&format!("/communities/{other_handle}/roles"))
        .await;
    assert!(roles.to_string().contains("/u/carol"), "{roles}");

    // 5. An Update's title is cleaned like a new post's; a removed post takes no Update.
    let post17 = page("/posts/edited", 17, json!([public, woodwork]));
    let create = json!({ "id": format!("{}/creates/17", remote.base), "type": "Create",
                         "actor": person(17), "to": [public, woodwork], "object": post17 });
    assert_eq!(remote.send(&alpha, &person(17), create).await, 202);
    let mut edited = post17.clone();
    edited["name"] = json!("Hook\u{202E}efink\u{200B}");
    let update = |n: usize, object: &Value| {
        json!({ "id": format!("{}/updates/{n}", remote.base), "type": "Update",
                "actor": person(17), "to": [public, woodwork], "object": object })
    };
    assert_eq!(
        remote.send(&alpha, &person(17), update(1, &edited)).await,
        202
    );
    assert_eq!(titles().await, ["Hookefink"]);
    let id = alice.get("/communities/woodwork/posts").await["items"][0]["id"].clone();
    let (s, _) = alice
        .call(
            reqwest::Method::DELETE,
            &format!("/posts/{id}"),
            Some(json!({ "reason": "spam" })),
        )
        .await;
    assert_eq!(s, 204);
    edited["name"] = json!("Back again");
    assert_eq!(
        remote.send(&alpha, &person(17), update(2, &edited)).await,
        403
    );
}
