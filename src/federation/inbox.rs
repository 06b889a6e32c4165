//! The inboxes (`/inbox`, `/c/{name}/inbox`, `/u/{name}/inbox`): read `type` first, verify
//! the HTTP signature (Digest included) against the actor's key, deduplicate by activity
//! id, store it in the inbound queue, and process it (`federation::queue`): we answer its
//! outcome when the processing ends within `federation.inbox_wait_ms`, else 202 `queued`.

use super::{
    activities::{self, ActorRef, Outcome, find_or_fetch_actor, type_of, wire},
    queue,
    rfc9421::AnySignature,
    signatures::{self, Received, SignatureError, TimeWindow},
};
use crate::{
    error::AppError,
    metrics::Metrics,
    state::AppState,
    store::{
        self,
        inbound::{Inbound, NewInbound},
    },
};
use activitypub_federation::config::Data;
use axum::{
    Json, Router,
    body::Bytes,
    http::{HeaderMap, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::{Value, json};
use std::time::Duration;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/inbox", post(inbox))
        .route("/c/{name}/inbox", post(inbox))
        .route("/u/{name}/inbox", post(inbox))
}

async fn inbox(
    data: Data<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let m = &data.metrics;
    match handle(&data, &method, &uri, &headers, &body).await {
        Ok(Outcome::Done) => {
            Metrics::inc(&m.inbox_accepted);
            (StatusCode::ACCEPTED, Json(json!({ "status": "accepted" }))).into_response()
        }
        Ok(Outcome::Ignored) => {
            Metrics::inc(&m.inbox_ignored);
            (StatusCode::ACCEPTED, Json(json!({ "status": "ignored" }))).into_response()
        }
        Ok(Outcome::Queued) => {
            Metrics::inc(&m.inbox_queued);
            (StatusCode::ACCEPTED, Json(json!({ "status": "queued" }))).into_response()
        }
        Err(e) => {
            let e = match e {
                // Something the activity points at could not be fetched: their problem.
                AppError::Remote(m) => AppError::bad_request("unresolvable", m),
                AppError::NotFound(what) => {
                    AppError::bad_request("unresolvable", format!("{what} not found"))
                }
                e => e,
            };
            Metrics::inc(&m.inbox_refused);
            crate::domain::refused::record(&data, &body, &e);
            tracing::info!(status = %e.status(), error = %e, path = %uri.path(), "inbox refused an activity");
            e.into_response()
        }
    }
}

fn unauthorized(e: SignatureError) -> AppError {
    AppError::Unauthorized(format!("HTTP signature: {e}"))
}

async fn handle(
    data: &Data<AppState>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Outcome, AppError> {
    let json: Value = serde_json::from_slice(body)
        .map_err(|e| AppError::bad_request("invalid_json", format!("body is not JSON: {e}")))?;
    if !json.is_object() {
        return Err(AppError::bad_request(
            "invalid_activity",
            "an activity is a JSON object",
        ));
    }
    let wire::Envelope {
        id,
        actor: actor_id,
    } = wire::parse(json.clone())?;
    let kind = type_of(&json)
        .ok_or_else(|| AppError::bad_request("invalid_activity", "`type` is missing"))?
        .to_string();
    // A blocked instance is refused before anything is fetched or stored.
    // (The id's host is looked up only when it is not the actor's: one query per request.)
    if data.is_blocked(&actor_id).await?
        || (id.host_str() != actor_id.host_str() && data.is_blocked(&id).await?)
    {
        return Err(AppError::forbidden(
            "blocked_instance",
            "this instance does not federate with yours",
        ));
    }
    if json.get("object").is_none_or(Value::is_null) {
        return Err(AppError::bad_request(
            "invalid_activity",
            "`object` is missing",
        ));
    }
    if !activities::HANDLED.contains(&kind.as_str()) {
        tracing::info!(kind, id = %id, "ignoring an activity type we do not handle");
        return Ok(Outcome::Ignored);
    }
    if data.is_local_url(&actor_id) || data.is_local_url(&id) {
        return Err(AppError::forbidden(
            "local_origin",
            "activities of this instance are not accepted from outside",
        ));
    }
    activities::same_origin(&id, &actor_id)?;

    let signature = AnySignature::from_headers(headers).map_err(unauthorized)?;
    let owner = signatures::key_owner(signature.key_id())
        .ok_or_else(|| unauthorized(SignatureError::Malformed("keyId is not a URL")))?;
    if owner != actor_id {
        return Err(AppError::Unauthorized(
            "the request is not signed by the activity's actor".into(),
        ));
    }
    {
        let mut conn = data.db.pool.acquire().await?;
        if store::activities::was_received(&mut conn, id.as_str()).await? {
            return Ok(Outcome::Ignored); // a replay: no second effect
        }
    }
    let fed = &data.config.federation;
    let window = TimeWindow {
        now: std::time::SystemTime::now(),
        max_age: Duration::from_secs(fed.signature_max_age_secs),
        max_skew: Duration::from_secs(fed.signature_max_skew_secs),
    };
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let received = Received {
        method,
        path_and_query: path,
        headers,
        body: Some(body),
    };
    let expected_host = data.domain.clone();
    let scheme = data.config.server.base_url.scheme();
    let check = |actor: &ActorRef| -> Result<(), SignatureError> {
        let key = data
            .public_keys
            .get(actor.public_key())
            .map_err(|_| SignatureError::BadKey)?;
        signature.verify(&received, scheme, &key, &window, Some(&expected_host))
    };
    let fetch_err =
        |e: AppError| AppError::Unauthorized(format!("cannot get the signer's key: {e}"));
    let mut actor = find_or_fetch_actor(&actor_id, data, false)
        .await
        .map_err(fetch_err)?;
    if let Err(e) = check(&actor) {
        // The key may have rotated: refetch once (not more than once a minute).
        let stale = store::now_ms() - actor.last_fetched() > 60_000;
        if e != SignatureError::Invalid || actor.is_local() || !stale {
            return Err(unauthorized(e));
        }
        actor = find_or_fetch_actor(&actor_id, data, true)
            .await
            .map_err(fetch_err)?;
        check(&actor).map_err(unauthorized)?;
    }

    // It speaks again: deliveries to it resume.
    // (Read first: the write, which on SQLite waits for its turn, is only for the dead.)
    let domain = store::instances::domain_of(&actor_id);
    let dead = {
        let mut conn = data.db.pool.acquire().await?;
        store::instances::is_dead(&mut conn, &domain).await?
    };
    if dead {
        let mut conn = data.db.write_conn().await?;
        if store::instances::revive(&mut conn, &domain).await? {
            tracing::info!(%domain, "instance revived: it contacted us");
        }
    }
    // Stored before anything else happens: from here on it is not lost.
    let row = NewInbound {
        ap_id: id.to_string(),
        actor: actor_id.to_string(),
        body: String::from_utf8_lossy(body).into_owned(),
    };
    let Some(row_id) = data.inbound.add(row).await? else {
        return Ok(Outcome::Ignored); // a copy is being processed
    };
    let row = Inbound {
        id: row_id,
        ap_id: id.to_string(),
        actor: actor_id.to_string(),
        body: String::new(),
        attempts: 1,
    };
    let processing = tokio::spawn(queue::process(
        data.reset_request_count(),
        row,
        json,
        Some(actor),
    ));
    let outcome = match tokio::time::timeout(data.inbound.wait, processing).await {
        Ok(Ok(result)) => result?.unwrap_or(Outcome::Queued),
        // A panic: the row's lease runs out and a worker tries again.
        Ok(Err(e)) => return Err(AppError::Internal(anyhow::anyhow!("inbox processing: {e}"))),
        Err(_) => Outcome::Queued, // slow (fetching, say): it ends on its own
    };
    tracing::debug!(kind, id = %id, ?outcome, "inbox: activity handled");
    Ok(outcome)
}
