//! The delivery engine against a remote instance played by this test ("remote.test": Person
//! actors with a real key, inboxes that record every POST): several deliveries in flight to
//! one distant instance, in order per subject; two processes sharing one PostgreSQL queue
//! without sending anything twice.

use crate::{
    federation::User,
    support::{
        Backend, poll_until,
        process::{TestServer, client},
        test_db,
    },
};
use guildhall::federation::signatures::{PrivateKey, parse_private_key, sign_request};
use http::{HeaderMap, HeaderValue, Method};
use serde_json::{Value, json};
use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, SystemTime},
};

const WAIT: Duration = Duration::from_secs(60);

/// A remote instance: actors `/users/{n}` (one key for all), each with its own inbox
/// `/users/{n}/inbox` that answers after `delay` and records what it received.
pub(crate) struct Remote {
    pub(crate) base: String,
    key: PrivateKey,
    /// (inbox path, activity JSON) in arrival order.
    pub(crate) received: Arc<Mutex<Vec<(String, Value)>>>,
    /// Most POSTs being answered at once.
    most_in_flight: Arc<AtomicUsize>,
    /// Objects served at their path (see `serve`).
    objects: Objects,
    /// POSTs still to be answered 401 (see `answer_unauthorized`).
    unauthorized: Arc<AtomicUsize>,
    /// The public key of every actor here (PEM), for actors a test serves itself.
    pub(crate) public_pem: String,
}

/// An object served at a path: its JSON, a delay before answering, failures (500) first.
type Objects = Arc<Mutex<HashMap<String, (Value, Duration, u32)>>>;

pub(crate) async fn start_remote(delay: Duration) -> Remote {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!(
        "http://remote.test:{}",
        listener.local_addr().unwrap().port()
    );
    let pair = activitypub_federation::http_signatures::generate_actor_keypair().unwrap();
    let key = parse_private_key(&pair.private_key).unwrap();
    let received = Arc::new(Mutex::new(Vec::new()));
    let most_in_flight = Arc::new(AtomicUsize::new(0));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let objects: Objects = Arc::default();
    let unauthorized = Arc::new(AtomicUsize::new(0));
    let unauth = unauthorized.clone();
    let public_pem = pair.public_key.clone();
    let (b, rec, most, pem, objs) = (
        base.clone(),
        received.clone(),
        most_in_flight.clone(),
        pair.public_key,
        objects.clone(),
    );
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let (b, rec, most, pem, in_flight, objs) = (b.clone(), rec.clone(), most.clone(), pem.clone(), in_flight.clone(), objs.clone());
        let unauth = unauth.clone();
        async move {
            let path = req.uri().path().to_string();
            let served = {
                let mut objs = objs.lock().unwrap();
                objs.get_mut(&path).map(|(v, delay, failures)| {
                    let fail = *failures > 0;
                    *failures = failures.saturating_sub(1);
                    (v.clone(), *delay, fail)
                })
            };
            if let Some((object, delay, fail)) = served {
                if fail {
                    return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, [("content-type", "text/plain")], "down".to_string());
                }
                tokio::time::sleep(delay).await;
                return (axum::http::StatusCode::OK, [("content-type", "application/activity+json")], object.to_string());
            }
            if req.method() == Method::POST
                && unauth.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
            {
                return (axum::http::StatusCode::UNAUTHORIZED, [("content-type", "text/plain")], "bad signature".to_string());
            }
            if req.method() == Method::POST {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                let body = axum::body::to_bytes(req.into_body(), 1 << 20).await.unwrap_or_default();
                tokio::time::sleep(delay).await;
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                rec.lock().unwrap().push((path, v));
                in_flight.fetch_sub(1, Ordering::SeqCst);
                return (axum::http::StatusCode::ACCEPTED, [("content-type", "application/json")], String::new());
            }
            let id = format!("{b}{path}");
            let name = path.rsplit('/').next().unwrap_or_default();
            let person = json!({
                "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
                "type": "Person", "id": id, "preferredUsername": format!("u{name}"),
                "inbox": format!("{id}/inbox"),
                "publicKey": { "id": format!("{id}#main-key"), "owner": id, "publicKeyPem": pem }
            });
            (axum::http::StatusCode::OK, [("content-type", "application/activity+json")], person.to_string())
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Remote {
        base,
        key,
        received,
        most_in_flight,
        objects,
        public_pem,
        unauthorized,
    }
}

impl Remote {
    /// Remote actor `n` follows `group` on `server` (a signed Follow to its inbox).
    pub(crate) async fn follow(&self, server: &TestServer, group: &str, n: usize) {
        let actor = format!("{}/users/{n}", self.base);
        let body = json!({ "id": format!("{}/follows/{n}", self.base), "type": "Follow",
                           "actor": actor, "object": group });
        let status = self.send(server, &actor, body).await;
        assert!((200..300).contains(&status), "follow {n}: {status}");
    }

