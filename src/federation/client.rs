//! The outgoing HTTP client and the federation library's configuration: timeouts, no
//! automatic redirects, a user agent naming us, and a DNS resolver that refuses private
//! addresses at connect time (unless `federation.allow_private_addresses`, for tests) and
//! honours `federation.resolve` overrides.

use crate::{config::Config, state::AppState};
use activitypub_federation::config::{FederationConfig, UrlVerifier};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
    time::Duration,
};
use url::Url;

/// Whether an address is not on the public internet (loopback, private, link-local,
/// CGNAT, unspecified, multicast, documentation, and IPv6 forms that embed such IPv4).
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_private_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private_v4(v4);
            }
            let s = v6.segments();
            // NAT64 64:ff9b::/96 carries an IPv4 address in its last 32 bits.
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                let v4 =
                    Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
                return is_private_v4(v4);
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || v6 == Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 1)
        }
    }
}

fn is_private_v4(v4: Ipv4Addr) -> bool {
    let o = v4.octets();
    v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_multicast()
        || v4.is_documentation()
        || o[0] == 0
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // CGNAT 100.64/10
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || o[0] >= 240 // reserved
}

/// DNS with overrides, refusing private answers unless allowed.
#[derive(Debug, Clone)]
struct GuardedResolver {
    overrides: Arc<BTreeMap<String, IpAddr>>,
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let this = self.clone();
        Box::pin(async move {
            let host = name.as_str().to_ascii_lowercase();
            if let Some(ip) = this.overrides.get(&host) {
                let addrs: Addrs = Box::new(std::iter::once(SocketAddr::new(*ip, 0)));
                return Ok(addrs);
            }
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| this.allow_private || !is_private(a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// Checks a URL before we fetch from or deliver to it: http(s) only, and no private IP
/// literal (host names are checked when resolved).
pub fn check_url(url: &Url, allow_private: bool) -> Result<(), &'static str> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err("only http and https URLs are fetched");
    }
    if !allow_private && url.scheme() == "http" {
        return Err("plain http is refused");
    }
    match url.host() {
        None => Err("URL has no host"),
        Some(url::Host::Ipv4(ip)) if !allow_private && is_private(IpAddr::V4(ip)) => {
            Err("private address")
        }
        Some(url::Host::Ipv6(ip)) if !allow_private && is_private(IpAddr::V6(ip)) => {
            Err("private address")
        }
        Some(url::Host::Domain(d))
            if !allow_private && (d == "localhost" || d.ends_with(".localhost")) =>
        {
            Err("private address")
        }
        _ => Ok(()),
    }
}

/// GETs a small JSON document that is not an ActivityPub object (WebFinger, NodeInfo): the
/// URL checked, 2xx required, at most `max` bytes read. `what` names it in errors. The body,
/// or None for a 404.
pub async fn get_small(
    state: &crate::state::AppState,
    url: Url,
    accept: &'static str,
    max: usize,
    what: &str,
) -> Result<Option<Vec<u8>>, crate::error::AppError> {
    use crate::error::AppError;
    let allow_private = state.config.federation.allow_private_addresses;
    check_url(&url, allow_private).map_err(|m| AppError::forbidden("bad_url", m))?;
    let mut res = state
        .http
        .get(url)
        .header("accept", accept)
        .send()
        .await
        .map_err(|e| AppError::Remote(format!("{what}: {}", e.without_url())))?;
    if res.status() == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !res.status().is_success() {
        return Err(AppError::Remote(format!(
            "{what} answered {}",
            res.status()
        )));
    }
    let mut body = Vec::new();
    while let Some(chunk) = res
        .chunk()
        .await
        .map_err(|e| AppError::Remote(e.without_url().to_string()))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > max {
            return Err(AppError::Remote(format!("{what} document too large")));
        }
    }
    Ok(Some(body))
}

/// Our HTTP client for federation.
pub fn http_client(config: &Config) -> reqwest::Client {
    let f = &config.federation;
    reqwest::Client::builder()
        .user_agent(format!(
            "Guildhall/{}; +{}",
            env!("CARGO_PKG_VERSION"),
            config.server.base_url
        ))
        .timeout(Duration::from_secs(f.request_timeout_secs))
        .connect_timeout(Duration::from_secs(f.request_timeout_secs.min(5)))
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(GuardedResolver {
            overrides: Arc::new(f.resolve.clone()),
            allow_private: f.allow_private_addresses,
        })
        .build()
        .expect("an HTTP client with these settings always builds")
}

/// Refuses a redirect to another host on fetches (the library follows one redirect on its
/// own; a cross-host one would let a server hand us someone else's object).
struct SameHostRedirects;

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for SameHostRedirects {
    async fn handle(
        &self,
        req: reqwest::Request,
        extensions: &mut http::Extensions,
        next: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let from = req.url().clone();
        let res = next.run(req, extensions).await?;
        if res.status().is_redirection() {
            let to = res
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| from.join(l).ok());
            let same = to.as_ref().is_some_and(|t| {
                t.host_str() == from.host_str()
                    && t.port_or_known_default() == from.port_or_known_default()
            });
            if !same {
                return Err(reqwest_middleware::Error::Middleware(anyhow::anyhow!(
                    "refusing a redirect from {from} to another host"
                )));
            }
        }
        Ok(res)
    }
}

/// The federation library checks every URL it fetches with this.
#[derive(Clone)]
struct Verifier {
    allow_private: bool,
    state: AppState,
}

#[async_trait::async_trait]
impl UrlVerifier for Verifier {
    async fn verify(&self, url: &Url) -> Result<(), activitypub_federation::error::Error> {
        use activitypub_federation::error::Error;
        check_url(url, self.allow_private).map_err(Error::UrlVerificationError)?;
        match self.state.is_blocked(url).await {
            Ok(false) => Ok(()),
            Ok(true) => Err(Error::UrlVerificationError("the instance is blocked")),
            Err(_) => Err(Error::UrlVerificationError("cannot check the block list")),
        }
    }
}

