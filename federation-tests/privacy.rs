//! A private (members-only) community between real Guildhall processes: members on three
//! instances (alpha hosts it; beta and gamma), a member on Lemmy 1.0 and an applicant on
//! Mastodon (both played by this test's remote instance, with their NodeInfo). The posts
//! reach members only, travel addressed to the members only, and are served only to a
//! signed fetch by an instance with a member.

use crate::{
    delivery::start_remote,
    federation::{User, wait_follow_accepted, wait_for_post, wait_for_reply},
    support::{
        poll_until,
        process::{TestServer, client},
    },
};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);
const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

async fn waiting(user: &User, community: &str) -> usize {
    user.get(&format!("/communities/{community}/pending")).await["items"]
        .as_array()
        .unwrap()
        .len()
}

async fn status(url: &str, accept: &str) -> u16 {
    client()
        .get(url)
        .header("accept", accept)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_community_keeps_its_posts_among_its_members_on_three_instances() {
    let alpha = TestServer::start_named("alpha.test", "", "").await;
    let beta = TestServer::start_named("beta.test", "", "").await;
    let gamma = TestServer::start_named("gamma.test", "", "").await;
    let lemmy = start_remote(Duration::ZERO).await;
    lemmy.runs("lemmy", "1.0.0-beta.1");
    let masto = start_remote(Duration::ZERO).await;
    masto.runs("mastodon", "4.3.2");

    let alice = User::create(&alpha, "alice").await;
    let made = alice
        .post(
            "/communities",
            json!({ "name": "circle", "title": "Inner circle", "private": true }),
        )
        .await;
    assert_eq!(
        (&made["private"], &made["approval_required"]),
        (&json!(true), &json!(true)),
        "{made}"
    );
    let group = format!("{}/c/circle", alpha.base_url);
    let handle = format!("circle@alpha.test:{}", alpha.port);
    let actor: Value = alpha
        .get("/c/circle", "application/activity+json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(actor["manuallyApprovesFollowers"], true, "{actor}");
    assert_eq!(actor["membersOnly"], true, "{actor}");

    // Bob (beta) and Carol (gamma) ask to join, and so do a Lemmy 1.0 user and a Mastodon
    // user. Dave, on beta too, is not admitted.
    let bob = User::create(&beta, "bob").await;
    let dave = User::create(&beta, "dave").await;
    let carol = User::create(&gamma, "carol").await;
    for u in [&bob, &carol] {
        let c = u.get(&format!("/resolve?q=!{handle}")).await;
        assert_eq!(c["private"], true, "a private community is marked so: {c}");
        u.post(&format!("/communities/{handle}/follow"), json!({}))
            .await;
    }
    lemmy.follow(&alpha, &group, 1).await;
    masto.follow(&alpha, &group, 1).await;
    let lemmy_user = format!("{}/users/1", lemmy.base);
    let masto_user = format!("{}/users/1", masto.base);
    poll_until(WAIT, "four people waiting", || async {
        (waiting(&alice, "circle").await == 4).then_some(())
    })
    .await;

    // Alice admits the three whose software keeps private posts private; Mastodon's would
    // show them to everyone, so its user cannot be admitted.
    for person in [
        format!("{}/u/bob", beta.base_url),
        format!("{}/u/carol", gamma.base_url),
        lemmy_user.clone(),
    ] {
        alice
            .post(
                "/communities/circle/pending",
                json!({ "person": person, "accept": true }),
            )
            .await;
    }
    let (s, v) = alice
        .call(
            Method::POST,
            "/communities/circle/pending",
            Some(json!({ "person": masto_user, "accept": true })),
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (409, Some("cannot_keep_private")),
        "{v}"
    );
    assert!(v["message"].as_str().unwrap().contains("mastodon"), "{v}");
    // Nor can they be given a role (a role lets their instance read too).
    let (s, v) = alice
        .call(
            Method::POST,
            "/communities/circle/roles",
            Some(json!({ "person": masto_user, "role": "mentor" })),
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (409, Some("cannot_keep_private")),
        "{v}"
    );
    // Nor invited.
    let (s, v) = alice
        .call(
            Method::POST,
            "/communities/circle/invitations",
            Some(json!({ "person": masto_user })),
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (409, Some("cannot_keep_private")),
        "{v}"
    );
    assert_eq!(
        waiting(&alice, "circle").await,
        1,
        "still waiting, not admitted"
    );
    wait_follow_accepted(&bob, &handle).await;
    wait_follow_accepted(&carol, &handle).await;

    // Dave asks too, and waits. Moderators are told who would be the first member from
    // their instance (their admins could then read the community).
    dave.post(&format!("/communities/{handle}/follow"), json!({}))
        .await;
    let dave_id = format!("{}/u/dave", beta.base_url);
    let pending = poll_until(WAIT, "dave waiting", || async {
        let p = alice.get("/communities/circle/pending").await;
        (p["items"].as_array().unwrap().len() == 2).then_some(p)
    })
    .await;
    let first_from = |who: &str| {
        pending["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["ap_id"] == who)
            .map(|f| f["new_instance"].clone())
    };
    assert_eq!(first_from(&dave_id), Some(json!(false)), "{pending}");
    assert_eq!(first_from(&masto_user), Some(json!(true)), "{pending}");

    // A post reaches the members on beta and gamma.
    let post = alice
        .post(
            "/communities/circle/posts",
            json!({ "title": "Plans for the guild", "body": "For members only." }),
        )
        .await;
    let post_ap = post["ap_id"].as_str().unwrap().to_string();
    let post_id = post["id"].as_i64().unwrap();
    let at_beta = wait_for_post(&bob, &handle, "the post at beta", |p| {
        p["ap_id"] == *post_ap
    })
    .await;
    let at_gamma = wait_for_post(&carol, &handle, "the post at gamma", |p| {
        p["ap_id"] == *post_ap
    })
    .await;

    // Bob replies from beta. Gamma fetches the reply from beta, which serves it because
    // alpha (asked `followers?is_follower=`) says gamma has a member.
    bob.post(
        &format!("/posts/{}/replies", at_beta["id"]),
        json!({ "body": "Count me in" }),
    )
    .await;
    wait_for_reply(
        &carol,
        at_gamma["id"].as_i64().unwrap(),
        "bob's reply at gamma",
        |r| {
            r["body_html"]
                .as_str()
                .is_some_and(|b| b.contains("Count me in"))
        },
    )
    .await;

    // On the wire, to the Lemmy member: addressed to the members, nothing public, no bare
    // object for Mastodon-style boosts.
    poll_until(WAIT, "the reply at the Lemmy member", || async {
        (lemmy.count(|v| v.to_string().contains("Count me in")) == 1).then_some(())
    })
    .await;
    let received: Vec<Value> = lemmy
        .received
        .lock()
        .unwrap()
        .iter()
        .map(|(_, v)| v.clone())
        .collect();
    let announces: Vec<&Value> = received
        .iter()
        .filter(|v| v["type"] == "Announce")
        .collect();
    assert!(announces.len() >= 2, "{received:?}");
    for a in &announces {
        assert!(!a.to_string().contains(PUBLIC), "nothing public: {a}");
        assert_eq!(a["to"], json!([format!("{group}/followers")]), "{a}");
        assert_ne!(a["object"]["type"], "Page", "no bare object: {a}");
    }
    let create = announces
        .iter()
        .find(|a| a["object"]["object"]["id"] == *post_ap)
        .expect("the post's Announce");
    assert_eq!(
        create["object"]["object"]["to"],
        json!([group, format!("{group}/followers")])
    );
    let create_id = create["object"]["id"].as_str().unwrap().to_string();
    // Bob's reply, as beta emitted it (beta serves it only as alpha says).
    let reply_create = announces
        .iter()
        .find(|a| a["object"]["object"].to_string().contains("Count me in"))
        .map(|a| a["object"]["id"].as_str().unwrap().to_string())
        .expect("the reply's Announce");
    assert!(reply_create.starts_with(&beta.base_url), "{reply_create}");

    // Someone waiting cannot post into it, even by naming an object to fetch.
    let sneak = format!("{}/objects/sneak", masto.base);
    masto.serve(
        "/objects/sneak",
        json!({ "id": sneak, "type": "Page", "attributedTo": masto_user, "name": "Sneaking in",
                "to": [group, format!("{group}/followers")], "audience": group,
                "content": "<p>x</p>" }),
        Duration::ZERO,
        0,
    );
    let create = json!({ "id": format!("{}/activities/sneak", masto.base), "type": "Create",
                         "actor": masto_user, "object": sneak });
    let (s, v) = masto.send_for(&alpha, &masto_user, create).await;
    assert_eq!((s, v["error"].as_str()), (403, Some("not_a_member")), "{v}");
    // Nor by replying to a reply of theirs that we do not know yet (fetched as an ancestor,
    // it meets the same rule, and nothing of either is stored).
    let hidden = format!("{}/objects/hidden-parent", masto.base);
    masto.serve(
        "/objects/hidden-parent",
        json!({ "id": hidden, "type": "Note", "attributedTo": masto_user, "inReplyTo": post_ap,
                "to": [format!("{group}/followers")], "audience": group,
                "content": "<p>slipped in as an ancestor</p>" }),
        Duration::ZERO,
        0,
    );
    let reply = json!({ "id": format!("{}/activities/sneak-reply", masto.base), "type": "Create",
        "actor": masto_user,
        "object": { "id": format!("{}/objects/sneak-reply", masto.base), "type": "Note",
                    "attributedTo": masto_user, "inReplyTo": hidden,
                    "to": [format!("{group}/followers")], "audience": group,
                    "content": "<p>and a reply to it</p>" } });
    // (The one reply rule, `check_may_reply`: a non-member learns nothing of a private
    // post, so the parent is "not found", here as everywhere.)
    let (s, v) = masto.send_for(&alpha, &masto_user, reply).await;
    assert_eq!((s, v["error"].as_str()), (400, Some("unresolvable")), "{v}");
    assert_eq!(v["message"], "post not found", "{v}");
    let thread = alice.get(&format!("/posts/{post_id}")).await;
    assert!(!thread.to_string().contains("slipped in"), "{thread}");
    assert_eq!(
        thread["replies"].as_array().unwrap().len(),
        1,
        "bob's reply only: {thread}"
    );

    // The Mastodon instance got nothing at all.
    assert_eq!(
        masto.count(|_| true),
        0,
        "{:?}",
        masto.received.lock().unwrap()
    );

    // Fetching: unsigned is refused (401), a signature by an instance without members too
    // (403); an instance with a member gets it.
    let outbox = format!("{group}/outbox");
    for url in [
        &post_ap,
        &create_id,
        &outbox,
        &format!("{post_ap}/context"),
        &reply_create,
    ] {
        assert_eq!(status(url, "application/activity+json").await, 401, "{url}");
        assert_eq!(masto.signed_get(url, &masto_user).await, 403, "{url}");
        assert_eq!(lemmy.signed_get(url, &lemmy_user).await, 200, "{url}");
        // A member's signature that does not name our host could have been made for another
        // server (one that serves the same path) and replayed here: refused.
        assert_eq!(
            lemmy.signed_get_without_host(url, &lemmy_user).await,
            401,
            "{url}"
        );
    }
    let is_follower = |who: &str| format!("{group}/followers?is_follower={who}");
    assert_eq!(
        lemmy
            .signed_get(&is_follower(&lemmy_user), &lemmy_user)
            .await,
        200
    );
    assert_eq!(
        lemmy
            .signed_get(&is_follower(&masto_user), &lemmy_user)
            .await,
        404,
        "no member there"
    );
    assert_eq!(
        masto
            .signed_get(&is_follower(&lemmy_user), &masto_user)
            .await,
        403,
        "an instance without members may not ask"
    );
    assert_eq!(
        status(&is_follower(&lemmy_user), "application/activity+json").await,
        401
    );
    // Who leads it and who mentors there is for members too (its moderators stay public,
    // as Lemmy needs them to follow it).
    assert_eq!(
        status(&format!("{group}/mentors"), "application/activity+json").await,
        401
    );
    assert_eq!(
        lemmy
            .signed_get(&format!("{group}/mentors"), &lemmy_user)
            .await,
        200
    );
    assert_eq!(
        status(&format!("{group}/moderators"), "application/activity+json").await,
        200
    );
    assert_eq!(
        status(
            &format!("{}/api/v1/communities/circle/leadership", alpha.base_url),
            "application/json"
        )
        .await,
        403
    );
    assert_eq!(
        alice.get("/communities/circle/leadership").await["model"],
        "hierarchical"
    );

    // People: Dave on beta sees neither the feed nor the thread; nor does an anonymous
    // visitor at alpha, by API or in HTML. Alice does.
    let (s, v) = dave
        .call(Method::GET, &format!("/communities/{handle}/posts"), None)
        .await;
    assert_eq!((s, v["error"].as_str()), (403, Some("members_only")), "{v}");
    let (s, _) = dave
        .call(Method::GET, &format!("/posts/{}", at_beta["id"]), None)
        .await;
    assert_eq!(s, 404);
    let (s, _) = dave
        .call(
            Method::POST,
            &format!("/posts/{}/vote", at_beta["id"]),
            Some(json!({ "value": 1 })),
        )
        .await;
    assert_eq!(s, 404, "no voting on what one cannot see");
    // Someone here who is not a member learns nothing of the post, whatever they try.
    let erin = User::create(&alpha, "erin").await;
    for (path, body) in [
        (
            format!("/posts/{post_id}/replies"),
            json!({ "body": "hello?" }),
        ),
        (
            format!("/posts/{post_id}/report"),
            json!({ "reason": "spam" }),
        ),
        (format!("/posts/{post_id}/lock"), json!({ "locked": true })),
        (format!("/posts/{post_id}/pin"), json!({ "pinned": true })),
    ] {
        let (s, v) = erin.call(Method::POST, &path, Some(body)).await;
        assert_eq!(
            (s, v["message"].as_str()),
            (404, Some("post not found")),
            "{path}: {v}"
        );
    }
    let api = format!("{}/api/v1", alpha.base_url);
    assert_eq!(
        status(
            &format!("{api}/communities/circle/posts"),
            "application/json"
        )
        .await,
        403
    );
    assert_eq!(
        status(&format!("{api}/posts/{post_id}"), "application/json").await,
        404
    );
    assert_eq!(
        status(
            &format!("{api}/communities/circle/modlog"),
            "application/json"
        )
        .await,
        403
    );
    let page = alpha
        .get("/c/circle", "text/html")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("private") && !page.contains("Plans for the guild"),
        "{page}"
    );
    assert_eq!(
        status(&format!("{}/thread/{post_id}", alpha.base_url), "text/html").await,
        404
    );
    let instance_log = alice.get("/modlog").await;
    assert!(
        !instance_log.to_string().contains(&group),
        "a private community's log is not in the instance's: {instance_log}"
    );
    let feed = alice.get("/communities/circle/posts").await;
    assert_eq!(feed["items"].as_array().unwrap().len(), 1, "{feed}");
    assert_eq!(
        alice.get("/communities/circle/modlog").await["items"]
            .as_array()
            .unwrap()
            .len(),
        3,
        "three members admitted"
    );

    // A ban ends membership: gamma (carol's only) no longer counts as a member's instance,
    // and carol no longer reads the community on gamma.
    let gamma_actor = format!("{}/actor", gamma.base_url);
    assert_eq!(
        lemmy
            .signed_get(&is_follower(&gamma_actor), &lemmy_user)
            .await,
        200
    );
    alice
        .post(
            "/communities/circle/bans",
            json!({ "person": format!("{}/u/carol", gamma.base_url), "reason": "leaks" }),
        )
        .await;
    assert_eq!(
        lemmy
            .signed_get(&is_follower(&gamma_actor), &lemmy_user)
            .await,
        404
    );
    poll_until(WAIT, "carol's membership ends on gamma too", || async {
        let (s, _) = carol
            .call(Method::GET, &format!("/communities/{handle}/posts"), None)
            .await;
        (s == 403).then_some(())
    })
    .await;

    // Made public, then private again: the members' instances hear it (Update of the
    // Group), and what anyone may read follows.
    for private in [false, true] {
        let (s, v) = alice
            .call(
                Method::PATCH,
                "/communities/circle",
                Some(json!({ "private": private })),
            )
            .await;
        assert_eq!((s, &v["private"]), (200, &json!(private)), "{v}");
        poll_until(WAIT, "beta hears of the change", || async {
            let c = bob.get(&format!("/resolve?q=!{handle}")).await;
            (c["private"] == private).then_some(())
        })
        .await;
        let anyone = status(
            &format!("{api}/communities/circle/posts"),
            "application/json",
        )
        .await;
        assert_eq!(anyone, if private { 403 } else { 200 });
        if !private {
            // While it is public, the Mastodon user is let in…
            alice
                .post(
                    "/communities/circle/pending",
                    json!({ "person": masto_user, "accept": true }),
                )
                .await;
        }
    }
    // …and turning private again sends them back to waiting, in the log.
    let pending = alice.get("/communities/circle/pending").await;
    assert!(pending.to_string().contains(&masto_user), "{pending}");
    let log = alice.get("/communities/circle/modlog").await;
    assert_eq!(log["items"][0]["action"], "suspend_member", "{log}");
    assert_eq!(log["items"][0]["person"], masto_user.as_str(), "{log}");

    // An invitation made while the community was public does not let them in once it is
    // private: their Follow waits for a moderator (who cannot admit them).
    alice
        .call(
            Method::PATCH,
            "/communities/circle",
            Some(json!({ "private": false })),
        )
        .await;
    alice
        .post(
            "/communities/circle/invitations",
            json!({ "person": masto_user }),
        )
        .await;
    alice
        .call(
            Method::PATCH,
            "/communities/circle",
            Some(json!({ "private": true })),
        )
        .await;
    let follow = json!({ "id": format!("{}/follows/again", masto.base), "type": "Follow",
                         "actor": masto_user, "object": group });
    let (s, _) = masto.send_for(&alpha, &masto_user, follow).await;
    assert!((200..300).contains(&s), "{s}");
    let pending = alice.get("/communities/circle/pending").await;
    assert!(
        pending.to_string().contains(&masto_user),
        "still waiting: {pending}"
    );
    let (s, v) = alice
        .call(
            Method::PATCH,
            "/communities/circle",
            Some(json!({ "approval_required": false })),
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (422, Some("private_needs_approval")),
        "{v}"
    );
}
