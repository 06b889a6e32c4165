//! Every HTTP signature and Digest captured from Lemmy 0.19, Lemmy 1.0 and Fedify verifies
//! with our verifier (clock injected at the capture time), and tampering breaks it.

use crate::support::asset;
use guildhall::federation::signatures::{
    Received, SignatureError, TimeWindow, key_owner, parse_public_key, parse_signature_header,
    verify_request,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde_json::Value;
use std::{collections::HashMap, path::Path, time::Duration};

fn assets_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("federation-tests/assets")
}

/// Every file under assets/ (recursively) whose name ends with `suffix`, as relative paths.
fn files(suffix: &str) -> Vec<String> {
    fn walk(dir: &Path, base: &Path, suffix: &str, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, base, suffix, out);
            } else if path.to_string_lossy().ends_with(suffix) {
                out.push(
                    path.strip_prefix(base)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    let mut out = Vec::new();
    walk(&assets_dir(), &assets_dir(), suffix, &mut out);
    out.sort();
    out
}

/// Actor id → public key PEM, from every actor document in the corpus.
fn corpus_keys() -> HashMap<String, String> {
    let mut keys = HashMap::new();
    for f in files(".json") {
        let Ok(v) = serde_json::from_str::<Value>(&asset(&f)) else {
            continue;
        };
        if let (Some(id), Some(pem)) = (v["id"].as_str(), v["publicKey"]["publicKeyPem"].as_str()) {
            keys.insert(id.to_string(), pem.to_string());
        }
    }
    keys
}

struct Captured {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Option<Vec<u8>>,
}

fn load(headers_file: &str) -> Captured {
    let meta: Value = serde_json::from_str(&asset(headers_file)).unwrap();
    let (method, path) = meta["request"].as_str().unwrap().split_once(' ').unwrap();
    let mut headers = HeaderMap::new();
    for (k, v) in meta["headers"].as_object().unwrap() {
        headers.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v.as_str().unwrap()).unwrap(),
        );
    }
    let wire = headers_file.replace(".headers.json", ".wire.json");
    let body = assets_dir()
        .join(&wire)
        .exists()
        .then(|| std::fs::read(assets_dir().join(&wire)).unwrap());
    Captured {
        method: method.parse().unwrap(),
        path: path.to_string(),
        headers,
        body,
    }
}

fn window_at(headers: &HeaderMap) -> TimeWindow {
    let date = httpdate::parse_http_date(headers["date"].to_str().unwrap()).unwrap();
    TimeWindow {
        now: date + Duration::from_secs(5),
        ..TimeWindow::now()
    }
}

#[test]
fn every_captured_draft_cavage_signature_verifies() {
    let keys = corpus_keys();
    let mut verified_posts = 0;
    let mut verified_gets = 0;
    for f in files(".headers.json") {
        let c = load(&f);
        let Some(sig) = c.headers.get("signature") else {
            continue;
        };
        if c.headers.contains_key("signature-input") {
            continue; // RFC 9421 (Fedify's first knock); not draft-cavage
        }
        let params =
            parse_signature_header(sig.to_str().unwrap()).unwrap_or_else(|e| panic!("{f}: {e}"));
        let owner = key_owner(&params.key_id).unwrap();
        let pem = keys
            .get(owner.as_str())
            .unwrap_or_else(|| panic!("{f}: no key for {owner}"));
        let key = parse_public_key(pem).unwrap();
        let host = c.headers["host"].to_str().unwrap().to_string();
        let window = window_at(&c.headers);
        let body = if c.method == Method::POST {
            c.body.as_deref()
        } else {
            None
        };
        if c.method == Method::POST {
            assert!(body.is_some(), "{f}: POST without its wire body");
        }
        verify_request(
            &params,
            &Received {
                method: &c.method,
                path_and_query: &c.path,
                headers: &c.headers,
                body,
            },
            &key,
            &window,
            Some(&host),
        )
        .unwrap_or_else(|e| panic!("{f}: {e}"));
        let captured = !f.starts_with("mastodon/"); // mastodon/ is written from its docs
        if c.method == Method::POST {
            verified_posts += usize::from(captured);
            // One changed byte in the body breaks the Digest.
            let mut tampered = body.unwrap().to_vec();
            let last = tampered.len() - 2;
            tampered[last] ^= 1;
            let r = verify_request(
                &params,
                &Received {
                    method: &c.method,
                    path_and_query: &c.path,
                    headers: &c.headers,
                    body: Some(&tampered),
                },
                &key,
                &window,
                None,
            );
            assert_eq!(r, Err(SignatureError::DigestMismatch), "{f}");
            // The same request replayed at another path does not verify.
            let r = verify_request(
                &params,
                &Received {
                    method: &c.method,
                    path_and_query: "/elsewhere",
                    headers: &c.headers,
                    body,
                },
                &key,
                &window,
                None,
            );
            assert_eq!(r, Err(SignatureError::Invalid), "{f}");
        } else {
            verified_gets += usize::from(captured);
        }
        // A day later it is refused.
        let late = TimeWindow {
            now: window.now + Duration::from_secs(24 * 3600),
            ..window
        };
        let r = verify_request(
            &params,
            &Received {
                method: &c.method,
                path_and_query: &c.path,
                headers: &c.headers,
                body,
            },
            &key,
            &late,
            None,
        );
        assert_eq!(r, Err(SignatureError::Expired), "{f}");
    }
    assert_eq!(
        verified_posts, 86,
        "the corpus README says all 86 signed POSTs verify"
    );
    assert_eq!(verified_gets, 1, "Lemmy 1.0 signs its GETs; 0.19 does not");
}

