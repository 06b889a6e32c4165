//! The instance actor (FEP-2677): an `Application` at `/actor` whose key signs the fetches
//! this server makes (authorized fetch).

use super::{Endpoints, time_of};
use crate::{error::AppError, state::AppState};
use activitypub_federation::{
    config::Data,
    kinds::actor::ApplicationType,
    protocol::public_key::PublicKey,
    traits::{Actor, Object},
};
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

/// Our own instance actor, as the federation library's signing actor for fetches.
#[derive(Debug, Clone)]
pub struct InstanceActor {
    pub id: Url,
    pub public_key: String,
    pub private_key: String,
    pub inbox: Url,
}

impl InstanceActor {
    pub fn of(state: &AppState) -> InstanceActor {
        InstanceActor {
            id: state.instance_actor_url(),
            public_key: state.instance_keys.public_key.clone(),
            private_key: state.instance_keys.private_key.clone(),
            inbox: state.url("/inbox"),
        }
    }
}

#[async_trait::async_trait]
impl Object for InstanceActor {
    type DataType = AppState;
    type Kind = Application;
    type Error = AppError;

    fn id(&self) -> &Url {
        &self.id
    }

    async fn read_from_id(id: Url, data: &Data<AppState>) -> Result<Option<Self>, AppError> {
        Ok((id == data.instance_actor_url()).then(|| InstanceActor::of(data.app_data())))
    }

    async fn into_json(self, data: &Data<AppState>) -> Result<Application, AppError> {
        Ok(application_json(data.app_data()))
    }

    async fn verify(_: &Application, _: &Url, _: &Data<AppState>) -> Result<(), AppError> {
        // Remote `Application` actors are stored as people (`actor_type`), never as this.
        Err(AppError::bad_request(
            "not_ours",
            "only our own instance actor is an InstanceActor",
        ))
    }

    async fn from_json(_: Application, _: &Data<AppState>) -> Result<Self, AppError> {
        Err(AppError::bad_request(
            "not_ours",
            "only our own instance actor is an InstanceActor",
        ))
    }
}

impl Actor for InstanceActor {
    fn public_key_pem(&self) -> &str {
        &self.public_key
    }

    fn private_key_pem(&self) -> Option<String> {
        Some(self.private_key.clone())
    }

    fn inbox(&self) -> Url {
        self.inbox.clone()
    }
}
