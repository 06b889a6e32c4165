//! Communities: creation with a domain of practice (summary), guidelines and topics. The
//! creator becomes owner and first moderator.

use crate::{
    domain::{markdown, name_taken, unique_or, validate},
    error::{AppError, AppResult},
    state::{AppState, new_keypair},
    store::{
        self,
        communities::{DbCommunity, NewCommunity},
        people::DbPerson,
    },
};

/// What a person submits to create a community.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCommunityInput {
    pub name: String,
    pub title: String,
    /// The domain of practice, in Markdown.
    #[serde(default)]
    pub summary: String,
    /// Guidelines (rules), in Markdown.
    #[serde(default)]
    pub guidelines: String,
    #[serde(default)]
    pub topics: Vec<String>,
    #[serde(default)]
    pub posting_restricted_to_mods: bool,
    #[serde(default)]
    pub sensitive: bool,
    /// New members wait for a moderator's approval.
    #[serde(default)]
    pub approval_required: bool,
    /// Private: posts and replies for accepted members only (implies approval).
    #[serde(default)]
    pub private: bool,
}

/// A community with what its pages and JSON show besides the row.
#[derive(Debug, Clone)]
pub struct CommunityView {
    pub community: DbCommunity,
    pub topics: Vec<String>,
    pub moderators: Vec<store::roles::RoleHolder>,
    pub owners: Vec<store::roles::RoleHolder>,
    pub followers: i64,
    pub settings: store::settings::CommunitySettings,
}

/// Creates a local community owned by `owner` (a local person).
pub async fn create(
    state: &AppState,
    owner: &DbPerson,
    input: NewCommunityInput,
) -> AppResult<DbCommunity> {
    validate::name("name", &input.name)?;
    validate::text("title", &input.title, validate::TITLE_MAX, true)?;
    validate::text("summary", &input.summary, validate::SUMMARY_MAX, false)?;
    validate::text(
        "guidelines",
        &input.guidelines,
        validate::GUIDELINES_MAX,
        false,
    )?;
    let topics = validate::topics(&input.topics)?;
    if !owner.local {
        return Err(AppError::forbidden(
            "not_local",
            "only local people can create communities here",
        ));
    }
    let mut conn = state.db.pool.acquire().await?;
    if store::local_name_taken(&mut conn, &input.name).await? {
        return Err(name_taken(&input.name));
    }
    drop(conn);

    let keys = new_keypair().await?;
    let ap_id = state.community_url(&input.name);
    let inbox = state.url(&format!("/c/{}/inbox", input.name));
    let shared_inbox = state.url("/inbox");
    let followers = state.url(&format!("/c/{}/followers", input.name));
    let summary_html = markdown::to_html(&input.summary);
    let guidelines_html = markdown::to_html(&input.guidelines);

    let mut tx = state.db.begin().await?;
    store::claim_local_name(&mut tx, &input.name, "community")
        .await
        .map_err(|e| unique_or(e, || name_taken(&input.name)))?;
    let community = store::communities::upsert(
        &mut tx,
        &NewCommunity {
            ap_id: ap_id.as_str(),
            name: &input.name,
            title: input.title.trim(),
            summary_source: &input.summary,
            summary_html: &summary_html,
            guidelines_source: &input.guidelines,
            guidelines_html: &guidelines_html,
            local: true,
            inbox: inbox.as_str(),
            shared_inbox: Some(shared_inbox.as_str()),
            followers_url: Some(followers.as_str()),
            public_key: &keys.public_key,
            private_key: Some(&keys.private_key),
            posting_restricted_to_mods: input.posting_restricted_to_mods,
            sensitive: input.sensitive,
            approval_required: input.approval_required || input.private,
            members_only: input.private,
            published: store::now_ms(),
            updated: None,
            outbox_url: None,
            moderators_url: None,
            featured_url: None,
        },
    )
    .await?;
    store::communities::set_topics(&mut tx, community.id, &topics).await?;
    store::roles::add_role(&mut tx, community.id, owner.id, "owner").await?;
    store::roles::add_role(&mut tx, community.id, owner.id, "moderator").await?;
    tx.commit().await?;
    tracing::info!(community = %community.name, owner = %owner.name, "community created");
    Ok(community)
}

/// A local community with its topics, moderators and follower count.
pub async fn view_local(state: &AppState, name: &str) -> AppResult<CommunityView> {
    let mut conn = state.db.pool.acquire().await?;
    let community = store::communities::find_local_by_name(&mut conn, name)
        .await?
        .ok_or(AppError::NotFound("community"))?;
    view_of(&mut conn, community).await
}

/// Adds topics, roles and counts to a community row.
pub async fn view_of(
    conn: &mut sqlx::AnyConnection,
    community: DbCommunity,
) -> AppResult<CommunityView> {
    let topics = store::communities::topics(conn, community.id).await?;
    let moderators = store::roles::role_holders(conn, community.id, "moderator").await?;
    let owners = store::roles::role_holders(conn, community.id, "owner").await?;
    let followers = store::followers::follower_count(conn, community.id).await?;
    let settings = store::settings::get(conn, community.id).await?;
    Ok(CommunityView {
        community,
        topics,
        moderators,
        owners,
        followers,
        settings,
    })
}

/// One page of the local community directory (by name), and the cursor of the next page.
pub async fn list_local(
    state: &AppState,
    after: Option<&str>,
    limit: i64,
) -> AppResult<(Vec<CommunityView>, Option<String>)> {
    let limit = limit.clamp(1, 100);
    let mut conn = state.db.pool.acquire().await?;
    let mut rows = store::communities::list_local(&mut conn, after, limit + 1).await?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|c| c.name.clone())
    } else {
        None
    };
    let mut views = Vec::with_capacity(rows.len());
    for c in rows {
        views.push(view_of(&mut conn, c).await?);
    }
    Ok((views, next))
}
