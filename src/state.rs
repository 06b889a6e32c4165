//! `AppState`: what every handler, worker and use-case shares. Cheap to clone.

use crate::{
    config::Config,
    store::{self, Db},
};
use anyhow::Context;
use std::{ops::Deref, sync::Arc};
use url::Url;

/// Shared application state (`Arc` inside, so clones are cheap).
#[derive(Clone, Debug)]
pub struct AppState(pub Arc<App>);

/// The contents of [`AppState`].
#[derive(Debug)]
pub struct App {
    pub config: Config,
    pub db: Db,
    /// `host[:port]` of this instance, as peers name it.
    pub domain: String,
    /// The instance actor's key pair (FEP-2677).
    pub instance_keys: store::instance::DbInstanceKeys,
    /// The HTTP client for federation (deliveries and fetches).
    pub http: reqwest::Client,
    /// Wakes the delivery workers when new deliveries are queued.
    pub delivery_wakeup: Arc<tokio::sync::Notify>,
    /// Per-client rate limits.
    pub limits: crate::ratelimit::Limits,
    /// Counters for `/metrics`.
    pub metrics: crate::metrics::Metrics,
    /// Parsed public keys of signers, by PEM (an inbox flood parses each key once).
    pub public_keys: crate::federation::keys::PublicKeyCache,
    /// Database connections reads may take at once (see `ratelimit::reads`).
    pub read_slots: tokio::sync::Semaphore,
    /// Anonymous page views, kept for a moment (see `pagecache`).
    pub page_cache: crate::pagecache::PageCache,
    /// The inbound queue (see `federation::queue`).
    pub inbound: crate::federation::queue::InboundQueue,
    /// Actors whose fetch failed a moment ago (`federation::client::RecentMisses`).
    pub actor_misses: crate::federation::client::RecentMisses,
    /// Turns what the domain did into activities (`domain::outgoing`).
    pub federator: Arc<dyn crate::domain::outgoing::Federate>,
    /// Lets a few refused activities a second into the admins' log (`domain::refused`).
    pub refused: crate::domain::refused::RefusalGate,
}

impl Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

impl AppState {
    /// Builds the state over an open, migrated database; creates the instance actor's keys
    /// on first start.
    pub async fn new(config: Config, db: Db) -> anyhow::Result<AppState> {
        let mut conn = db.pool.acquire().await?;
        let keys = match store::instance::get(&mut conn).await? {
            Some(keys) => keys,
            None => {
                let pair = new_keypair().await?;
                store::instance::insert_or_get(&mut conn, &pair.public_key, &pair.private_key)
                    .await?
            }
        };
        drop(conn);
        Ok(AppState(Arc::new(App {
            domain: config.domain(),
            http: crate::federation::client::http_client(&config),
            limits: crate::ratelimit::Limits::from_config(&config.limits),
            metrics: crate::metrics::Metrics::default(),
            public_keys: Default::default(),
            read_slots: crate::ratelimit::read_slots(config.database.max_connections),
            page_cache: crate::pagecache::PageCache::new(config.server.page_cache_ms),
            inbound: crate::federation::queue::InboundQueue::start(db.clone(), &config.federation),
            config,
            db,
            instance_keys: keys,
            delivery_wakeup: Arc::new(tokio::sync::Notify::new()),
            federator: Arc::new(crate::federation::publish::Publisher),
            actor_misses: Default::default(),
            refused: Default::default(),
        })))
    }

    /// An absolute URL on this instance for `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> Url {
        self.config
            .server
            .base_url
            .join(path)
            .expect("a path joined to a validated base URL is a URL")
    }

    /// Whether a URL is on this instance (same host and port as `server.base_url`).
    pub fn is_local_url(&self, url: &Url) -> bool {
        let base = &self.config.server.base_url;
        url.host_str() == base.host_str()
            && url.port_or_known_default() == base.port_or_known_default()
    }

    /// Whether we do not federate with the host of `url`: blocked (config or admin list;
    /// parent domains included), or, in allow-list mode, not allowed.
    pub async fn is_blocked(&self, url: &Url) -> Result<bool, sqlx::Error> {
        let Some(host) = url.host_str().map(str::to_ascii_lowercase) else {
            return Ok(false);
        };
        let fed = &self.config.federation;
        if in_list(&fed.blocked_instances, &host) {
            return Ok(true);
        }
        let mut conn = self.db.pool.acquire().await?;
        let policy = store::instances::host_policy(&mut conn, &host).await?;
        let allowlist = policy.mode.as_deref().unwrap_or(&fed.mode) == "allowlist";
        Ok(policy.blocked
            || (allowlist && !policy.allowed && !in_list(&fed.allowed_instances, &host)))
    }

    /// A new id for something we create: `/{kind}/{random}`.
    pub fn new_id(&self, kind: &str) -> Url {
        use rand::RngCore;
        let mut bytes = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut bytes);
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        self.url(&format!("/{kind}/{hex}"))
    }

    /// The ActivityPub id of a local person.
    pub fn person_url(&self, name: &str) -> Url {
        self.url(&format!("/u/{name}"))
    }

    /// The ActivityPub id of a local community.
    pub fn community_url(&self, name: &str) -> Url {
        self.url(&format!("/c/{name}"))
    }

    /// The ActivityPub id of the instance actor.
    pub fn instance_actor_url(&self) -> Url {
        self.url("/actor")
    }
}

/// A fresh RSA-2048 key pair for an actor, generated off the async threads.
pub async fn new_keypair() -> anyhow::Result<activitypub_federation::http_signatures::Keypair> {
    let (private_key, public_key) =
        tokio::task::spawn_blocking(crate::federation::keys::generate_pem_pair)
            .await
            .context("key generation task")?
            .context("generating an RSA key pair")?;
    Ok(activitypub_federation::http_signatures::Keypair {
        private_key,
        public_key,
    })
}

/// Whether `host` or one of its parent domains is in `list` (from the config).
pub fn in_list(list: &[String], host: &str) -> bool {
    store::instances::parent_domains(host)
        .into_iter()
        .any(|d| list.iter().any(|b| b.eq_ignore_ascii_case(d)))
}
