//! What software a remote instance runs, from its NodeInfo (`/.well-known/nodeinfo`, then the
//! 2.x document it links), cached a day in `instance_software`. A private community asks
//! before it admits a member from that instance.

use super::client::get_small;
use crate::{
    error::{AppError, AppResult},
    state::AppState,
    store::{self, instances::Software},
};
use serde::Deserialize;
use url::Url;

/// NodeInfo documents are small; anything bigger is not one.
const NODEINFO_MAX: usize = 64 * 1024;
/// How long an answer is trusted.
const FRESH_MS: i64 = 24 * 3600 * 1000;

#[derive(Deserialize)]
struct Discovery {
    #[serde(default)]
    links: Vec<Link>,
}

#[derive(Deserialize)]
struct Link {
    #[serde(default)]
    rel: String,
    #[serde(default)]
    href: Option<String>,
}

#[derive(Deserialize)]
struct NodeInfo {
    software: SoftwareField,
}

#[derive(Deserialize)]
struct SoftwareField {
    name: String,
    #[serde(default)]
    version: String,
}

/// The software at `actor`'s instance: from the cache when fresh, else asked.
pub async fn of_instance(state: &AppState, actor: &Url) -> AppResult<Software> {
    let domain = store::instances::domain_of(actor);
    {
        let mut conn = state.db.pool.acquire().await?;
        if let Some(known) = store::instances::software(&mut conn, &domain).await?
            && store::now_ms() - known.fetched_at < FRESH_MS
        {
            return Ok(known);
        }
    }
    let base = Url::parse(&format!("{}://{domain}/", actor.scheme()))
        .map_err(|_| AppError::Remote("actor id has no usable host".into()))?;
    let discovery: Discovery = get_json(state, base.join(".well-known/nodeinfo").ok()).await?;
    let href = discovery
        .links
        .iter()
        .filter(|l| {
            l.rel
                .starts_with("http://nodeinfo.diaspora.software/ns/schema/2.")
        })
        .filter(|l| l.href.is_some())
        .max_by(|a, b| a.rel.cmp(&b.rel)) // the newest schema (2.1 over 2.0) when several
        .and_then(|l| l.href.as_deref())
        .ok_or_else(|| AppError::Remote(format!("{domain} links no NodeInfo 2.x")))?;
    let href = Url::parse(href).map_err(|_| AppError::Remote("bad NodeInfo link".into()))?;
    if href.host_str() != actor.host_str() {
        return Err(AppError::Remote(format!(
            "{domain}'s NodeInfo link points to another host"
        )));
    }
    let info: NodeInfo = get_json(state, Some(href)).await?;
    let name = info.software.name.to_lowercase();
    let mut conn = state.db.write_conn().await?;
    store::instances::set_software(&mut conn, &domain, &name, &info.software.version).await?;
    Ok(Software {
        name,
        version: info.software.version,
        fetched_at: store::now_ms(),
    })
}

async fn get_json<T: serde::de::DeserializeOwned>(
    state: &AppState,
    url: Option<Url>,
) -> AppResult<T> {
    let url = url.ok_or_else(|| AppError::Remote("bad NodeInfo address".into()))?;
    let body = get_small(state, url, "application/json", NODEINFO_MAX, "NodeInfo")
        .await?
        .ok_or_else(|| AppError::Remote("no NodeInfo here".into()))?;
    serde_json::from_slice(&body).map_err(|e| AppError::Remote(format!("NodeInfo: {e}")))
}
