//! Posts, replies, edits, deletions and votes by local people, in local or remote
//! communities. Each use-case changes the store and queues its activities in one
//! transaction.

use super::outgoing::Outgoing;
use crate::{
    domain::{markdown, privacy::Reader, validate},
    error::{AppError, AppResult},
    state::AppState,
    store::{
        self,
        communities::DbCommunity,
        people::DbPerson,
        posts::{DbPost, NewPost, PostEdit},
    },
};

pub const TITLE_MAX: usize = 200;
pub const BODY_MAX: usize = 50_000;

/// Deepest reply kept; deeper chains are refused (and never fetched further).
pub const MAX_DEPTH: i64 = 100;

/// A new top-level post.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPostInput {
    pub title: String,
    /// Markdown.
    #[serde(default)]
    pub body: String,
    /// A link, for link posts.
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub sensitive: bool,
}

/// A post of a private community is hidden (404) from whoever may not read it.
pub async fn check_may_see(
    conn: &mut sqlx::AnyConnection,
    post: &DbPost,
    reader: Reader<'_>,
) -> AppResult<()> {
    let community = store::communities::find_by_id(&mut *conn, post.community_id).await?;
    if super::privacy::may_read(conn, &community, reader).await? {
        Ok(())
    } else {
        Err(AppError::NotFound("post"))
    }
}

fn check_url(url: &str) -> AppResult<()> {
    let ok = url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
    if !ok || url.len() > 2000 {
        return Err(AppError::invalid(
            "invalid_url",
            "url must be an http(s) URL",
        ));
    }
    Ok(())
}

/// Who may start a post in `community`: not banned, a member where membership is needed,
/// a moderator where only moderators post, and a newcomer without outside links where
/// the community says so. The one rule for the API, the pages and the inbox.
pub async fn check_may_post(
    conn: &mut sqlx::AnyConnection,
    community: &DbCommunity,
    author: &DbPerson,
    has_links: bool,
) -> AppResult<()> {
    super::moderation::check_not_banned(conn, community.id, author.id).await?;
    super::membership::check_member(conn, community, author.id).await?;
    if community.local
        && community.posting_restricted_to_mods
        && !store::roles::has_role(conn, community.id, author.id, "moderator").await?
    {
        return Err(AppError::forbidden(
            "mods_only",
            "only moderators may post in this community",
        ));
    }
    super::membership::check_newcomer_link(conn, community, author.id, has_links).await
}

/// Who may reply to `parent` (in `community`): someone who may read it (a non-member
/// learns nothing of a private post, not even its state: 404 first), to something neither
/// deleted nor too deep nor locked, then as for a post. The one rule for the API, the
/// pages and the inbox; whether a remote person may read a remote community's post its
/// own instance decides.
pub async fn check_may_reply(
    conn: &mut sqlx::AnyConnection,
    community: &DbCommunity,
    parent: &DbPost,
    author: &DbPerson,
    has_links: bool,
) -> AppResult<()> {
    if (community.local || author.local)
        && !super::privacy::may_read(conn, community, Reader::Person(author)).await?
    {
        return Err(AppError::NotFound("post"));
    }
    if parent.is_gone() {
        return Err(AppError::forbidden(
            "gone",
            "cannot reply to something deleted",
        ));
    }
    if parent.depth + 1 > MAX_DEPTH {
        return Err(AppError::invalid(
            "too_deep",
            "this thread is too deep to reply further",
        ));
    }
    if super::moderation::replies_closed(conn, parent).await? {
        return Err(AppError::forbidden(
            "locked",
            "this thread is locked: it takes no new replies",
        ));
    }
    super::moderation::check_not_banned(conn, community.id, author.id).await?;
    super::membership::check_member(conn, community, author.id).await?;
    super::membership::check_newcomer_link(conn, community, author.id, has_links).await
}

