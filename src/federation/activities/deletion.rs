//! Delete and Undo(Delete) of posts and replies: by their author (deleted) or by a
//! moderator of their community (removed, Lemmy's `Delete` with a `summary`).

use super::{
    ActorRef, Outcome, announce, send,
    wire::{self, Ctx, Receive},
};
use crate::{
    error::AppError,
    state::AppState,
    store::{self, communities::DbCommunity, people::DbPerson, posts::DbPost},
};
use activitypub_federation::{
    config::Data,
    fetch::{fetch_object_http, object_id::ObjectId},
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::AnyConnection;
use url::Url;

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum DeleteType {
    Delete,
}

/// `Delete` of a post or reply (or of an account, not handled yet); `object` is its id or
/// an embedded Tombstone.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Delete {
    #[serde(deserialize_with = "wire::url")]
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: DeleteType,
    #[serde(deserialize_with = "wire::id")]
    pub actor: ObjectId<ActorRef>,
    #[serde(default, deserialize_with = "wire::addresses")]
    pub to: Vec<Url>,
    #[serde(
        default,
        deserialize_with = "wire::addresses",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub cc: Vec<Url>,
    #[serde(
        default,
        deserialize_with = "wire::optional_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub audience: Option<ObjectId<DbCommunity>>,
    #[serde(deserialize_with = "wire::url")]
    pub object: Url,
    /// A moderator's reason (Lemmy).
    #[serde(
        default,
        deserialize_with = "wire::optional_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub summary: Option<String>,
}

#[async_trait::async_trait]
impl Receive for Delete {
    fn id(&self) -> &Url {
        &self.id
    }
    async fn receive(self, ctx: Ctx<'_>) -> Result<Outcome, AppError> {
        apply(self, ctx, true).await
    }
}

/// Applies a Delete (`gone` = true) or its Undo (`gone` = false), direct or relayed.
pub async fn apply(delete: Delete, ctx: Ctx<'_>, gone: bool) -> Result<Outcome, AppError> {
    let ActorRef::Person(person) = &ctx.actor else {
        return Ok(Outcome::Ignored);
    };
    if delete.object == person.ap_id {
        return Ok(Outcome::Ignored); // account deletion: not handled yet
    }
    let data = ctx.data;
    let (post, community) = {
        let mut conn = data.db.pool.acquire().await?;
        let Some(post) = store::posts::find_by_ap_id(&mut conn, delete.object.as_str()).await?
        else {
            return Ok(Outcome::Ignored);
        };
        let community = store::communities::find_by_id(&mut conn, post.community_id).await?;
        (post, community)
    };
    // A community relays the deletions (and restorations) of its own content only.
    ctx.check_inside(&community)?;
    if let Some(group) = ctx.relayed_by
        && super::same_origin(&delete.id, &group.ap_id).is_err()
        && !confirmed_at_origin(&delete.object, gone, data).await
    {
        return Ok(Outcome::Ignored);
    }
    let mut tx = data.db.begin().await?;
    let removed =
        crate::domain::posts::check_may_delete(&mut tx, &post, &community, person, ctx.relayed_by)
            .await?;
    store::posts::set_gone(&mut tx, post.id, removed, gone).await?;
    if removed {
        store::modlog::insert(
            &mut tx,
            store::modlog::NewEntry {
                community_id: community.id,
                actor_id: Some(person.id),
                action: if gone { "remove" } else { "restore" },
                post_id: Some(post.id),
                person_id: None,
                reason: delete.summary.as_deref(),
                activity_id: ctx.activity_id(),
            },
        )
        .await?;
    }
    if community.local && ctx.is_direct() {
        announce::relay(&mut tx, data, &community, ctx.raw, None).await?;
    }
    tx.commit().await?;
    send::wake(data);
    tracing::info!(post = %post.ap_id, by = %person.ap_id, removed, gone, "delete applied");
    Ok(Outcome::Done)
}

/// Relayed from another host than the relaying group's, a deletion counts only when the
/// object's origin says it is gone (404, 410), a restoration only when the origin serves it
/// again; a timeout or a 5xx confirms nothing.
async fn confirmed_at_origin(object: &Url, gone: bool, data: &Data<AppState>) -> bool {
    use activitypub_federation::error::Error as F;
    match fetch_object_http::<AppState, Value>(object, data).await {
        Err(F::NotFound | F::ObjectDeleted(_)) => gone,
        Ok(served) => {
            !gone && served.object.get("id").and_then(Value::as_str) == Some(object.as_str())
        }
        Err(_) => false,
    }
}

/// Federates a local person's deletion (or a local moderator's removal, with `reason`).
pub async fn send(
    conn: &mut AnyConnection,
    state: &AppState,
    actor: &DbPerson,
    post: &DbPost,
    community: &DbCommunity,
    reason: Option<&str>,
) -> Result<(), AppError> {
    let activity = Delete {
        id: state.new_id("activities/delete"),
        kind: DeleteType::Delete,
        actor: actor.ap_id.clone().into(),
        to: wire::audience_of(community),
        cc: vec![community.ap_id.clone()],
        audience: Some(community.ap_id.clone().into()),
        object: post.ap_id.clone(),
        summary: reason.map(str::to_string),
    };
    send::to_community(
        conn,
        state,
        actor.ap_id.as_str(),
        community,
        &wire::to_value(&activity)?,
        None,
    )
    .await?;
    Ok(())
}
