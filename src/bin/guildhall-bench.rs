//! `guildhall-bench`: measures a real `guildhall serve` process on loopback. Not a test:
//! it prints figures for docs/performance.md.
//!
//!   cargo build --release && cargo run --release --bin guildhall-bench -- [--database URL]
//!
//! Scenarios: inbox (signed Creates from remote actors: accepted/s, p50/p99), fan-out (one
//! post to K followers' inboxes: deliveries/s), slow peer (a follower answering after
//! 200 ms: activities/s), read (community page under concurrent clients: p50/p99), memory
//! (RSS idle). The remote side (actors, inboxes) is served by this program.

use axum::{Router, extract::Path, http::StatusCode};
use guildhall::federation::signatures::{parse_private_key, sign_request};
use http::{HeaderMap, HeaderValue, Method};
use serde_json::json;
use std::{
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

struct Args {
    server: String,
    database: String,
    requests: usize,
    followers: usize,
}

fn args() -> Args {
    let mut a = Args {
        server: "target/release/guildhall".into(),
        database: String::new(),
        requests: 3000,
        followers: 1000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_default();
        match k.as_str() {
            "--server" => a.server = v,
            "--database" => a.database = v,
            "--requests" => a.requests = v.parse().unwrap_or(a.requests),
            "--followers" => a.followers = v.parse().unwrap_or(a.followers),
            _ => {
                eprintln!(
                    "usage: guildhall-bench [--server PATH] [--database URL] [--requests N] [--followers K]"
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
        .resolve("bench.test", "127.0.0.1:0".parse().unwrap())
        .resolve("guild.test", "127.0.0.1:0".parse().unwrap())
        .pool_max_idle_per_host(256)
        .build()
        .unwrap()
}

#[tokio::main]
async fn main() {
    let args = args();
    // The remote side: actors (one key for all; the server parses it per request anyway),
    // inboxes that count deliveries, and a slow inbox.
    let pair = activitypub_federation::http_signatures::generate_actor_keypair().unwrap();
    let key = parse_private_key(&pair.private_key).unwrap();
    let remote = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let rport = remote.local_addr().unwrap().port();
    let rbase = format!("http://bench.test:{rport}");
    let received = Arc::new(AtomicU64::new(0));
    let slow_received = Arc::new(AtomicU64::new(0));
    let (pem, base) = (pair.public_key.clone(), rbase.clone());
    let (r1, r2) = (received.clone(), slow_received.clone());
    let app = Router::new()
        .route("/users/{i}", axum::routing::get(move |Path(i): Path<String>| {
            let (pem, base) = (pem.clone(), base.clone());
            async move {
                let id = format!("{base}/users/{i}");
                let inbox = if i == "slow" { format!("{base}/slow") } else { format!("{base}/inbox/{i}") };
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
            let r = r2.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                r.fetch_add(1, Ordering::Relaxed);
                StatusCode::ACCEPTED
            }
        }));
    tokio::spawn(async move { axum::serve(remote, app).await.unwrap() });

    // The server under test.
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base_url = format!("http://guild.test:{port}");
    let config = format!(
        "[server]\nbase_url = \"{base_url}\"\nbind = \"127.0.0.1:{port}\"\ndata_dir = \"{}\"\n\
         [database]\nurl = \"{}\"\nmax_connections = 20\n[log]\nlevel = \"warn\"\n\
         [federation]\nallow_private_addresses = true\nresolve = {{ \"bench.test\" = \"127.0.0.1\", \"guild.test\" = \"127.0.0.1\" }}\n\
         delivery_concurrency = 64\n[limits]\ninbox_per_second = 100000.0\ninbox_burst = 100000.0\n",
        dir.path().join("data").display(),
        args.database
    );
    let config_path = dir.path().join("bench.toml");
    std::fs::write(&config_path, config).unwrap();
    let run = |a: &[&str], stdin: &str| {
        use std::io::Write;
        let mut c = Command::new(&args.server)
            .arg("--config")
            .arg(&config_path)
            .args(a)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        c.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        assert!(c.wait().unwrap().success());
    };
    let mut server: Child = Command::new(&args.server)
        .arg("--config")
        .arg(&config_path)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the server (build it with --release first)");
    let http = client();
    let deadline = Instant::now() + Duration::from_secs(60);
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
    let pid = server.id();
    let rss_idle = rss_kib(pid);
    run(
        &["admin", "create-user", "owner"],
        "correct horse battery\n",
    );
    run(
        &["admin", "create-community", "woodwork", "--owner", "owner"],
        "",
    );
    let group = format!("{base_url}/c/woodwork");
    let backend = if args.database.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!(
        "backend: {backend}; machine: {} cores",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    println!("memory: RSS idle {} MiB", rss_idle / 1024);

    // Followers: K remote actors follow the community (this also warms the key fetches).
    let signed = |actor: &str, body: String| {
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
            &key,
            SystemTime::now(),
        )
        .unwrap();
        h.remove("host");
        (h, body)
    };
    let follows: Vec<_> = (0..args.followers)
        .map(|i| {
            let actor = format!("{rbase}/users/{i}");
            signed(&actor, json!({ "id": format!("{rbase}/follow/{i}"), "type": "Follow", "actor": actor, "object": group }).to_string())
        })
        .collect();
    let started = Instant::now();
    let (lat, errors) = blast(&http, &format!("{base_url}/inbox"), follows, 32).await;
    println!(
        "follows: {} in {:.1}s ({:.0}/s), {errors} refused, p50 {:?}, p99 {:?}",
        args.followers,
        started.elapsed().as_secs_f64(),
        args.followers as f64 / started.elapsed().as_secs_f64(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99)
    );
    wait_until(&received, args.followers as u64, Duration::from_secs(300)).await; // the Accepts

    // Inbox: signed Creates from the (known) remote actors.
    let creates: Vec<_> = (0..args.requests)
        .map(|n| {
            let actor = format!("{rbase}/users/{}", n % args.followers.max(1));
            let id = format!("{rbase}/notes/{n}");
            signed(&actor, json!({ "id": format!("{id}/create"), "type": "Create", "actor": actor,
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
                "object": { "type": "Page", "id": id, "attributedTo": actor, "name": format!("Post {n}"), "content": "<p>bench</p>",
                            "to": [group, "https://www.w3.org/ns/activitystreams#Public"], "audience": group } }).to_string())
        })
        .collect();
    let before = received.load(Ordering::Relaxed);
    let started = Instant::now();
    let (lat, errors) = blast(&http, &format!("{base_url}/inbox"), creates, 64).await;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "inbox: {} signed Creates in {secs:.1}s = {:.0} accepted/s ({errors} refused), p50 {:?}, p99 {:?}",
        args.requests,
        args.requests as f64 / secs,
        percentile(&lat, 0.5),
        percentile(&lat, 0.99)
    );
    // Every accepted Create is announced twice to every follower: let that drain first.
    let expected = before + (args.requests as u64) * 2 * args.followers as u64;
    let fan_started = Instant::now();
    let fanned = wait_until(&received, expected, Duration::from_secs(1800)).await;
    let fan_secs = fan_started.elapsed().as_secs_f64();
    println!(
        "fan-out: {} deliveries to {} inboxes in {fan_secs:.1}s after the inbox run = {:.0} deliveries/s",
        fanned - before,
        args.followers,
        (fanned - before) as f64 / (secs + fan_secs)
    );

    // Read: the community page under 200 concurrent clients.
    let reads: Vec<_> = (0..4000).collect();
    let started = Instant::now();
    let lat = read_blast(&http, &format!("{base_url}/c/woodwork"), reads.len(), 200).await;
    println!(
        "read: community page, 200 clients: {:.0}/s, p50 {:?}, p99 {:?}",
        reads.len() as f64 / started.elapsed().as_secs_f64(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99)
    );
    println!("memory: RSS after the run {} MiB", rss_kib(pid) / 1024);
    let _ = server.kill();
    let _ = server.wait();
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

async fn read_blast(
    http: &reqwest::Client,
    url: &str,
    n: usize,
    concurrency: usize,
) -> Vec<Duration> {
    use futures::StreamExt;
    let mut lat: Vec<Duration> = futures::stream::iter(0..n)
        .map(|_| {
            let (http, url) = (http.clone(), url.to_string());
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
