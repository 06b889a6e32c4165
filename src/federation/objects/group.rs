//! The `Group` actor: a community (FEP-1b12), in the shape Lemmy sends and expects.

use super::{Endpoints, Hashtag, Source, time_of};
use crate::{
    domain::{
        markdown,
        validate::{REMOTE_DISPLAY_NAME_MAX, REMOTE_SUMMARY_MAX, clip},
    },
    error::AppError,
    state::AppState,
    store::{
        self,
        communities::{DbCommunity, NewCommunity},
    },
};
use activitypub_federation::{
    config::Data,
    fetch::object_id::ObjectId,
    kinds::actor::GroupType,
    protocol::{public_key::PublicKey, verification::verify_domains_match},
    traits::{Actor, Object},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

/// A `Group` on the wire.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    #[serde(rename = "type")]
    pub kind: GroupType,
    pub id: ObjectId<DbCommunity>,
    /// Optional on the wire (the id's last segment stands in: `validate::remote_username`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// The title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The domain of practice, HTML.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    pub inbox: Url,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbox: Option<Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub followers: Option<Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub featured: Option<Url>,
    /// The moderators collection (Lemmy's convention).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributed_to: Option<Url>,
    pub public_key: PublicKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<Endpoints>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posting_restricted_to_mods: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitive: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manually_approves_followers: Option<bool>,
    /// Guildhall: posts are for accepted members only. Without it, a Group that approves
    /// its followers is taken as private, as Lemmy (1.0) marks its private communities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members_only: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discoverable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Url>,
    /// Topics, as `Hashtag`s.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tag: Vec<Hashtag>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<DateTime<Utc>>,
    /// Guildhall: how the community is led — `model` (hierarchical, shared, rotational),
    /// the rotation's `roster` and `termEndsAt`, who `facilitators` are now. Other
    /// software ignores it.
    #[serde(
        default,
        deserialize_with = "lenient_leadership",
        skip_serializing_if = "Option::is_none"
    )]
    pub leadership: Option<Leadership>,
}

/// A peer's `leadership` we cannot read is left out, not a reason to refuse its Group.
fn lenient_leadership<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Leadership>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value(v).ok())
}

/// Guildhall's `leadership` of a Group: how it is led and by whom now.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Leadership {
    /// `hierarchical`, `shared` or `rotational`.
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub facilitators: Vec<String>,
    /// Rotational: who takes the facilitator role, in turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roster: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term_ends_at: Option<DateTime<Utc>>,
}

#[async_trait::async_trait]
impl Object for DbCommunity {
    type DataType = AppState;
    type Kind = Group;
    type Error = AppError;

    fn id(&self) -> &Url {
        &self.ap_id
    }

    async fn read_from_id(object_id: Url, data: &Data<AppState>) -> Result<Option<Self>, AppError> {
        let mut conn = data.db.pool.acquire().await?;
        Ok(store::communities::find_by_ap_id(&mut conn, object_id.as_str()).await?)
    }

    async fn into_json(self, data: &Data<AppState>) -> Result<Group, AppError> {
        let mut conn = data.db.pool.acquire().await?;
        local_group_json(data.app_data(), &mut conn, self).await
    }

    async fn verify(
        json: &Group,
        expected_domain: &Url,
        _data: &Data<AppState>,
    ) -> Result<(), AppError> {
        verify_domains_match(json.id.inner(), expected_domain).map_err(|_| {
            AppError::bad_request("domain_mismatch", "group id is not on the expected domain")
        })?;
        super::check_actor_key(json.id.inner(), &json.public_key)?;
        Ok(())
    }

