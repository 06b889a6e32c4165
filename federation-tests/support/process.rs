//! Real `guildhall` processes on loopback, each with its own data directory and database.

use std::{
    io::Write,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::Duration,
};
use tempfile::TempDir;

/// The `guildhall` binary Cargo built for these tests.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_guildhall")
}

/// A free loopback port (released before the server binds it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A running `guildhall serve`; killed when dropped.
pub struct TestServer {
    pub dir: TempDir,
    pub config_path: PathBuf,
    pub port: u16,
    pub base_url: String,
    pub child: Option<Child>,
}

impl TestServer {
    /// Writes a config (`database_url` empty = SQLite in the data directory) and starts the
    /// server, waiting for `/healthz`.
    pub async fn start(database_url: &str, extra_toml: &str) -> TestServer {
        Self::start_as("localhost", database_url, extra_toml).await
    }

    /// Like `start`, with a host name of its own (`alpha.test`, …) that federation peers and
    /// our test client resolve to loopback: peers tell instances apart by host name.
    pub async fn start_named(host: &str, database_url: &str, extra_toml: &str) -> TestServer {
        let federation = format!(
            "[federation]\nallow_private_addresses = true\nretry_initial_secs = 1\n\
             resolve = {{ {} }}\n{extra_toml}",
            TEST_HOSTS
                .iter()
                .map(|h| format!("\"{h}\" = \"127.0.0.1\""))
                .collect::<Vec<_>>()
                .join(", ")
        );
        Self::start_as(host, database_url, &federation).await
    }

    async fn start_as(host: &str, database_url: &str, extra_toml: &str) -> TestServer {
        let dir = tempfile::tempdir().expect("temporary directory");
        let port = free_port();
        let base_url = format!("http://{host}:{port}");
        let config_path = dir.path().join("guildhall.toml");
        let config = format!(
            "[server]\nbase_url = \"{base_url}\"\nbind = \"127.0.0.1:{port}\"\n\
             data_dir = \"{data}\"\nshutdown_grace_secs = 5\n\
             [database]\nurl = \"{database_url}\"\n[log]\nlevel = \"info,guildhall=debug\"\n{extra_toml}",
            data = dir.path().join("data").display(),
        );
        std::fs::write(&config_path, config).expect("write config");
        let mut server = TestServer {
            dir,
            config_path,
            port,
            base_url,
            child: None,
        };
        server.spawn().await;
        server
    }

    /// (Re)starts the process and waits until it answers `/healthz`.
    pub async fn spawn(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("server.log")).expect("log file");
        let child = Command::new(binary())
            .arg("--config")
            .arg(&self.config_path)
            .arg("serve")
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("start guildhall serve");
        self.child = Some(child);
        // This process's own port (another process of the same instance shares base_url).
        let url = format!("http://127.0.0.1:{}/healthz", self.port);
        let client = client();
        let end = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = client.get(&url).send().await
                && r.status().is_success()
            {
                return;
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                panic!(
                    "guildhall serve exited ({status}) before answering:\n{}",
                    self.log()
                );
            }
            if tokio::time::Instant::now() >= end {
                panic!(
                    "guildhall serve did not answer /healthz in 60 s:\n{}",
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts a second `guildhall serve` of the same instance (same config, same database,
    /// same base URL) on a port of its own, as behind a load balancer.
    pub async fn another_process(&self) -> TestServer {
        let dir = tempfile::tempdir().expect("temporary directory");
        let port = free_port();
        let config = std::fs::read_to_string(&self.config_path)
            .expect("first config")
            .replace(
                &format!("bind = \"127.0.0.1:{}\"", self.port),
                &format!("bind = \"127.0.0.1:{port}\""),
            );
        let config_path = dir.path().join("guildhall.toml");
        std::fs::write(&config_path, config).expect("write config");
        let mut server = TestServer {
            dir,
            config_path,
            port,
            base_url: self.base_url.clone(),
            child: None,
        };
        server.spawn().await;
        server
    }

    /// Runs `guildhall --config … ARGS` with `stdin`; returns its output.
    pub fn cli(&self, args: &[&str], stdin: &str) -> Output {
        run_cli(&self.config_path, self.dir.path(), args, stdin)
    }

    /// The server's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Stops the process (SIGKILL: as abrupt as a crash).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// GET `path` with an `Accept` header.
    pub async fn get(&self, path: &str, accept: &str) -> reqwest::Response {
        client()
            .get(format!("{}{path}", self.base_url))
            .header("accept", accept)
            .send()
            .await
            .expect("GET")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // The test failed: show what this server logged, to see why.
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(150).collect();
            eprintln!("--- last log lines of {} ---", self.base_url);
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Host names test servers and peers use; all resolve to 127.0.0.1.
pub const TEST_HOSTS: [&str; 6] = [
    "alpha.test",
    "beta.test",
    "gamma.test",
    "fedify.test",
    "evil.test",
    "remote.test",
];

/// An HTTP client that resolves the test host names to loopback.
pub fn client() -> reqwest::Client {
    let mut b = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    for h in TEST_HOSTS {
        b = b.resolve(h, "127.0.0.1:0".parse().unwrap());
    }
    b.build().expect("client")
}

/// Runs the CLI with a config file and working directory, feeding `stdin`.
pub fn run_cli(config: &Path, cwd: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(binary())
        .arg("--config")
        .arg(config)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start guildhall");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("guildhall output")
}
