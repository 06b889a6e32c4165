//! NodeInfo 2.1 (with its `/.well-known/nodeinfo` discovery document, which also links the
//! instance actor as FEP-2677 asks) and host-meta.

use crate::{config::RegistrationMode, error::AppError, state::AppState, store};
use axum::{
    Json, Router,
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::json;

pub const NODEINFO_SCHEMA: &str = "http://nodeinfo.diaspora.software/ns/schema/2.1";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/.well-known/nodeinfo", get(discovery))
        .route("/nodeinfo/2.1", get(nodeinfo))
        .route("/.well-known/host-meta", get(host_meta))
        .route("/.well-known/host-meta.json", get(host_meta_json))
}

async fn discovery(State(state): State<AppState>) -> Response {
    Json(json!({
        "links": [
            { "rel": NODEINFO_SCHEMA, "href": state.url("/nodeinfo/2.1") },
            {
                "rel": "https://www.w3.org/ns/activitystreams#Application",
                "href": state.instance_actor_url()
            }
        ]
    }))
    .into_response()
}

async fn nodeinfo(State(state): State<AppState>) -> Result<Response, AppError> {
    let mut conn = state.db.pool.acquire().await?;
    let (total, month, half) = store::accounts::usage(&mut conn).await?;
    let communities = store::communities::count_local(&mut conn).await?;
    let (posts, comments) = store::posts::local_counts(&mut conn).await?;
    let body = json!({
        "version": "2.1",
        "software": {
            "name": "guildhall",
            "version": env!("CARGO_PKG_VERSION"),
            "homepage": state.url("/"),
        },
        "protocols": ["activitypub"],
        "services": { "inbound": [], "outbound": [] },
        "openRegistrations": state.config.registration.mode == RegistrationMode::Open,
        "usage": {
            "users": { "total": total, "activeMonth": month, "activeHalfyear": half },
            "localPosts": posts,
            "localComments": comments
        },
        "metadata": {
            "nodeName": state.config.instance.name,
            "nodeDescription": state.config.instance.description,
            "registrationMode": state.config.registration.mode,
            "localCommunities": communities,
        }
    });
    let mut res = Json(body).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(
            "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.1#\"",
        ),
    );
    Ok(res)
}

async fn host_meta(State(state): State<AppState>) -> Response {
    let template = format!("{}.well-known/webfinger?resource={{uri}}", state.url("/"));
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <XRD xmlns=\"http://docs.oasis-open.org/ns/xri/xrd-1.0\">\n  \
         <Link rel=\"lrdd\" type=\"application/jrd+json\" template=\"{}\"/>\n</XRD>\n",
        crate::domain::markdown::escape(&template)
    );
    (
        [(header::CONTENT_TYPE, "application/xrd+xml; charset=utf-8")],
        xml,
    )
        .into_response()
}

async fn host_meta_json(State(state): State<AppState>) -> Response {
    let template = format!("{}.well-known/webfinger?resource={{uri}}", state.url("/"));
    Json(json!({
        "links": [{ "rel": "lrdd", "type": "application/jrd+json", "template": template }]
    }))
    .into_response()
}
