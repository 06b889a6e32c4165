//! Every activity Lemmy 0.19 and Lemmy 1.0 communities relayed in the captured corpus is
//! handled by our code, in capture order, with the effect a follower of a Lemmy community
//! must see. Remote fetches go to a "corpus server": each captured host (`lemmy-alpha:8541`,
//! …) is served on a loopback address of its own, answering every captured document at its
//! id. Signatures are checked separately (signatures.rs); here activities enter
//! `activities::dispatch` as the inbox hands them over after verification.

use crate::support::{Backend, asset, federation_data, test_state};
use axum::{Router, extract::Request, http::StatusCode, response::IntoResponse};
use guildhall::{
    error::AppError,
    federation::activities::{self, ActorRef, Outcome, find_or_fetch_actor},
    state::AppState,
    store,
};
use serde_json::Value;
use std::{collections::HashMap, net::SocketAddr, path::Path, sync::Arc};

const HOSTS: [&str; 6] = [
    "lemmy-alpha:8541",
    "lemmy-beta:8551",
    "lemmy10-alpha:8641",
    "lemmy10-beta:8651",
    "fedify.test:8700",
    "lemmy.test:8790",
];

/// host:port → path → (status, document).
type Documents = HashMap<String, HashMap<String, (StatusCode, Value)>>;

fn host_and_path(id: &str) -> Option<(String, String)> {
    let url = url::Url::parse(id).ok()?;
    Some((
        format!("{}:{}", url.host_str()?, url.port()?),
        url.path().to_string(),
    ))
}

/// Every captured document with an `id`, plus the objects embedded in relayed activities
/// (their origin served them at their ids when the corpus was captured), plus people the
/// corpus names but did not fetch (built from the same host's `person.json`).
fn documents() -> Documents {
    let mut docs: Documents = HashMap::new();
    let mut embedded = Vec::new();
    for dir in ["lemmy-0.19", "lemmy-1.0", "fedify"] {
        let base = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("federation-tests/assets")
            .join(dir);
        for entry in std::fs::read_dir(base).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if !name.ends_with(".json")
                || name.ends_with(".wire.json")
                || name.ends_with(".headers.json")
            {
                continue;
            }
            let v: Value = serde_json::from_str(&asset(&format!("{dir}/{name}"))).unwrap();
            let Some((host, path)) = v["id"].as_str().and_then(host_and_path) else {
                continue;
            };
            if let Some(inner) = v["object"]["object"].as_object() {
                embedded.push(Value::Object(inner.clone()));
            }
            let status = if v["type"] == "Tombstone" {
                StatusCode::GONE
            } else {
                StatusCode::OK
            };
            docs.entry(host).or_default().insert(path, (status, v));
        }
    }
    for v in embedded {
        if let Some((host, path)) = v["id"].as_str().and_then(host_and_path) {
            docs.entry(host)
                .or_default()
                .entry(path)
                .or_insert((StatusCode::OK, v));
        }
    }
    docs
}

/// A person of `host` that the corpus mentions but did not fetch: the host's captured
/// person with another name (and the same key, which nothing here checks).
fn derived_person(docs: &Documents, host: &str, path: &str) -> Option<Value> {
    let name = path.strip_prefix("/u/")?;
    let template = docs
        .get(host)?
        .values()
        .find(|(_, v)| v["type"] == "Person")?
        .1
        .clone();
    let old_id = template["id"].as_str()?.to_string();
    let new_id = format!("http://{host}/u/{name}");
    let text = template.to_string().replace(&old_id, &new_id);
    let mut v: Value = serde_json::from_str(&text).ok()?;
    v["preferredUsername"] = Value::String(name.to_string());
    Some(v)
}

