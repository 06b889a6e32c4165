//! Hostile federation input, sent for real over HTTP to a running server: each case gets
//! the right status, nothing is stored, nothing is fetched that need not be, never a 500.
//! The attacker ("mallory" on evil.test) is a small server in this test with a real key.

use crate::support::{
    poll_until,
    process::{TestServer, client},
};
use axum::response::IntoResponse;
use guildhall::federation::signatures::PrivateKey;
use guildhall::federation::signatures::{parse_private_key, sign_request};
use http::{HeaderMap, HeaderValue, Method};
use serde_json::{Value, json};
use std::{
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

struct Evil {
    base: String,
    key: PrivateKey,
    /// Paths the server under test fetched from us.
    fetched: Arc<Mutex<Vec<String>>>,
}

impl Evil {
    fn actor(&self, name: &str) -> String {
        format!("{}/users/{name}", self.base)
    }
    fn fetches(&self) -> usize {
        self.fetched.lock().unwrap().len()
    }
}

/// Serves mallory (whose private key the test holds) and carl (another key), logging every
/// path the server under test fetches.
async fn start_evil() -> Evil {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let base = format!("http://evil.test:{port}");
    let mallory = activitypub_federation::http_signatures::generate_actor_keypair().unwrap();
    let carl = activitypub_federation::http_signatures::generate_actor_keypair().unwrap();
    let key = parse_private_key(&mallory.private_key).unwrap();
    let fetched = Arc::new(Mutex::new(Vec::new()));
    let (b, log) = (base.clone(), fetched.clone());
    let (mallory_pem, carl_pem) = (mallory.public_key, carl.public_key);
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let (b, log, mallory_pem, carl_pem) = (b.clone(), log.clone(), mallory_pem.clone(), carl_pem.clone());
        async move {
            let path = req.uri().path().to_string();
            let host = req.headers().get("host").and_then(|h| h.to_str().ok()).unwrap_or_default().to_string();
            log.lock().unwrap().push(path.clone());
            if let Some(response) = traps(&b, &host, &path).await {
                return response;
            }
            let name = path.strip_prefix("/users/").unwrap_or_default().to_string();
            let pem = match name.as_str() {
                "mallory" | "plainjson" => mallory_pem,
                "carl" => carl_pem,
                _ => return (axum::http::StatusCode::NOT_FOUND, [("content-type", "text/plain")], String::new()).into_response(),
            };
            let id = format!("{b}/users/{name}");
            let person = json!({
                "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
                "type": "Person", "id": id, "preferredUsername": name, "inbox": format!("{id}/inbox"),
                "publicKey": { "id": format!("{id}#main-key"), "owner": id, "publicKeyPem": pem }
            });
            // `plainjson` is served as application/json: not an ActivityPub document.
            let kind = if name == "plainjson" { "application/json" } else { "application/activity+json" };
            (axum::http::StatusCode::OK, [("content-type", kind)], person.to_string()).into_response()
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Evil { base, key, fetched }
}

/// Documents that attack the fetcher: a cross-host redirect, a huge actor, a byte-by-byte
/// actor, an endless reply chain and a reply cycle.
async fn traps(base: &str, host: &str, path: &str) -> Option<axum::response::Response> {
    use axum::response::IntoResponse;
    let ap = [("content-type", "application/activity+json")];
    if !host.starts_with("evil.test") {
        // Only reached by following a redirect away from evil.test.
        return Some(
            (
                axum::http::StatusCode::IM_A_TEAPOT,
                "followed a cross-host redirect",
            )
                .into_response(),
        );
    }
    let note = |id: &str, parent: &str| {
        json!({ "type": "Note", "id": format!("{base}{id}"), "attributedTo": format!("{base}/users/mallory"),
                "inReplyTo": format!("{base}{parent}"), "content": "x",
                "to": ["https://www.w3.org/ns/activitystreams#Public"] }).to_string()
    };
    Some(match path {
        "/users/redirect" => {
            let port = base.rsplit(':').next().unwrap_or_default();
            (
                axum::http::StatusCode::FOUND,
                [("location", format!("http://beta.test:{port}/users/mallory"))],
            )
                .into_response()
        }
        "/users/huge" => (
            ap,
            format!(
                "{{\"type\":\"Person\",\"summary\":\"{}\"}}",
                "x".repeat(3 * 1024 * 1024)
            ),
        )
            .into_response(),
        "/users/slow" => {
            let drip = futures::stream::unfold(0u32, |n| async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                (n < 600).then(|| (Ok::<_, std::io::Error>(vec![b' ']), n + 1))
            });
            (ap, axum::body::Body::from_stream(drip)).into_response()
        }
        p if p.starts_with("/chain/") => {
            let n: u64 = p.trim_start_matches("/chain/").parse().unwrap_or(0);
            (ap, note(p, &format!("/chain/{}", n + 1))).into_response()
        }
        // Claims to be mallory (same host, other id).
        "/users/wrongid" => {
            let id = format!("{base}/users/mallory");
            (ap, json!({ "type": "Person", "id": id, "preferredUsername": "x", "inbox": format!("{id}/inbox"),
                         "publicKey": { "id": format!("{id}#main-key"), "owner": id, "publicKeyPem": "x" } }).to_string())
                .into_response()
        }
        // A person with a 10,000-character name.
        "/users/longname" => {
            let id = format!("{base}/users/longname");
            let long = "n".repeat(10_000);
            (ap, json!({ "type": "Person", "id": id, "preferredUsername": long, "name": long,
                         "summary": "s".repeat(200_000), "inbox": format!("{id}/inbox"),
                         "publicKey": { "id": format!("{id}#main-key"), "owner": id, "publicKeyPem": "x" } }).to_string())
                .into_response()
        }
        // A group whose outbox pages never end.
        "/c/endless" => {
            let id = format!("{base}/c/endless");
            (ap, json!({ "type": "Group", "id": id, "preferredUsername": "endless", "inbox": format!("{id}/inbox"),
                         "outbox": format!("{id}/outbox"),
                         "publicKey": { "id": format!("{id}#main-key"), "owner": id, "publicKeyPem": "x" } }).to_string())
                .into_response()
        }
        "/c/endless/outbox" => (
            ap,
            json!({ "type": "OrderedCollection", "id": format!("{base}/c/endless/outbox"),
                                            "first": format!("{base}/c/endless/outbox/1") })
            .to_string(),
        )
            .into_response(),
        p if p.starts_with("/c/endless/outbox/") => {
            let n: u64 = p
                .rsplit('/')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            (ap, json!({ "type": "OrderedCollectionPage", "id": format!("{base}{p}"), "orderedItems": [],
                         "next": format!("{base}/c/endless/outbox/{}", n + 1) }).to_string()).into_response()
        }
        "/cycle/a" => (ap, note("/cycle/a", "/cycle/b")).into_response(),
        "/cycle/b" => (ap, note("/cycle/b", "/cycle/a")).into_response(),
        _ => return None,
    })
}

/// Counts of every table an inbox could write to.
async fn tables(server: &TestServer) -> Vec<i64> {
    let url = format!(
        "sqlite://{}?mode=ro",
        server.dir.path().join("data/guildhall.db").display()
    );
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    let mut out = Vec::new();
    for t in [
        "posts",
        "votes",
        "community_followers",
        "received_activities",
        "activities",
        "deliveries",
        "communities",
        "fanouts",
    ] {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {t}")))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        out.push(n);
    }
    out
}

/// How a request is spoiled after signing.
type Tweak = Box<dyn FnOnce(&mut HeaderMap, &mut Vec<u8>)>;

/// POSTs `body` to `path`, signed by `key_id` with `key` at `date`, then applies `tweak`.
async fn post_signed(
    server: &TestServer,
    path: &str,
    body: &[u8],
    key_id: &str,
    key: &PrivateKey,
    date: SystemTime,
    tweak: Tweak,
) -> (u16, Option<String>) {
    let url = url::Url::parse(&format!("{}{path}", server.base_url)).unwrap();
    let mut headers = HeaderMap::new();
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/activity+json"),
    );
    sign_request(
        &Method::POST,
        &url,
        &mut headers,
        Some(body),
        key_id,
        key,
        date,
    )
    .unwrap();
    let mut body = body.to_vec();
    tweak(&mut headers, &mut body);
    headers.remove("host"); // reqwest sets it from the URL
    let r = client()
        .post(url.clone())
        .headers(headers)
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url} (key {key_id}): {e}\n{}", server.log()));
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    (r.status().as_u16(), retry)
}

