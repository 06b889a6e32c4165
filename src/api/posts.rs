//! `/api/v1/…/posts`: community feeds, threads, posting, replying, editing, deleting,
//! voting; and following communities, local or remote.

use super::{ApiJson, ApiPath, ApiQuery, Auth, MaybeAuth};
use crate::{
    domain::{
        communities, follows,
        paging::{self, Paging},
        posts::{self, EditInput, NewPostInput},
        privacy,
    },
    error::{AppError, AppResult},
    federation::objects::time_of,
    state::AppState,
    store::{
        self,
        communities::DbCommunity,
        posts::{DbPost, Sort},
    },
};
use activitypub_federation::config::Data;
use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/communities/{handle}/posts", get(feed).post(create_post))
        .route(
            "/communities/{handle}/follow",
            post(follow).delete(unfollow),
        )
        .route("/resolve", get(resolve))
        .route("/posts/{id}", get(thread).patch(edit).delete(delete))
        .route("/posts/{id}/replies", post(reply))
        .route("/posts/{id}/vote", post(vote))
        .route("/posts/{id}/lock", post(lock))
        .route("/posts/{id}/pin", post(pin))
        .route("/communities/{handle}/modlog", get(modlog))
        .route("/modlog", get(instance_modlog))
        .route("/modlog/instance", get(admin_log))
        .route("/communities/{handle}/bans", post(ban))
        .route("/accounts/me/follows", get(my_follows))
}

/// `name` (ours) or `name@host` (remote, already known).
pub async fn community_by_handle(conn: &mut AnyConnection, handle: &str) -> AppResult<DbCommunity> {
    let handle = handle.trim_start_matches('!');
    let found = match handle.split_once('@') {
        Some((name, host)) => store::communities::find_remote_by_handle(conn, name, host).await?,
        None => store::communities::find_local_by_name(conn, handle).await?,
    };
    found.ok_or(AppError::NotFound("community"))
}

/// A post or reply as the API shows it.
#[derive(Serialize)]
pub struct PostView {
    pub id: i64,
    pub ap_id: String,
    pub community: String,
    pub author: String,
    pub author_id: String,
    /// The author's roles in the community (`mentor`, `facilitator`, `moderator`, …).
    pub author_roles: Vec<String>,
    pub parent_id: Option<i64>,
    pub root_id: Option<i64>,
    pub depth: i64,
    pub title: Option<String>,
    pub body_html: Option<String>,
    pub body: Option<String>,
    pub url: Option<String>,
    pub score: i64,
    pub upvotes: i64,
    pub downvotes: i64,
    pub reply_count: i64,
    pub deleted: bool,
    /// Locked by a moderator: no new replies.
    pub locked: bool,
    /// Pinned by a moderator at the top of its community.
    pub featured: bool,
    pub local: bool,
    pub published: chrono::DateTime<chrono::Utc>,
    pub updated: Option<chrono::DateTime<chrono::Utc>>,
}

pub use crate::domain::handle_of;

pub async fn view(conn: &mut AnyConnection, p: DbPost) -> AppResult<PostView> {
    let community = store::communities::find_by_id(conn, p.community_id).await?;
    let author = store::people::find_by_id(conn, p.author_id).await?;
    let author_roles = store::roles::roles_of(conn, p.community_id, p.author_id).await?;
    let gone = p.is_gone();
    Ok(PostView {
        id: p.id,
        ap_id: p.ap_id.to_string(),
        community: handle_of(&community.name, &community.ap_id, community.local),
        author: handle_of(&author.name, &author.ap_id, author.local),
        author_id: author.ap_id.to_string(),
        author_roles,
        parent_id: p.parent_id,
        root_id: p.root_id,
        depth: p.depth,
        title: if gone { None } else { p.title },
        body_html: if gone { None } else { Some(p.content_html) },
        body: if gone { None } else { p.source },
        url: if gone { None } else { p.url },
        score: p.score,
        upvotes: p.upvotes,
        downvotes: p.downvotes,
        reply_count: p.reply_count,
        deleted: gone,
        locked: p.locked,
        featured: p.featured,
        local: p.local,
        published: time_of(p.published),
        updated: p.updated.map(time_of),
    })
}

#[derive(Deserialize)]
struct FeedQuery {
    sort: Option<Sort>,
    page: Option<i64>,
    limit: Option<i64>,
}

#[derive(Serialize)]
struct FeedOutput {
    items: Vec<PostView>,
    page: i64,
}

