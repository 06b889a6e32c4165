//! `AppState`: what every handler, worker and use-case shares. Cheap to clone.

use crate::{
    config::Config,
    store::{self, Db},
};
use activitypub_federation::http_signatures::generate_actor_keypair;
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
            config,
            db,
            instance_keys: keys,
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
    tokio::task::spawn_blocking(generate_actor_keypair)
        .await
        .context("key generation task")?
        .context("generating an RSA key pair")
}