/// One hostile request: what, body, key id, date, tweak, expected status.
type Case = (&'static str, Vec<u8>, String, SystemTime, Tweak, u16);

fn none() -> Tweak {
    Box::new(|_, _| {})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_inbox_requests_change_nothing() {
    let alpha = TestServer::start_named(
        "alpha.test",
        "",
        "[limits]\ninbox_per_second = 1000.0\ninbox_burst = 5000.0\n",
    )
    .await;
    let out = alpha.cli(
        &["admin", "create-user", "owner"],
        "correct horse battery\n",
    );
    assert!(out.status.success());
    let out = alpha.cli(
        &["admin", "create-community", "woodwork", "--owner", "owner"],
        "",
    );
    assert!(out.status.success());
    let evil = start_evil().await;
    let group = format!("{}/c/woodwork", alpha.base_url);
    let mallory = evil.actor("mallory");
    let key_id = format!("{mallory}#main-key");
    let follow = |n: u32| {
        json!({ "id": format!("{}/activities/follow/{n}", evil.base), "type": "Follow", "actor": mallory, "object": group })
            .to_string()
            .into_bytes()
    };
    let now = SystemTime::now();
    let before = tables(&alpha).await;

    // (what, body, key id, date, tweak, expected status)
    let cases: Vec<Case> = vec![
        ("no Signature header", follow(1), key_id.clone(), now, Box::new(|h, _| { h.remove("signature"); }), 401),
        ("signed by carl's key id for mallory's activity", follow(2), format!("{}#main-key", evil.actor("carl")), now, none(), 401),
        ("body changed after signing", follow(3), key_id.clone(), now, Box::new(|_, b| { b.push(b' '); }), 401),
        ("Digest missing", follow(4), key_id.clone(), now, Box::new(|h, _| { h.remove("digest"); }), 401),
        ("Digest wrong", follow(5), key_id.clone(), now, Box::new(|h, _| { h.insert("digest", HeaderValue::from_static("SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")); }), 401),
        ("Digest not signed", follow(6), key_id.clone(), now, Box::new(|h, _| {
            let s = h["signature"].to_str().unwrap().replace(" digest", "");
            h.insert("signature", HeaderValue::from_str(&s).unwrap());
        }), 401),
        ("date not signed", follow(7), key_id.clone(), now, Box::new(|h, _| {
            let s = h["signature"].to_str().unwrap().replace(" date", "");
            h.insert("signature", HeaderValue::from_str(&s).unwrap());
        }), 401),
        ("Date a day old", follow(8), key_id.clone(), now - Duration::from_secs(86_400), none(), 401),
        ("Date two hours ahead", follow(9), key_id.clone(), now + Duration::from_secs(7200), none(), 401),
        ("Date unparseable", follow(10), key_id.clone(), now, Box::new(|h, _| { h.insert("date", HeaderValue::from_static("yesterday")); }), 401),
        ("signature for another path", follow(11), key_id.clone(), now, Box::new(|h, _| {
            // Signed for /inbox, sent to /c/woodwork/inbox below.
            let _ = h;
        }), 202),
        ("not JSON", b"{not json".to_vec(), key_id.clone(), now, none(), 400),
        ("invalid UTF-8", vec![0xff, 0xfe, 0x7b], key_id.clone(), now, none(), 400),
        ("missing id", json!({ "type": "Follow", "actor": mallory, "object": group }).to_string().into_bytes(), key_id.clone(), now, none(), 400),
        ("null actor", json!({ "id": format!("{}/a/1", evil.base), "type": "Follow", "actor": null, "object": group }).to_string().into_bytes(), key_id.clone(), now, none(), 400),
        ("missing object", json!({ "id": format!("{}/a/2", evil.base), "type": "Follow", "actor": mallory }).to_string().into_bytes(), key_id.clone(), now, none(), 400),
        ("an array, not an object", b"[1,2,3]".to_vec(), key_id.clone(), now, none(), 400),
        ("activity id on another host than its actor", json!({ "id": "http://beta.test/activities/1", "type": "Follow", "actor": mallory, "object": group }).to_string().into_bytes(), key_id.clone(), now, none(), 403),
        ("activity id on our own host", json!({ "id": format!("{}/activities/x", alpha.base_url), "type": "Follow", "actor": mallory, "object": group }).to_string().into_bytes(), key_id.clone(), now, none(), 403),
        ("Create of an object on a third host", json!({
            "id": format!("{}/activities/create/1", evil.base), "type": "Create", "actor": mallory,
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "object": { "type": "Page", "id": "http://beta.test/post/1", "attributedTo": mallory, "name": "x", "content": "x",
                        "to": [group, "https://www.w3.org/ns/activitystreams#Public"], "audience": group }
        }).to_string().into_bytes(), key_id.clone(), now, none(), 400),
        ("Create attributed to someone else", json!({
            "id": format!("{}/activities/create/2", evil.base), "type": "Create", "actor": mallory,
            "object": { "type": "Page", "id": format!("{}/post/2", evil.base), "attributedTo": evil.actor("carl"), "name": "x", "content": "x",
                        "to": [group, "https://www.w3.org/ns/activitystreams#Public"], "audience": group }
        }).to_string().into_bytes(), key_id.clone(), now, none(), 403),
        ("Create of an object with our id", json!({
            "id": format!("{}/activities/create/3", evil.base), "type": "Create", "actor": mallory,
            "object": { "type": "Page", "id": format!("{}/post/abc", alpha.base_url), "attributedTo": mallory, "name": "x", "content": "x",
                        "to": [group, "https://www.w3.org/ns/activitystreams#Public"], "audience": group }
        }).to_string().into_bytes(), key_id.clone(), now, none(), 400),
        ("Delete of an object mallory does not own", json!({
            "id": format!("{}/activities/delete/1", evil.base), "type": "Delete", "actor": mallory, "object": format!("{}/post/none", alpha.base_url)
        }).to_string().into_bytes(), key_id.clone(), now, none(), 202),
        ("unknown type", json!({ "id": format!("{}/a/3", evil.base), "type": "Bite", "actor": mallory, "object": group }).to_string().into_bytes(), key_id.clone(), now, none(), 202),
        ("body over 1 MiB", vec![b' '; 1024 * 1024 + 10], key_id.clone(), now, none(), 413),
    ];
    for (what, body, kid, date, tweak, want) in cases {
        let path = if what == "signature for another path" {
            "/c/woodwork/inbox"
        } else {
            "/inbox"
        };
        let (status, _) = if what == "signature for another path" {
            // Sign for /inbox, send to another path.
            let url = url::Url::parse(&format!("{}/inbox", alpha.base_url)).unwrap();
            let mut h = HeaderMap::new();
            h.insert(
                "content-type",
                HeaderValue::from_static("application/activity+json"),
            );
            sign_request(
                &Method::POST,
                &url,
                &mut h,
                Some(&body),
                &kid,
                &evil.key,
                date,
            )
            .unwrap();
            h.remove("host");
            let r = client()
                .post(format!("{}{path}", alpha.base_url))
                .headers(h)
                .body(body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), None)
        } else {
            post_signed(&alpha, path, &body, &kid, &evil.key, date, tweak).await
        };
        let want = if what == "signature for another path" {
            401
        } else {
            want
        };
        assert_eq!(status, want, "{what}");
        assert_eq!(tables(&alpha).await, before, "{what} changed the database");
    }

    // A replayed valid Follow has no second effect.
    let body = follow(100);
    let (s1, _) = post_signed(
        &alpha,
        "/inbox",
        &body,
        &key_id,
        &evil.key,
        SystemTime::now(),
        none(),
    )
    .await;
    assert_eq!(s1, 202);
    // The Accept goes out (and is refused by evil.test); wait until the queue is empty.
    let after_one = poll_until(
        Duration::from_secs(30),
        "the Accept delivery to finish",
        || async {
            let t = tables(&alpha).await;
            (t[5] == 0).then_some(t)
        },
    )
    .await;
    let (s2, _) = post_signed(
        &alpha,
        "/inbox",
        &body,
        &key_id,
        &evil.key,
        SystemTime::now(),
        none(),
    )
    .await;
    assert_eq!(s2, 202);
    assert_eq!(
        tables(&alpha).await,
        after_one,
        "a replay changed the database"
    );
    let followers: Value = alpha
        .get("/c/woodwork/followers", "application/activity+json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(followers["totalItems"], 1);

    // The same id again with another body is ignored too.
    let mut other = serde_json::from_slice::<Value>(&body).unwrap();
    other["object"] = json!(format!("{}/c/other", alpha.base_url));
    let (s3, _) = post_signed(
        &alpha,
        "/inbox",
        other.to_string().as_bytes(),
        &key_id,
        &evil.key,
        SystemTime::now(),
        none(),
    )
    .await;
    assert_eq!(s3, 202);
    assert_eq!(
        tables(&alpha).await,
        after_one,
        "same id, other body changed the database"
    );

    // Signed for alpha.test, sent to the same server under another host name.
    let url = url::Url::parse(&format!("{}/inbox", alpha.base_url)).unwrap();
    let body = follow(101);
    let mut h = HeaderMap::new();
    h.insert(
        "content-type",
        HeaderValue::from_static("application/activity+json"),
    );
    sign_request(
        &Method::POST,
        &url,
        &mut h,
        Some(&body),
        &key_id,
        &evil.key,
        SystemTime::now(),
    )
    .unwrap();
    h.remove("host");
    let r = client()
        .post(format!("http://127.0.0.1:{}/inbox", alpha.port))
        .headers(h)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "a signature made for another host");

    // An actor document served as plain JSON is not accepted as a key.
    let plain = evil.actor("plainjson");
    let body = json!({ "id": format!("{}/activities/follow/p", evil.base), "type": "Follow", "actor": plain, "object": group }).to_string();
    let (status, _) = post_signed(
        &alpha,
        "/inbox",
        body.as_bytes(),
        &format!("{plain}#main-key"),
        &evil.key,
        SystemTime::now(),
        none(),
    )
    .await;
    assert_eq!(status, 401);

    // Deleting or editing someone else's post is refused; the post stays.
    let token: Value = client()
        .post(format!("{}/api/v1/sessions", alpha.base_url))
        .json(&json!({ "username": "owner", "password": "correct horse battery" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let post: Value = client()
        .post(format!(
            "{}/api/v1/communities/woodwork/posts",
            alpha.base_url
        ))
        .bearer_auth(token["token"].as_str().unwrap())
        .json(&json!({ "title": "Mine", "body": "x" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Drained: no delivery waiting, and no fan-out left to expand into deliveries.
    let snapshot = poll_until(Duration::from_secs(30), "the queue to drain", || async {
        let t = tables(&alpha).await;
        (t[5] == 0 && t[7] == 0).then_some(t)
    })
    .await;
    let delete = json!({ "id": format!("{}/activities/delete/2", evil.base), "type": "Delete", "actor": mallory, "object": post["ap_id"] }).to_string();
    let (status, _) = post_signed(
        &alpha,
        "/inbox",
        delete.as_bytes(),
        &key_id,
        &evil.key,
        SystemTime::now(),
        none(),
    )
    .await;
    assert_eq!(status, 403, "delete of someone else's post");
    let update = json!({ "id": format!("{}/activities/update/2", evil.base), "type": "Update", "actor": mallory,
        "object": { "type": "Page", "id": post["ap_id"], "attributedTo": mallory, "name": "Hijacked", "content": "x" } }).to_string();
    let (status, _) = post_signed(
        &alpha,
        "/inbox",
        update.as_bytes(),
        &key_id,
        &evil.key,
        SystemTime::now(),
        none(),
    )
    .await;
    assert!(
        status == 400 || status == 403,
        "update of someone else's post: {status}"
    );
    assert_eq!(tables(&alpha).await, snapshot);
    let feed: Value = client()
        .get(format!(
            "{}/api/v1/communities/woodwork/posts",
            alpha.base_url
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(feed["items"][0]["title"], "Mine");

    // A chunked body over the limit, and a gzip-encoded body (never decompressed).
    let big =
        futures::stream::iter((0..40).map(|_| Ok::<_, std::io::Error>(vec![b' '; 32 * 1024])));
    let r = client()
        .post(format!("{}/inbox", alpha.base_url))
        .header("content-type", "application/activity+json")
        .body(reqwest::Body::wrap_stream(big))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413, "chunked body over 1 MiB");
    let gz = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&follow(102)).unwrap();
        e.finish().unwrap()
    };
    let (status, _) = post_signed(
        &alpha,
        "/inbox",
        &gz,
        &key_id,
        &evil.key,
        SystemTime::now(),
        Box::new(|h, _| {
            h.insert("content-encoding", HeaderValue::from_static("gzip"));
        }),
    )
    .await;
    assert_eq!(status, 400, "gzip body");
    assert_eq!(tables(&alpha).await, snapshot);

    // A blocked instance is refused before anything is fetched from it.
    let out = alpha.cli(
        &[
            "admin",
            "federation",
            "block",
            "evil.test",
            "--reason",
            "test",
        ],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fetches = evil.fetches();
    let blocked_body = json!({ "id": format!("{}/activities/like/1", evil.base), "type": "Like", "actor": evil.actor("carl"), "object": group }).to_string().into_bytes();
    let (status, _) = post_signed(
        &alpha,
        "/inbox",
        &blocked_body,
        &format!("{}#main-key", evil.actor("carl")),
        &evil.key,
        SystemTime::now(),
        none(),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        evil.fetches(),
        fetches,
        "nothing fetched from a blocked instance"
    );
    assert_eq!(tables(&alpha).await, snapshot);
    // ... and nothing is delivered to it: mallory still follows, but a new post does not reach her.
    let to_inbox = || {
        evil.fetched
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.ends_with("/inbox"))
            .count()
    };
    let delivered_before = to_inbox();
    client()
        .post(format!(
            "{}/api/v1/communities/woodwork/posts",
            alpha.base_url
        ))
        .bearer_auth(token["token"].as_str().unwrap())
        .json(&json!({ "title": "Not for evil", "body": "x" }))
        .send()
        .await
        .unwrap();
    poll_until(Duration::from_secs(30), "the queue to drain", || async {
        let t = tables(&alpha).await;
        (t[5] == 0 && t[7] == 0).then_some(())
    })
    .await;
    assert_eq!(
        to_inbox(),
        delivered_before,
        "a blocked instance gets no deliveries"
    );
    let out = alpha.cli(&["admin", "federation", "unblock", "evil.test"], "");
    assert!(out.status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_bad_posts_is_rate_limited_without_slowing_others() {
    let alpha = TestServer::start_named(
        "alpha.test",
        "",
        "[limits]\ninbox_per_second = 20.0\ninbox_burst = 40.0\ninbox_refused_cost = 20.0\n",
    )
    .await;
    let flooder = reqwest::Client::builder()
        .local_address("127.0.0.3".parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    let honest = reqwest::Client::builder()
        .local_address("127.0.0.4".parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    let inbox = format!("http://127.0.0.1:{}/inbox", alpha.port);
    let mut limited = None;
    for _ in 0..300 {
        let r = flooder
            .post(&inbox)
            .header("content-type", "application/activity+json")
            .body("{bad")
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            limited = r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(String::from);
            break;
        }
        assert_eq!(r.status(), 400);
    }
    let retry_after = limited.expect("the flood is answered 429");
    assert!(retry_after.parse::<u64>().unwrap() >= 1);
    // Another client is not affected.
    let started = std::time::Instant::now();
    let r = honest
        .post(&inbox)
        .header("content-type", "application/activity+json")
        .body("{bad")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "another address keeps its own budget");
    assert!(started.elapsed() < Duration::from_secs(2));
    // Logins are limited per address too.
    let login = format!("http://127.0.0.1:{}/api/v1/sessions", alpha.port);
    let statuses = poll_until(Duration::from_secs(10), "the login limit", || async {
        let r = flooder
            .post(&login)
            .json(&json!({ "username": "x", "password": "wrong password" }))
            .send()
            .await
            .ok()?;
        (r.status() == 429).then_some(r.status())
    })
    .await;
    assert_eq!(statuses, 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_address_is_never_fetched_in_production_mode() {
    // Without the test switch, an actor at a private address is refused before connecting.
    let mut server = TestServer::start("", "").await;
    let body = json!({ "id": "https://10.0.0.1/activities/1", "type": "Follow", "actor": "https://10.0.0.1/users/x", "object": "https://10.0.0.1/c/y" }).to_string();
    let pair = activitypub_federation::http_signatures::generate_actor_keypair().unwrap();
    let key = parse_private_key(&pair.private_key).unwrap();
    for actor in [
        "https://10.0.0.1/users/x",
        "https://169.254.169.254/users/x",
        "https://[::1]/users/x",
        "https://localhost/users/x",
        "http://example.org/users/x",
    ] {
        let body = body.replace("https://10.0.0.1/users/x", actor).replace(
            "https://10.0.0.1/activities/1",
            &format!("{actor}/activity"),
        );
        let (status, _) = post_signed(
            &server,
            "/inbox",
            body.as_bytes(),
            &format!("{actor}#main-key"),
            &key,
            SystemTime::now(),
            none(),
        )
        .await;
        assert_eq!(
            status, 401,
            "{actor}: cannot fetch the key, so the signature cannot verify"
        );
    }
    server.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_documents_do_not_make_us_fetch_without_end() {
    let alpha = TestServer::start_named("alpha.test", "", "request_timeout_secs = 2\n").await;
    assert!(
        alpha
            .cli(
                &["admin", "create-user", "owner"],
                "correct horse battery\n"
            )
            .status
            .success()
    );
    assert!(
        alpha
            .cli(
                &["admin", "create-community", "woodwork", "--owner", "owner"],
                ""
            )
            .status
            .success()
    );
    let evil = start_evil().await;
    let group = format!("{}/c/woodwork", alpha.base_url);
    let before = tables(&alpha).await;

    // Keys behind a cross-host redirect, in a 3 MiB document, or dripped byte by byte.
    // (`wrongid` claims another id of its host: the library refetches that id once.)
    for (name, max_secs) in [("redirect", 5), ("huge", 5), ("slow", 8), ("wrongid", 5)] {
        let actor = evil.actor(name);
        let body = json!({ "id": format!("{}/activities/{name}", evil.base), "type": "Follow", "actor": actor, "object": group }).to_string();
        let started = std::time::Instant::now();
        let (status, _) = post_signed(
            &alpha,
            "/inbox",
            body.as_bytes(),
            &format!("{actor}#main-key"),
            &evil.key,
            SystemTime::now(),
            none(),
        )
        .await;
        assert_eq!(status, 401, "{name}: the key cannot be had");
        assert!(
            started.elapsed() < Duration::from_secs(max_secs),
            "{name} took {:?}",
            started.elapsed()
        );
    }
    let followed = evil
        .fetched
        .lock()
        .unwrap()
        .iter()
        .filter(|p| *p == "/users/mallory")
        .count();
    assert_eq!(
        followed, 1,
        "only wrongid's claimed id was fetched; the cross-host redirect was not followed"
    );

    // A reply to an endless chain, and to a cycle: a bounded number of fetches, then 400.
    let mallory = evil.actor("mallory");
    for (n, parent) in [(1, "/chain/0"), (2, "/cycle/a")] {
        let fetched_before = evil.fetches();
        let create = json!({
            "id": format!("{}/activities/create/r{n}", evil.base), "type": "Create", "actor": mallory,
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "object": { "type": "Note", "id": format!("{}/replies/{n}", evil.base), "attributedTo": mallory,
                        "inReplyTo": format!("{}{parent}", evil.base), "content": "x",
                        "to": ["https://www.w3.org/ns/activitystreams#Public"] }
        }).to_string();
        let (status, _) = post_signed(
            &alpha,
            "/inbox",
            create.as_bytes(),
            &format!("{mallory}#main-key"),
            &evil.key,
            SystemTime::now(),
            none(),
        )
        .await;
        assert_eq!(status, 400, "{parent}");
        let fetched = evil.fetches() - fetched_before;
        assert!(
            fetched <= 27,
            "{parent}: {fetched} fetches for one activity"
        );
    }

    // Thousands of recipients (as many as fit the body limit) are looked at no further than
    // the first few.
    let many: Vec<String> = (0..5_000)
        .map(|i| format!("{}/nobody/{i}", evil.base))
        .collect();
    let create = json!({
        "id": format!("{}/activities/create/many", evil.base), "type": "Create", "actor": mallory,
        "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": many,
        "object": { "type": "Note", "id": format!("{}/notes/many", evil.base), "attributedTo": mallory, "content": "x",
                    "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": many }
    }).to_string();
    let started = std::time::Instant::now();
    let (status, _) = post_signed(
        &alpha,
        "/inbox",
        create.as_bytes(),
        &format!("{mallory}#main-key"),
        &evil.key,
        SystemTime::now(),
        none(),
    )
    .await;
    assert_eq!(status, 400, "addressed to no community we know");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(tables(&alpha).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_names_are_cut_and_endless_collections_read_once() {
    let evil = start_evil().await;
    let toml = "[federation]\nallow_private_addresses = true\nresolve = { \"evil.test\" = \"127.0.0.1\" }\n";
    let (state, _db) = crate::support::test_state(crate::support::Backend::Sqlite, toml).await;
    let data = crate::support::federation_data(&state).await;
    let actor = url::Url::parse(&evil.actor("longname")).unwrap();
    let guildhall::federation::activities::ActorRef::Person(p) =
        guildhall::federation::activities::find_or_fetch_actor(&actor, &data, false)
            .await
            .unwrap()
    else {
        panic!("a person");
    };
    // A username too long for WebFinger is not clipped (two such names would become one):
    // the id's last segment names the actor, as Mastodon and Lemmy fall back.
    assert_eq!(p.name, "longname");
    assert_eq!(p.display_name.unwrap().chars().count(), 200);
    assert!(p.bio_html.unwrap().len() <= 60_000);

    let group = url::Url::parse(&format!("{}/c/endless", evil.base)).unwrap();
    let community = guildhall::domain::follows::resolve_community(&data, group.as_str())
        .await
        .unwrap();
    let before = evil.fetches();
    let stored = guildhall::domain::follows::backfill(&data.reset_request_count(), &community)
        .await
        .unwrap();
    assert_eq!(stored, 0);
    assert_eq!(
        evil.fetches() - before,
        2,
        "the outbox and its first page, nothing more"
    );
}

/// §3.6: N activities naming an actor that cannot be fetched cost one fetch (a short
/// negative cache), not N; each is still refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unfetchable_actor_is_asked_for_once() {
    let alpha = TestServer::start_named("alpha.test", "", "").await;
    let evil = start_evil().await;
    let ghost = evil.actor("ghost"); // evil answers 404 for it
    let like = |n: usize| {
        json!({ "id": format!("{}/likes/{n}", evil.base), "type": "Like",
                "actor": ghost, "object": format!("{}/post/x", alpha.base_url) })
        .to_string()
    };
    let send = |body: String| {
        let (alpha, evil, ghost) = (&alpha, &evil, &ghost);
        async move {
            let key_id = format!("{ghost}#main-key");
            let now = SystemTime::now();
            post_signed(
                alpha,
                "/inbox",
                body.as_bytes(),
                &key_id,
                &evil.key,
                now,
                none(),
            )
            .await
            .0
        }
    };
    // Eight at once (one fetch, the others wait for it), then eight one after another.
    let at_once = futures::future::join_all((0..8).map(|n| send(like(n)))).await;
    assert_eq!(at_once, vec![401; 8]);
    for n in 8..16 {
        assert_eq!(send(like(n)).await, 401, "activity {n}");
    }
    let asked = evil
        .fetched
        .lock()
        .unwrap()
        .iter()
        .filter(|p| p.as_str() == "/users/ghost")
        .count();
    assert_eq!(asked, 1, "{:?}", evil.fetched.lock().unwrap());
}
