//! Test support: a fresh database per test on SQLite or PostgreSQL, an in-process app,
//! real `guildhall` processes, and a poll-until-deadline helper (never a bare sleep).

pub mod process;

use guildhall::{config::Config, state::AppState, store::Db};
use std::{future::Future, time::Duration};
use tempfile::TempDir;

/// Which store a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the PostgreSQL test server is (trust auth); each test creates its own database.
pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// A fresh, empty database for one test. SQLite files live in a temporary directory that
/// is removed with this value; PostgreSQL databases are named `gh_test_<time>_<random>`
/// and old ones are swept on creation.
pub struct TestDb {
    pub url: String,
    /// Keeps the SQLite directory alive for the test.
    pub _dir: TempDir,
}

pub async fn test_db(backend: Backend) -> TestDb {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = match backend {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display()),
        Backend::Postgres => create_postgres_db().await,
    };
    TestDb { url, _dir: dir }
}

async fn create_postgres_db() -> String {
    use sqlx::Connection;
    let admin_url = postgres_admin_url();
    let mut conn = sqlx::PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is required by the store tests and is not reachable at {admin_url}: {e}. \
             Start it (see README.md) or set TEST_POSTGRES_URL."
        )
    });
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    sweep_old_databases(&mut conn, now).await;
    let name = format!("gh_test_{now}_{:016x}", rand::random::<u64>());
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("CREATE DATABASE");
    let base = admin_url
        .rsplit_once('/')
        .map(|(b, _)| b)
        .unwrap_or(&admin_url);
    format!("{base}/{name}")
}

/// Drops test databases left by runs more than two hours old.
async fn sweep_old_databases(conn: &mut sqlx::PgConnection, now: u64) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'gh_test_%'")
            .fetch_all(&mut *conn)
            .await
            .unwrap_or_default();
    for name in names {
        let stamp = name
            .strip_prefix("gh_test_")
            .and_then(|r| r.split('_').next())
            .and_then(|t| t.parse::<u64>().ok());
        if stamp.is_some_and(|t| t + 7200 < now) {
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut *conn)
            .await;
        }
    }
}

/// A migrated database and the state over it, with `extra` TOML merged into the defaults.
pub async fn test_state(backend: Backend, extra: &str) -> (AppState, TestDb) {
    let db = test_db(backend).await;
    let toml = format!("[server]\nbase_url = \"http://gh.test\"\n{extra}");
    let config = Config::from_toml(&toml).expect("test config");
    let pool = Db::connect(&db.url, 5).await.expect("connect");
    pool.migrate().await.expect("migrate");
    let state = AppState::new(config, pool).await.expect("state");
    (state, db)
}

/// Polls `check` until it returns `Some`, or panics with `what` after `deadline`.
pub async fn poll_until<T, F, Fut>(deadline: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let end = tokio::time::Instant::now() + deadline;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() >= end {
            panic!("timed out after {deadline:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Generates `mod NAME { sqlite(), postgres() }` tests from `async fn NAME(Backend)`.
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::support::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::support::Backend::Postgres).await
            }
        }
    )*};
}

/// Counts rows of a table (tests check that rejected input stored nothing).
pub async fn count(state: &AppState, table: &str) -> i64 {
    let mut conn = state.db.pool.acquire().await.unwrap();
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(&mut *conn)
        .await
        .unwrap()
}

/// A payload captured from a real server, from `federation-tests/assets/`.
pub fn asset(path: &str) -> String {
    let full = format!(
        "{}/federation-tests/assets/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// The federation library's request data over `state`, configured as the server does it
/// (what inbox handlers get).
pub async fn federation_data(state: &AppState) -> activitypub_federation::config::Data<AppState> {
    guildhall::federation::client::federation_config(state)
        .await
        .expect("federation config")
        .to_request_data()
}
