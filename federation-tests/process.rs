//! Real `guildhall` processes: the README's run command, the admin CLI, config errors,
//! PostgreSQL, graceful shutdown.

use crate::support::{
    Backend, poll_until,
    process::{TestServer, binary, free_port, run_cli},
    test_db,
};
use serde_json::{Value, json};
use std::{process::Command, time::Duration};

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The operator's path: create a user and a community with the CLI, then find the community
/// over WebFinger and fetch its Group, as a remote server would.
async fn operator_flow(server: &TestServer) {
    let out = server.cli(
        &[
            "admin",
            "create-user",
            "alice",
            "--admin",
            "--email",
            "a@example.org",
        ],
        "correct horse battery\n",
    );
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let out = server.cli(&["admin", "create-user", "bob"], "short\n");
    assert!(!out.status.success(), "a short password is refused");
    assert!(stderr(&out).contains("password"), "{}", stderr(&out));
    let out = server.cli(
        &[
            "admin",
            "create-community",
            "woodwork",
            "--owner",
            "alice",
            "--title",
            "Green woodworking",
            "--summary",
            "Spoons",
            "--topic",
            "carving",
        ],
        "",
    );
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let out = server.cli(
        &["admin", "create-community", "alice", "--owner", "alice"],
        "",
    );
    assert!(
        !out.status.success(),
        "a community cannot take a user's name"
    );
    let out = server.cli(
        &["admin", "create-community", "other", "--owner", "nobody"],
        "",
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("nobody"), "{}", stderr(&out));

    let out = server.cli(&["admin", "list-communities", "--json"], "");
    assert!(out.status.success());
    let list: Value = serde_json::from_str(&stdout(&out)).expect("JSON list");
    let woodwork = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "woodwork")
        .expect("woodwork listed");
    assert_eq!(woodwork["owners"][0], "alice");
    let out = server.cli(&["admin", "list-users", "--json"], "");
    let users: Value = serde_json::from_str(&stdout(&out)).expect("JSON list");
    assert_eq!(users[0]["name"], "alice");
    assert_eq!(users[0]["is_admin"], true);
    let out = server.cli(&["admin", "list-communities"], "");
    assert!(
        stdout(&out).lines().nth(1).unwrap().starts_with("woodwork"),
        "{}",
        stdout(&out)
    );

    let domain = format!("localhost:{}", server.port);
    let jrd: Value = server
        .get(
            &format!("/.well-known/webfinger?resource=acct:woodwork@{domain}"),
            "application/jrd+json",
        )
        .await
        .json()
        .await
        .unwrap();
    let href = jrd["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "self")
        .unwrap()["href"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(href, format!("{}/c/woodwork", server.base_url));
    let group: Value = reqwest::Client::new()
        .get(&href)
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(group["type"], "Group");
    assert_eq!(group["name"], "Green woodworking");
    assert!(
        group["publicKey"]["publicKeyPem"]
            .as_str()
            .unwrap()
            .contains("BEGIN PUBLIC KEY")
    );
    // A private community, from the command line.
    let out = server.cli(
        &[
            "admin",
            "create-community",
            "circle",
            "--owner",
            "alice",
            "--private",
        ],
        "",
    );
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let circle: Value = server
        .get("/c/circle", "application/activity+json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (&circle["membersOnly"], &circle["manuallyApprovesFollowers"]),
        (&json!(true), &json!(true)),
        "{circle}"
    );
    refused_activities_from_the_cli(server).await;
}

/// An activity the inbox refuses is listed by `guildhall admin federation refused`.
async fn refused_activities_from_the_cli(server: &TestServer) {
    let res = reqwest::Client::new()
        .post(format!("{}/inbox", server.base_url))
        .header("content-type", "application/activity+json")
        .body(
            json!({
                "id": "https://broken.example/activities/1",
                "type": "Create",
                "actor": "https://broken.example/u/bot",
                "object": { "type": "Note", "content": "unsigned" },
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let args = [
        "admin",
        "federation",
        "refused",
        "--instance",
        "broken.example",
        "--json",
    ];
    let rows: Value = poll_until(Duration::from_secs(10), "the CLI lists it", || async {
        let out = server.cli(&args, "");
        assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
        let rows: Value = serde_json::from_str(&stdout(&out)).expect("JSON list");
        (!rows.as_array().unwrap().is_empty()).then_some(rows)
    })
    .await;
    assert_eq!(rows[0]["kind"], "Create");
    assert_eq!(rows[0]["actor"], "https://broken.example/u/bot");
    assert_eq!(rows[0]["code"], "unauthorized");
    let out = server.cli(&["admin", "federation", "refused"], "");
    let text = stdout(&out);
    assert!(
        text.contains(
            "broken.example\tCreate\thttps://broken.example/u/bot\t401 unauthorized: HTTP signature"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn sqlite_default_serves_and_the_cli_administers() {
    let server = TestServer::start("", "").await;
    let db = server.dir.path().join("data/guildhall.db");
    assert!(db.is_file(), "SQLite file created in data_dir");
    operator_flow(&server).await;
    // WAL mode: the write-ahead log sits beside the database while the server runs.
    assert!(
        server.dir.path().join("data/guildhall.db-wal").exists(),
        "WAL mode"
    );
}

#[tokio::test]
async fn postgres_serves_and_the_cli_administers() {
    let db = test_db(Backend::Postgres).await;
    let server = TestServer::start(&db.url, "").await;
    operator_flow(&server).await;
    let html = server
        .get("/c/woodwork", "text/html")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Green woodworking"));
}

#[tokio::test]
async fn no_config_at_all_uses_data_dir_and_defaults() {
    // No --config and no file: only the bind address is moved off 8080 so tests can run
    // beside a developer's server; everything else is the built-in default.
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = Command::new(binary())
        .arg("serve")
        .current_dir(dir.path())
        .env("GUILDHALL_SERVER__BIND", format!("127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = format!(
        "http://127.0.0.1:{port}/.well-known/webfinger?resource=acct:localhost:8080@localhost:8080"
    );
    let jrd = crate::support::poll_until(Duration::from_secs(60), "the default server", || {
        let url = url.clone();
        async move {
            let r = reqwest::get(&url).await.ok()?;
            r.status().is_success().then_some(())?;
            r.json::<Value>().await.ok()
        }
    })
    .await;
    assert_eq!(
        jrd["aliases"][0], "http://localhost:8080/actor",
        "default base_url"
    );
    assert!(dir.path().join("data/guildhall.db").is_file());
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn config_check_names_each_bad_key_and_masks_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[server]\nbindd = \"x\"\n[registration]\nmode = \"maybe\"\n[nonsense]\na = 1\n",
    )
    .unwrap();
    let out = run_cli(&bad, dir.path(), &["config", "check"], "");
    assert!(!out.status.success());
    let err = stderr(&out);
    for key in ["bindd", "maybe", "nonsense"] {
        assert!(err.contains(key), "{key} not named in: {err}");
    }
    // Also through the environment, for any command.
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "[database]\nurl = \"postgres://gh:s3cret@db.example:5432/gh\"\n",
    )
    .unwrap();
    let out = Command::new(binary())
        .args(["--config", good.to_str().unwrap(), "serve"])
        .env("GUILDHALL_SERVER__BIND", "not an address")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("server.bind"), "{}", stderr(&out));
    let out = run_cli(&good, dir.path(), &["config", "check"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("postgres://gh:***@db.example:5432/gh"),
        "{text}"
    );
    assert!(!text.contains("s3cret"));
    let out = run_cli(
        &dir.path().join("missing.toml"),
        dir.path(),
        &["config", "check"],
        "",
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("missing.toml"));
    let help = Command::new(binary())
        .args(["admin", "--help"])
        .output()
        .unwrap();
    for cmd in [
        "create-user",
        "create-community",
        "list-users",
        "list-communities",
    ] {
        assert!(stdout(&help).contains(cmd), "{cmd} missing from --help");
    }
}

#[tokio::test]
async fn sigterm_shuts_down_gracefully() {
    let mut server = TestServer::start("", "").await;
    let child = server.child.take().unwrap();
    let pid = child.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    let output = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::task::spawn_blocking(move || child.wait_with_output()),
    )
    .await
    .expect("the server exits within 30 s of SIGTERM")
    .unwrap()
    .unwrap();
    assert!(output.status.success(), "exit status {:?}", output.status);
    assert!(server.log().contains("stopped"), "{}", server.log());
}
