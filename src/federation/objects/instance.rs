//! The instance actor (FEP-2677): an `Application` at `/actor` whose key signs the fetches
//! this server makes (authorized fetch).

use super::{Endpoints, time_of};
use crate::state::AppState;
use activitypub_federation::{kinds::actor::ApplicationType, protocol::public_key::PublicKey};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

/// An `Application` on the wire.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    #[serde(rename = "type")]
    pub kind: ApplicationType,
    pub id: Url,
    pub preferred_username: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    pub inbox: Url,
    pub outbox: Url,
    pub public_key: PublicKey,
    pub endpoints: Endpoints,
    pub manually_approves_followers: bool,
    pub url: Url,
    pub published: DateTime<Utc>,
}

/// The instance actor's JSON.
pub fn application_json(state: &AppState) -> Application {
    let id = state.instance_actor_url();
    Application {
        kind: ApplicationType::Application,
        preferred_username: state.domain.clone(),
        name: state.config.instance.name.clone(),
        summary: Some(crate::domain::markdown::to_html(
            &state.config.instance.description,
        )),
        inbox: state.url("/inbox"),
        outbox: state.url("/actor/outbox"),
        public_key: PublicKey {
            id: format!("{id}#main-key"),
            owner: id.clone(),
            public_key_pem: state.instance_keys.public_key.clone(),
        },
        endpoints: Endpoints {
            shared_inbox: Some(state.url("/inbox")),
        },
        manually_approves_followers: true,
        url: state.url("/"),
        published: time_of(state.instance_keys.created_at),
        id,
    }
}
