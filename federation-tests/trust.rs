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
async fn followed_group(server: &TestServer, remote: &Remote, carol: &User) -> String {
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
    let _ = server;
    group
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
    let woodwork = format!("{}/c/woodwork", alpha.base_url);
    let post = alice
        .post(
            "/communities/woodwork/posts",
            json!({ "title": "Sharpening a hook knife" }),
        )
        .await;
    let (post_id, post_ap) = (post["id"].clone(), post["ap_id"].as_str().unwrap().to_string());
    let group = followed_group(&alpha, &remote, &carol).await;
    remote.follow(&alpha, &woodwork, 7).await; // a remote member of our community
    assert_eq!(followers(&alice, "woodwork").await, 2); // alice and users/7
    let person = |n: usize| format!("{}/users/{n}", remote.base);

    // A vote on a post of another community (ours), relayed by the group: refused.
    let like = |n: usize| {
        json!({ "id": format!("{}/likes/{n}", remote.base), "type": "Like",
                "actor": person(n), "object": post_ap, "audience": woodwork })
    };
    assert_eq!(remote.send(&alpha, &group, announce(&group, 1, like(8))).await, 403);
    assert_eq!(score(&alice, &post_id).await, 0);

    // A vote "by alice", one of our own people, relayed: refused, whatever the group.
    let forged = json!({ "id": format!("{}/activities/like/forged", alpha.base_url),
                         "type": "Like", "actor": format!("{}/u/alice", alpha.base_url),
                         "object": post_ap });
    assert_eq!(remote.send(&alpha, &group, announce(&group, 2, forged)).await, 403);
    assert_eq!(score(&alice, &post_id).await, 0);

    // Someone else's unfollow of our community, or a follow, relayed: nothing changes.
    let undo_follow = json!({
        "id": format!("{}/undos/7", remote.base), "type": "Undo", "actor": person(7),
        "object": { "id": format!("{}/follows/7", remote.base), "type": "Follow",
                    "actor": person(7), "object": woodwork } });
    let status = remote.send(&alpha, &group, announce(&group, 3, undo_follow)).await;
    assert!((200..300).contains(&status), "{status}");
    let follow = json!({ "id": format!("{}/follows/9", remote.base), "type": "Follow",
                         "actor": person(9), "object": woodwork });
    let status = remote.send(&alpha, &group, announce(&group, 4, follow)).await;
    assert!((200..300).contains(&status), "{status}");
    assert_eq!(followers(&alice, "woodwork").await, 2);

    // The same vote sent by its own author counts: the refusals above were the relay's.
    assert_eq!(remote.send(&alpha, &person(8), like(8)).await, 202);
    assert_eq!(score(&alice, &post_id).await, 1);
}

/// §3.7: a Mastodon user's top-level Note in our community is relayed, for Lemmy 1.0, with
/// its object typed `Page` and titled (the Announce of the Create); Mastodon's boost (the
/// bare object) keeps the Note as its author wrote it.
#[tokio::test]
async fn a_mastodon_post_is_relayed_in_the_shape_lemmy_lists() {
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
    assert_eq!(remote.send(&alpha, &author, create).await, 202);

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
