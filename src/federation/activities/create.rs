//! Create and Update of posts and replies (Page, Note, Article, …), and Update of actors.

use super::{
    ActorRef, Outcome, announce, find_or_fetch_actor, same_origin, send,
    wire::{self, Ctx, Receive, type_of},
};
use crate::{
    error::AppError,
    federation::objects::post::{PostObject, post_json, value_id},
    state::AppState,
    store::{
        self,
        communities::DbCommunity,
        people::DbPerson,
        posts::{DbPost, PostEdit},
    },
};
use activitypub_federation::{
    config::Data,
    fetch::{fetch_object_http, object_id::ObjectId},
    traits::Object,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::AnyConnection;
use url::Url;

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum CreateOrUpdateType {
    Create,
    Update,
}

/// `Create` or `Update` of a post or reply (`Page`, `Note`, `Article`, …, embedded or by
/// id), or `Update` of an actor.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateOrUpdate {
    #[serde(deserialize_with = "wire::url")]
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: CreateOrUpdateType,
    #[serde(deserialize_with = "wire::id")]
    pub actor: ObjectId<ActorRef>,
    #[serde(default, deserialize_with = "wire::addresses")]
    pub to: Vec<Url>,
    #[serde(default, deserialize_with = "wire::addresses")]
    pub cc: Vec<Url>,
    #[serde(
        default,
        deserialize_with = "wire::optional_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub audience: Option<ObjectId<DbCommunity>>,
    pub object: Value,
}

#[async_trait::async_trait]
impl Receive for CreateOrUpdate {
    fn id(&self) -> &Url {
        &self.id
    }
    async fn receive(self, ctx: Ctx<'_>) -> Result<Outcome, AppError> {
        receive(self, ctx).await
    }
}

/// An inbound Create or Update.
async fn receive(activity: CreateOrUpdate, ctx: Ctx<'_>) -> Result<Outcome, AppError> {
    let data = ctx.data;
    let is_update = activity.kind == CreateOrUpdateType::Update;
    let object = activity.object;
    let object_id = value_id(&object).and_then(|s| Url::parse(&s).ok());
    // Update of an actor's own profile: refetch it from its origin.
    if is_update
        && matches!(
            type_of(&object),
            Some("Person" | "Group" | "Service" | "Application" | "Organization")
        )
    {
        let Some(object_id) = object_id else {
            return Err(AppError::bad_request(
                "invalid_activity",
                "`object` has no id",
            ));
        };
        // Its own profile, or (Lemmy) a Group updated by a moderator on the group's own
        // instance. Either way what counts is what the origin serves, not what is embedded.
        if &object_id == ctx.actor.ap_id() || same_origin(&object_id, ctx.actor.ap_id()).is_ok() {
            find_or_fetch_actor(&object_id, data, true).await?;
            return Ok(Outcome::Done);
        }
        return Ok(Outcome::Ignored);
    }
    let ActorRef::Person(author) = &ctx.actor else {
        return Ok(Outcome::Ignored);
    };
    // Relayed by a community from another host than the community's: the object as its
    // origin serves it, not as embedded.
    let untrusted_relay = ctx
        .relayed_by
        .is_some_and(|g| same_origin(&activity.id, &g.ap_id).is_err());
    let post_json_in = match object {
        Value::Object(_) if !untrusted_relay => object,
        // A bare id: the object as its origin serves it, then the same checks as an
        // embedded one (who may post where, locks, bans, private communities).
        _ => {
            let Some(url) = object_id else {
                return Err(AppError::bad_request(
                    "invalid_activity",
                    "`object` has no id",
                ));
            };
            let fetched = fetch_object_http::<AppState, Value>(&url, data)
                .await?
                .object;
            if value_id(&fetched).as_deref() != Some(url.as_str()) {
                return Err(AppError::bad_request(
                    "invalid_object",
                    "the object fetched has another id",
                ));
            }
            fetched
        }
    };
    let post_obj: PostObject = serde_json::from_value(post_json_in)
        .map_err(|e| AppError::bad_request("invalid_object", format!("unusable object: {e}")))?;
    if post_obj.attributed_to != author.ap_id {
        return Err(AppError::forbidden(
            "not_author",
            "the object's attributedTo is not the actor",
        ));
    }
    DbPost::verify(&post_obj, &author.ap_id, data).await?;
    let object_url = post_obj.id.inner().clone();
    let existing = {
        let mut conn = data.db.pool.acquire().await?;
        store::posts::find_by_ap_id(&mut conn, post_obj.id.inner().as_str()).await?
    };
    let post = match existing {
        Some(post) if is_update => {
            crate::domain::posts::check_may_edit(&post, author)?;
            apply_update(&post, &post_obj, data).await?
        }
        Some(_) => return Ok(Outcome::Ignored), // a Create we already have
        // Addressing and the admission rules are checked where every remote post is
        // stored (`objects::post::admit`); what is not addressed to the public is not a post.
        None => match DbPost::from_json(post_obj, data).await {
            Ok(post) => post,
            Err(AppError::Forbidden { code, .. })
                if code == crate::federation::objects::post::NOT_PUBLIC =>
            {
                tracing::info!(object = %object_url, "not addressed to the public: not stored as a post");
                return Ok(Outcome::Ignored);
            }
            Err(e) => return Err(e),
        },
    };
    if !ctx.is_direct() {
        return Ok(Outcome::Done);
    }
    relay_if_local(ctx.raw, &post, data).await
}

