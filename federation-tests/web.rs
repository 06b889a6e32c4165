//! The HTML side: register, log in with a cookie, and take part through plain forms (no
//! JavaScript); forms from another site are refused and change nothing.

use crate::http::{Reply, send};
use crate::on_both_stores;
use crate::support::{Backend, count, test_state};
use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use guildhall::state::AppState;

on_both_stores!(html_forms_take_part_and_refuse_other_sites);

const ORIGIN: &str = "http://gh.test";

async fn form(
    state: &AppState,
    path: &str,
    body: &str,
    cookie: Option<&str>,
    origin: &str,
) -> Reply {
    let mut req = Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ORIGIN, origin);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    send(state, req.body(Body::from(body.to_string())).unwrap()).await
}

async fn page(state: &AppState, path: &str, cookie: &str) -> Reply {
    let req = Request::get(path)
        .header(header::ACCEPT, "text/html")
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    send(state, req).await
}

async fn html_forms_take_part_and_refuse_other_sites(b: Backend) {
    let (state, _db) = test_state(b, "").await;
    let r = form(
        &state,
        "/register",
        "username=alice&password=correct+horse+battery",
        None,
        ORIGIN,
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = form(
        &state,
        "/login",
        "username=alice&password=wrong+password+here",
        None,
        ORIGIN,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = form(
        &state,
        "/login",
        "username=alice&password=correct+horse+battery",
        None,
        ORIGIN,
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let set = r.headers[header::SET_COOKIE].to_str().unwrap().to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap().to_string();
    let home = page(&state, "/", &cookie).await;
    assert!(
        home.body.contains("Log out") && home.body.contains("alice"),
        "{}",
        home.body
    );

    guildhall::domain::communities::create(
        &state,
        &guildhall::domain::accounts::authenticate(&state, cookie.split('=').nth(1).unwrap())
            .await
            .unwrap()
            .person,
        guildhall::domain::communities::NewCommunityInput {
            name: "woodwork".into(),
            title: "Woodwork".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let community_id: i64 = {
        let mut conn = state.db.pool.acquire().await.unwrap();
        guildhall::store::communities::find_local_by_name(&mut conn, "woodwork")
            .await
            .unwrap()
            .unwrap()
            .id
    };

    // Another site's form changes nothing.
    let before = count(&state, "posts").await;
    let r = form(
        &state,
        &format!("/community/{community_id}/posts"),
        "title=Spam&body=x",
        Some(&cookie),
        "http://evil.test",
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(count(&state, "posts").await, before);
    // Without a session, neither.
    let r = form(
        &state,
        &format!("/community/{community_id}/posts"),
        "title=Anon&body=x",
        None,
        ORIGIN,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(count(&state, "posts").await, before);

    // Post, reply, vote, edit, delete.
    let r = form(
        &state,
        &format!("/community/{community_id}/posts"),
        "title=First+%3Cb%3Epost%3C%2Fb%3E&body=Hello+**there**&url=",
        Some(&cookie),
        ORIGIN,
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let feed = page(&state, "/c/woodwork?sort=new", &cookie).await;
    assert!(
        feed.body.contains("First &lt;b&gt;post&lt;/b&gt;"),
        "{}",
        feed.body
    );
    let post_id: i64 = {
        let mut conn = state.db.pool.acquire().await.unwrap();
        sqlx::query_scalar("SELECT id FROM posts WHERE root_id IS NULL")
            .fetch_one(&mut *conn)
            .await
            .unwrap()
    };
    let r = form(
        &state,
        &format!("/thread/{post_id}/reply"),
        "body=A+reply",
        Some(&cookie),
        ORIGIN,
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = form(
        &state,
        &format!("/thread/{post_id}/vote"),
        "value=1",
        Some(&cookie),
        ORIGIN,
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let thread = page(&state, &format!("/thread/{post_id}"), &cookie).await;
    assert!(thread.body.contains("A reply"), "{}", thread.body);
    assert!(thread.body.contains("1 points"));
    assert!(thread.body.contains("<strong>there</strong>"));
    let r = form(
        &state,
        &format!("/thread/{post_id}/edit"),
        "title=Edited+title&body=New+text",
        Some(&cookie),
        ORIGIN,
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let thread = page(&state, &format!("/thread/{post_id}"), &cookie).await;
    assert!(thread.body.contains("Edited title") && thread.body.contains("New text"));
    let notices = page(&state, "/notices", &cookie).await;
    assert!(notices.body.contains("<h1>Notices</h1>") && notices.body.contains("Nothing yet"));
    assert_eq!(
        anonymous_page(&state, "/notices").await.status,
        StatusCode::UNAUTHORIZED
    );
    // The edit form (with the source) is the author's only.
    let mine = page(&state, &format!("/thread/{post_id}/edit"), &cookie).await;
    assert!(mine.body.contains("New text"), "{}", mine.body);
    let theirs = anonymous_page(&state, &format!("/thread/{post_id}/edit")).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert!(!theirs.body.contains("New text"));
    // Alice moderates her community: she locks the thread (no more replies), then unlocks it.
    assert!(thread.body.contains("Lock thread"), "{}", thread.body);
    let r = form(
        &state,
        &format!("/thread/{post_id}/lock"),
        "locked=true&reason=Answered",
        Some(&cookie),
        ORIGIN,
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let thread = page(&state, &format!("/thread/{post_id}"), &cookie).await;
    assert!(thread.body.contains("takes no new replies") && thread.body.contains("Unlock thread"));
    let replies = count(&state, "posts").await;
    let r = form(
        &state,
        &format!("/thread/{post_id}/reply"),
        "body=Too+late",
        Some(&cookie),
        ORIGIN,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(count(&state, "posts").await, replies);
    let r = form(
        &state,
        &format!("/thread/{post_id}/lock"),
        "locked=false",
        Some(&cookie),
        ORIGIN,
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = form(
        &state,
        &format!("/thread/{post_id}/pin"),
        "pinned=true",
        Some(&cookie),
        ORIGIN,
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let thread = page(&state, &format!("/thread/{post_id}"), &cookie).await;
    assert!(thread.body.contains("Unpin post"), "{}", thread.body);
    let feed = page(&state, "/c/woodwork", &cookie).await;
    assert!(
        feed.body.contains("<strong>Pinned</strong>"),
        "{}",
        feed.body
    );
    assert_eq!(count(&state, "modlog").await, 3);
    // The log, as a page and as an Atom feed, for anyone.
    let log = anonymous_page(&state, &format!("/community/{community_id}/modlog")).await;
    assert_eq!(log.status, StatusCode::OK);
    assert!(
        log.body.contains("Locked a thread") && log.body.contains("Answered"),
        "{}",
        log.body
    );
    let atom = anonymous_page(&state, &format!("/community/{community_id}/modlog.atom")).await;
    assert_eq!(
        atom.headers[header::CONTENT_TYPE],
        "application/atom+xml; charset=utf-8"
    );
    assert_eq!(atom.body.matches("<entry>").count(), 3, "{}", atom.body);
    assert!(atom.body.contains("Pinned a post"), "{}", atom.body);
    assert_eq!(
        anonymous_page(&state, "/community/999999/modlog")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let r = form(
        &state,
        &format!("/thread/{post_id}/delete"),
        "",
        Some(&cookie),
        ORIGIN,
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let thread = page(&state, &format!("/thread/{post_id}"), &cookie).await;
    assert!(thread.body.contains("(deleted)") && !thread.body.contains("New text"));

    // Leave and join the community.
    let r = form(
        &state,
        &format!("/community/{community_id}/follow"),
        "",
        Some(&cookie),
        ORIGIN,
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let home = page(&state, "/", &cookie).await;
    assert!(
        home.body.contains(&format!("/community/{community_id}")),
        "{}",
        home.body
    );

    // Log out: the cookie no longer works.
    let r = form(&state, "/logout", "", Some(&cookie), ORIGIN).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let home = page(&state, "/", &cookie).await;
    assert!(home.body.contains("Log in"));
}

on_both_stores!(anonymous_page_views_are_kept_briefly_and_local_changes_show_at_once);

async fn anonymous_page(state: &AppState, path: &str) -> Reply {
    let req = Request::get(path)
        .header(header::ACCEPT, "text/html")
        .body(Body::empty())
        .unwrap();
    send(state, req).await
}

/// Registers `name` through the forms and logs in: the session cookie and the person.
async fn sign_up(state: &AppState, name: &str) -> (String, guildhall::store::people::DbPerson) {
    let creds = format!("username={name}&password=correct+horse+battery");
    let r = form(state, "/register", &creds, None, ORIGIN).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = form(state, "/login", &creds, None, ORIGIN).await;
    let cookie = r.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let person =
        guildhall::domain::accounts::authenticate(state, cookie.split('=').nth(1).unwrap())
            .await
            .unwrap()
            .person;
    (cookie, person)
}

async fn anonymous_page_views_are_kept_briefly_and_local_changes_show_at_once(b: Backend) {
    // A long keep time, so that what is kept is certain within the test.
    let (state, _db) = test_state(b, "page_cache_ms = 600000\n").await;
    let (cookie, alice) = sign_up(&state, "alice").await;
    let community = guildhall::domain::communities::create(
        &state,
        &alice,
        guildhall::domain::communities::NewCommunityInput {
            name: "woodwork".into(),
            title: "Woodwork".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let before = anonymous_page(&state, "/c/woodwork").await;
    assert_eq!(before.status, StatusCode::OK);
    assert!(before.body.contains("No posts yet"), "{}", before.body);

    // A change that is not a local request (as one arriving by federation): anonymous
    // readers get the kept page, a signed-in reader the fresh one.
    guildhall::domain::posts::create_post(
        &state,
        &alice,
        &community,
        guildhall::domain::posts::NewPostInput {
            title: "Arrived quietly".into(),
            body: "x".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let kept = anonymous_page(&state, "/c/woodwork").await;
    assert_eq!(kept.body, before.body, "the anonymous view is kept");
    // A federation fetch that also lists text/html still gets the Group, not the kept page.
    let fetch = send(
        &state,
        Request::get("/c/woodwork")
            .header(header::ACCEPT, "application/activity+json, text/html;q=0.1")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(fetch.json()["type"], "Group", "{}", fetch.body);
    assert_eq!(
        kept.headers[header::CONTENT_TYPE],
        before.headers[header::CONTENT_TYPE]
    );
    let fresh = page(&state, "/c/woodwork", &cookie).await;
    assert!(fresh.body.contains("Arrived quietly"), "{}", fresh.body);

    // A local change through a form empties the cache at once.
    let r = form(
        &state,
        &format!("/community/{}/posts", community.id),
        "title=Posted+here&body=y&url=",
        Some(&cookie),
        ORIGIN,
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let after = anonymous_page(&state, "/c/woodwork").await;
    assert!(
        after.body.contains("Arrived quietly") && after.body.contains("Posted here"),
        "{}",
        after.body
    );
    // A page that does not exist is not kept as one.
    assert_eq!(
        anonymous_page(&state, "/c/nothing").await.status,
        StatusCode::NOT_FOUND
    );
}

on_both_stores!(a_long_thread_is_read_a_page_at_a_time);

async fn a_long_thread_is_read_a_page_at_a_time(b: Backend) {
    use guildhall::domain::{communities, posts};
    let (state, _db) = test_state(b, "").await;
    let (cookie, alice) = sign_up(&state, "alice").await;
    let community = communities::create(
        &state,
        &alice,
        communities::NewCommunityInput {
            name: "woodwork".into(),
            title: "Woodwork".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let root = posts::create_post(
        &state,
        &alice,
        &community,
        posts::NewPostInput {
            title: "Long thread".into(),
            body: "x".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // 60 top-level replies (one more page than 50), and a reply to the 55th.
    let mut top = Vec::new();
    for n in 1..=60 {
        let r = posts::create_reply(&state, &alice, &root, &format!("Reply number {n}."))
            .await
            .unwrap();
        top.push(r);
    }
    let nested = posts::create_reply(&state, &alice, &top[54], "Answer to fifty-five.")
        .await
        .unwrap();

    let first = page(&state, &format!("/thread/{}", root.id), &cookie).await;
    assert_eq!(first.status, StatusCode::OK);
    assert!(first.body.contains("Reply number 50."), "page 1 ends at 50");
    assert!(!first.body.contains("Reply number 51."), "51 is on page 2");
    assert!(first.body.contains("Replies page 1 of 2"));
    assert!(first.body.contains(&format!("/thread/{}?page=2", root.id)));

    let second = page(&state, &format!("/thread/{}?page=2", root.id), &cookie).await;
    assert!(second.body.contains("Reply number 60.") && second.body.contains("Reply number 51."));
    assert!(!second.body.contains("Reply number 50."));
    assert!(
        second.body.contains("Answer to fifty-five."),
        "subtrees go with their reply"
    );
    assert!(second.body.contains(&format!("/thread/{}?page=1", root.id)));

    // A link to a reply opens the page that holds it; a page past the end is the last.
    let at_reply = page(&state, &format!("/thread/{}", nested.id), &cookie).await;
    assert!(
        at_reply.body.contains(&format!("id=\"r{}\"", nested.id)),
        "{}",
        at_reply.body
    );
    assert!(at_reply.body.contains("Replies page 2 of 2"));
    let past = page(&state, &format!("/thread/{}?page=99", root.id), &cookie).await;
    assert!(past.body.contains("Replies page 2 of 2"));
    let bad = page(&state, &format!("/thread/{}?page=x", root.id), &cookie).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    // The API pages the same way.
    let api = |path: String| {
        let state = state.clone();
        async move {
            let req = Request::get(path).body(Body::empty()).unwrap();
            send(&state, req).await.json()
        }
    };
    let p1 = api(format!("/api/v1/posts/{}", root.id)).await;
    assert_eq!(
        (p1["page"].as_u64(), p1["pages"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(p1["replies"].as_array().unwrap().len(), 50);
    let p2 = api(format!("/api/v1/posts/{}", nested.id)).await;
    assert_eq!(
        p2["page"].as_u64(),
        Some(2),
        "the page of the reply asked for"
    );
    assert_eq!(p2["post"]["id"].as_i64(), Some(root.id));
    assert_eq!(
        p2["replies"].as_array().unwrap().len(),
        11,
        "51–60 and the answer"
    );
}

on_both_stores!(the_admin_page_changes_the_federation_policy);

async fn the_admin_page_changes_the_federation_policy(b: Backend) {
    let (state, _db) = test_state(b, "").await;
    guildhall::domain::accounts::create(
        &state,
        guildhall::domain::accounts::NewAccount {
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
    let r = form(
        &state,
        "/login",
        "username=dora&password=correct+horse+battery",
        None,
        ORIGIN,
    )
    .await;
    let admin = r.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let (member, _) = sign_up(&state, "carol").await;

    let p = page(&state, "/admin/federation", &admin).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("Mode: <strong>open</strong>"), "{}", p.body);
    assert_eq!(
        page(&state, "/admin/federation", &member).await.status,
        StatusCode::FORBIDDEN
    );

    // Forms from another site and from a member change nothing.
    let r = form(
        &state,
        "/admin/federation",
        "action=mode&mode=allowlist",
        Some(&admin),
        "http://evil.test",
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = form(
        &state,
        "/admin/federation",
        "action=mode&mode=allowlist",
        Some(&member),
        ORIGIN,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        page(&state, "/admin/federation", &admin)
            .await
            .body
            .contains("Mode: <strong>open")
    );

    let r = form(
        &state,
        "/admin/federation",
        "action=allow&domain=Partner.Example&reason=",
        Some(&admin),
        ORIGIN,
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = form(
        &state,
        "/admin/federation",
        "action=mode&mode=allowlist",
        Some(&admin),
        ORIGIN,
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let p = page(&state, "/admin/federation", &admin).await;
    assert!(
        p.body.contains("Mode: <strong>allowlist</strong>") && p.body.contains("partner.example"),
        "{}",
        p.body
    );
    let blocked = state
        .is_blocked(&url::Url::parse("https://elsewhere.example/u/x").unwrap())
        .await
        .unwrap();
    assert!(blocked, "off the allow list");
    let allowed = state
        .is_blocked(&url::Url::parse("https://a.partner.example/u/x").unwrap())
        .await
        .unwrap();
    assert!(!allowed, "subdomains of an allowed domain");
    let r = form(
        &state,
        "/admin/federation",
        "action=allow&domain=",
        Some(&admin),
        ORIGIN,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

on_both_stores!(moderators_handle_reports_and_join_requests_on_their_page);

async fn moderators_handle_reports_and_join_requests_on_their_page(b: Backend) {
    use guildhall::domain::{communities, follows, posts, reports};
    let (state, _db) = test_state(b, "").await;
    let (alice_cookie, alice) = sign_up(&state, "alice").await;
    let (carol_cookie, carol) = sign_up(&state, "carol").await;
    let c = communities::create(
        &state,
        &alice,
        communities::NewCommunityInput {
            name: "guild".into(),
            title: "Turners".into(),
            approval_required: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let post = posts::create_post(
        &state,
        &alice,
        &c,
        posts::NewPostInput {
            title: "Lathe safety".into(),
            body: "x".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        follows::follow(&state, &carol, &c, false).await.unwrap(),
        "pending"
    );
    reports::report(
        &state,
        &carol,
        &post,
        "Missing the <b>eye</b> protection part",
    )
    .await
    .unwrap();

    let path = format!("/community/{}/moderation", c.id);
    let p = page(&state, &path, &alice_cookie).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(
        p.body
            .contains("Missing the &lt;b&gt;eye&lt;/b&gt; protection part"),
        "{}",
        p.body
    );
    assert!(
        p.body.contains(carol.ap_id.as_str()),
        "carol waits: {}",
        p.body
    );
    assert_eq!(
        page(&state, &path, &carol_cookie).await.status,
        StatusCode::FORBIDDEN
    );
    let home = page(&state, "/c/guild", &alice_cookie).await;
    assert!(home.body.contains(&path), "moderators find the page");

    let accept = format!("person={}&accept=true", urlencode(carol.ap_id.as_str()));
    let r = form(
        &state,
        &format!("{path}/member"),
        &accept,
        Some(&alice_cookie),
        ORIGIN,
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let mut conn = state.db.pool.acquire().await.unwrap();
    let joined = guildhall::store::followers::follow_state(&mut conn, c.id, carol.id)
        .await
        .unwrap();
    assert_eq!(joined.as_deref(), Some("accepted"));
    let open = guildhall::store::reports::of_community(&mut conn, c.id, false)
        .await
        .unwrap();
    drop(conn);
    let r = form(
        &state,
        &format!("{path}/report"),
        &format!("report={}&status=resolved", open[0].id),
        Some(&alice_cookie),
        ORIGIN,
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let p = page(&state, &path, &alice_cookie).await;
    assert!(
        !p.body.contains("eye") && p.body.contains("Nobody."),
        "{}",
        p.body
    );

    // Roles, leadership and settings from the same page.
    let post_form = |path: String, body: String| {
        let (state, cookie) = (state.clone(), alice_cookie.clone());
        async move { form(&state, &path, &body, Some(&cookie), ORIGIN).await }
    };
    let r = post_form(
        format!("{path}/role"),
        "person=carol&role=mentor&add=true".into(),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let mut conn = state.db.pool.acquire().await.unwrap();
    let roles = guildhall::store::roles::roles_of(&mut conn, c.id, carol.id)
        .await
        .unwrap();
    drop(conn);
    assert!(roles.iter().any(|r| r == "mentor"), "{roles:?}");
    let r = post_form(
        format!("{path}/leadership"),
        "model=rotational&term_days=7&roster=alice%0D%0Acarol".into(),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let p = page(&state, &path, &alice_cookie).await;
    assert!(
        p.body.contains("Model: <strong>rotational</strong>"),
        "{}",
        p.body
    );
    assert!(p.body.contains("Pass the facilitator role on now"));
    let r = post_form(format!("{path}/pass"), String::new()).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let mut conn = state.db.pool.acquire().await.unwrap();
    assert!(
        guildhall::store::roles::has_role(&mut conn, c.id, carol.id, "facilitator")
            .await
            .unwrap(),
        "the term passed to carol"
    );
    drop(conn);
    let r = post_form(
        format!("{path}/settings"),
        "private=on&modlog_anonymous=on".into(),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let view = communities::view_local(&state, "guild").await.unwrap();
    assert!(view.community.members_only && view.community.approval_required);
    assert!(view.settings.modlog_anonymous && !view.settings.newcomer_limits);
    let r = post_form(format!("{path}/leadership"), "model=anarchy".into()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = form(
        &state,
        &format!("{path}/role"),
        "person=alice&role=moderator&add=false",
        Some(&carol_cookie),
        ORIGIN,
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "only moderators: {}",
        r.body
    );
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
