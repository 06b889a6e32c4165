//! Property tests: parsing of signature headers and of arbitrary activity JSON never
//! panics, and the inbox answers any body with a 4xx or 2xx, never a 5xx.

use crate::http::send;
use crate::support::{Backend, test_state};
use axum::{body::Body, http::Request};
use guildhall::federation::{
    activities::{HANDLED, reserialize_kind, type_of},
    objects::post::{PostObject, derive_title, is_public, strip_leading_mentions},
    signatures::parse_signature_header,
};
use proptest::prelude::*;
use serde_json::Value;

/// Arbitrary JSON, biased towards ActivityPub-looking keys.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("id".to_string()),
        Just("type".to_string()),
        Just("actor".to_string()),
        Just("object".to_string()),
        Just("to".to_string()),
        Just("cc".to_string()),
        Just("attributedTo".to_string()),
        Just("inReplyTo".to_string()),
        Just("content".to_string()),
        Just("tag".to_string()),
        Just("audience".to_string()),
        "[a-z]{1,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        prop_oneof![
            Just("https://a.example/x".to_string()),
            Just("Note".to_string()),
            Just("Create".to_string()),
            Just("https://www.w3.org/ns/activitystreams#Public".to_string()),
            ".{0,20}",
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn signature_headers_never_panic(s in ".{0,300}") {
        let _ = parse_signature_header(&s);
    }

    #[test]
    fn structured_signature_headers_never_panic(k in ".{0,40}", h in "[a-z() -]{0,60}", sig in "[A-Za-z0-9+/=]{0,80}") {
        let _ = parse_signature_header(&format!("keyId=\"{k}\",headers=\"{h}\",signature=\"{sig}\""));
    }

    #[test]
    fn activity_json_never_panics(v in json_value()) {
        let _ = type_of(&v);
        // Every family's typed parser takes it (or refuses it) without a panic, and what it
        // takes serialises and parses again.
        for kind in HANDLED {
            let mut typed = v.clone();
            if let Value::Object(m) = &mut typed {
                m.insert("type".into(), Value::String(kind.to_string()));
            }
            if let Ok(Some(again)) = reserialize_kind(kind, typed) {
                prop_assert!(reserialize_kind(kind, again.clone()).is_ok(), "{kind}: {again}");
            }
        }
        if let Ok(p) = serde_json::from_value::<PostObject>(v.clone()) {
            let html = p.content_html();
            let _ = derive_title(&html);
            let _ = strip_leading_mentions(&html);
            let _ = is_public(&p.addresses());
            let _ = p.link();
        }
        if let Some(o) = v.get("object") {
            let _ = serde_json::from_value::<PostObject>(o.clone());
        }
    }

    #[test]
    fn html_helpers_never_panic(s in ".{0,200}") {
        let _ = derive_title(&s);
        let _ = strip_leading_mentions(&s);
        let _ = guildhall::domain::markdown::to_html(&s);
    }
}

#[test]
fn the_inbox_never_answers_5xx() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (state, _db) = rt.block_on(test_state(Backend::Sqlite, ""));
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 64,
        ..ProptestConfig::default()
    });
    runner
        .run(&json_value(), |v| {
            let body = v.to_string();
            let status = rt.block_on(async {
                let req = Request::post("/inbox")
                    .header("content-type", "application/activity+json")
                    .header("signature", "keyId=\"https://a.example/x#main-key\",headers=\"(request-target) host date digest\",signature=\"AAAA\"")
                    .body(Body::from(body))
                    .unwrap();
                send(&state, req).await.status
            });
            prop_assert!(status.as_u16() < 500, "{status} for {v}");
            Ok(())
        })
        .unwrap();
}