async fn feed(
    State(state): State<AppState>,
    who: MaybeAuth,
    ApiPath(handle): ApiPath<String>,
    ApiQuery(q): ApiQuery<FeedQuery>,
) -> AppResult<Json<FeedOutput>> {
    let mut conn = state.db.pool.acquire().await?;
    let community = community_by_handle(&mut conn, &handle).await?;
    privacy::check_read(&mut conn, &community, who.reader()).await?;
    let paging = Paging::checked(q.page, q.limit, paging::FEED)?;
    let rows = store::posts::list_for_community(
        &mut conn,
        community.id,
        q.sort.unwrap_or(Sort::Active),
        paging.limit(),
        paging.offset(),
    )
    .await?;
    let mut items = Vec::with_capacity(rows.len());
    for p in rows {
        items.push(view(&mut conn, p).await?);
    }
    Ok(Json(FeedOutput {
        items,
        page: paging.page(),
    }))
}

async fn create_post(
    State(state): State<AppState>,
    Auth(user, _): Auth,
    ApiPath(handle): ApiPath<String>,
    ApiJson(input): ApiJson<NewPostInput>,
) -> AppResult<(StatusCode, Json<PostView>)> {
    let community = {
        let mut conn = state.db.pool.acquire().await?;
        community_by_handle(&mut conn, &handle).await?
    };
    let post = posts::create_post(&state, &user.person, &community, input).await?;
    let mut conn = state.db.pool.acquire().await?;
    Ok((StatusCode::CREATED, Json(view(&mut conn, post).await?)))
}

async fn load(conn: &mut AnyConnection, id: i64) -> AppResult<DbPost> {
    store::posts::find_by_id(conn, id)
        .await?
        .ok_or(AppError::NotFound("post"))
}

#[derive(Serialize)]
struct ThreadOutput {
    post: PostView,
    /// This page's replies (oldest first): up to 50 top-level replies, each with every reply
    /// under it; `parent_id` gives the tree.
    replies: Vec<PostView>,
    /// 1-based, and the number of pages.
    page: usize,
    pages: usize,
}

#[derive(Deserialize)]
struct ThreadQuery {
    /// 1-based; absent: the first page, or (for a reply's id) the page that holds it.
    page: Option<i64>,
}

