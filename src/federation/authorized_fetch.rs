//! Authorized fetch (Mastodon's "secure mode"): with `federation.authorized_fetch`, every
//! ActivityPub representation needs an HTTP-signed GET by a known actor. The instance actor,
//! WebFinger, NodeInfo and HTML pages stay public (the instance actor must be, or nobody
//! could fetch the key to check our own signed GETs). The federation library verifies signed
//! GETs only on actix-web; this is our axum equivalent.

use super::{
    activities::find_or_fetch_actor,
    rfc9421::AnySignature,
    signatures::{self, Received, SignatureError, TimeWindow},
    wants_activity_json,
};
use crate::{
    domain::privacy::{self, Reader},
    error::AppError,
    state::AppState,
    store::communities::DbCommunity,
};
use activitypub_federation::config::Data;
use axum::{
    extract::Request,
    http::{Method, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::time::Duration;
use url::Url;

/// Paths that answer without a signature even in authorized-fetch mode.
fn is_public_path(path: &str) -> bool {
    path == "/actor"
        || path.starts_with("/.well-known/")
        || path.starts_with("/nodeinfo/")
        || path.starts_with("/api/")
}

/// The middleware: passes requests through unless they need and lack a valid signature.
pub async fn require_signature(data: Data<AppState>, req: Request, next: Next) -> Response {
    let needs = data.config.federation.authorized_fetch
        && matches!(*req.method(), Method::GET | Method::HEAD)
        && wants_activity_json(req.headers())
        && !is_public_path(req.uri().path());
    if !needs {
        return next.run(req).await;
    }
    // Only the head is needed (and a body is not Sync, so it must not be held across awaits).
    let (parts, body) = req.into_parts();
    match verify(&data, &parts).await {
        Ok(_) => next.run(Request::from_parts(parts, body)).await,
        Err(e) => {
            tracing::info!(path = %parts.uri.path(), error = %e, "authorized fetch: refused");
            e.into_response()
        }
    }
}

/// Checks the signature of a GET; the signer's actor id.
async fn verify(data: &Data<AppState>, req: &Parts) -> Result<Url, AppError> {
    let unauthorized = |e: SignatureError| AppError::Unauthorized(format!("authorized fetch: {e}"));
    let signature = AnySignature::from_headers(&req.headers).map_err(unauthorized)?;
    let owner = signatures::key_owner(signature.key_id())
        .ok_or_else(|| unauthorized(SignatureError::Malformed("keyId is not a URL")))?;
    if data.is_local_url(&owner) {
        return Err(AppError::Unauthorized(
            "authorized fetch: our own keys do not sign incoming requests".into(),
        ));
    }
    if data.is_blocked(&owner).await? {
        return Err(AppError::forbidden(
            "blocked_instance",
            "this instance does not federate with yours",
        ));
    }
    let actor = find_or_fetch_actor(&owner, data, false)
        .await
        .map_err(|e| {
            AppError::Unauthorized(format!(
                "authorized fetch: cannot get the signer's key: {e}"
            ))
        })?;
    let fed = &data.config.federation;
    let window = TimeWindow {
        now: std::time::SystemTime::now(),
        max_age: Duration::from_secs(fed.signature_max_age_secs),
        max_skew: Duration::from_secs(fed.signature_max_skew_secs),
    };
    let path = req.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let received = Received {
        method: &req.method,
        path_and_query: path,
        headers: &req.headers,
        body: None,
    };
    let key = data
        .public_keys
        .get(actor.public_key())
        .map_err(|_| unauthorized(signatures::SignatureError::BadKey))?;
    signature
        .verify(
            &received,
            data.config.server.base_url.scheme(),
            &key,
            &window,
            Some(&data.domain),
        )
        .map_err(unauthorized)?;
    Ok(owner)
}

/// For an object of a private community: a GET signed by an instance where the community
/// has a member (401 unsigned or badly signed, 403 `members_only` otherwise). Public
/// communities pass without a signature (unless `authorized_fetch` asks for one anyway).
pub async fn check_member_fetch(
    data: &Data<AppState>,
    req: &Parts,
    community: &DbCommunity,
) -> Result<(), AppError> {
    if !community.members_only {
        return Ok(());
    }
    require_host_signed(req)?;
    let signer = verify(data, req).await?;
    if community.local {
        let mut conn = data.db.pool.acquire().await?;
        return privacy::check_read(&mut conn, community, Reader::Instance(&signer)).await;
    }
    // A post of ours in someone else's private community: its home instance knows the
    // members. Asked the way Lemmy asks (`followers?is_follower=`), with a signed GET.
    match member_at_home(data, community, &signer).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(privacy::members_only()),
        Err(e) => {
            tracing::info!(community = %community.ap_id, error = %e, "cannot ask a private community about a member");
            Err(privacy::members_only())
        }
    }
}

/// A private community's objects need a signature that names our host (Lemmy 1.0, Fedify,
/// Mastodon and we sign it): one made for another server is not replayed here.
fn require_host_signed(req: &Parts) -> Result<(), AppError> {
    let signature = AnySignature::from_headers(&req.headers)
        .map_err(|e| AppError::Unauthorized(format!("authorized fetch: {e}")))?;
    if signature.covers_host() {
        Ok(())
    } else {
        Err(AppError::Unauthorized(
            "authorized fetch: a private community's objects need the Host header signed".into(),
        ))
    }
}

/// Whether the home instance of a remote private community says `signer`'s instance has
/// a member (2xx to a signed GET of `followers?is_follower=signer`).
async fn member_at_home(
    data: &Data<AppState>,
    community: &DbCommunity,
    signer: &Url,
) -> anyhow::Result<bool> {
    let followers = crate::federation::objects::post::followers_of(community);
    let mut url = Url::parse(&followers)?;
    url.query_pairs_mut()
        .append_pair("is_follower", signer.as_str());
    super::client::check_url(&url, data.config.federation.allow_private_addresses)
        .map_err(anyhow::Error::msg)?;
    let key = signatures::parse_private_key(&data.instance_keys.private_key)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(
        axum::http::header::ACCEPT,
        axum::http::HeaderValue::from_static("application/activity+json"),
    );
    signatures::sign_request(
        &Method::GET,
        &url,
        &mut headers,
        None,
        &format!("{}#main-key", data.instance_actor_url()),
        &key,
        std::time::SystemTime::now(),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    headers.remove(axum::http::header::HOST);
    let res = data.http.get(url).headers(headers).send().await?;
    Ok(res.status().is_success())
}

/// For `followers?is_follower=ACTOR` on a private community of ours: a signed GET (401
/// otherwise) asking whether ACTOR's instance has a member; the answer is the status.
pub async fn check_is_follower_query(
    data: &Data<AppState>,
    req: &Parts,
    community: &DbCommunity,
    asked: &Url,
) -> Result<(), AppError> {
    let signer = if community.members_only {
        // Only an instance with a member of its own may ask (no probing for members).
        require_host_signed(req)?;
        Some(verify(data, req).await?)
    } else {
        None
    };
    let mut conn = data.db.pool.acquire().await?;
    if let Some(signer) = &signer {
        privacy::check_read(&mut conn, community, Reader::Instance(signer)).await?;
    }
    let origin = privacy::origin_of(asked);
    if crate::store::followers::has_member_on(&mut conn, community.id, &origin).await? {
        Ok(())
    } else {
        Err(AppError::NotFound("follower"))
    }
}
