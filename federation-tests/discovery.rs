//! Actors, content negotiation, collections and discovery (WebFinger, NodeInfo, host-meta)
//! through `app().oneshot()`, on both stores.

use crate::http::{get, post, register_and_login};
use crate::on_both_stores;
use crate::support::{Backend, test_state};
use axum::http::StatusCode;
use guildhall::state::AppState;
use serde_json::{Value, json};

on_both_stores!(
    group_actor_has_every_field_lemmy_expects,
    person_and_instance_actors,
    html_for_browsers_and_everything_escaped,
    collections_answer,
    webfinger_one_namespace,
    nodeinfo_is_valid_2_1,
);

const AP: &str = "application/activity+json";
const LD: &str = "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";

/// alice owns `woodwork`.
async fn seed(state: &AppState) -> String {
    let token = register_and_login(state, "alice").await;
    let r = post(
        state,
        "/api/v1/communities",
        json!({ "name": "woodwork", "title": "Green <woodworking>", "summary": "Spoons & *bowls*", "topics": ["carving"] }),
        Some(&token),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    token
}

async fn group_actor_has_every_field_lemmy_expects(b: Backend) {
    let (state, _db) = test_state(b, "").await;
    seed(&state).await;
    for accept in [AP, LD] {
        let r = get(&state, "/c/woodwork", accept).await;
        assert_eq!(r.status, StatusCode::OK, "{accept}");
        assert!(
            r.content_type().starts_with("application/activity+json"),
            "{}",
            r.content_type()
        );
        assert_eq!(r.headers["vary"], "Accept");
        let g = r.json();
        let id = "http://gh.test/c/woodwork";
        assert_eq!(g["@context"][0], "https://www.w3.org/ns/activitystreams");
        assert_eq!(g["type"], "Group");
        assert_eq!(g["id"], id);
        assert_eq!(g["preferredUsername"], "woodwork");
        assert_eq!(g["name"], "Green <woodworking>");
        assert_eq!(g["summary"], "<p>Spoons &amp; <em>bowls</em></p>\n");
        assert_eq!(
            g["source"],
            json!({ "content": "Spoons & *bowls*", "mediaType": "text/markdown" })
        );
        assert_eq!(g["inbox"], format!("{id}/inbox"));
        assert_eq!(g["outbox"], format!("{id}/outbox"));
        assert_eq!(g["followers"], format!("{id}/followers"));
        assert_eq!(g["featured"], format!("{id}/featured"));
        assert_eq!(g["attributedTo"], format!("{id}/moderators"));
        assert_eq!(g["endpoints"]["sharedInbox"], "http://gh.test/inbox");
        assert_eq!(g["postingRestrictedToMods"], false);
        assert_eq!(g["sensitive"], false);
        assert!(
            g["published"]
                .as_str()
                .unwrap()
                .parse::<chrono::DateTime<chrono::Utc>>()
                .is_ok()
        );
        assert_eq!(g["publicKey"]["id"], format!("{id}#main-key"));
        assert_eq!(g["publicKey"]["owner"], id);
        let pem = g["publicKey"]["publicKeyPem"].as_str().unwrap();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
        assert_eq!(g["tag"], json!([{ "type": "Hashtag", "name": "#carving" }]));
        assert!(g.get("privateKey").is_none() && !r.body.contains("PRIVATE"));
    }
    let r = get(&state, "/c/nothing_here", AP).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

async fn person_and_instance_actors(b: Backend) {
    let (state, _db) = test_state(b, "").await;
    seed(&state).await;
    let p = get(&state, "/u/alice", AP).await.json();
    assert_eq!(p["type"], "Person");
    assert_eq!(p["id"], "http://gh.test/u/alice");
    assert_eq!(p["preferredUsername"], "alice");
    assert_eq!(p["inbox"], "http://gh.test/u/alice/inbox");
    assert_eq!(p["outbox"], "http://gh.test/u/alice/outbox");
    assert_eq!(p["endpoints"]["sharedInbox"], "http://gh.test/inbox");
    assert_eq!(p["publicKey"]["owner"], "http://gh.test/u/alice");
    // A community's key is not its owner's.
    let g = get(&state, "/c/woodwork", AP).await.json();
    assert_ne!(
        g["publicKey"]["publicKeyPem"],
        p["publicKey"]["publicKeyPem"]
    );

    let a = get(&state, "/actor", AP).await.json();
    assert_eq!(a["type"], "Application");
    assert_eq!(a["id"], "http://gh.test/actor");
    assert_eq!(a["preferredUsername"], "gh.test");
    assert_eq!(a["publicKey"]["id"], "http://gh.test/actor#main-key");
    assert_eq!(
        a["publicKey"]["publicKeyPem"],
        state.instance_keys.public_key
    );
    let r = get(&state, "/actor", "text/html").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

async fn html_for_browsers_and_everything_escaped(b: Backend) {
    let (state, _db) = test_state(b, "").await;
    let token = seed(&state).await;
    let r = post(
        &state,
        "/api/v1/communities",
        json!({ "name": "xss", "title": "<script>alert(1)</script>", "summary": "<img src=x onerror=alert(1)>" }),
        Some(&token),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    for accept in ["text/html", "*/*", "application/json", ""] {
        let r = get(&state, "/c/xss", accept).await;
        assert_eq!(r.status, StatusCode::OK, "{accept}");
        assert!(
            r.content_type().starts_with("text/html"),
            "{accept}: {}",
            r.content_type()
        );
        assert!(
            r.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{}",
            r.body
        );
        assert!(!r.body.contains("<script>"), "{}", r.body);
        assert!(!r.body.contains("onerror"), "{}", r.body);
    }
    let home = get(&state, "/", "text/html").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("href=\"/c/woodwork\""), "{}", home.body);
    assert!(home.body.contains("Green &lt;woodworking&gt;"));
    assert!(home.body.contains("#carving"));
    let page = get(&state, "/c/woodwork", "text/html").await;
    assert!(page.body.contains("!woodwork@gh.test"));
    assert!(
        page.body.contains("http://gh.test/u/alice"),
        "moderators are listed"
    );
    let user = get(&state, "/u/alice", "text/html").await;
    assert_eq!(user.status, StatusCode::OK);
    assert!(user.body.contains("@alice@gh.test"));
    let missing = get(&state, "/c/nothing_here", "text/html").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.content_type().starts_with("text/html"));
}

async fn collections_answer(b: Backend) {
    let (state, _db) = test_state(b, "").await;
    seed(&state).await;
    let mods = get(&state, "/c/woodwork/moderators", AP).await.json();
    assert_eq!(mods["type"], "OrderedCollection");
    assert_eq!(mods["id"], "http://gh.test/c/woodwork/moderators");
    assert_eq!(mods["orderedItems"], json!(["http://gh.test/u/alice"]));
    let followers = get(&state, "/c/woodwork/followers", AP).await.json();
    assert_eq!(followers["type"], "Collection");
    assert_eq!(followers["totalItems"], 0);
    for path in [
        "/c/woodwork/outbox",
        "/c/woodwork/featured",
        "/u/alice/outbox",
        "/actor/outbox",
    ] {
        let r = get(&state, path, AP).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        let c = r.json();
        assert_eq!(c["type"], "OrderedCollection", "{path}");
        assert_eq!(c["id"], format!("http://gh.test{path}"));
        assert_eq!(c["totalItems"], 0);
        assert_eq!(c["orderedItems"], json!([]));
    }
    for path in [
        "/c/nope/outbox",
        "/c/nope/followers",
        "/c/nope/moderators",
        "/u/nope/outbox",
    ] {
        assert_eq!(
            get(&state, path, AP).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

fn self_link(jrd: &Value) -> &Value {
    jrd["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "self")
        .expect("self link")
}

async fn webfinger_one_namespace(b: Backend) {
    let (state, _db) = test_state(b, "").await;
    seed(&state).await;
    let cases = [
        (
            "acct:woodwork@gh.test",
            "http://gh.test/c/woodwork",
            "Group",
        ),
        ("acct:alice@gh.test", "http://gh.test/u/alice", "Person"),
        ("alice@gh.test", "http://gh.test/u/alice", "Person"),
        (
            "http://gh.test/c/woodwork",
            "http://gh.test/c/woodwork",
            "Group",
        ),
        (
            "acct:gh.test@gh.test",
            "http://gh.test/actor",
            "Application",
        ),
    ];
    for (resource, id, kind) in cases {
        let r = get(
            &state,
            &format!("/.well-known/webfinger?resource={resource}"),
            "*/*",
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{resource}: {}", r.body);
        assert!(r.content_type().starts_with("application/jrd+json"));
        let jrd = r.json();
        assert!(
            jrd["subject"].as_str().unwrap().starts_with("acct:"),
            "{jrd}"
        );
        assert_eq!(jrd["aliases"], json!([id]));
        let link = self_link(&jrd);
        assert_eq!(link["type"], "application/activity+json");
        assert_eq!(link["href"], id);
        assert_eq!(
            link["properties"]["https://www.w3.org/ns/activitystreams#type"],
            kind
        );
    }
    let r = get(
        &state,
        "/.well-known/webfinger?resource=acct:woodwork@gh.test",
        "*/*",
    )
    .await;
    assert_eq!(r.json()["subject"], "acct:woodwork@gh.test");
    for (q, status) in [
        ("resource=acct:nobody@gh.test", StatusCode::NOT_FOUND),
        ("resource=acct:alice@elsewhere.test", StatusCode::NOT_FOUND),
        (
            "resource=http://elsewhere.test/u/alice",
            StatusCode::NOT_FOUND,
        ),
        ("resource=acct:justaname", StatusCode::BAD_REQUEST),
        ("", StatusCode::BAD_REQUEST),
    ] {
        let r = get(&state, &format!("/.well-known/webfinger?{q}"), "*/*").await;
        assert_eq!(r.status, status, "{q}: {}", r.body);
        assert!(r.json()["error"].is_string());
    }
}

async fn nodeinfo_is_valid_2_1(b: Backend) {
    let (state, _db) = test_state(b, "").await;
    seed(&state).await;
    let wk = get(&state, "/.well-known/nodeinfo", "*/*").await.json();
    let links = wk["links"].as_array().unwrap();
    let ni = links
        .iter()
        .find(|l| l["rel"] == "http://nodeinfo.diaspora.software/ns/schema/2.1")
        .expect("2.1 link");
    assert_eq!(ni["href"], "http://gh.test/nodeinfo/2.1");
    assert!(links.iter().any(
        |l| l["rel"] == "https://www.w3.org/ns/activitystreams#Application"
            && l["href"] == "http://gh.test/actor"
    ));

    let r = get(&state, "/nodeinfo/2.1", "*/*").await;
    assert!(
        r.content_type()
            .contains("nodeinfo.diaspora.software/ns/schema/2.1")
    );
    let n = r.json();
    check_nodeinfo_schema(&n);
    assert_eq!(n["software"]["name"], "guildhall");
    assert_eq!(n["protocols"], json!(["activitypub"]));
    assert_eq!(n["openRegistrations"], true);
    assert_eq!(n["usage"]["users"]["total"], 1);
    assert_eq!(
        n["usage"]["users"]["activeMonth"], 1,
        "alice logged in just now"
    );
    assert_eq!(n["metadata"]["localCommunities"], 1);

    let hm = get(&state, "/.well-known/host-meta", "*/*").await;
    assert!(hm.content_type().starts_with("application/xrd+xml"));
    assert!(
        hm.body
            .contains("template=\"http://gh.test/.well-known/webfinger?resource={uri}\""),
        "{}",
        hm.body
    );
}

/// The constraints of the NodeInfo 2.1 JSON schema, checked by hand.
fn check_nodeinfo_schema(n: &Value) {
    let obj = n.as_object().expect("object");
    for key in [
        "version",
        "software",
        "protocols",
        "services",
        "openRegistrations",
        "usage",
        "metadata",
    ] {
        assert!(obj.contains_key(key), "required {key}");
    }
    assert_eq!(n["version"], "2.1");
    let name = n["software"]["name"].as_str().unwrap();
    assert!(
        name.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    );
    assert!(n["software"]["version"].is_string());
    let known = [
        "activitypub",
        "buddycloud",
        "dfrn",
        "diaspora",
        "libertree",
        "ostatus",
        "pumpio",
        "tent",
        "xmpp",
        "zot",
    ];
    let protocols = n["protocols"].as_array().unwrap();
    assert!(!protocols.is_empty());
    assert!(
        protocols
            .iter()
            .all(|p| known.contains(&p.as_str().unwrap()))
    );
    assert!(n["services"]["inbound"].is_array() && n["services"]["outbound"].is_array());
    assert!(n["openRegistrations"].is_boolean());
    let users = &n["usage"]["users"];
    for key in ["total", "activeMonth", "activeHalfyear"] {
        assert!(
            users[key].as_i64().is_some_and(|v| v >= 0),
            "usage.users.{key}"
        );
    }
    assert!(n["metadata"].is_object());
}
