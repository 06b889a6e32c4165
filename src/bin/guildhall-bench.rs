//! `guildhall-bench`: measures a real `guildhall serve` process on loopback. Not a test:
//! it prints figures for docs/performance.md.
//!
//!   cargo build --release --bins
//!   ./target/release/guildhall-bench [--database URL] [--requests N] [--followers K]
//!   ./target/release/guildhall-bench --preload-communities 10000 --preload-posts 1000000
//!
//! Scenarios: follows; inbox (signed Creates from remote actors: accepted/s, p50/p99) with
//! the community page read by 200 clients at the same time; fan-out (every accepted post to
//! K followers, each on an instance of its own: deliveries/s); slow peer (a follower whose
//! instance answers after 200 ms: activities/s); thread (a 1,000-reply thread read by 200
//! clients while more replies arrive); memory (RSS idle and after). With `--preload-*`, the
//! loader writes communities and posts straight into the store before the server starts,
//! and only memory and reads are measured. The remote side is served by this program.

use axum::{Router, extract::Path, http::StatusCode};
use guildhall::federation::signatures::{PrivateKey, parse_private_key, sign_request};
use http::{HeaderMap, HeaderValue, Method};
use serde_json::{Value, json};
use std::{
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

struct Args {
    server: String,
    database: String,
    requests: usize,
    followers: usize,
    preload_communities: usize,
    preload_posts: usize,
    processes: usize,
    sign: usize,
}

fn args() -> Args {
    let mut a = Args {
        server: "target/release/guildhall".into(),
        database: String::new(),
        requests: 3000,
        followers: 1000,
        preload_communities: 0,
        preload_posts: 0,
        processes: 1,
        sign: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_default();
        match k.as_str() {
            "--server" => a.server = v,
            "--database" => a.database = v,
            "--requests" => a.requests = v.parse().unwrap_or(a.requests),
            "--followers" => a.followers = v.parse().unwrap_or(a.followers),
            "--preload-communities" => a.preload_communities = v.parse().unwrap_or(0),
            "--preload-posts" => a.preload_posts = v.parse().unwrap_or(0),
            "--processes" => a.processes = v.parse().unwrap_or(1).max(1),
            "--sign" => a.sign = v.parse().unwrap_or(0),
            _ => {
                eprintln!(
                    "usage: guildhall-bench [--server PATH] [--database URL] [--requests N] \
                     [--followers K] [--processes N (PostgreSQL)] [--preload-communities C --preload-posts P]"
                );
                std::process::exit(2);
            }
        }
    }
    a
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .resolve("guild.test", "127.0.0.1:0".parse().unwrap())
        .pool_max_idle_per_host(256)
        .build()
        .unwrap()
}

/// The remote side: one listener, many instances (host names `i{n}.bench.test` and
/// `slow.test`, all resolved to it by the server under test).
struct Remote {
    port: u16,
    key: PrivateKey,
    received: Arc<AtomicU64>,
    slow_received: Arc<AtomicU64>,
    /// When the slow inbox received its first and its latest delivery.
    slow_times: Arc<Mutex<(Option<Instant>, Option<Instant>)>>,
}

impl Remote {
    fn actor(&self, n: usize) -> String {
        format!("http://i{n}.bench.test:{}/users/{n}", self.port)
    }
    fn slow_actor(&self) -> String {
        format!("http://slow.test:{}/users/slow", self.port)
    }
}

async fn start_remote() -> Remote {
    let pair = activitypub_federation::http_signatures::generate_actor_keypair().unwrap();
    let key = parse_private_key(&pair.private_key).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Arc::new(AtomicU64::new(0));
    let slow_received = Arc::new(AtomicU64::new(0));
    let slow_times = Arc::new(Mutex::new((None, None)));
    let pem = pair.public_key.clone();
    let (r1, r2, times) = (received.clone(), slow_received.clone(), slow_times.clone());
    let app = Router::new()
        .route("/users/{i}", axum::routing::get(move |Path(i): Path<String>, headers: HeaderMap| {
            let pem = pem.clone();
            async move {
                let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or_default().to_string();
                let id = format!("http://{host}/users/{i}");
                let inbox = if i == "slow" { format!("http://{host}/slow") } else { format!("http://{host}/inbox/{i}") };
                let body = json!({ "type": "Person", "id": id, "preferredUsername": format!("u{i}"), "inbox": inbox,
                    "publicKey": { "id": format!("{id}#main-key"), "owner": id, "publicKeyPem": pem } });
                ([("content-type", "application/activity+json")], body.to_string())
            }
        }))
        .route("/inbox/{i}", axum::routing::post(move || {
            let r = r1.clone();
            async move {
                r.fetch_add(1, Ordering::Relaxed);
                StatusCode::ACCEPTED
            }
        }))
        .route("/slow", axum::routing::post(move || {
            let (r, times) = (r2.clone(), times.clone());
            async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                r.fetch_add(1, Ordering::Relaxed);
                let mut t = times.lock().unwrap();
                t.0.get_or_insert_with(Instant::now);
                t.1 = Some(Instant::now());
                StatusCode::ACCEPTED
            }
        }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Remote {
        port,
        key,
        received,
        slow_received,
        slow_times,
    }
}

/// A `guildhall serve` under test, with its config.
struct Server {
    child: Child,
    /// More `guildhall serve` processes of the same instance (PostgreSQL only).
    others: Vec<Child>,
    base_url: String,
    config_path: std::path::PathBuf,
    binary: String,
    _dir: tempfile::TempDir,
}

impl Server {
    fn write_config(
        args: &Args,
        followers: usize,
    ) -> (tempfile::TempDir, std::path::PathBuf, String) {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let base_url = format!("http://guild.test:{port}");
        let mut hosts: Vec<String> = (0..followers)
            .map(|n| format!("\"i{n}.bench.test\" = \"127.0.0.1\""))
            .collect();
        hosts.push("\"slow.test\" = \"127.0.0.1\"".into());
        hosts.push("\"guild.test\" = \"127.0.0.1\"".into());
        let config = format!(
            "[server]\nbase_url = \"{base_url}\"\nbind = \"127.0.0.1:{port}\"\ndata_dir = \"{}\"\n\
             [database]\nurl = \"{}\"\nmax_connections = 20\n[log]\nlevel = \"warn\"\n\
             [federation]\nallow_private_addresses = true\nresolve = {{ {} }}\n\
             [limits]\ninbox_per_second = 100000.0\ninbox_burst = 100000.0\n",
            dir.path().join("data").display(),
            args.database,
            hosts.join(", ")
        );
        let config_path = dir.path().join("bench.toml");
        std::fs::write(&config_path, config).unwrap();
        (dir, config_path, base_url)
    }

    fn cli(&self, a: &[&str], stdin: &str) {
        run_cli(&self.binary, &self.config_path, a, stdin);
    }
}

fn run_cli(binary: &str, config_path: &std::path::Path, a: &[&str], stdin: &str) {
    use std::io::Write;
    let mut c = Command::new(binary)
        .arg("--config")
        .arg(config_path)
        .args(a)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    assert!(c.wait().unwrap().success(), "{a:?}");
}

async fn start_server(
    args: &Args,
    followers: usize,
    before: impl AsyncFnOnce(&std::path::Path, &str),
) -> Server {
    let (dir, config_path, base_url) = Server::write_config(args, followers);
    run_cli(
        &args.server,
        &config_path,
        &["admin", "create-user", "owner"],
        "correct horse battery\n",
    );
    run_cli(
        &args.server,
        &config_path,
        &["admin", "create-community", "woodwork", "--owner", "owner"],
        "",
    );
    run_cli(
        &args.server,
        &config_path,
        &["admin", "create-community", "slowpoke", "--owner", "owner"],
        "",
    );
    before(&config_path, &base_url).await;
    let child = Command::new(&args.server)
        .arg("--config")
        .arg(&config_path)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the server (build it with --release first)");
    let http = client();
    let deadline = Instant::now() + Duration::from_secs(120);
    while http
        .get(format!("{base_url}/healthz"))
        .send()
        .await
        .map(|r| !r.status().is_success())
        .unwrap_or(true)
    {
        assert!(Instant::now() < deadline, "server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // More processes: same config and database, ports of their own; they share the queue.
    let mut others = Vec::new();
    for _ in 1..args.processes {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let text = std::fs::read_to_string(&config_path).unwrap();
        let bind = text
            .lines()
            .find(|l| l.starts_with("bind = "))
            .unwrap()
            .to_string();
        let other = config_path.with_file_name(format!("bench-{port}.toml"));
        std::fs::write(
            &other,
            text.replace(&bind, &format!("bind = \"127.0.0.1:{port}\"")),
        )
        .unwrap();
        others.push(
            Command::new(&args.server)
                .arg("--config")
                .arg(&other)
                .arg("serve")
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("start another server process"),
        );
    }
    Server {
        child,
        others,
        base_url,
        config_path,
        binary: args.server.clone(),
        _dir: dir,
    }
}

/// A signed POST to the server's shared inbox.
fn signed(remote: &Remote, base_url: &str, actor: &str, body: Value) -> (HeaderMap, String) {
    let body = body.to_string();
    let url = url::Url::parse(&format!("{base_url}/inbox")).unwrap();
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
        &remote.key,
        SystemTime::now(),
    )
    .unwrap();
    h.remove("host");
    (h, body)
}

fn create(actor: &str, id: &str, group: &str, n: usize, in_reply_to: Option<&str>) -> Value {
    let object = match in_reply_to {
        None => {
            json!({ "type": "Page", "id": id, "attributedTo": actor, "name": format!("Post {n}"),
                        "content": "<p>bench</p>", "to": [group, PUBLIC], "audience": group })
        }
        Some(parent) => {
            json!({ "type": "Note", "id": id, "attributedTo": actor, "inReplyTo": parent,
                                "content": format!("<p>reply {n}</p>"), "to": [group, PUBLIC], "audience": group })
        }
    };
    json!({ "id": format!("{id}/create"), "type": "Create", "actor": actor, "to": [PUBLIC], "cc": [group], "object": object })
}

const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

fn report(what: &str, n: usize, secs: f64, lat: &[Duration], errors: usize) {
    println!(
        "{what}: {n} in {secs:.1}s = {:.0}/s ({errors} refused), p50 {:?}, p99 {:?}",
        n as f64 / secs,
        percentile(lat, 0.5),
        percentile(lat, 0.99)
    );
}

#[tokio::main]
async fn main() {
    let args = args();
    let remote = start_remote().await;
    let backend = if args.database.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!(
        "backend: {backend}; processes: {}; machine: {} cores",
        args.processes,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    if args.sign > 0 {
        return sign_only(&remote.key, args.sign);
    }
    if args.preload_posts > 0 || args.preload_communities > 0 {
        return preloaded(&args).await;
    }
    let mut server = start_server(
        &args,
        args.followers,
        async |_: &std::path::Path, _: &str| {},
    )
    .await;
    let base_url = server.base_url.clone();
    let pid = server.child.id();
    println!("memory: RSS idle {} MiB", rss_kib(pid) / 1024);
    let http = client();
    let group = format!("{base_url}/c/woodwork");
    let inbox = format!("{base_url}/inbox");

    // Followers: K remote actors, each on an instance of its own, follow the community.
    let follows: Vec<_> = (0..args.followers)
        .map(|i| {
            let actor = remote.actor(i);
            signed(&remote, &base_url, &actor, json!({ "id": format!("{actor}/follow"), "type": "Follow", "actor": actor, "object": group }))
        })
        .collect();
    let started = Instant::now();
    let (lat, errors) = blast(&http, &inbox, follows, 32).await;
    report(
        "follows (fetch actor, verify, store, queue Accept)",
        args.followers,
        started.elapsed().as_secs_f64(),
        &lat,
        errors,
    );
    wait_until(
        &remote.received,
        args.followers as u64,
        Duration::from_secs(300),
    )
    .await;

    // Inbox: signed Creates from the (known) remote actors.
    let creates = |tag: &str| -> Vec<(HeaderMap, String)> {
        (0..args.requests)
            .map(|n| {
                let actor = remote.actor(n % args.followers.max(1));
                signed(
                    &remote,
                    &base_url,
                    &actor,
                    create(&actor, &format!("{actor}/{tag}/{n}"), &group, n, None),
                )
            })
            .collect()
    };
    let before = remote.received.load(Ordering::Relaxed);
    let started = Instant::now();
    let (lat, errors) = blast(&http, &inbox, creates("notes"), 64).await;
    let secs = started.elapsed().as_secs_f64();
    report(
        "inbox: signed Creates accepted",
        args.requests,
        secs,
        &lat,
        errors,
    );

    // Fan-out: every accepted Create is announced twice to every follower.
    let expected = before + (args.requests as u64) * 2 * args.followers as u64;
    let fan_started = Instant::now();
    let fanned = wait_until(&remote.received, expected, Duration::from_secs(3600)).await;
    let fan_secs = fan_started.elapsed().as_secs_f64();
    println!(
        "fan-out: {} of {} deliveries to {} instances, the last {fan_secs:.1}s after the inbox run = {:.0} deliveries/s overall",
        fanned - before,
        expected - before,
        args.followers,
        (fanned - before) as f64 / (secs + fan_secs)
    );

    // Read: 200 clients read the community page while the inbox takes another run.
    let reading = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let reader = tokio::spawn(read_while(
        http.clone(),
        format!("{base_url}/c/woodwork"),
        200,
        reading.clone(),
    ));
    let started = Instant::now();
    let (lat, errors) = blast(&http, &inbox, creates("more-notes"), 64).await;
    let secs = started.elapsed().as_secs_f64();
    reading.store(false, Ordering::Relaxed);
    report(
        "inbox: signed Creates accepted, during the reads",
        args.requests,
        secs,
        &lat,
        errors,
    );
    let (reads, read_lat) = reader.await.unwrap();
    report(
        "read: community page, 200 clients, during the inbox run",
        reads,
        secs,
        &read_lat,
        0,
    );
    wait_until(
        &remote.received,
        expected + (args.requests as u64) * 2 * args.followers as u64,
        Duration::from_secs(3600),
    )
    .await;

    // Slow peer: the only follower of another community, on an instance that answers after
    // 200 ms; posts arrive there as fast as the inbox takes them.
    let slow = remote.slow_actor();
    let slow_group = format!("{base_url}/c/slowpoke");
    let (h, b) = signed(
        &remote,
        &base_url,
        &slow,
        json!({ "id": format!("{slow}/follow"), "type": "Follow", "actor": slow, "object": slow_group }),
    );
    http.post(&inbox).headers(h).body(b).send().await.unwrap();
    wait_until(&remote.slow_received, 1, Duration::from_secs(60)).await;
    let slow_posts = 300;
    let creates: Vec<_> = (0..slow_posts)
        .map(|n| {
            let actor = remote.actor(n % args.followers.max(1));
            signed(
                &remote,
                &base_url,
                &actor,
                create(
                    &actor,
                    &format!("{actor}/slow-notes/{n}"),
                    &slow_group,
                    n,
                    None,
                ),
            )
        })
        .collect();
    *remote.slow_times.lock().unwrap() = (None, None);
    let slow_before = remote.slow_received.load(Ordering::Relaxed);
    blast(&http, &inbox, creates, 64).await;
    let got = wait_until(
        &remote.slow_received,
        slow_before + 2 * slow_posts as u64,
        Duration::from_secs(600),
    )
    .await
        - slow_before;
    let (first, last) = *remote.slow_times.lock().unwrap();
    let span = last
        .zip(first)
        .map(|(l, f)| (l - f).as_secs_f64())
        .unwrap_or(0.0);
    println!(
        "slow peer (200 ms a request): {got} activities in {span:.1}s = {:.0}/s",
        got.saturating_sub(1) as f64 / span.max(0.001)
    );

    // Thread: a post with 1,000 replies, read by 200 clients while 1,000 more arrive.
    let author = remote.actor(0);
    let root = format!("{author}/thread");
    let (h, b) = signed(
        &remote,
        &base_url,
        &author,
        create(&author, &root, &group, 0, None),
    );
    http.post(&inbox).headers(h).body(b).send().await.unwrap();
    let replies = |from: usize| -> Vec<(HeaderMap, String)> {
        (from..from + 1000)
            .map(|n| {
                let actor = remote.actor(n % args.followers.max(1));
                signed(
                    &remote,
                    &base_url,
                    &actor,
                    create(
                        &actor,
                        &format!("{actor}/replies/{n}"),
                        &group,
                        n,
                        Some(&root),
                    ),
                )
            })
            .collect()
    };
    blast(&http, &inbox, replies(0), 64).await;
    let feed: Value = http
        .get(format!(
            "{base_url}/api/v1/communities/woodwork/posts?sort=new&limit=50"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap_or(Value::Null);
    let thread_id = feed["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["ap_id"] == root.as_str())
        .and_then(|p| p["id"].as_i64());
    if let Some(id) = thread_id {
        let reading = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let reader = tokio::spawn(read_while(
            http.clone(),
            format!("{base_url}/thread/{id}"),
            200,
            reading.clone(),
        ));
        let started = Instant::now();
        let (lat, errors) = blast(&http, &inbox, replies(1000), 64).await;
        let secs = started.elapsed().as_secs_f64();
        reading.store(false, Ordering::Relaxed);
        report(
            "inbox: signed reply Creates, during the thread reads",
            1000,
            secs,
            &lat,
            errors,
        );
        let (reads, read_lat) = reader.await.unwrap();
        report(
            "read: 1,000-reply thread page, 200 clients",
            reads,
            secs,
            &read_lat,
            0,
        );
    } else {
        println!("thread: the root post was not found in the feed; skipped");
    }
    println!("memory: RSS after the run {} MiB", rss_kib(pid) / 1024);
    for c in &mut server.others {
        let _ = c.kill();
    }
    let _ = server.child.kill();
    let _ = server.child.wait();
}

/// Memory and reads over a store preloaded with many communities and posts.
async fn preloaded(args: &Args) {
    let (c, p) = (args.preload_communities.max(1), args.preload_posts);
    let load = async |config: &std::path::Path, base_url: &str| {
        let database = if args.database.is_empty() {
            format!(
                "sqlite://{}?mode=rwc",
                config
                    .parent()
                    .unwrap()
                    .join("data")
                    .join("guildhall.db")
                    .display()
            )
        } else {
            args.database.clone()
        };
        let started = Instant::now();
        preload(&database, base_url, c, p).await;
        println!(
            "loader: {c} communities and {p} posts written in {:.1}s",
            started.elapsed().as_secs_f64()
        );
    };
    let mut server = start_server(args, 0, load).await;
    let pid = server.child.id();
    println!(
        "memory: RSS idle with {c} communities / {p} posts: {} MiB",
        rss_kib(pid) / 1024
    );
    let http = client();
    let pages: Vec<String> = (0..2000)
        .map(|n| format!("{}/c/c{}", server.base_url, n * 7919 % c))
        .collect();
    let started = Instant::now();
    let lat = read_urls(&http, pages, 200).await;
    report(
        "read: community pages (2,000 different), 200 clients",
        2000,
        started.elapsed().as_secs_f64(),
        &lat,
        0,
    );
    println!("memory: RSS after the reads {} MiB", rss_kib(pid) / 1024);
    server.cli(&["admin", "list-communities"], "");
    let _ = server.child.kill();
    let _ = server.child.wait();
}

/// The loader: `c` local communities (`c0`…) and `p` posts spread over them, written with
/// two INSERT … SELECT statements over a counter (one SQL text for SQLite and PostgreSQL).
async fn preload(database: &str, base_url: &str, c: usize, p: usize) {
    let db = guildhall::store::Db::connect(database, 2).await.unwrap();
    db.migrate().await.unwrap();
    let mut conn = db.pool.acquire().await.unwrap();
    let (private, public) = guildhall::federation::keys::generate_pem_pair().unwrap();
    let owner: i64 = sqlx::query_scalar("SELECT id FROM people WHERE name = 'owner' AND local = 1")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let now = guildhall::store::now_ms();
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $1) \
         INSERT INTO communities (ap_id, name, title, summary_source, summary_html, guidelines_source, \
         guidelines_html, local, inbox, followers_url, public_key, private_key, posting_restricted_to_mods, \
         sensitive, published, last_fetched) \
         SELECT $2 || '/c/c' || i, 'c' || i, 'Community ' || i, 'About ' || i, '<p>About ' || i || '</p>', '', '', 1, \
         $2 || '/c/c' || i || '/inbox', $2 || '/c/c' || i || '/followers', $3, $4, 0, 0, $5, $5 FROM n",
    )
    .bind(c as i64).bind(base_url).bind(&public).bind(&private).bind(now)
    .execute(&mut *conn).await.unwrap();
    let first: i64 = sqlx::query_scalar(
        "SELECT MIN(id) FROM communities WHERE name LIKE 'c%' AND name <> 'woodwork'",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    let chunk = 100_000;
    for start in (0..p).step_by(chunk) {
        let n = chunk.min(p - start);
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT $1 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $2) \
             INSERT INTO posts (ap_id, community_id, author_id, depth, kind, title, content_html, source, \
             sensitive, local, published, deleted, removed, score, upvotes, downvotes, reply_count, last_activity) \
             SELECT $3 || '/post/load' || i, $4 + (i % $5), $6, 0, 'Page', 'Loaded post ' || i, \
             '<p>A loaded post of about a hundred characters, standing in for a real one.</p>', NULL, \
             0, 1, $7 - i, 0, 0, 0, 0, 0, 0, $7 - i FROM n",
        )
        .bind(start as i64).bind((start + n) as i64).bind(base_url).bind(first).bind(c as i64).bind(owner).bind(now)
        .execute(&mut *conn).await.unwrap();
    }
}

async fn blast(
    http: &reqwest::Client,
    url: &str,
    requests: Vec<(HeaderMap, String)>,
    concurrency: usize,
) -> (Vec<Duration>, usize) {
    use futures::StreamExt;
    let errors = Arc::new(AtomicU64::new(0));
    let mut lat: Vec<Duration> = futures::stream::iter(requests)
        .map(|(h, b)| {
            let (http, url, errors) = (http.clone(), url.to_string(), errors.clone());
            async move {
                let t = Instant::now();
                let r = http.post(&url).headers(h).body(b).send().await;
                if !r.is_ok_and(|r| r.status().is_success()) {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                t.elapsed()
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    lat.sort();
    (lat, errors.load(Ordering::Relaxed) as usize)
}

/// Reads `url` with `concurrency` clients until `go` turns false; (reads, latencies).
async fn read_while(
    http: reqwest::Client,
    url: String,
    concurrency: usize,
    go: Arc<std::sync::atomic::AtomicBool>,
) -> (usize, Vec<Duration>) {
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (http, url, go) = (http.clone(), url.clone(), go.clone());
            tokio::spawn(async move {
                let mut lat = Vec::new();
                while go.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    let ok = http
                        .get(&url)
                        .header("accept", "text/html")
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success());
                    if ok {
                        lat.push(t.elapsed());
                    }
                }
                lat
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap_or_default());
    }
    all.sort();
    (all.len(), all)
}

/// Reads each URL once, `concurrency` at a time; sorted latencies.
async fn read_urls(http: &reqwest::Client, urls: Vec<String>, concurrency: usize) -> Vec<Duration> {
    use futures::StreamExt;
    let mut lat: Vec<Duration> = futures::stream::iter(urls)
        .map(|url| {
            let http = http.clone();
            async move {
                let t = Instant::now();
                let _ = http
                    .get(&url)
                    .header("accept", "text/html")
                    .send()
                    .await
                    .map(|r| r.status());
                t.elapsed()
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    lat.sort();
    lat
}

async fn wait_until(counter: &AtomicU64, target: u64, limit: Duration) -> u64 {
    let end = Instant::now() + limit;
    loop {
        let n = counter.load(Ordering::Relaxed);
        if n >= target || Instant::now() > end {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(String::from)
        })
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// Signatures per second on one core: RSA-2048, RSASSA-PKCS1-v1_5 / SHA-256 over a
/// delivery's signing string, with our signing code (aws-lc-rs) and with the RustCrypto
/// `rsa` crate that activitypub_federation uses.
fn sign_only(key: &PrivateKey, n: usize) {
    use rsa::pkcs8::DecodePrivateKey;
    use sha2::Digest;
    let text = "(request-target): post /inbox\nhost: example.test\ndate: Thu, 26 Nov 2026 19:00:00 GMT\n\
                digest: SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\ncontent-type: application/activity+json";
    let started = Instant::now();
    for _ in 0..n {
        std::hint::black_box(key.sign(text.as_bytes()).unwrap());
    }
    let ours = n as f64 / started.elapsed().as_secs_f64();
    let (private, _) = guildhall::federation::keys::generate_pem_pair().unwrap();
    let theirs = rsa::RsaPrivateKey::from_pkcs8_pem(&private).unwrap();
    let m = (n / 10).max(1);
    let started = Instant::now();
    for _ in 0..m {
        let hashed = sha2::Sha256::digest(text.as_bytes());
        std::hint::black_box(
            theirs
                .sign(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &hashed)
                .unwrap(),
        );
    }
    let rustcrypto = m as f64 / started.elapsed().as_secs_f64();
    println!("signing, one core: aws-lc-rs {ours:.0}/s; RustCrypto rsa {rustcrypto:.0}/s");
}