async fn thread(
    State(state): State<AppState>,
    who: MaybeAuth,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ThreadQuery>,
) -> AppResult<Json<ThreadOutput>> {
    let mut conn = state.db.pool.acquire().await?;
    let p = load(&mut conn, id).await?;
    posts::check_may_see(&mut conn, &p, who.reader()).await?;
    let at = p.root_id.map(|_| p.id);
    let root_id = p.root_id.unwrap_or(p.id);
    let root = if root_id == p.id {
        p
    } else {
        load(&mut conn, root_id).await?
    };
    let page = q.page.map(Paging::number).transpose()?;
    let page = page.map(|p| p as usize); // 1..=MAX_PAGE
    let shown = crate::domain::threads::load(&mut conn, root.id, page, at).await?;
    let mut replies = Vec::with_capacity(shown.replies.len());
    for r in shown.replies {
        replies.push(view(&mut conn, r).await?);
    }
    Ok(Json(ThreadOutput {
        post: view(&mut conn, root).await?,
        replies,
        page: shown.page + 1,
        pages: shown.pages,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyInput {
    body: String,
}

async fn reply(
    State(state): State<AppState>,
    Auth(user, _): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ReplyInput>,
) -> AppResult<(StatusCode, Json<PostView>)> {
    let parent = {
        let mut conn = state.db.pool.acquire().await?;
        load(&mut conn, id).await?
    };
    let r = posts::create_reply(&state, &user.person, &parent, &input.body).await?;
    let mut conn = state.db.pool.acquire().await?;
    Ok((StatusCode::CREATED, Json(view(&mut conn, r).await?)))
}

async fn edit(
    State(state): State<AppState>,
    Auth(user, _): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<EditInput>,
) -> AppResult<Json<PostView>> {
    let p = {
        let mut conn = state.db.pool.acquire().await?;
        load(&mut conn, id).await?
    };
    let updated = posts::edit(&state, &user.person, &p, input).await?;
    let mut conn = state.db.pool.acquire().await?;
    Ok(Json(view(&mut conn, updated).await?))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct DeleteInput {
    #[serde(default)]
    reason: Option<String>,
}

async fn delete(
    State(state): State<AppState>,
    Auth(user, _): Auth,
    ApiPath(id): ApiPath<i64>,
    body: axum::body::Bytes,
) -> AppResult<StatusCode> {
    // The body is optional: `{"reason": "…"}` for a moderator's removal.
    let input: DeleteInput = super::optional_json(&body)?;
    if let Some(r) = &input.reason {
        crate::domain::validate::text("reason", r, 1000, false)?;
    }
    let p = {
        let mut conn = state.db.pool.acquire().await?;
        load(&mut conn, id).await?
    };
    posts::delete(&state, &user.person, &p, input.reason.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VoteInput {
    value: i64,
}

async fn vote(
    State(state): State<AppState>,
    Auth(user, _): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<VoteInput>,
) -> AppResult<Json<PostView>> {
    let p = {
        let mut conn = state.db.pool.acquire().await?;
        load(&mut conn, id).await?
    };
    let updated = posts::vote(&state, &user.person, &p, input.value).await?;
    let mut conn = state.db.pool.acquire().await?;
    Ok(Json(view(&mut conn, updated).await?))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LockInput {
    locked: bool,
    #[serde(default)]
    reason: Option<String>,
}

/// A moderator locks or unlocks a post or reply.
async fn lock(
    State(state): State<AppState>,
    Auth(user, _): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<LockInput>,
) -> AppResult<Json<PostView>> {
    let p = {
        let mut conn = state.db.pool.acquire().await?;
        load(&mut conn, id).await?
    };
    let updated = crate::domain::moderation::lock(
        &state,
        &user.person,
        &p,
        input.locked,
        input.reason.as_deref(),
    )
    .await?;
    let mut conn = state.db.pool.acquire().await?;
    Ok(Json(view(&mut conn, updated).await?))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PinInput {
    pinned: bool,
}

/// A moderator pins or unpins a post.
async fn pin(
    State(state): State<AppState>,
    Auth(user, _): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<PinInput>,
) -> AppResult<Json<PostView>> {
    let p = {
        let mut conn = state.db.pool.acquire().await?;
        load(&mut conn, id).await?
    };
    let updated = crate::domain::moderation::pin(&state, &user.person, &p, input.pinned).await?;
    let mut conn = state.db.pool.acquire().await?;
    Ok(Json(view(&mut conn, updated).await?))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct BanInput {
    /// ActivityPub id, or a local username.
    person: String,
    #[serde(default = "yes")]
    banned: bool,
    #[serde(default)]
    reason: Option<String>,
    /// RFC 3339; absent: until lifted.
    #[serde(default)]
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    remove_data: bool,
}

fn yes() -> bool {
    true
}

#[derive(Serialize)]
struct BanOutput {
    person: String,
    banned: bool,
}

/// A moderator bans (or, with `"banned": false`, unbans) someone from a local community.
async fn ban(
    State(state): State<AppState>,
    Auth(user, _): Auth,
    ApiPath(handle): ApiPath<String>,
    ApiJson(input): ApiJson<BanInput>,
) -> AppResult<Json<BanOutput>> {
    let community = {
        let mut conn = state.db.pool.acquire().await?;
        community_by_handle(&mut conn, &handle).await?
    };
    crate::domain::moderation::ban(
        &state,
        &user.person,
        &community,
        crate::domain::moderation::BanInput {
            person: &input.person,
            banned: input.banned,
            reason: input.reason.as_deref(),
            expires_at: input.expires_at.map(|t| t.timestamp_millis()),
            remove_data: input.remove_data,
        },
    )
    .await?;
    Ok(Json(BanOutput {
        person: input.person,
        banned: input.banned,
    }))
}

#[derive(serde::Deserialize)]
struct ModlogQuery {
    before: Option<i64>,
    limit: Option<i64>,
}

#[derive(Serialize)]
struct ModlogPage {
    items: Vec<store::modlog::ModlogEntry>,
}

/// A community's public moderation log, newest first (`before` = an entry id, for paging).
async fn modlog(
    State(state): State<AppState>,
    who: MaybeAuth,
    ApiPath(handle): ApiPath<String>,
    ApiQuery(q): ApiQuery<ModlogQuery>,
) -> AppResult<Json<ModlogPage>> {
    let mut conn = state.db.pool.acquire().await?;
    let community = community_by_handle(&mut conn, &handle).await?;
    privacy::check_read(&mut conn, &community, who.reader()).await?;
    let limit = Paging::size(q.limit, paging::LOG);
    let items = store::modlog::for_community(&mut conn, community.id, q.before, limit).await?;
    Ok(Json(ModlogPage { items }))
}

/// The moderation log of every community this instance knows, newest first.
async fn instance_modlog(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ModlogQuery>,
) -> AppResult<Json<ModlogPage>> {
    let mut conn = state.db.pool.acquire().await?;
    let limit = Paging::size(q.limit, paging::LOG);
    let items = store::modlog::list(&mut conn, None, q.before, limit).await?;
    Ok(Json(ModlogPage { items }))
}

#[derive(Serialize)]
struct AdminLogPage {
    items: Vec<store::modlog::AdminEntry>,
}

/// What admins did to the whole instance (federation policy, instance-wide bans), public.
async fn admin_log(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ModlogQuery>,
) -> AppResult<Json<AdminLogPage>> {
    let mut conn = state.db.pool.acquire().await?;
    let limit = Paging::size(q.limit, paging::LOG);
    let items = store::modlog::admin_list(&mut conn, q.before, limit).await?;
    Ok(Json(AdminLogPage { items }))
}

#[derive(Serialize)]
struct FollowOutput {
    community: String,
    state: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FollowInput {
    /// The person accepts the community's guidelines (required where it asks for it).
    #[serde(default)]
    accept_guidelines: bool,
}

async fn follow(
    State(state): State<AppState>,
    Auth(user, _): Auth,
    ApiPath(handle): ApiPath<String>,
    body: axum::body::Bytes,
) -> AppResult<Json<FollowOutput>> {
    // The body is optional: `{"accept_guidelines": true}`.
    let input: FollowInput = super::optional_json(&body)?;
    let community = {
        let mut conn = state.db.pool.acquire().await?;
        community_by_handle(&mut conn, &handle).await?
    };
    let s = follows::follow(&state, &user.person, &community, input.accept_guidelines).await?;
    Ok(Json(FollowOutput {
        community: handle_of(&community.name, &community.ap_id, community.local),
        state: s,
    }))
}

async fn unfollow(
    State(state): State<AppState>,
    Auth(user, _): Auth,
    ApiPath(handle): ApiPath<String>,
) -> AppResult<StatusCode> {
    let community = {
        let mut conn = state.db.pool.acquire().await?;
        community_by_handle(&mut conn, &handle).await?
    };
    follows::unfollow(&state, &user.person, &community).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct ResolveQuery {
    q: String,
}

/// Finds a community by `!name@host`, `name@host` or URL (fetching it if new, then
/// backfilling its recent posts in the background).
async fn resolve(
    data: Data<AppState>,
    Auth(_, _): Auth,
    ApiQuery(q): ApiQuery<ResolveQuery>,
) -> AppResult<Json<super::communities::CommunityJson>> {
    let known = {
        let mut conn = data.db.pool.acquire().await?;
        let before: i64 = store::communities::count_all(&mut conn).await?;
        before
    };
    let community = follows::resolve_community(&data, &q.q).await?;
    let mut conn = data.db.pool.acquire().await?;
    let after = store::communities::count_all(&mut conn).await?;
    if after > known && !community.local {
        let (data2, c2) = (data.reset_request_count(), community.clone());
        tokio::spawn(async move {
            match follows::backfill(&data2, &c2).await {
                Ok(n) => tracing::info!(community = %c2.ap_id, posts = n, "backfilled"),
                Err(e) => tracing::info!(community = %c2.ap_id, error = %e, "backfill failed"),
            }
        });
    }
    let v = communities::view_of(&mut conn, community).await?;
    Ok(Json(super::communities::to_json(&data, v)))
}

#[derive(Serialize)]
struct FollowedCommunity {
    community: String,
    title: String,
    actor_id: String,
    state: String,
}

async fn my_follows(
    State(state): State<AppState>,
    Auth(user, _): Auth,
) -> AppResult<Json<Vec<FollowedCommunity>>> {
    let mut conn = state.db.pool.acquire().await?;
    let rows = store::communities::followed_by(&mut conn, user.person.id).await?;
    Ok(Json(
        rows.into_iter()
            .map(|(c, s)| FollowedCommunity {
                community: handle_of(&c.name, &c.ap_id, c.local),
                title: c.title,
                actor_id: c.ap_id.to_string(),
                state: s,
            })
            .collect(),
    ))
}
