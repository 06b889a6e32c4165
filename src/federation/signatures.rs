//! HTTP Signatures (draft-cavage-http-signatures-12, as Mastodon, Lemmy and Fedify send
//! them) with `Digest: SHA-256=…` (RFC 3230): signing our requests and verifying incoming
//! ones. Our own module rather than the federation library's because we need a bounded date
//! window with an injectable clock, signed GETs on axum, and the host check.

pub use super::keys::{PrivateKey, PublicKey};
use base64::{Engine, engine::general_purpose::STANDARD};
use http::{HeaderMap, HeaderValue, Method};
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime};
use url::Url;

/// Why a signature was refused. Every variant is the client's fault (401 or 400).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("no Signature header")]
    Missing,
    #[error("malformed Signature header: {0}")]
    Malformed(&'static str),
    #[error("signed header `{0}` is absent from the request")]
    HeaderAbsent(String),
    #[error("required header `{0}` is not covered by the signature")]
    NotSigned(&'static str),
    #[error("Digest header missing")]
    DigestMissing,
    #[error("Digest does not match the body")]
    DigestMismatch,
    #[error("Digest header uses no supported algorithm (SHA-256)")]
    DigestUnsupported,
    #[error("Date header is unparseable")]
    BadDate,
    #[error("signature is too old or from the future (Date or created outside the window)")]
    Expired,
    #[error("signature was made for another host")]
    WrongHost,
    #[error("public key is unusable")]
    BadKey,
    #[error("signature does not verify")]
    Invalid,
}

/// The parameters of a `Signature` header.
#[derive(Debug, Clone)]
pub struct SignatureParams {
    pub key_id: String,
    pub algorithm: Option<String>,
    pub headers: Vec<String>,
    pub signature: Vec<u8>,
    pub created: Option<i64>,
    pub expires: Option<i64>,
}

/// Limits applied to a signature's time.
#[derive(Debug, Clone, Copy)]
pub struct TimeWindow {
    pub now: SystemTime,
    /// How old a `Date` may be (Mastodon allows 12 hours).
    pub max_age: Duration,
    /// How far in the future a `Date` may be (clock skew).
    pub max_skew: Duration,
}

impl TimeWindow {
    /// The default window at the current time: 12 hours back, 1 hour ahead.
    pub fn now() -> TimeWindow {
        TimeWindow {
            now: SystemTime::now(),
            max_age: Duration::from_secs(12 * 3600),
            max_skew: Duration::from_secs(3600),
        }
    }

    fn check(&self, t: SystemTime) -> Result<(), SignatureError> {
        if t + self.max_age < self.now || t > self.now + self.max_skew {
            return Err(SignatureError::Expired);
        }
        Ok(())
    }
}

/// Parses `keyId="…",algorithm="…",headers="…",signature="…"` (order free, unknown
/// parameters ignored, at most 16 KiB).
pub fn parse_signature_header(value: &str) -> Result<SignatureParams, SignatureError> {
    if value.len() > 16 * 1024 {
        return Err(SignatureError::Malformed("too long"));
    }
    let mut key_id = None;
    let mut algorithm = None;
    let mut headers = None;
    let mut signature = None;
    let mut created = None;
    let mut expires = None;
    let mut rest = value.trim();
    while !rest.is_empty() {
        let (name, after) = rest
            .split_once('=')
            .ok_or(SignatureError::Malformed("parameter without ="))?;
        let name = name.trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (val, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted
                .find('"')
                .ok_or(SignatureError::Malformed("unterminated quote"))?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            match after.find(',') {
                Some(i) => (&after[..i], &after[i..]),
                None => (after, ""),
            }
        };
        match name.as_str() {
            "keyid" => key_id = Some(val.to_string()),
            "algorithm" => algorithm = Some(val.to_string()),
            "headers" => {
                headers = Some(
                    val.split_ascii_whitespace()
                        .map(|h| h.to_ascii_lowercase())
                        .collect(),
                )
            }
            "signature" => {
                signature = Some(
                    STANDARD
                        .decode(val)
                        .map_err(|_| SignatureError::Malformed("signature is not base64"))?,
                )
            }
            "created" => {
                created = Some(
                    val.parse()
                        .map_err(|_| SignatureError::Malformed("created is not a number"))?,
                )
            }
            "expires" => {
                expires = Some(
                    val.parse()
                        .map_err(|_| SignatureError::Malformed("expires is not a number"))?,
                )
            }
            _ => {}
        }
        rest = remaining.trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    Ok(SignatureParams {
        key_id: key_id.ok_or(SignatureError::Malformed("keyId missing"))?,
        algorithm,
        // The draft's default when `headers` is absent.
        headers: headers.unwrap_or_else(|| vec!["date".to_string()]),
        signature: signature.ok_or(SignatureError::Malformed("signature missing"))?,
        created,
        expires,
    })
}

/// The actor that owns a key id: the key id without its fragment (`…#main-key`).
pub fn key_owner(key_id: &str) -> Option<Url> {
    let mut url = Url::parse(key_id).ok()?;
    url.set_fragment(None);
    Some(url)
}

/// Builds the string that was signed, from the request as received.
fn signing_string(
    params: &SignatureParams,
    method: &Method,
    path_and_query: &str,
    headers: &HeaderMap,
) -> Result<String, SignatureError> {
    let mut lines = Vec::with_capacity(params.headers.len());
    for name in &params.headers {
        let line = match name.as_str() {
            "(request-target)" => format!(
                "(request-target): {} {}",
                method.as_str().to_ascii_lowercase(),
                path_and_query
            ),
            "(created)" => format!(
                "(created): {}",
                params
                    .created
                    .ok_or(SignatureError::Malformed("(created) signed but absent"))?
            ),
            "(expires)" => format!(
                "(expires): {}",
                params
                    .expires
                    .ok_or(SignatureError::Malformed("(expires) signed but absent"))?
            ),
            name => {
                let values: Vec<&str> = headers
                    .get_all(name)
                    .iter()
                    .map(|v| v.to_str().map(str::trim))
                    .collect::<Result<_, _>>()
                    .map_err(|_| SignatureError::Malformed("non-ASCII header value"))?;
                if values.is_empty() {
                    return Err(SignatureError::HeaderAbsent(name.to_string()));
                }
                format!("{name}: {}", values.join(", "))
            }
        };
        lines.push(line);
    }
    Ok(lines.join("\n"))
}

/// Checks `Digest` against the body: at least one SHA-256 value, and it must match.
pub fn verify_digest(headers: &HeaderMap, body: &[u8]) -> Result<(), SignatureError> {
    let value = headers
        .get("digest")
        .ok_or(SignatureError::DigestMissing)?
        .to_str()
        .map_err(|_| SignatureError::DigestMismatch)?;
    let expected = STANDARD.encode(Sha256::digest(body));
    let mut saw_sha256 = false;
    for part in value.split(',') {
        let Some((alg, val)) = part.trim().split_once('=') else {
            continue;
        };
        if alg.eq_ignore_ascii_case("sha-256") {
            saw_sha256 = true;
            if val.trim() != expected {
                return Err(SignatureError::DigestMismatch);
            }
        }
    }
    if saw_sha256 {
        Ok(())
    } else {
        Err(SignatureError::DigestUnsupported)
    }
}

/// Parses a public key in PEM (SubjectPublicKeyInfo, or PKCS#1 as some servers send).
pub fn parse_public_key(pem: &str) -> Result<PublicKey, SignatureError> {
    PublicKey::from_pem(pem).map_err(|_| SignatureError::BadKey)
}

/// A request as received: what a signature covers.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    pub method: &'a Method,
    /// Path and query exactly as requested (the `(request-target)`).
    pub path_and_query: &'a str,
    pub headers: &'a HeaderMap,
    /// The body, for requests that have one (its `Digest` is then required).
    pub body: Option<&'a [u8]>,
}

/// Verifies a signed request against the key of the signing actor.
///
/// Requires `(request-target)`, and `date` or `(created)` to be signed; for a request with
/// a body also `host` and `digest`, which must match the body. `expected_host`, when given,
/// must equal the signed `Host` (a signature made for another server is refused).
pub fn verify_request(
    params: &SignatureParams,
    req: &Received<'_>,
    public_key: &PublicKey,
    window: &TimeWindow,
    expected_host: Option<&str>,
) -> Result<(), SignatureError> {
    let Received {
        method,
        path_and_query,
        headers,
        body,
    } = *req;
    let signed = |h: &str| params.headers.iter().any(|s| s == h);
    if !signed("(request-target)") {
        return Err(SignatureError::NotSigned("(request-target)"));
    }
    if let Some(body) = body {
        // A signed POST must name the host it was made for (no replay at another server).
        // Signed GETs often leave Host out (the federation library, Lemmy 0.19's GETs).
        if !signed("host") {
            return Err(SignatureError::NotSigned("host"));
        }
        if !signed("digest") {
            return Err(SignatureError::NotSigned("digest"));
        }
        verify_digest(headers, body)?;
    }
    match (signed("date"), signed("(created)")) {
        (_, true) => {
            let created = params
                .created
                .ok_or(SignatureError::Malformed("created missing"))?;
            let t = SystemTime::UNIX_EPOCH
                + Duration::from_secs(u64::try_from(created).map_err(|_| SignatureError::BadDate)?);
            window.check(t)?;
        }
        (true, false) => {
            let date = headers
                .get("date")
                .and_then(|d| d.to_str().ok())
                .ok_or(SignatureError::HeaderAbsent("date".into()))?;
            let t = httpdate::parse_http_date(date).map_err(|_| SignatureError::BadDate)?;
            window.check(t)?;
        }
        (false, false) => return Err(SignatureError::NotSigned("date")),
    }
    if let Some(expires) = params.expires {
        let t = SystemTime::UNIX_EPOCH
            + Duration::from_secs(u64::try_from(expires).map_err(|_| SignatureError::BadDate)?);
        if t < window.now {
            return Err(SignatureError::Expired);
        }
    }
    if let Some(expected) = expected_host {
        let host = headers
            .get("host")
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        if !host.eq_ignore_ascii_case(expected) {
            return Err(SignatureError::WrongHost);
        }
    }
    let text = signing_string(params, method, path_and_query, headers)?;
    if public_key.verify(text.as_bytes(), &params.signature) {
        Ok(())
    } else {
        Err(SignatureError::Invalid)
    }
}

/// Parses an actor's private key (PKCS#8 PEM, as we store them).
pub fn parse_private_key(pem: &str) -> Result<PrivateKey, SignatureError> {
    PrivateKey::from_pem(pem).map_err(|_| SignatureError::BadKey)
}

/// Adds `Host`, `Date`, `Digest` (when there is a body) and `Signature` headers to a
/// request, signing `(request-target) host date [digest content-type | accept]` with
/// `rsa-sha256`, the variant every peer accepts.
pub fn sign_request(
    method: &Method,
    url: &Url,
    headers: &mut HeaderMap,
    body: Option<&[u8]>,
    key_id: &str,
    key: &PrivateKey,
    now: SystemTime,
) -> Result<(), SignatureError> {
    let host = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_string(),
    };
    let value =
        |s: &str| HeaderValue::from_str(s).map_err(|_| SignatureError::Malformed("header value"));
    headers.insert("host", value(&host)?);
    headers.insert("date", value(&httpdate::fmt_http_date(now))?);
    let mut names = vec!["(request-target)", "host", "date"];
    if let Some(body) = body {
        let digest = format!("SHA-256={}", STANDARD.encode(Sha256::digest(body)));
        headers.insert("digest", value(&digest)?);
        names.push("digest");
        if headers.contains_key("content-type") {
            names.push("content-type");
        }
    } else if headers.contains_key("accept") {
        names.push("accept");
    }
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let params = SignatureParams {
        key_id: key_id.to_string(),
        algorithm: Some("rsa-sha256".into()),
        headers: names.iter().map(|s| s.to_string()).collect(),
        signature: Vec::new(),
        created: None,
        expires: None,
    };
    let text = signing_string(&params, method, &path, headers)?;
    let signature = key
        .sign(text.as_bytes())
        .map_err(|_| SignatureError::BadKey)?;
    let header = format!(
        "keyId=\"{key_id}\",algorithm=\"rsa-sha256\",headers=\"{}\",signature=\"{}\"",
        names.join(" "),
        STANDARD.encode(signature)
    );
    headers.insert("signature", value(&header)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lemmy_and_mastodon_headers() {
        let p = parse_signature_header(
            r#"keyId="http://a.test/u/x#main-key",algorithm="hs2019",headers="(request-target) content-type date digest host",signature="AAEC""#,
        )
        .unwrap();
        assert_eq!(p.key_id, "http://a.test/u/x#main-key");
        assert_eq!(
            p.headers,
            vec!["(request-target)", "content-type", "date", "digest", "host"]
        );
        assert_eq!(p.signature, vec![0, 1, 2]);
        let p = parse_signature_header(r#"signature="AAEC", keyId="k", created=1700000000, headers="(request-target) (created) host""#).unwrap();
        assert_eq!(p.created, Some(1_700_000_000));
        for bad in [
            "",
            "keyId",
            r#"keyId="k""#,
            r#"signature="!!!",keyId="k""#,
            r#"keyId="k,signature="AA=="#,
        ] {
            assert!(parse_signature_header(bad).is_err(), "{bad}");
        }
        assert_eq!(
            key_owner("http://a.test/u/x#main-key").unwrap().as_str(),
            "http://a.test/u/x"
        );
    }

    #[test]
    fn sign_then_verify_and_tamper() {
        let pair = activitypub_federation::http_signatures::generate_actor_keypair().unwrap();
        let key = parse_private_key(&pair.private_key).unwrap();
        let public = parse_public_key(&pair.public_key).unwrap();
        let url = Url::parse("http://b.test:8080/inbox?x=1").unwrap();
        let body = br#"{"type":"Follow"}"#;
        let now = SystemTime::now();
        let mut headers = HeaderMap::new();
        headers.insert(
            "content-type",
            HeaderValue::from_static("application/activity+json"),
        );
        sign_request(
            &Method::POST,
            &url,
            &mut headers,
            Some(body),
            "http://a.test/u/x#main-key",
            &key,
            now,
        )
        .unwrap();
        let params = parse_signature_header(headers["signature"].to_str().unwrap()).unwrap();
        let window = TimeWindow {
            now,
            ..TimeWindow::now()
        };
        // Verifies the signed request with one thing changed.
        let check =
            |p: &SignatureParams, path: &str, body: &[u8], w: &TimeWindow, host: Option<&str>| {
                let req = Received {
                    method: &Method::POST,
                    path_and_query: path,
                    headers: &headers,
                    body: Some(body),
                };
                verify_request(p, &req, &public, w, host)
            };
        assert_eq!(
            check(&params, "/inbox?x=1", body, &window, Some("b.test:8080")),
            Ok(())
        );
        assert_eq!(
            check(&params, "/inbox?x=1", b"{}", &window, None),
            Err(SignatureError::DigestMismatch)
        );
        assert_eq!(
            check(&params, "/c/x/inbox", body, &window, None),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            check(&params, "/inbox?x=1", body, &window, Some("c.test")),
            Err(SignatureError::WrongHost)
        );
        let later = TimeWindow {
            now: now + Duration::from_secs(13 * 3600),
            ..window
        };
        assert_eq!(
            check(&params, "/inbox?x=1", body, &later, None),
            Err(SignatureError::Expired)
        );
        let earlier = TimeWindow {
            now: now - Duration::from_secs(2 * 3600),
            ..window
        };
        assert_eq!(
            check(&params, "/inbox?x=1", body, &earlier, None),
            Err(SignatureError::Expired)
        );
        let mut no_digest = params.clone();
        no_digest.headers.retain(|h| h != "digest");
        assert_eq!(
            check(&no_digest, "/inbox?x=1", body, &window, None),
            Err(SignatureError::NotSigned("digest"))
        );
        let mut no_date = params.clone();
        no_date.headers.retain(|h| h != "date");
        assert_eq!(
            check(&no_date, "/inbox?x=1", body, &window, None),
            Err(SignatureError::NotSigned("date"))
        );
    }
}
