//! WebFinger (RFC 7033) for people, communities and the instance actor, in one namespace:
//! `acct:name@host` names exactly one local actor.

use crate::{error::AppError, state::AppState, store};
use axum::{
    Router,
    extract::{Query, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde::{Deserialize, Serialize};
use url::Url;

pub fn router() -> Router<AppState> {
    Router::new().route("/.well-known/webfinger", get(webfinger))
}

#[derive(Deserialize)]
struct Params {
    resource: Option<String>,
}

/// A JSON Resource Descriptor.
#[derive(Serialize, Deserialize, Debug)]
pub struct Jrd {
    pub subject: String,
    #[serde(default)]
    pub aliases: Vec<Url>,
    pub links: Vec<JrdLink>,
}

#[derive(Serialize, Deserialize, Debug)]
pub struct JrdLink {
    pub rel: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub href: Option<Url>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Which local actor a WebFinger resource names.
enum Target {
    Person(String),
    Community(String),
    Instance,
}

async fn webfinger(
    State(state): State<AppState>,
    Query(params): Query<Params>,
) -> Result<Response, AppError> {
    let resource = params.resource.filter(|r| !r.is_empty()).ok_or_else(|| {
        AppError::bad_request("missing_resource", "query parameter `resource` is required")
    })?;
    let name = local_name(&state, &resource)?;
    let target = if name == state.domain {
        Target::Instance
    } else {
        let mut conn = state.db.pool.acquire().await?;
        if store::people::find_local_by_name(&mut conn, &name)
            .await?
            .is_some()
        {
            Target::Person(name)
        } else if store::communities::find_local_by_name(&mut conn, &name)
            .await?
            .is_some()
        {
            Target::Community(name)
        } else {
            return Err(AppError::NotFound("account"));
        }
    };
    let (id, as_type, page) = match &target {
        Target::Person(n) => (state.person_url(n), "Person", state.person_url(n)),
        Target::Community(n) => (state.community_url(n), "Group", state.community_url(n)),
        Target::Instance => (state.instance_actor_url(), "Application", state.url("/")),
    };
    let subject_name = match &target {
        Target::Person(n) | Target::Community(n) => n.clone(),
        Target::Instance => state.domain.clone(),
    };
    let mut properties = serde_json::Map::new();
    properties.insert(
        "https://www.w3.org/ns/activitystreams#type".into(),
        as_type.into(),
    );
    let jrd = Jrd {
        subject: format!("acct:{subject_name}@{}", state.domain),
        aliases: vec![id.clone()],
        links: vec![
            JrdLink {
                rel: "http://webfinger.net/rel/profile-page".into(),
                kind: Some("text/html".into()),
                href: Some(page),
                properties: None,
            },
            JrdLink {
                rel: "self".into(),
                kind: Some("application/activity+json".into()),
                href: Some(id),
                properties: Some(properties),
            },
        ],
    };
    let mut res = axum::Json(jrd).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jrd+json; charset=utf-8"),
    );
    res.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    Ok(res)
}

/// The local name in `acct:name@host` (or `name@host`, or an actor URL of ours). A resource
/// on another host is not ours: 404.
fn local_name(state: &AppState, resource: &str) -> Result<String, AppError> {
    if resource.starts_with("http://") || resource.starts_with("https://") {
        let url = Url::parse(resource)
            .map_err(|_| AppError::bad_request("bad_resource", "resource is not a valid URL"))?;
        let ours = state.url("/");
        if url.host_str() != ours.host_str()
            || url.port_or_known_default() != ours.port_or_known_default()
        {
            return Err(AppError::NotFound("account"));
        }
        let path = url.path();
        if path == "/actor" {
            return Ok(state.domain.clone());
        }
        return path
            .strip_prefix("/u/")
            .or_else(|| path.strip_prefix("/c/"))
            .filter(|n| !n.is_empty() && !n.contains('/'))
            .map(str::to_string)
            .ok_or(AppError::NotFound("account"));
    }
    let acct = resource.strip_prefix("acct:").unwrap_or(resource);
    let acct = acct.strip_prefix('@').unwrap_or(acct);
    let (name, host) = acct
        .rsplit_once('@')
        .ok_or_else(|| AppError::bad_request("bad_resource", "resource must be acct:name@host"))?;
    if !host.eq_ignore_ascii_case(&state.domain) {
        return Err(AppError::NotFound("account"));
    }
    Ok(name.to_lowercase())
}