/// Who may delete a post or reply: its author (a deletion: `false`), or someone who speaks
/// for its community's moderators (a removal: `true`; `moderation::moderates`, with the
/// community that relayed the activity, if any). The one rule for the API, the pages and
/// the inbox.
pub async fn check_may_delete(
    conn: &mut sqlx::AnyConnection,
    post: &DbPost,
    community: &DbCommunity,
    actor: &DbPerson,
    relayed_by: Option<&DbCommunity>,
) -> AppResult<bool> {
    if post.author_id == actor.id {
        return Ok(false);
    }
    if super::moderation::moderates(conn, community, actor, relayed_by).await? {
        return Ok(true);
    }
    Err(AppError::forbidden(
        "not_allowed",
        "only the author or a moderator can delete this",
    ))
}

/// Who may edit a post or reply: its author, while it is neither deleted nor removed. The
/// one rule for the API, the pages and the inbox.
pub fn check_may_edit(post: &DbPost, editor: &DbPerson) -> AppResult<()> {
    if post.author_id != editor.id {
        return Err(AppError::forbidden(
            "not_author",
            "only the author can edit",
        ));
    }
    if post.is_gone() {
        return Err(AppError::forbidden("gone", "cannot edit something deleted"));
    }
    Ok(())
}

/// Creates a post by `author` in `community` and federates it.
pub async fn create_post(
    state: &AppState,
    author: &DbPerson,
    community: &DbCommunity,
    input: NewPostInput,
) -> AppResult<DbPost> {
    validate::text("title", &input.title, TITLE_MAX, true)?;
    validate::text("body", &input.body, BODY_MAX, false)?;
    if let Some(u) = &input.url {
        check_url(u)?;
    }
    let html = markdown::to_html(&input.body);
    let links = input.url.is_some() || super::membership::has_outside_link(&html);
    let mut tx = state.db.begin().await?;
    check_may_post(&mut tx, community, author, links).await?;
    let ap_id = state.new_id("post");
    let post = store::posts::insert(
        &mut tx,
        &NewPost {
            ap_id: ap_id.as_str(),
            community_id: community.id,
            author_id: author.id,
            parent: None,
            kind: "Page",
            title: Some(input.title.trim()),
            content_html: &html,
            source: Some(&input.body),
            url: input.url.as_deref(),
            sensitive: input.sensitive,
            local: true,
            published: store::now_ms(),
            updated: None,
        },
    )
    .await?
    .ok_or_else(|| AppError::Internal(anyhow::anyhow!("fresh post id collided")))?;
    let what = Outgoing::Post {
        author,
        post: &post,
        community,
        edited: false,
    };
    state.federate(&mut tx, what).await?;
    tx.commit().await?;
    state.wake_delivery();
    Ok(post)
}

/// Replies to a post or a reply.
pub async fn create_reply(
    state: &AppState,
    author: &DbPerson,
    parent: &DbPost,
    body: &str,
) -> AppResult<DbPost> {
    validate::text("body", body, BODY_MAX, true)?;
    let html = markdown::to_html(body);
    let links = super::membership::has_outside_link(&html);
    let mut tx = state.db.begin().await?;
    let community = store::communities::find_by_id(&mut tx, parent.community_id).await?;
    check_may_reply(&mut tx, &community, parent, author, links).await?;
    let ap_id = state.new_id("post");
    let reply = store::posts::insert(
        &mut tx,
        &NewPost {
            ap_id: ap_id.as_str(),
            community_id: community.id,
            author_id: author.id,
            parent: Some(parent),
            kind: "Note",
            title: None,
            content_html: &html,
            source: Some(body),
            url: None,
            sensitive: false,
            local: true,
            published: store::now_ms(),
            updated: None,
        },
    )
    .await?
    .ok_or_else(|| AppError::Internal(anyhow::anyhow!("fresh post id collided")))?;
    let what = Outgoing::Post {
        author,
        post: &reply,
        community: &community,
        edited: false,
    };
    state.federate(&mut tx, what).await?;
    tx.commit().await?;
    state.wake_delivery();
    Ok(reply)
}

/// An edit by the author.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditInput {
    #[serde(default)]
    pub title: Option<String>,
    pub body: String,
    #[serde(default)]
    pub url: Option<String>,
}