/// The federation library's configuration over our state: our domain, our client, the
/// instance actor signing fetches (authorized fetch), a fetch budget per request.
pub async fn federation_config(state: &AppState) -> anyhow::Result<FederationConfig<AppState>> {
    let allow_private = state.config.federation.allow_private_addresses;
    let client = reqwest_middleware::ClientBuilder::new(state.http.clone())
        .with(SameHostRedirects)
        .build();
    let instance = crate::federation::objects::instance::InstanceActor::of(state);
    Ok(FederationConfig::builder()
        .domain(state.domain.clone())
        .app_data(state.clone())
        .client(client)
        // In test mode (private addresses allowed) the library must also accept plain http
        // and explicit ports; our resolver and `check_url` keep their guard either way.
        .debug(allow_private)
        .allow_http_urls(allow_private)
        .http_fetch_limit(25)
        .request_timeout(Duration::from_secs(
            state.config.federation.request_timeout_secs,
        ))
        .url_verifier(Box::new(Verifier {
            allow_private,
            state: state.clone(),
        }))
        .signed_fetch_actor(&instance)
        // Sign fetches the way Mastodon and Lemmy do: `Host` and `Date` signed (a private
        // community refuses a signature that does not name its host), no `(created)`.
        .http_signature_compat(true)
        .build()
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "::ffff:127.0.0.1",
            "64:ff9b::7f00:1",
            "fd00::1",
            "fe80::1",
            "224.0.0.1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:4700::1111", "64:ff9b::5db8:d822"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn resolver_refuses_private_answers_unless_told() {
        use std::str::FromStr;
        let guarded = GuardedResolver {
            overrides: Arc::new(BTreeMap::new()),
            allow_private: false,
        };
        // `localhost` resolves to loopback: refused at connect time.
        assert!(
            guarded
                .resolve(Name::from_str("localhost").unwrap())
                .await
                .is_err()
        );
        let open = GuardedResolver {
            overrides: Arc::new(BTreeMap::new()),
            allow_private: true,
        };
        assert!(
            open.resolve(Name::from_str("localhost").unwrap())
                .await
                .is_ok()
        );
        let mut map = BTreeMap::new();
        map.insert("peer.test".to_string(), "127.0.0.1".parse().unwrap());
        let overridden = GuardedResolver {
            overrides: Arc::new(map),
            allow_private: false,
        };
        let addrs: Vec<_> = overridden
            .resolve(Name::from_str("peer.test").unwrap())
            .await
            .unwrap()
            .collect();
        assert_eq!(addrs[0].ip().to_string(), "127.0.0.1");
    }

    #[test]
    fn urls() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert!(check_url(&u("https://example.org/x"), false).is_ok());
        for bad in [
            "http://example.org/",
            "https://127.0.0.1/",
            "https://[::1]/",
            "https://localhost/",
            "file:///etc/passwd",
            "data:text/plain,x",
        ] {
            assert!(check_url(&u(bad), false).is_err(), "{bad}");
        }
        assert!(check_url(&u("http://127.0.0.1:8080/"), true).is_ok());
        assert!(check_url(&u("file:///etc/passwd"), true).is_err());
    }
}

/// Actors that could not be fetched a moment ago (a 404 or 410, an unusable document):
/// asked again only after `TTL`, so that N activities naming such an actor cost one fetch,
/// not N; and one fetch at a time per actor (`one_at_a_time`), so that N at once cost one
/// too. Bounded: when full, expired entries go, then the oldest half.
#[derive(Debug, Default)]
pub struct RecentMisses {
    map: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
    fetching:
        std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>>,
}

/// Held while an actor is fetched (`RecentMisses::one_at_a_time`).
pub struct Fetching<'a> {
    misses: &'a RecentMisses,
    key: String,
    _guard: tokio::sync::OwnedMutexGuard<()>,
}

impl Drop for Fetching<'_> {
    fn drop(&mut self) {
        let mut f = self
            .misses
            .fetching
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        // The last one out takes the entry away (the map holds one reference, we another).
        if f.get(&self.key)
            .is_some_and(|m| std::sync::Arc::strong_count(m) <= 2)
        {
            f.remove(&self.key);
        }
    }
}

impl RecentMisses {
    /// How long a failed fetch is remembered.
    pub const TTL: std::time::Duration = std::time::Duration::from_secs(60);
    const MAX: usize = 10_000;

    /// Whether fetching `url` failed less than `TTL` ago.
    pub fn is_recent(&self, url: &Url) -> bool {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(url.as_str())
            .is_some_and(|at| at.elapsed() < Self::TTL)
    }

    /// Remembers that fetching `url` failed now.
    pub fn record(&self, url: &Url) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= Self::MAX {
            map.retain(|_, at| at.elapsed() < Self::TTL);
        }
        if map.len() >= Self::MAX {
            let mut ages: Vec<std::time::Instant> = map.values().copied().collect();
            ages.sort_unstable();
            let cut = ages[ages.len() / 2];
            map.retain(|_, at| *at > cut);
        }
        map.insert(url.to_string(), std::time::Instant::now());
    }

    /// Waits until no other task is fetching `url`, and holds it while this one does.
    pub async fn one_at_a_time(&self, url: &Url) -> Fetching<'_> {
        let lock = {
            let mut f = self.fetching.lock().unwrap_or_else(|e| e.into_inner());
            f.entry(url.to_string()).or_default().clone()
        };
        Fetching {
            misses: self,
            key: url.to_string(),
            _guard: lock.lock_owned().await,
        }
    }
}