/// Starts one listener per captured host, each on a random loopback address and the
/// host's own port; returns the `resolve` table for the config.
async fn start_corpus_server() -> String {
    let docs = Arc::new(documents());
    let mut resolve = Vec::new();
    for host in HOSTS {
        let port: u16 = host.rsplit(':').next().unwrap().parse().unwrap();
        let listener = loop {
            let ip = std::net::Ipv4Addr::new(
                127,
                rand::random::<u8>() | 1,
                rand::random(),
                rand::random::<u8>().clamp(2, 254),
            );
            if let Ok(l) = tokio::net::TcpListener::bind(SocketAddr::from((ip, port))).await {
                break l;
            }
        };
        let ip = listener.local_addr().unwrap().ip();
        resolve.push(format!(
            "\"{}\" = \"{ip}\"",
            host.split(':').next().unwrap()
        ));
        let (docs, host) = (docs.clone(), host.to_string());
        let app = Router::new().fallback(move |req: Request| {
            let (docs, host) = (docs.clone(), host.clone());
            async move {
                let path = req.uri().path().to_string();
                let found = docs
                    .get(&host)
                    .and_then(|d| d.get(&path))
                    .cloned()
                    .or_else(|| derived_person(&docs, &host, &path).map(|v| (StatusCode::OK, v)));
                match found {
                    Some((status, v)) => (
                        status,
                        [("content-type", "application/activity+json")],
                        v.to_string(),
                    )
                        .into_response(),
                    None => (StatusCode::NOT_FOUND, "not in the corpus").into_response(),
                }
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    }
    format!(
        "[federation]\nallow_private_addresses = true\nresolve = {{ {} }}\n",
        resolve.join(", ")
    )
}

/// Handles one captured activity as the inbox would after verifying it.
async fn handle(state: &AppState, file: &str) -> Result<Outcome, AppError> {
    handle_json(state, serde_json::from_str(&asset(file)).unwrap()).await
}

async fn handle_json(state: &AppState, json: Value) -> Result<Outcome, AppError> {
    let data = federation_data(state).await;
    let actor = url::Url::parse(json["actor"].as_str().unwrap()).unwrap();
    let actor = find_or_fetch_actor(&actor, &data, false).await?;
    activities::dispatch(json, actor, &data).await
}

async fn post(state: &AppState, id: &str) -> Option<store::posts::DbPost> {
    let mut conn = state.db.pool.acquire().await.unwrap();
    store::posts::find_by_ap_id(&mut conn, id).await.unwrap()
}

/// The object id an announced activity is about.
fn target(file: &str) -> String {
    let v: Value = serde_json::from_str(&asset(file)).unwrap();
    let inner = &v["object"]["object"];
    inner
        .as_str()
        .map(String::from)
        .or_else(|| inner["id"].as_str().map(String::from))
        .or_else(|| inner["object"].as_str().map(String::from))
        .unwrap_or_default()
}

fn inner(file: &str) -> Value {
    let v: Value = serde_json::from_str(&asset(file)).unwrap();
    v["object"]["object"].clone()
}

async fn a_follower_of_a_lemmy_community_sees_everything(b: Backend, version: &str, group: &str) {
    let resolve = start_corpus_server().await;
    let (state, _db) = test_state(b, &resolve).await;
    let reader = guildhall::domain::accounts::create(
        &state,
        guildhall::domain::accounts::NewAccount {
            username: "reader".into(),
            password: "correct horse battery".into(),
            ..Default::default()
        },
        false,
        true,
    )
    .await
    .unwrap();
    let data = federation_data(&state).await;
    let ActorRef::Group(community) =
        find_or_fetch_actor(&url::Url::parse(group).unwrap(), &data, false)
            .await
            .unwrap()
    else {
        panic!("{group} is a Group");
    };
    let mut conn = state.db.pool.acquire().await.unwrap();
    store::followers::upsert_follower(&mut conn, community.id, reader.person.id, "accepted", None)
        .await
        .unwrap();
    drop(conn);

    let f = |name: &str| format!("{version}/announce-{name}.json");
    let expect = |name: &str, outcome: Result<Outcome, AppError>, want: Outcome| match outcome {
        Ok(o) => assert_eq!(o, want, "{version} {name}"),
        Err(e) => panic!("{version} {name}: {e:?}"),
    };

    // Posts and comments.
    expect(
        "create-page",
        handle(&state, &f("create-page")).await,
        Outcome::Done,
    );
    let a = post(&state, &target(&f("create-page")))
        .await
        .expect("post stored");
    assert_eq!(
        a.title.as_deref(),
        inner(&f("create-page"))["name"].as_str()
    );
    assert_eq!(a.community_id, community.id);
    expect("page", handle(&state, &f("page")).await, Outcome::Ignored);
    if version == "lemmy-1.0" {
        // A report of that post, as a Lemmy 1.0 user sends it to the community.
        let flag = "lemmy-1.0/flag-to-group.json";
        expect("flag-to-group", handle(&state, flag).await, Outcome::Done);
        let mut conn = state.db.pool.acquire().await.unwrap();
        let open = store::reports::of_community(&mut conn, community.id, false)
            .await
            .unwrap();
        assert_eq!(open.len(), 1, "{open:?}");
        assert_eq!(open[0].reason, "Report reason text");
        assert_eq!(open[0].post_id, a.id);
        assert!(
            open[0]
                .reporter
                .as_deref()
                .is_some_and(|r| r.contains("lemmy10-beta"))
        );
    }
    expect(
        "create-page-link",
        handle(&state, &f("create-page-link")).await,
        Outcome::Done,
    );
    let b_post = post(&state, &target(&f("create-page-link")))
        .await
        .expect("link post stored");
    assert!(
        b_post.url.as_deref().is_some_and(|u| u.starts_with("http")),
        "link kept: {:?}",
        b_post.url
    );
    expect(
        "create-note",
        handle(&state, &f("create-note")).await,
        Outcome::Done,
    );
    let c = post(&state, &target(&f("create-note")))
        .await
        .expect("comment stored");
    assert_eq!(c.parent_id, Some(a.id));
    expect(
        "create-note-reply",
        handle(&state, &f("create-note-reply")).await,
        Outcome::Done,
    );
    let d = post(&state, &target(&f("create-note-reply")))
        .await
        .expect("reply stored");
    assert_eq!(
        (d.parent_id, d.root_id, d.depth),
        (Some(c.id), Some(a.id), 2)
    );

    // Votes, and Lemmy's Undo with a fresh inner id (0.19 undoes a Dislike with `Like`).
    expect("like", handle(&state, &f("like")).await, Outcome::Done);
    assert_eq!(post(&state, a.ap_id.as_str()).await.unwrap().score, 1);
    expect(
        "like-comment",
        handle(&state, &f("like-comment")).await,
        Outcome::Done,
    );
    expect(
        "dislike",
        handle(&state, &f("dislike")).await,
        Outcome::Done,
    );
    assert_eq!(
        post(&state, c.ap_id.as_str()).await.unwrap().score,
        -1,
        "a Dislike replaces the Like"
    );
    expect(
        "undo-like",
        handle(&state, &f("undo-like")).await,
        Outcome::Done,
    );
    assert_eq!(post(&state, a.ap_id.as_str()).await.unwrap().score, 0);
    expect(
        "undo-dislike",
        handle(&state, &f("undo-dislike")).await,
        Outcome::Done,
    );
    assert_eq!(post(&state, c.ap_id.as_str()).await.unwrap().score, 0);

    // Edits.
    expect(
        "update-page",
        handle(&state, &f("update-page")).await,
        Outcome::Done,
    );
    let edited = post(&state, a.ap_id.as_str()).await.unwrap();
    assert_eq!(
        edited.title.as_deref(),
        inner(&f("update-page"))["name"].as_str()
    );
    assert!(edited.updated.is_some());
    expect(
        "page-after-update",
        handle(&state, &f("page-after-update")).await,
        Outcome::Ignored,
    );
    expect(
        "update-note",
        handle(&state, &f("update-note")).await,
        Outcome::Done,
    );
    let wanted = inner(&f("update-note"))["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        post(&state, c.ap_id.as_str()).await.unwrap().content_html,
        guildhall::domain::markdown::sanitize(&wanted)
    );

    // Lock and Undo(Lock), relayed by the community that vouches for its moderator.
    let locked = target(&f("lock"));
    expect("lock", handle(&state, &f("lock")).await, Outcome::Done);
    assert!(post(&state, &locked).await.expect("locked post").locked);
    expect(
        "undo-lock",
        handle(&state, &f("undo-lock")).await,
        Outcome::Done,
    );
    assert!(!post(&state, &locked).await.unwrap().locked);
    if version == "lemmy-1.0" {
        // 1.0 also locks comments.
        let comment = target(&f("lock-comment"));
        let outcome = handle(&state, &f("lock-comment")).await;
        if post(&state, &comment).await.is_some() {
            expect("lock-comment", outcome, Outcome::Done);
            assert!(post(&state, &comment).await.unwrap().locked);
        } else {
            expect("lock-comment", outcome, Outcome::Ignored);
        }
    }

    // Pin and unpin: Add/Remove with the community's featured collection as target.
    let pinned = target(&f("add-featured"));
    expect(
        "add-featured",
        handle(&state, &f("add-featured")).await,
        Outcome::Done,
    );
    assert!(post(&state, &pinned).await.expect("pinned post").featured);
    // (the capture unpins another post than the one it pinned)
    let unpinned = target(&f("remove-featured"));
    expect(
        "remove-featured",
        handle(&state, &f("remove-featured")).await,
        Outcome::Done,
    );
    if let Some(p) = post(&state, &unpinned).await {
        assert!(!p.featured);
    }
    assert_eq!(
        post(&state, &pinned).await.unwrap().featured,
        pinned != unpinned
    );

    // A community ban and its Undo (of a person we know: the voter).
    let banned_ap = target(&f("block-user"));
    // The capture's ban ended a day after it was made: moved to tomorrow, so that the test
    // says the same whatever the date.
    let mut block_json: Value = serde_json::from_str(&asset(&f("block-user"))).unwrap();
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    for key in ["endTime", "expires"] {
        if block_json["object"].get(key).is_some() {
            block_json["object"][key] = Value::String(tomorrow.clone());
        }
    }
    let block = handle_json(&state, block_json).await;
    let mut conn = state.db.pool.acquire().await.unwrap();
    match guildhall::store::people::find_by_ap_id(&mut conn, &banned_ap)
        .await
        .unwrap()
    {
        Some(p) => {
            expect("block-user", block, Outcome::Done);
            assert!(
                guildhall::store::bans::is_banned(&mut conn, community.id, p.id)
                    .await
                    .unwrap()
            );
            expect(
                "undo-block-user",
                handle(&state, &f("undo-block-user")).await,
                Outcome::Done,
            );
            assert!(
                !guildhall::store::bans::is_banned(&mut conn, community.id, p.id)
                    .await
                    .unwrap()
            );
        }
        None => expect("block-user", block, Outcome::Ignored),
    }
    drop(conn);

    // Moderators appointed and removed by the community (Add/Remove, target = its
    // moderators collection): the person is fetched and the role mirrored.
    for (name, moderator) in [("add-mod", true), ("remove-mod", false)] {
        expect(name, handle(&state, &f(name)).await, Outcome::Done);
        let mut conn = state.db.pool.acquire().await.unwrap();
        let person = store::people::find_by_ap_id(&mut conn, &target(&f(name)))
            .await
            .unwrap()
            .expect("the person fetched");
        let role = store::roles::has_role(&mut conn, community.id, person.id, "moderator")
            .await
            .unwrap();
        assert_eq!(role, moderator, "{name}");
    }
    // A moderator's Update(Group): the Group is fetched again from its origin (the
    // embedded copy is not used).
    let fetched = |state: AppState, id: i64| async move {
        let mut conn = state.db.pool.acquire().await.unwrap();
        store::communities::find_by_id(&mut conn, id)
            .await
            .unwrap()
            .last_fetched
    };
    {
        let mut conn = state.db.pool.acquire().await.unwrap();
        sqlx::query("UPDATE communities SET last_fetched = 0 WHERE id = $1")
            .bind(community.id)
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    expect(
        "update-group",
        handle(&state, &f("update-group")).await,
        Outcome::Done,
    );
    assert!(fetched(state.clone(), community.id).await > 0, "refetched");

    // Content from other servers, relayed: refetched from its origin.
    expect(
        "create-page-from-fedify",
        handle(&state, &f("create-page-from-fedify")).await,
        Outcome::Done,
    );
    let from_fedify = post(&state, &target(&f("create-page-from-fedify")))
        .await
        .expect("Fedify's post stored");
    assert_eq!(from_fedify.community_id, community.id);
    expect(
        "page-from-fedify",
        handle(&state, &f("page-from-fedify")).await,
        Outcome::Ignored,
    );
    expect(
        "create-note-from-remote",
        handle(&state, &f("create-note-from-remote")).await,
        Outcome::Done,
    );
    assert!(
        post(&state, &target(&f("create-note-from-remote")))
            .await
            .is_some(),
        "beta's comment stored"
    );

    // Removal by a moderator, restore; deletion by the author, restore.
    expect("remove", handle(&state, &f("remove")).await, Outcome::Done);
    assert!(post(&state, d.ap_id.as_str()).await.unwrap().removed);
    expect(
        "remove-page",
        handle(&state, &f("remove-page")).await,
        Outcome::Done,
    );
    assert!(post(&state, b_post.ap_id.as_str()).await.unwrap().removed);
    expect(
        "undo-remove",
        handle(&state, &f("undo-remove")).await,
        Outcome::Done,
    );
    assert!(!post(&state, b_post.ap_id.as_str()).await.unwrap().removed);
    expect(
        "delete-page",
        handle(&state, &f("delete-page")).await,
        Outcome::Done,
    );
    assert!(post(&state, b_post.ap_id.as_str()).await.unwrap().deleted);
    expect(
        "undo-delete",
        handle(&state, &f("undo-delete")).await,
        Outcome::Done,
    );
    assert!(!post(&state, b_post.ap_id.as_str()).await.unwrap().is_gone());
    // The author deletes a comment we never received: nothing to do.
    let deleted = target(&f("delete"));
    let outcome = handle(&state, &f("delete")).await;
    if post(&state, &deleted).await.is_some() {
        expect("delete", outcome, Outcome::Done);
        assert!(post(&state, &deleted).await.unwrap().deleted);
    } else {
        expect("delete", outcome, Outcome::Ignored);
    }

    // Replays have no second effect.
    expect(
        "like (again)",
        handle(&state, &f("like")).await,
        Outcome::Ignored,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lemmy_0_19_relays_are_handled_sqlite() {
    a_follower_of_a_lemmy_community_sees_everything(
        Backend::Sqlite,
        "lemmy-0.19",
        "http://lemmy-alpha:8541/c/ix19_141919xoq",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lemmy_1_0_relays_are_handled_postgres() {
    a_follower_of_a_lemmy_community_sees_everything(
        Backend::Postgres,
        "lemmy-1.0",
        "http://lemmy10-alpha:8641/c/ix10_142503guz",
    )
    .await;
}
