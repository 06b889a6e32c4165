//! The `Person` actor: a local user, or a remote one we have seen.

use super::{Endpoints, Source, time_of};
use crate::{
    domain::{
        markdown,
        validate::{REMOTE_DISPLAY_NAME_MAX, REMOTE_SUMMARY_MAX, clip},
    },
    error::AppError,
    state::AppState,
    store::{
        self,
        people::{DbPerson, NewPerson},
    },
};
use activitypub_federation::{
    config::Data,
    fetch::object_id::ObjectId,
    protocol::{public_key::PublicKey, verification::verify_domains_match},
    traits::{Actor, Object},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

/// The actor types stored as people (everything but `Group`).
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum PersonKind {
    Person,
    Service,
    Application,
    Organization,
}

impl PersonKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PersonKind::Person => "Person",
            PersonKind::Service => "Service",
            PersonKind::Application => "Application",
            PersonKind::Organization => "Organization",
        }
    }
}

/// A `Person` (or other non-Group actor) on the wire.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    #[serde(rename = "type")]
    pub kind: PersonKind,
    pub id: ObjectId<DbPerson>,
    /// Optional on the wire (the id's last segment stands in: `validate::remote_username`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    pub inbox: Url,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbox: Option<Url>,
    pub public_key: PublicKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<Endpoints>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discoverable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manually_approves_followers: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<DateTime<Utc>>,
}

#[async_trait::async_trait]
impl Object for DbPerson {
    type DataType = AppState;
    type Kind = Person;
    type Error = AppError;

    fn id(&self) -> &Url {
        &self.ap_id
    }

    async fn read_from_id(object_id: Url, data: &Data<AppState>) -> Result<Option<Self>, AppError> {
        let mut conn = data.db.pool.acquire().await?;
        Ok(store::people::find_by_ap_id(&mut conn, object_id.as_str()).await?)
    }

    async fn into_json(self, _data: &Data<AppState>) -> Result<Person, AppError> {
        Ok(person_json(self))
    }

    async fn verify(
        json: &Person,
        expected_domain: &Url,
        _data: &Data<AppState>,
    ) -> Result<(), AppError> {
        verify_domains_match(json.id.inner(), expected_domain).map_err(|_| {
            AppError::bad_request("domain_mismatch", "person id is not on the expected domain")
        })?;
        super::check_actor_key(json.id.inner(), &json.public_key)?;
        Ok(())
    }

    async fn from_json(json: Person, data: &Data<AppState>) -> Result<Self, AppError> {
        let bio_html = json
            .summary
            .as_deref()
            .map(|b| markdown::sanitize(&clip(b, REMOTE_SUMMARY_MAX)));
        let name = crate::domain::validate::remote_username(
            json.preferred_username.as_deref(),
            json.id.inner(),
        )?;
        let display_name = json
            .name
            .as_deref()
            .map(|n| crate::domain::validate::safe_name(n, REMOTE_DISPLAY_NAME_MAX))
            .filter(|n| !n.is_empty());
        let bio_source = json
            .source
            .as_ref()
            .map(|s| clip(&s.content, REMOTE_SUMMARY_MAX));
        let shared_inbox = json.endpoints.as_ref().and_then(|e| e.shared_inbox.clone());
        let mut conn = data.db.write_conn().await?;
        // The upsert never overwrites a local row (it returns no row instead).
        let row = store::people::upsert(
            &mut conn,
            &NewPerson {
                ap_id: json.id.inner().as_str(),
                name: &name,
                display_name: display_name.as_deref(),
                bio_html: bio_html.as_deref(),
                bio_source: bio_source.as_deref(),
                local: false,
                inbox: json.inbox.as_str(),
                shared_inbox: shared_inbox.as_ref().map(Url::as_str),
                public_key: &json.public_key.public_key_pem,
                private_key: None,
                published: json
                    .published
                    .map(|t| t.timestamp_millis())
                    .unwrap_or_else(store::now_ms),
                updated: json.updated.map(|t| t.timestamp_millis()),
                actor_type: json.kind.as_str(),
            },
        )
        .await
        .map_err(|e| match e {
            sqlx::Error::RowNotFound => {
                AppError::bad_request("local_object", "will not overwrite a local person")
            }
            e => e.into(),
        })?;
        Ok(row)
    }
}

impl Actor for DbPerson {
    fn public_key_pem(&self) -> &str {
        &self.public_key
    }

    fn private_key_pem(&self) -> Option<String> {
        self.private_key.clone()
    }

    fn inbox(&self) -> Url {
        Url::parse(&self.inbox).unwrap_or_else(|_| self.ap_id.clone())
    }

    fn shared_inbox(&self) -> Option<Url> {
        self.shared_inbox
            .as_deref()
            .and_then(|u| Url::parse(u).ok())
    }
}

/// The `Person` JSON of a person.
pub fn person_json(p: DbPerson) -> Person {
    Person {
        kind: match p.actor_type.as_str() {
            "Service" => PersonKind::Service,
            "Application" => PersonKind::Application,
            "Organization" => PersonKind::Organization,
            _ => PersonKind::Person,
        },
        public_key: p.public_key(),
        preferred_username: Some(p.name.clone()),
        name: p.display_name.clone(),
        summary: p.bio_html.clone(),
        source: p.bio_source.as_deref().and_then(Source::markdown),
        inbox: p.inbox(),
        outbox: Url::parse(&format!("{}/outbox", p.ap_id)).ok(),
        endpoints: Some(Endpoints {
            shared_inbox: p.shared_inbox(),
        }),
        url: Some(p.ap_id.clone()),
        discoverable: Some(true),
        manually_approves_followers: Some(false),
        published: Some(time_of(p.published)),
        updated: p.updated.map(time_of),
        id: p.ap_id.into(),
    }
}