    /// Answers the next `n` POSTs 401, as a peer still holding an old key of ours would.
    pub(crate) fn answer_unauthorized(&self, n: usize) {
        self.unauthorized.store(n, Ordering::SeqCst);
    }

    /// Serves `object` at `path` after `delay`, answering 500 the first `failures` times.
    pub(crate) fn serve(&self, path: &str, object: Value, delay: Duration, failures: u32) {
        self.objects
            .lock()
            .unwrap()
            .insert(path.to_string(), (object, delay, failures));
    }

    /// POSTs `body` to `server`'s shared inbox, signed by `actor`; the status.
    pub(crate) async fn send(&self, server: &TestServer, actor: &str, body: Value) -> u16 {
        self.send_for(server, actor, body).await.0
    }

    /// Like `send`; the status and the JSON answer.
    pub(crate) async fn send_for(
        &self,
        server: &TestServer,
        actor: &str,
        body: Value,
    ) -> (u16, Value) {
        let body = body.to_string();
        let url = url::Url::parse(&format!("{}/inbox", server.base_url)).unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            "content-type",
            HeaderValue::from_static("application/activity+json"),
        );
        sign_request(
            &Method::POST,
            &url,
            &mut h,
            Some(body.as_bytes()),
            &format!("{actor}#main-key"),
            &self.key,
            SystemTime::now(),
        )
        .unwrap();
        h.remove("host");
        let r = client()
            .post(url)
            .headers(h)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// GETs `url` as ActivityPub JSON with a signature by `actor`; the status.
    pub(crate) async fn signed_get(&self, url: &str, actor: &str) -> u16 {
        let url = url::Url::parse(url).unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            "accept",
            HeaderValue::from_static("application/activity+json"),
        );
        sign_request(
            &Method::GET,
            &url,
            &mut h,
            None,
            &format!("{actor}#main-key"),
            &self.key,
            SystemTime::now(),
        )
        .unwrap();
        h.remove("host");
        let r = client().get(url).headers(h).send().await.unwrap();
        r.status().as_u16()
    }

    /// Like `signed_get`, but a signature that leaves the Host header out (as one made for
    /// another server and replayed would): `(request-target) date` only.
    pub(crate) async fn signed_get_without_host(&self, url: &str, actor: &str) -> u16 {
        use base64::Engine;
        let url = url::Url::parse(url).unwrap();
        let date = httpdate::fmt_http_date(SystemTime::now());
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        let text = format!("(request-target): get {path}\ndate: {date}");
        let signature = base64::engine::general_purpose::STANDARD
            .encode(self.key.sign(text.as_bytes()).unwrap());
        let header = format!(
            "keyId=\"{actor}#main-key\",algorithm=\"rsa-sha256\",\
             headers=\"(request-target) date\",signature=\"{signature}\""
        );
        let r = client()
            .get(url)
            .header("accept", "application/activity+json")
            .header("date", date)
            .header("signature", header)
            .send()
            .await
            .unwrap();
        r.status().as_u16()
    }

    /// Serves a NodeInfo that names `software` at `version`.
    pub(crate) fn runs(&self, software: &str, version: &str) {
        let href = format!("{}/nodeinfo/2.1", self.base);
        let links = json!({ "links": [{
            "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": href }] });
        self.serve("/.well-known/nodeinfo", links, Duration::ZERO, 0);
        let info = json!({ "version": "2.1",
            "software": { "name": software, "version": version },
            "protocols": ["activitypub"], "openRegistrations": false,
            "usage": { "users": {} }, "services": { "inbound": [], "outbound": [] },
            "metadata": {} });
        self.serve("/nodeinfo/2.1", info, Duration::ZERO, 0);
    }

    pub(crate) fn count(&self, pred: impl Fn(&Value) -> bool) -> usize {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, v)| pred(v))
            .count()
    }
}

/// The id of what an Announce carries (the activity's object, or the object itself).
fn subject(announce: &Value) -> String {
    let inner = &announce["object"];
    let obj = if inner["object"].is_null() {
        inner
    } else {
        &inner["object"]
    };
    obj.as_str()
        .map(String::from)
        .or_else(|| obj["id"].as_str().map(String::from))
        .unwrap_or_default()
}