    async fn from_json(json: Group, data: &Data<AppState>) -> Result<Self, AppError> {
        let summary_html = markdown::sanitize(&clip(
            json.summary.as_deref().unwrap_or_default(),
            REMOTE_SUMMARY_MAX,
        ));
        let summary_source = json
            .source
            .as_ref()
            .map(|s| clip(&s.content, REMOTE_SUMMARY_MAX))
            .unwrap_or_default();
        let name = crate::domain::validate::remote_username(
            json.preferred_username.as_deref(),
            json.id.inner(),
        )?;
        let title = json
            .name
            .as_deref()
            .map(|n| crate::domain::validate::safe_name(n, REMOTE_DISPLAY_NAME_MAX))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| name.clone());
        let shared_inbox = json.endpoints.as_ref().and_then(|e| e.shared_inbox.clone());
        let mut conn = data.db.write_conn().await?;
        let row = store::communities::upsert(
            &mut conn,
            &NewCommunity {
                ap_id: json.id.inner().as_str(),
                name: &name,
                title: &title,
                summary_source: &summary_source,
                summary_html: &summary_html,
                guidelines_source: "",
                guidelines_html: "",
                local: false,
                inbox: json.inbox.as_str(),
                shared_inbox: shared_inbox.as_ref().map(Url::as_str),
                followers_url: json.followers.as_ref().map(Url::as_str),
                public_key: &json.public_key.public_key_pem,
                private_key: None,
                posting_restricted_to_mods: json.posting_restricted_to_mods.unwrap_or(false),
                sensitive: json.sensitive.unwrap_or(false),
                approval_required: json.manually_approves_followers.unwrap_or(false),
                members_only: json
                    .members_only
                    .or(json.manually_approves_followers)
                    .unwrap_or(false),
                published: json
                    .published
                    .map(|t| t.timestamp_millis())
                    .unwrap_or_else(store::now_ms),
                updated: json.updated.map(|t| t.timestamp_millis()),
                outbox_url: json.outbox.as_ref().map(Url::as_str),
                // Only a collection on the group's own origin (another origin could claim
                // someone else's moderators).
                moderators_url: json
                    .attributed_to
                    .as_ref()
                    .filter(|u| u.origin() == json.id.inner().origin())
                    .map(Url::as_str),
                featured_url: json.featured.as_ref().map(Url::as_str),
            },
        )
        .await
        .map_err(|e| match e {
            // The upsert never overwrites a local row (it returns no row instead).
            sqlx::Error::RowNotFound => {
                AppError::bad_request("local_object", "will not overwrite a local group")
            }
            e => e.into(),
        })?;
        Ok(row)
    }
}

impl Actor for DbCommunity {
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

/// The `Group` JSON of a local community, with its topics and leadership.
pub async fn local_group_json(
    state: &AppState,
    conn: &mut sqlx::AnyConnection,
    c: DbCommunity,
) -> Result<Group, AppError> {
    let topics = store::communities::topics(conn, c.id).await?;
    let lead = store::leadership::get(conn, c.id).await?;
    let roster: Vec<String> = store::leadership::roster(conn, c.id)
        .await?
        .into_iter()
        .map(|(_, ap_id)| ap_id)
        .collect();
    let facilitators: Vec<String> = store::roles::role_holders(conn, c.id, "facilitator")
        .await?
        .into_iter()
        .map(|h| h.ap_id)
        .collect();
    let rotational = lead.model == "rotational";
    let leadership = Leadership {
        term_ends_at: lead.term_ends_at.filter(|_| rotational).map(time_of),
        model: lead.model,
        facilitators,
        roster: rotational.then_some(roster),
    };
    let mut group = group_json(state, c, &topics);
    group.leadership = Some(leadership);
    Ok(group)
}

/// The `Group` JSON of a local community (without its leadership: `local_group_json`).
pub fn group_json(_state: &AppState, c: DbCommunity, topics: &[String]) -> Group {
    let base = c.ap_id.to_string();
    let sub = |s: &str| Url::parse(&format!("{base}/{s}")).ok();
    let tag = topics
        .iter()
        .map(|t| Hashtag {
            kind: "Hashtag".into(),
            name: format!("#{t}"),
            href: None,
        })
        .collect();
    Group {
        kind: GroupType::Group,
        public_key: c.public_key(),
        preferred_username: Some(c.name.clone()),
        name: Some(c.title.clone()),
        summary: Some(c.summary_html.clone()),
        source: Source::markdown(&c.summary_source),
        inbox: c.inbox(),
        outbox: sub("outbox"),
        followers: sub("followers"),
        featured: sub("featured"),
        attributed_to: sub("moderators"),
        endpoints: Some(Endpoints {
            shared_inbox: c.shared_inbox(),
        }),
        posting_restricted_to_mods: Some(c.posting_restricted_to_mods),
        sensitive: Some(c.sensitive),
        manually_approves_followers: Some(c.approval_required || c.members_only),
        members_only: Some(c.members_only),
        discoverable: Some(!c.members_only),
        url: Some(c.ap_id.clone()),
        tag,
        published: Some(time_of(c.published)),
        updated: c.updated.map(time_of),
        leadership: None,
        id: c.ap_id.into(),
    }
}
