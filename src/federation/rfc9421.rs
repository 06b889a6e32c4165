//! HTTP Message Signatures (RFC 9421), inbound: what Fedify, Mastodon 4.5+ and others send
//! first (`Signature-Input` + `Signature`, `Content-Digest`). We verify `rsa-v1_5-sha256`
//! signatures over the derived components `@method`, `@target-uri`, `@authority`,
//! `@scheme`, `@request-target`, `@path`, `@query` and any header.

use super::keys::PublicKey;
use super::signatures::{Received, SignatureError, TimeWindow};
use base64::{Engine, engine::general_purpose::STANDARD};
use http::HeaderMap;
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime};

/// One signature of a request (the first label of `Signature-Input`).
#[derive(Debug, Clone)]
pub struct Params {
    pub components: Vec<String>,
    /// The inner list and its parameters exactly as sent (the `@signature-params` line).
    pub raw: String,
    pub key_id: String,
    pub alg: Option<String>,
    pub created: Option<i64>,
    pub expires: Option<i64>,
    pub signature: Vec<u8>,
}

fn malformed(m: &'static str) -> SignatureError {
    SignatureError::Malformed(m)
}

/// Parses `Signature-Input` and `Signature` (first label only).
pub fn parse(headers: &HeaderMap) -> Result<Params, SignatureError> {
    let input = headers
        .get("signature-input")
        .and_then(|v| v.to_str().ok())
        .ok_or(SignatureError::Missing)?;
    if input.len() > 16 * 1024 {
        return Err(malformed("Signature-Input too long"));
    }
    let (label, rest) = input
        .split_once('=')
        .ok_or_else(|| malformed("Signature-Input without a label"))?;
    let label = label.trim();
    let rest = rest.trim_start();
    let inner = rest
        .strip_prefix('(')
        .ok_or_else(|| malformed("Signature-Input is not an inner list"))?;
    let close = inner
        .find(')')
        .ok_or_else(|| malformed("unterminated inner list"))?;
    let mut components = Vec::new();
    for item in inner[..close].split_ascii_whitespace() {
        let name = item
            .strip_prefix('"')
            .and_then(|i| i.strip_suffix('"'))
            .ok_or_else(|| malformed("component parameters are not supported"))?;
        components.push(name.to_ascii_lowercase());
    }
    // Parameters run to the next dictionary member (a comma outside quotes) or the end.
    let after = &inner[close + 1..];
    let mut end = after.len();
    let mut quoted = false;
    for (i, c) in after.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                end = i;
                break;
            }
            _ => {}
        }
    }
    let params_text = &after[..end];
    let raw = format!("({}){}", &inner[..close], params_text.trim_end());
    let (mut key_id, mut alg, mut created, mut expires) = (None, None, None, None);
    for p in params_text
        .split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        let unquoted = v.trim_matches('"').to_string();
        match k {
            "keyid" => key_id = Some(unquoted),
            "alg" => alg = Some(unquoted),
            "created" => {
                created = Some(
                    v.parse()
                        .map_err(|_| malformed("created is not a number"))?,
                )
            }
            "expires" => {
                expires = Some(
                    v.parse()
                        .map_err(|_| malformed("expires is not a number"))?,
                )
            }
            _ => {}
        }
    }
    let signature_header = headers
        .get("signature")
        .and_then(|v| v.to_str().ok())
        .ok_or(SignatureError::Missing)?;
    let b64 = signature_header
        .split(',')
        .filter_map(|m| m.trim().split_once('='))
        .find(|(l, _)| l.trim() == label)
        .and_then(|(_, v)| v.trim().strip_prefix(':').and_then(|v| v.strip_suffix(':')))
        .ok_or_else(|| malformed("no signature for the label of Signature-Input"))?;
    Ok(Params {
        components,
        raw,
        key_id: key_id.ok_or_else(|| malformed("keyid missing"))?,
        alg,
        created,
        expires,
        signature: STANDARD
            .decode(b64)
            .map_err(|_| malformed("signature is not base64"))?,
    })
}

/// Checks `Content-Digest` (RFC 9530) against the body: a `sha-256` member must match.
pub fn verify_content_digest(headers: &HeaderMap, body: &[u8]) -> Result<(), SignatureError> {
    let value = headers
        .get("content-digest")
        .and_then(|v| v.to_str().ok())
        .ok_or(SignatureError::DigestMissing)?;
    let expected = STANDARD.encode(Sha256::digest(body));
    let mut seen = false;
    for member in value.split(',') {
        let Some((alg, v)) = member.trim().split_once('=') else {
            continue;
        };
        if alg.trim().eq_ignore_ascii_case("sha-256") {
            seen = true;
            let v = v.trim().trim_matches(':');
            if v != expected {
                return Err(SignatureError::DigestMismatch);
            }
        }
    }
    if seen {
        Ok(())
    } else {
        Err(SignatureError::DigestUnsupported)
    }
}

