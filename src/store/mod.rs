//! The store: the only place with SQL. One SQL text per query, run through `sqlx::Any` on
//! SQLite or PostgreSQL (docs/decisions/0001-one-sql-text.md). Functions take a connection
//! (`&mut AnyConnection`, which a transaction derefs to) so that use-cases compose them
//! into one transaction.

pub mod accounts;
pub mod activities;
pub mod bans;
pub mod communities;
pub mod deliveries;
pub mod followers;
#[cfg(test)]
mod frozen;
pub mod inbound;
pub mod instance;
pub mod instances;
pub mod invitations;
pub mod leadership;
pub mod modlog;
pub mod notices;
pub mod people;
pub mod posts;
pub mod refused;
pub mod reports;
pub mod roles;
pub mod settings;

use anyhow::Context;
use sqlx::{
    AnyConnection, AnyPool, Connection, Executor,
    any::{AnyPoolOptions, install_default_drivers},
};
use std::{path::Path, time::Duration};

/// Which database engine is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A connection pool and the engine it talks to.
#[derive(Debug, Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    /// SQLite: one write transaction of this process at a time (see `begin`).
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
}

/// A write transaction (and, on SQLite, this process's turn to write).
pub struct WriteTx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl WriteTx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

/// A pooled connection for autocommit writes (and, on SQLite, this process's turn).
pub struct WriteConn {
    conn: sqlx::pool::PoolConnection<sqlx::Any>,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl std::ops::Deref for WriteConn {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for WriteConn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }
}

impl std::ops::Deref for WriteTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl Db {
    /// Connects to `url` (`sqlite://…` or `postgres://…`). For SQLite the parent directory
    /// of the file is created, and every connection uses WAL, a busy timeout and foreign keys.
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Db> {
        install_default_drivers();
        let backend = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        };
        if backend == Backend::Sqlite {
            create_sqlite_parent_dir(url)?;
        }
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            // An SQLite connection lives in this process and cannot go stale; the check
            // before each acquire was a round trip to its worker thread for nothing.
            .test_before_acquire(backend == Backend::Postgres)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await
            .with_context(|| {
                format!(
                    "cannot open the database at {}",
                    crate::config::mask_url_password(url)
                )
            })?;
        Ok(Db {
            pool,
            backend,
            writer: Default::default(),
        })
    }

    /// Applies every pending migration of this backend.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&self.pool)
            .await
            .context("applying database migrations")
    }

    /// Begins a transaction that will write. On SQLite, write transactions of this process
    /// take turns on an async lock (waiting there holds no pooled connection) and then take
    /// SQLite's write lock at once (`BEGIN IMMEDIATE`): a deferred transaction that reads
    /// first and writes later fails with "database is locked" when another writer commits
    /// in between, and many writers spinning in SQLite's busy handler starve the pool.
    /// PostgreSQL needs neither.
    pub async fn begin(&self) -> Result<WriteTx, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => {
                let guard = self.writer.clone().lock_owned().await;
                let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
                Ok(WriteTx {
                    tx,
                    _turn: Some(guard),
                })
            }
            Backend::Postgres => Ok(WriteTx {
                tx: self.pool.begin().await?,
                _turn: None,
            }),
        }
    }

    /// A connection for autocommit writes, taken in turn with the write transactions on
    /// SQLite (see `begin`): writers wait on an async lock, not in SQLite's busy handler.
    pub async fn write_conn(&self) -> Result<WriteConn, sqlx::Error> {
        let turn = match self.backend {
            Backend::Sqlite => Some(self.writer.clone().lock_owned().await),
            Backend::Postgres => None,
        };
        Ok(WriteConn {
            conn: self.pool.acquire().await?,
            _turn: turn,
        })
    }

    /// A cheap round trip, for `/healthz`.
    pub async fn ping(&self) -> anyhow::Result<()> {
        let mut conn = self.pool.acquire().await?;
        conn.ping().await?;
        Ok(())
    }
}

fn create_sqlite_parent_dir(url: &str) -> anyhow::Result<()> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create the data directory {}", parent.display()))?;
    }
    Ok(())
}

/// Now, in Unix epoch milliseconds: how every time is stored.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Booleans are stored as 0/1 integers on both engines.
/// `$1, $2, …, $n`, for an `IN (…)` list whose values are all bound.
pub fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn flag(b: bool) -> i64 {
    i64::from(b)
}

/// Claims `name` in the single local namespace shared by people and communities.
/// Fails with a unique violation (a 409 to the client) if it is taken.
pub async fn claim_local_name(
    conn: &mut AnyConnection,
    name: &str,
    kind: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO local_names (name, kind) VALUES ($1, $2)")
        .bind(name)
        .bind(kind)
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether `name` is already taken by a local person or community.
pub async fn local_name_taken(conn: &mut AnyConnection, name: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM local_names WHERE name = $1")
        .bind(name)
        .fetch_one(conn)
        .await?;
    Ok(n > 0)
}

/// Parses a stored URL column; a bad one is a decode error, not a panic.
pub(crate) fn parse_url(raw: String) -> Result<url::Url, sqlx::Error> {
    url::Url::parse(&raw).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}
