//! RSA keys for HTTP signatures, on aws-lc-rs (OpenSSL-class speed: about seven times the
//! signatures per second of the pure-Rust `rsa` crate on the same core), with a bounded
//! cache of parsed public keys so an inbox flood does not parse the same PEM again and again.
//!
//! Wire behaviour is unchanged: RSASSA-PKCS1-v1_5 with SHA-256 (`rsa-sha256` in
//! draft-cavage, `rsa-v1_5-sha256` in RFC 9421), keys in PEM as every peer publishes them.

use aws_lc_rs::{
    rand::SystemRandom,
    signature::{self, KeyPair, ParsedPublicKey, RsaKeyPair},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

/// Why a key could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the key is not a usable RSA key in PEM")]
pub struct BadKey;

/// A local actor's private key, ready to sign.
pub struct PrivateKey(RsaKeyPair);

impl PrivateKey {
    /// Reads a private key in PEM: PKCS#8 (`BEGIN PRIVATE KEY`, as we store them) or PKCS#1
    /// (`BEGIN RSA PRIVATE KEY`).
    pub fn from_pem(pem: &str) -> Result<PrivateKey, BadKey> {
        let der = pem_to_der(pem)?;
        RsaKeyPair::from_pkcs8(&der)
            .or_else(|_| RsaKeyPair::from_der(&der))
            .map(PrivateKey)
            .map_err(|_| BadKey)
    }

    /// RSASSA-PKCS1-v1_5 / SHA-256 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, BadKey> {
        let mut out = vec![0; self.0.public_modulus_len()];
        self.0
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message,
                &mut out,
            )
            .map_err(|_| BadKey)?;
        Ok(out)
    }

    /// The matching public key (DER `RSAPublicKey`), for tests and self-checks.
    pub fn public_der(&self) -> Vec<u8> {
        self.0.public_key().as_ref().to_vec()
    }
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey(…)")
    }
}

/// A remote or local actor's public key, parsed once.
#[derive(Clone)]
pub struct PublicKey(ParsedPublicKey);

impl PublicKey {
    /// Reads a public key in PEM: SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`, what Mastodon,
    /// Lemmy and Fedify publish) or PKCS#1 (`BEGIN RSA PUBLIC KEY`, some older servers).
    /// Keys of 1,024 bits are still accepted: a few long-lived instances have them.
    pub fn from_pem(pem: &str) -> Result<PublicKey, BadKey> {
        Self::from_der(&pem_to_der(pem)?)
    }

    /// Reads a public key in DER (either encoding).
    pub fn from_der(der: &[u8]) -> Result<PublicKey, BadKey> {
        ParsedPublicKey::new(
            &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
            der,
        )
        .map(PublicKey)
        .map_err(|_| BadKey)
    }

    /// Whether `sig` is this key's RSASSA-PKCS1-v1_5 / SHA-256 signature of `message`.
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        self.0.verify_sig(message, sig).is_ok()
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PublicKey(…)")
    }
}

/// The base64 body of a PEM block, decoded. Tolerates CRLF, indentation and a missing final
/// newline; refuses anything that is not one PEM block.
fn pem_to_der(pem: &str) -> Result<Vec<u8>, BadKey> {
    let pem = pem.trim();
    if !pem.starts_with("-----BEGIN ") {
        return Err(BadKey);
    }
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----"))
        .collect();
    if !pem
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .starts_with("-----END ")
    {
        return Err(BadKey);
    }
    STANDARD.decode(body).map_err(|_| BadKey)
}

/// Parsed public keys by their PEM text. Bounded: when full it starts again (keys are cheap
/// to parse once; what matters is not parsing on every request of a flood).
pub struct PublicKeyCache {
    map: Mutex<HashMap<String, Arc<PublicKey>>>,
    capacity: usize,
}

impl PublicKeyCache {
    pub fn new(capacity: usize) -> PublicKeyCache {
        PublicKeyCache {
            map: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// The parsed key for `pem`, parsing and remembering it on first sight.
    pub fn get(&self, pem: &str) -> Result<Arc<PublicKey>, BadKey> {
        if let Some(k) = self.lock().get(pem) {
            return Ok(k.clone());
        }
        let key = Arc::new(PublicKey::from_pem(pem)?);
        let mut map = self.lock();
        if map.len() >= self.capacity {
            map.clear();
        }
        map.insert(pem.to_string(), key.clone());
        Ok(key)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<PublicKey>>> {
        // A panic while holding this lock cannot leave the map inconsistent.
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl std::fmt::Debug for PublicKeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKeyCache({} keys)", self.lock().len())
    }
}

impl Default for PublicKeyCache {
    fn default() -> Self {
        PublicKeyCache::new(10_000)
    }
}

/// A fresh RSA-2048 key pair in PEM (PKCS#8 private, SubjectPublicKeyInfo public).
pub fn generate_pem_pair() -> Result<(String, String), BadKey> {
    let pair = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).map_err(|_| BadKey)?;
    let private = aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair)
        .map_err(|_| BadKey)?;
    let public = aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(
        pair.public_key(),
    )
    .map_err(|_| BadKey)?;
    Ok((
        to_pem("PRIVATE KEY", private.as_ref()),
        to_pem("PUBLIC KEY", public.as_ref()),
    ))
}

fn to_pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_sign_and_verify_and_interoperate_with_the_rsa_crate() {
        use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
        let (private, public) = generate_pem_pair().unwrap();
        let key = PrivateKey::from_pem(&private).unwrap();
        let sig = key.sign(b"hello").unwrap();
        let pubkey = PublicKey::from_pem(&public).unwrap();
        assert!(pubkey.verify(b"hello", &sig));
        assert!(!pubkey.verify(b"hellO", &sig));
        // The same PEM reads in the rsa crate (what activitypub_federation uses) and its
        // signatures verify here: the wire format is unchanged.
        let theirs = rsa::RsaPrivateKey::from_pkcs8_pem(&private).unwrap();
        rsa::RsaPublicKey::from_public_key_pem(&public).unwrap();
        use sha2::Digest;
        let their_sig = theirs
            .sign(
                rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                &sha2::Sha256::digest(b"hello"),
            )
            .unwrap();
        assert_eq!(their_sig, sig, "PKCS#1 v1.5 is deterministic");
    }

    #[test]
    fn bad_pem_is_refused_not_panicked_on() {
        for bad in [
            "",
            "-----BEGIN PUBLIC KEY-----",
            "-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
            "MIIBIjANBgkq",
        ] {
            assert_eq!(PublicKey::from_pem(bad).unwrap_err(), BadKey, "{bad:?}");
            assert!(PrivateKey::from_pem(bad).is_err());
        }
    }

    #[test]
    fn the_cache_is_bounded() {
        let (_, a) = generate_pem_pair().unwrap();
        let cache = PublicKeyCache::new(1);
        let k1 = cache.get(&a).unwrap();
        let k2 = cache.get(&a).unwrap();
        assert!(Arc::ptr_eq(&k1, &k2));
        assert!(cache.get("nonsense").is_err());
        assert_eq!(cache.lock().len(), 1);
    }
}