fn component(name: &str, req: &Received<'_>, scheme: &str) -> Result<String, SignatureError> {
    let authority = || {
        req.headers
            .get("host")
            .and_then(|h| h.to_str().ok())
            .map(str::to_ascii_lowercase)
            .ok_or_else(|| SignatureError::HeaderAbsent("host".into()))
    };
    let (path, query) = match req.path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (req.path_and_query, None),
    };
    Ok(match name {
        "@method" => req.method.as_str().to_ascii_uppercase(),
        "@target-uri" => format!("{scheme}://{}{}", authority()?, req.path_and_query),
        "@authority" => authority()?,
        "@scheme" => scheme.to_string(),
        "@request-target" => req.path_and_query.to_string(),
        "@path" => path.to_string(),
        "@query" => format!("?{}", query.unwrap_or_default()),
        n if n.starts_with('@') => return Err(malformed("unsupported derived component")),
        header => {
            let values: Vec<&str> = req
                .headers
                .get_all(header)
                .iter()
                .map(|v| v.to_str().map(str::trim))
                .collect::<Result<_, _>>()
                .map_err(|_| malformed("non-ASCII header value"))?;
            if values.is_empty() {
                return Err(SignatureError::HeaderAbsent(header.to_string()));
            }
            values.join(", ")
        }
    })
}

/// Verifies an RFC 9421 signature of a request received over `scheme` (http or https).
pub fn verify(
    params: &Params,
    req: &Received<'_>,
    scheme: &str,
    key: &PublicKey,
    window: &TimeWindow,
    expected_host: Option<&str>,
) -> Result<(), SignatureError> {
    let covers = |c: &str| params.components.iter().any(|x| x == c);
    if !covers("@method") {
        return Err(SignatureError::NotSigned("@method"));
    }
    if !(covers("@target-uri") || covers("@request-target") || covers("@path")) {
        return Err(SignatureError::NotSigned("@target-uri"));
    }
    if let Some(body) = req.body {
        if !covers("content-digest") {
            return Err(SignatureError::NotSigned("content-digest"));
        }
        verify_content_digest(req.headers, body)?;
        if !(covers("@target-uri") || covers("@authority") || covers("host")) {
            return Err(SignatureError::NotSigned("@authority"));
        }
    }
    match params.alg.as_deref() {
        None | Some("rsa-v1_5-sha256") => {}
        Some(_) => return Err(malformed("unsupported alg (rsa-v1_5-sha256 only)")),
    }
    let created = params.created.ok_or_else(|| malformed("created missing"))?;
    let t = SystemTime::UNIX_EPOCH
        + Duration::from_secs(u64::try_from(created).map_err(|_| SignatureError::BadDate)?);
    if t + window.max_age < window.now || t > window.now + window.max_skew {
        return Err(SignatureError::Expired);
    }
    if let Some(expires) = params.expires {
        let e = SystemTime::UNIX_EPOCH
            + Duration::from_secs(u64::try_from(expires).map_err(|_| SignatureError::BadDate)?);
        if e < window.now {
            return Err(SignatureError::Expired);
        }
    }
    if let Some(expected) = expected_host {
        let host = req
            .headers
            .get("host")
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        if !host.eq_ignore_ascii_case(expected) {
            return Err(SignatureError::WrongHost);
        }
    }
    let mut base = String::new();
    for c in &params.components {
        base.push_str(&format!("\"{c}\": {}\n", component(c, req, scheme)?));
    }
    base.push_str(&format!("\"@signature-params\": {}", params.raw));
    if key.verify(base.as_bytes(), &params.signature) {
        Ok(())
    } else {
        Err(SignatureError::Invalid)
    }
}

/// A signature of either kind, as a request carries it.
#[derive(Debug, Clone)]
pub enum AnySignature {
    /// draft-cavage `Signature` (Mastodon, Lemmy, most of the fediverse).
    Cavage(super::signatures::SignatureParams),
    /// RFC 9421 `Signature-Input` + `Signature` (Fedify, Mastodon 4.5+ on retry).
    Rfc9421(Params),
}

impl AnySignature {
    /// Reads whichever signature the request has (RFC 9421 when `Signature-Input` is there).
    pub fn from_headers(headers: &HeaderMap) -> Result<AnySignature, SignatureError> {
        if headers.contains_key("signature-input") {
            return parse(headers).map(AnySignature::Rfc9421);
        }
        let value = headers
            .get("signature")
            .and_then(|v| v.to_str().ok())
            .ok_or(SignatureError::Missing)?;
        super::signatures::parse_signature_header(value).map(AnySignature::Cavage)
    }

    /// Whether the signature names the host it was made for (`host`, or RFC 9421's
    /// `@authority` / `@target-uri`): only such a signature cannot be replayed at another
    /// server that serves the same path.
    pub fn covers_host(&self) -> bool {
        match self {
            AnySignature::Cavage(p) => p.headers.iter().any(|h| h == "host"),
            AnySignature::Rfc9421(p) => p
                .components
                .iter()
                .any(|c| c == "@authority" || c == "@target-uri" || c == "host"),
        }
    }

    pub fn key_id(&self) -> &str {
        match self {
            AnySignature::Cavage(p) => &p.key_id,
            AnySignature::Rfc9421(p) => &p.key_id,
        }
    }

    /// Verifies against the signer's key; `scheme` is how the request reached us.
    pub fn verify(
        &self,
        req: &Received<'_>,
        scheme: &str,
        key: &PublicKey,
        window: &TimeWindow,
        expected_host: Option<&str>,
    ) -> Result<(), SignatureError> {
        match self {
            AnySignature::Cavage(p) => {
                super::signatures::verify_request(p, req, key, window, expected_host)
            }
            AnySignature::Rfc9421(p) => verify(p, req, scheme, key, window, expected_host),
        }
    }
}