async fn apply_update(
    post: &DbPost,
    obj: &PostObject,
    data: &Data<AppState>,
) -> Result<DbPost, AppError> {
    let content = obj.content_html();
    // The same cleaning as a new post's title (`objects::post::store_one`).
    let title = obj
        .name
        .as_deref()
        .filter(|_| post.root_id.is_none())
        .map(|n| crate::domain::validate::safe_name(n, crate::domain::posts::TITLE_MAX))
        .filter(|n| !n.is_empty());
    let mut conn = data.db.write_conn().await?;
    store::posts::update_content(
        &mut conn,
        post.id,
        &PostEdit {
            title: title.as_deref(),
            content_html: &content,
            source: obj.source.as_ref().map(|s| s.content.as_str()),
            url: obj.link().as_deref(),
            sensitive: obj.sensitive.unwrap_or(post.sensitive),
            updated: obj
                .updated
                .map(|t| t.timestamp_millis())
                .unwrap_or_else(store::now_ms),
        },
    )
    .await?;
    Ok(store::posts::find_by_id(&mut conn, post.id)
        .await?
        .unwrap_or_else(|| post.clone()))
}

/// When the post lives in one of our communities, the community announces the activity.
async fn relay_if_local(
    activity: &Value,
    post: &DbPost,
    data: &Data<AppState>,
) -> Result<Outcome, AppError> {
    let mut tx = data.db.begin().await?;
    let community = store::communities::find_by_id(&mut tx, post.community_id).await?;
    if community.local {
        let bare = (post.root_id.is_none())
            .then(|| activity.get("object").cloned())
            .flatten();
        let relayed = as_lemmy_lists_it(activity, post);
        announce::relay(
            &mut tx,
            data,
            &community,
            relayed.as_ref().unwrap_or(activity),
            bare.as_ref().filter(|o| o.is_object()),
        )
        .await?;
    }
    tx.commit().await?;
    send::wake(data);
    Ok(Outcome::Done)
}

/// A top-level post that came as a `Note` (Mastodon's, and others') is relayed with its
/// object typed `Page` and titled, the one shape in which Lemmy 1.0 lists it as a post: its
/// untagged `AnnouncableActivities` tries the Note wrapper (comments, private messages)
/// before `CreateOrUpdatePage` and refuses a Note without `inReplyTo` (lemmy
/// crates/apub/activities/src/activity_lists.rs:57–59, protocol/create_or_update/
/// note_wrapper.rs:70–76 at 439734dd; docs/FEDERATION.md). Lemmy 0.19 and PieFed take
/// either; Guildhall refetches an object relayed from another origin, so it sees the Note
/// as its author sent it. Id, author, addressing and content are unchanged.
fn as_lemmy_lists_it(activity: &Value, post: &DbPost) -> Option<Value> {
    let object = activity.get("object")?;
    if post.root_id.is_some() || type_of(object) != Some("Note") {
        return None;
    }
    let mut relayed = activity.clone();
    let object = relayed.get_mut("object")?.as_object_mut()?;
    object.insert("type".into(), Value::String("Page".into()));
    if let Some(title) = &post.title {
        object
            .entry("name")
            .or_insert_with(|| Value::String(title.clone()));
    }
    Some(relayed)
}

/// Federates a local person's new or edited post or reply: announced by the community when
/// it is ours, else sent to the remote community. Runs in the caller's transaction.
pub async fn send(
    conn: &mut AnyConnection,
    state: &AppState,
    author: &DbPerson,
    post: &DbPost,
    community: &DbCommunity,
    is_update: bool,
) -> Result<(), AppError> {
    let object = post_json(conn, post.clone()).await?;
    let (kind, path) = if is_update {
        (CreateOrUpdateType::Update, "activities/update")
    } else {
        (CreateOrUpdateType::Create, "activities/create")
    };
    let parse = |a: &[String]| a.iter().filter_map(|a| Url::parse(a).ok()).collect();
    let activity = wire::to_value(&CreateOrUpdate {
        id: state.new_id(path),
        kind,
        actor: author.ap_id.clone().into(),
        to: parse(&object.to),
        cc: parse(&object.cc),
        audience: Some(community.ap_id.clone().into()),
        object: wire::to_value(&object)?,
    })?;
    let bare = post.root_id.is_none().then(|| activity["object"].clone());
    send::to_community(
        conn,
        state,
        author.ap_id.as_str(),
        community,
        &activity,
        bare.as_ref(),
    )
    .await?;
    Ok(())
}

/// Tells a local community's followers that its Group changed (made private or public,
/// approval of members on or off): `Update` by the community itself, which receivers
/// answer by fetching the Group again. Runs in the caller's transaction.
pub async fn send_group_update(
    conn: &mut AnyConnection,
    state: &AppState,
    community: &DbCommunity,
) -> Result<(), AppError> {
    let group =
        crate::federation::objects::group::local_group_json(state, &mut *conn, community.clone())
            .await?;
    let public = Url::parse(wire::PUBLIC).map_err(|e| AppError::Internal(e.into()))?;
    let followers = Url::parse(&crate::federation::objects::post::followers_of(community))
        .map_err(|e| AppError::Internal(e.into()))?;
    let update = wire::to_value(&CreateOrUpdate {
        id: state.new_id("activities/update"),
        kind: CreateOrUpdateType::Update,
        actor: community.ap_id.clone().into(),
        to: vec![public],
        cc: vec![followers],
        audience: None,
        object: wire::to_value(&group)?,
    })?;
    send::queue(
        conn,
        &update,
        send::Delivery {
            signer: community.ap_id.as_str(),
            inboxes: vec![],
            followers_of: Some(community.id),
            community_id: None,
            in_outbox: false,
        },
    )
    .await?;
    Ok(())
}