fn inner_type(announce: &Value) -> String {
    announce["object"]["type"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_distant_instance_gets_several_deliveries_at_once_in_order_per_post() {
    // Every answer takes 300 ms: one at a time this would be ~3 a second.
    let remote = start_remote(Duration::from_millis(300)).await;
    let alpha = TestServer::start_named("alpha.test", "", "").await;
    let alice = User::create(&alpha, "alice").await;
    alice
        .post(
            "/communities",
            json!({ "name": "woodwork", "title": "Green woodworking" }),
        )
        .await;
    let group = format!("{}/c/woodwork", alpha.base_url);
    remote.follow(&alpha, &group, 1).await;
    poll_until(WAIT, "the Accept", || async {
        (remote.count(|v| v["type"] == "Accept") == 1).then_some(())
    })
    .await;

    // Twenty posts, each then edited and deleted: 20 × (Create, Page, Update, Page, Delete).
    let mut ids = Vec::new();
    for n in 0..20 {
        let p = alice
            .post(
                "/communities/woodwork/posts",
                json!({ "title": format!("Post {n}"), "body": "x" }),
            )
            .await;
        ids.push(p["id"].as_i64().unwrap());
    }
    for id in &ids {
        let (s, _) = alice
            .call(
                reqwest::Method::PATCH,
                &format!("/posts/{id}"),
                Some(json!({ "title": "Edited", "body": "y" })),
            )
            .await;
        assert_eq!(s, 200);
        let (s, _) = alice
            .call(reqwest::Method::DELETE, &format!("/posts/{id}"), None)
            .await;
        assert!(s == 200 || s == 204, "{s}");
    }
    poll_until(WAIT, "100 announces", || async {
        let n = remote.count(|v| v["type"] == "Announce");
        (n >= 100).then_some(n)
    })
    .await;
    let most = remote.most_in_flight.load(Ordering::SeqCst);
    assert!(
        most > 1,
        "several deliveries were in flight at once (most {most})"
    );
    assert!(
        most <= 32,
        "at most delivery_per_instance (32) at once, saw {most}"
    );

    // Per post, the announces arrived in the order they were queued.
    let mut per_post: HashMap<String, Vec<String>> = HashMap::new();
    for (_, v) in remote
        .received
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, v)| v["type"] == "Announce")
    {
        per_post.entry(subject(v)).or_default().push(inner_type(v));
    }
    assert_eq!(per_post.len(), 20, "{per_post:?}");
    for (post, kinds) in &per_post {
        assert_eq!(
            kinds,
            // (an edit is also announced as the bare, updated object, for Mastodon)
            &["Create", "Page", "Update", "Page", "Delete"],
            "post {post}"
        );
    }
    // Nothing twice.
    let mut ids: Vec<String> = remote
        .received
        .lock()
        .unwrap()
        .iter()
        .map(|(_, v)| v["id"].as_str().unwrap_or_default().to_string())
        .collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "no activity delivered twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_postgresql_queue_and_send_nothing_twice() {
    let remote = start_remote(Duration::from_millis(40)).await;
    let pg = test_db(Backend::Postgres).await;
    // Few in flight per process, so that the work takes long enough to be shared.
    let tuning = "delivery_concurrency = 4\ndelivery_per_instance = 4\n";
    let first = TestServer::start_named("alpha.test", &pg.url, tuning).await;
    let second = first.another_process().await;
    let alice = User::create(&first, "alice").await;
    alice
        .post(
            "/communities",
            json!({ "name": "woodwork", "title": "Green woodworking" }),
        )
        .await;
    let group = format!("{}/c/woodwork", first.base_url);
    let followers = 12;
    for n in 0..followers {
        remote.follow(&first, &group, n).await;
    }
    poll_until(WAIT, "the Accepts", || async {
        (remote.count(|v| v["type"] == "Accept") == followers).then_some(())
    })
    .await;
    // Each post is created, edited and deleted, half of them through the second process.
    let posts = 10;
    for n in 0..posts {
        let p = alice
            .post(
                "/communities/woodwork/posts",
                json!({ "title": format!("Post {n}"), "body": "x" }),
            )
            .await;
        let id = p["id"].as_i64().unwrap();
        let via = if n % 2 == 0 { &first } else { &second };
        let edit = client()
            .patch(format!("http://127.0.0.1:{}/api/v1/posts/{id}", via.port))
            .bearer_auth(alice.token())
            .json(&json!({ "title": "Edited", "body": "y" }))
            .send()
            .await
            .unwrap();
        assert_eq!(edit.status(), 200);
        let (s, _) = alice
            .call(reqwest::Method::DELETE, &format!("/posts/{id}"), None)
            .await;
        assert!(s == 200 || s == 204, "{s}");
    }
    // Per post and follower: the Create and the bare Page, the Update and the bare edited
    // Page, the Delete.
    let expected = posts * 5 * followers;
    poll_until(WAIT, "every announce", || async {
        (remote.count(|v| v["type"] == "Announce") >= expected).then_some(())
    })
    .await;
    // The queue is empty, then nothing more arrives: no second copy is on its way.
    poll_until(WAIT, "the queue to drain", || async {
        let out = first.cli(&["admin", "federation", "status", "--json"], "");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (v["pending_deliveries"] == 0).then_some(())
    })
    .await;
    let received = remote.received.lock().unwrap().clone();
    let mut pairs: Vec<(String, String)> = received
        .iter()
        .filter(|(_, v)| v["type"] == "Announce")
        .map(|(inbox, v)| {
            (
                inbox.clone(),
                v["id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        pairs.len(),
        expected,
        "each announce reached each inbox exactly once"
    );
    pairs.sort();
    pairs.dedup();
    assert_eq!(pairs.len(), expected, "no (inbox, activity) twice");
    // Each inbox got each post's announces in order, though two processes sent them.
    let mut per_subject: HashMap<(String, String), Vec<String>> = HashMap::new();
    for (inbox, v) in received.iter().filter(|(_, v)| v["type"] == "Announce") {
        per_subject
            .entry((inbox.clone(), subject(v)))
            .or_default()
            .push(inner_type(v));
    }
    assert_eq!(per_subject.len(), posts * followers);
    for (key, kinds) in &per_subject {
        assert_eq!(
            kinds,
            &["Create", "Page", "Update", "Page", "Delete"],
            "{key:?}"
        );
    }

    // Both processes did part of the work.
    let delivered = |port: u16| async move {
        let text = client()
            .get(format!("http://127.0.0.1:{port}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find(|l| l.starts_with("guildhall_deliveries_total{result=\"delivered\"}"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(0)
    };
    let (a, b) = (delivered(first.port).await, delivered(second.port).await);
    assert_eq!(
        a + b,
        received.len(),
        "every delivery was made by one of the two (first {a}, second {b})"
    );
    assert!(
        a > 0 && b > 0,
        "both processes delivered (first {a}, second {b}); log lines: first {}, second {}",
        first.log().matches("delivered inbox").count(),
        second.log().matches("delivered inbox").count(),
    );
}

/// §3.6: a delivery answered 401 (the peer may hold an old key of ours after a rotation)
/// is retried with backoff, not dropped; it arrives once the peer takes our signature.
#[tokio::test]
async fn a_delivery_answered_401_is_retried() {
    let alpha = TestServer::start_named("alpha.test", "", "").await;
    let remote = start_remote(Duration::ZERO).await;
    let alice = crate::federation::User::create(&alpha, "alice").await;
    alice
        .post(
            "/communities",
            json!({ "name": "woodwork", "title": "Green woodworking" }),
        )
        .await;
    remote
        .follow(&alpha, &format!("{}/c/woodwork", alpha.base_url), 7)
        .await;
    let has = |kind: &'static str| {
        let received = remote.received.clone();
        move || {
            let found = received
                .lock()
                .unwrap()
                .iter()
                .any(|(_, a)| a["type"] == kind);
            async move { found.then_some(()) }
        }
    };
    poll_until(crate::federation::WAIT, "the Accept", has("Accept")).await;
    remote.answer_unauthorized(2);
    alice
        .post(
            "/communities/woodwork/posts",
            json!({ "title": "After the key rotation" }),
        )
        .await;
    poll_until(
        Duration::from_secs(40),
        "the announce, after two 401s",
        has("Announce"),
    )
    .await;
    assert_eq!(remote.unauthorized.load(Ordering::SeqCst), 0);
    // Both announces of that post (the Create, the bare Page) arrived before the next part.
    poll_until(Duration::from_secs(40), "both announces", || {
        let n = remote
            .received
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, a)| a["type"] == "Announce")
            .count();
        async move { (n == 2).then_some(()) }
    })
    .await;

    // A peer that keeps refusing our signature: four attempts (1 + 3 retries), then the
    // delivery is dropped, not retried for ever.
    remote.answer_unauthorized(10);
    alice
        .post(
            "/communities/woodwork/posts",
            json!({ "title": "Never taken" }),
        )
        .await;
    poll_until(
        Duration::from_secs(120),
        "the refused deliveries given up",
        || async {
            let out = alpha.cli(&["admin", "federation", "status", "--json"], "");
            let status: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
            let left = remote.unauthorized.load(Ordering::SeqCst);
            (status["pending_deliveries"] == 0 && left < 10).then_some(())
        },
    )
    .await;
    // Two activities (the Create and the bare Page), four attempts each.
    assert_eq!(remote.unauthorized.load(Ordering::SeqCst), 10 - 8);
}