/// Edits a post or reply (author only) and federates the Update.
pub async fn edit(
    state: &AppState,
    actor: &DbPerson,
    post: &DbPost,
    input: EditInput,
) -> AppResult<DbPost> {
    check_may_edit(post, actor)?;
    validate::text("body", &input.body, BODY_MAX, post.root_id.is_some())?;
    if let Some(t) = &input.title {
        validate::text("title", t, TITLE_MAX, true)?;
    }
    if let Some(u) = &input.url {
        check_url(u)?;
    }
    let html = markdown::to_html(&input.body);
    let mut tx = state.db.begin().await?;
    store::posts::update_content(
        &mut tx,
        post.id,
        &PostEdit {
            title: input
                .title
                .as_deref()
                .map(str::trim)
                .filter(|_| post.root_id.is_none()),
            content_html: &html,
            source: Some(&input.body),
            url: input.url.as_deref().or(post.url.as_deref()),
            sensitive: post.sensitive,
            updated: store::now_ms(),
        },
    )
    .await?;
    let updated = store::posts::find_by_id(&mut tx, post.id)
        .await?
        .ok_or(AppError::NotFound("post"))?;
    let community = store::communities::find_by_id(&mut tx, post.community_id).await?;
    let what = Outgoing::Post {
        author: actor,
        post: &updated,
        community: &community,
        edited: true,
    };
    state.federate(&mut tx, what).await?;
    tx.commit().await?;
    state.wake_delivery();
    Ok(updated)
}

/// Deletes (author) or removes (moderator of a local community, with a reason) a post or
/// reply, and federates it.
pub async fn delete(
    state: &AppState,
    actor: &DbPerson,
    post: &DbPost,
    reason: Option<&str>,
) -> AppResult<()> {
    if post.is_gone() {
        return Err(AppError::NotFound("post"));
    }
    let mut tx = state.db.begin().await?;
    let community = store::communities::find_by_id(&mut tx, post.community_id).await?;
    let removed = check_may_delete(&mut tx, post, &community, actor, None).await?;
    store::posts::set_gone(&mut tx, post.id, removed, true).await?;
    if removed {
        store::modlog::insert(
            &mut tx,
            store::modlog::NewEntry {
                community_id: community.id,
                actor_id: Some(actor.id),
                action: "remove",
                post_id: Some(post.id),
                person_id: None,
                reason,
                activity_id: None,
            },
        )
        .await?;
    }
    let what = Outgoing::Delete {
        actor,
        post,
        community: &community,
        reason: reason.filter(|_| removed),
    };
    state.federate(&mut tx, what).await?;
    tx.commit().await?;
    state.wake_delivery();
    Ok(())
}

/// Who may vote on a post of `community`, or withdraw a vote: whoever may read it, unless
/// banned there (withdrawing included, as Lemmy). The one rule for the API, the pages and
/// the inbox; about a remote person in a remote community its own instance decides.
pub async fn check_may_vote(
    conn: &mut sqlx::AnyConnection,
    community: &DbCommunity,
    person: &DbPerson,
) -> AppResult<()> {
    if !community.local && !person.local {
        return Ok(());
    }
    if !super::privacy::may_read(conn, community, Reader::Person(person)).await? {
        return Err(AppError::NotFound("post"));
    }
    super::moderation::check_not_banned(conn, community.id, person.id).await
}

/// Sets a vote: 1 (up), -1 (down) or 0 (withdraw).
pub async fn vote(
    state: &AppState,
    person: &DbPerson,
    post: &DbPost,
    value: i64,
) -> AppResult<DbPost> {
    if !matches!(value, -1..=1) {
        return Err(AppError::invalid("invalid_vote", "a vote is 1, -1 or 0"));
    }
    if post.is_gone() {
        return Err(AppError::NotFound("post"));
    }
    let mut tx = state.db.begin().await?;
    let community = store::communities::find_by_id(&mut tx, post.community_id).await?;
    check_may_vote(&mut tx, &community, person).await?;
    let previous = store::posts::vote_of(&mut tx, post.id, person.id).await?;
    if previous != value {
        store::posts::set_vote(&mut tx, post.id, person.id, value, None).await?;
        let what = Outgoing::Vote {
            person,
            post,
            community: &community,
            value,
            previous,
        };
        state.federate(&mut tx, what).await?;
    }
    let post = store::posts::find_by_id(&mut tx, post.id)
        .await?
        .ok_or(AppError::NotFound("post"))?;
    tx.commit().await?;
    state.wake_delivery();
    Ok(post)
}