#[test]
fn a_key_of_another_actor_does_not_verify() {
    let keys = corpus_keys();
    let c = load("lemmy-0.19/announce-like.headers.json");
    let params = parse_signature_header(c.headers["signature"].to_str().unwrap()).unwrap();
    let wrong = keys
        .get("http://fedify.test:8700/users/alice")
        .expect("alice's key");
    let key = parse_public_key(wrong).unwrap();
    let r = verify_request(
        &params,
        &Received {
            method: &c.method,
            path_and_query: &c.path,
            headers: &c.headers,
            body: c.body.as_deref(),
        },
        &key,
        &window_at(&c.headers),
        None,
    );
    assert_eq!(r, Err(SignatureError::Invalid));
}

#[test]
fn fedify_rfc9421_signatures_verify() {
    use guildhall::federation::rfc9421;
    let keys = corpus_keys();
    let key = parse_public_key(keys.get("http://fedify.test:8700/users/alice").unwrap()).unwrap();
    let body = std::fs::read(assets_dir().join("fedify/follow.wire.json")).unwrap();
    for (file, body) in [
        (
            "fedify/follow.rfc9421-attempt.headers.json",
            Some(body.as_slice()),
        ),
        ("fedify/fetch-group.headers.json", None),
    ] {
        let c = load(file);
        let params = rfc9421::parse(&c.headers).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(
            params.key_id,
            "http://fedify.test:8700/users/alice#main-key"
        );
        let created = std::time::UNIX_EPOCH + Duration::from_secs(params.created.unwrap() as u64);
        let window = TimeWindow {
            now: created + Duration::from_secs(5),
            ..TimeWindow::now()
        };
        let host = c.headers["host"].to_str().unwrap().to_string();
        let req = Received {
            method: &c.method,
            path_and_query: &c.path,
            headers: &c.headers,
            body,
        };
        rfc9421::verify(&params, &req, "http", &key, &window, Some(&host))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        // Another scheme, path or body, a day later, or another key: refused.
        assert_eq!(
            rfc9421::verify(&params, &req, "https", &key, &window, None),
            Err(SignatureError::Invalid),
            "{file}"
        );
        let moved = Received {
            path_and_query: "/elsewhere",
            ..req
        };
        assert_eq!(
            rfc9421::verify(&params, &moved, "http", &key, &window, None),
            Err(SignatureError::Invalid),
            "{file}"
        );
        let late = TimeWindow {
            now: window.now + Duration::from_secs(86_400),
            ..window
        };
        assert_eq!(
            rfc9421::verify(&params, &req, "http", &key, &late, None),
            Err(SignatureError::Expired),
            "{file}"
        );
        let other = parse_public_key(
            keys.get("http://lemmy-alpha:8541/c/ix19_141919xoq")
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            rfc9421::verify(&params, &req, "http", &other, &window, None),
            Err(SignatureError::Invalid),
            "{file}"
        );
        if let Some(b) = body {
            let mut changed = b.to_vec();
            changed.push(b' ');
            let req2 = Received {
                body: Some(&changed),
                ..req
            };
            assert_eq!(
                rfc9421::verify(&params, &req2, "http", &key, &window, None),
                Err(SignatureError::DigestMismatch)
            );
        }
    }
}
