//! Posts and replies on the wire: `Page` (Lemmy's posts), `Note` (replies, and Mastodon
//! posts that mention a group), `Article`, `Question`, `Event`. One wire struct for all,
//! tolerant of the differences between peers.

use super::{Source, time_of};
use crate::{
    domain::markdown,
    error::AppError,
    state::AppState,
    store::{
        self,
        communities::DbCommunity,
        people::DbPerson,
        posts::{DbPost, NewPost, PostEdit},
    },
};
use activitypub_federation::{
    config::Data, fetch::object_id::ObjectId, protocol::verification::verify_domains_match,
    traits::Object,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use url::Url;

/// The public collection, in its full form (Lemmy 0.19 parses plain JSON and needs it).
pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// Who a community's posts and activities are addressed to: everyone (`as:Public`), or
/// for a private community its followers, that is its members (as Lemmy 1.0 addresses a
/// private community's content).
pub fn audience_of(c: &DbCommunity) -> Vec<String> {
    if c.members_only {
        vec![followers_of(c)]
    } else {
        vec![PUBLIC.to_string()]
    }
}

/// A community's followers collection.
pub fn followers_of(c: &DbCommunity) -> String {
    c.followers_url
        .clone()
        .unwrap_or_else(|| format!("{}/followers", c.ap_id))
}

/// Whether an addressing list makes something public (`as:Public` and `Public` too).
pub fn is_public(addresses: &[String]) -> bool {
    addresses
        .iter()
        .any(|a| a == PUBLIC || a == "as:Public" || a == "Public")
}

/// Recipients and mentions considered when looking for an object's community.
pub const MAX_ADDRESSES: usize = 50;

/// Deepest reply we store; deeper chains are refused (and never fetched further).
pub use crate::domain::posts::MAX_DEPTH;

/// The object types we store as posts or replies.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum PostKind {
    Page,
    Note,
    Article,
    Question,
    Event,
    Video,
}

impl PostKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PostKind::Page => "Page",
            PostKind::Note => "Note",
            PostKind::Article => "Article",
            PostKind::Question => "Question",
            PostKind::Event => "Event",
            PostKind::Video => "Video",
        }
    }
}

/// A tag: `Mention`, `Hashtag`, `Emoji`, … (only the fields we read).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Tag {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// An attachment; a `Link` is a link post's URL (Lemmy), others are ignored for now.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Value>,
    #[serde(default)]
    pub media_type: Option<String>,
}

/// A post or reply on the wire.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostObject {
    #[serde(rename = "type")]
    pub kind: PostKind,
    pub id: ObjectId<DbPost>,
    #[serde(deserialize_with = "first_id")]
    pub attributed_to: Url,
    #[serde(default, deserialize_with = "one_or_many")]
    pub to: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub cc: Vec<String>,
    #[serde(
        default,
        deserialize_with = "optional_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub audience: Option<Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_map: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    #[serde(
        default,
        deserialize_with = "optional_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub in_reply_to: Option<Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Value>,
    #[serde(default, deserialize_with = "lenient_vec")]
    pub attachment: Vec<Attachment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitive: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_vec")]
    pub tag: Vec<Tag>,
    /// FEP-7888 thread context (a collection URL, or an opaque string from some peers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
}

/// `x` or `[x, …]` of strings (ids given as objects keep their `id`).
pub fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(match v {
        Value::Null => vec![],
        Value::Array(items) => items.iter().filter_map(value_id).collect(),
        other => value_id(&other).into_iter().collect(),
    })
}

/// A list where one bad element is skipped rather than failing the whole object.
fn lenient_vec<'de, D: Deserializer<'de>, T: serde::de::DeserializeOwned>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    let v = Value::deserialize(d)?;
    let items = match v {
        Value::Array(items) => items,
        Value::Null => vec![],
        other => vec![other],
    };
    Ok(items
        .into_iter()
        .filter_map(|i| serde_json::from_value(i).ok())
        .collect())
}

/// The id of a value that is an id string or an object with an `id`.
pub fn value_id(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(m) => m.get("id").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

/// The first id of a value that may be a string, an object or an array of them.
fn first_id<'de, D: Deserializer<'de>>(d: D) -> Result<Url, D::Error> {
    let v = Value::deserialize(d)?;
    let first = match &v {
        Value::Array(items) => items.iter().find_map(value_id),
        other => value_id(other),
    };
    first
        .and_then(|s| Url::parse(&s).ok())
        .ok_or_else(|| serde::de::Error::custom("expected an id"))
}

fn optional_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Url>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(match &v {
        Value::Array(items) => items.iter().find_map(value_id),
        other => value_id(other),
    }
    .and_then(|s| Url::parse(&s).ok()))
}

impl PostObject {
    /// The HTML content: `content`, else the first `contentMap` value; sanitised.
    pub fn content_html(&self) -> String {
        let raw = self
            .content
            .clone()
            .or_else(|| {
                self.content_map
                    .as_ref()
                    .and_then(|m| m.values().next().cloned())
            })
            .unwrap_or_default();
        markdown::sanitize(&crate::domain::validate::clip(
            &raw,
            crate::domain::validate::REMOTE_CONTENT_MAX,
        ))
    }

    /// The link of a link post: a `Link` attachment (Lemmy) or a string `url` on a Page.
    pub fn link(&self) -> Option<String> {
        self.attachment
            .iter()
            .find(|a| a.kind == "Link")
            .and_then(|a| a.href.clone())
            .filter(|h| h.starts_with("http://") || h.starts_with("https://"))
    }

    /// Every address: to, cc, audience.
    pub fn addresses(&self) -> Vec<String> {
        let mut all = self.to.clone();
        all.extend(self.cc.iter().cloned());
        all.extend(self.audience.iter().map(|a| a.to_string()));
        all
    }

    /// `href`s of its `Mention` tags.
    pub fn mentions(&self) -> Vec<String> {
        self.tag
            .iter()
            .filter(|t| t.kind == "Mention")
            .filter_map(|t| t.href.clone())
            .collect()
    }
}

/// A title for a post that came without one (a Mastodon `Note`): the text without the
/// leading @-mentions and without markup, first line, at most 100 characters.
pub fn derive_title(content_html: &str) -> String {
    let spaced = content_html
        .replace("</p>", "</p> ")
        .replace("<br>", " ")
        .replace("<br/>", " ")
        .replace("<br />", " ");
    let text = ammonia::Builder::empty().clean(&spaced).to_string();
    let text = text
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ");
    let words: Vec<&str> = text.split_whitespace().collect();
    let skip = words
        .iter()
        .take_while(|w| w.starts_with('@') || w.starts_with('!'))
        .count();
    let rest = words[skip..].join(" ");
    let mut title: String = rest.chars().take(100).collect();
    if rest.chars().count() > 100 {
        title = title.trim_end().to_string();
        title.push('…');
    }
    if title.is_empty() {
        "(untitled)".to_string()
    } else {
        title
    }
}

/// Removes the leading mention links of a Mastodon post body (`<p><span class="h-card">…`).
pub fn strip_leading_mentions(content_html: &str) -> String {
    let mut html = content_html.trim().to_string();
    loop {
        let trimmed = html.trim_start();
        let inner = trimmed.strip_prefix("<p>").unwrap_or(trimmed);
        let (prefix_len, rest) = (trimmed.len() - inner.len(), inner.trim_start());
        let end = if rest.starts_with("<span class=\"h-card\"") {
            // The mention link holds spans of its own: the h-card ends after the link.
            rest.find("</a>")
                .and_then(|a| rest[a..].find("</span>").map(|i| a + i + "</span>".len()))
        } else if rest.starts_with("<a ")
            && rest.find("</a>").is_some_and(|i| rest[..i].contains('@'))
        {
            rest.find("</a>").map(|i| i + "</a>".len())
        } else if rest.starts_with('@') || rest.starts_with('!') {
            Some(rest.find(char::is_whitespace).unwrap_or(rest.len()))
        } else {
            None
        };
        match end {
            Some(e) => {
                let keep = &trimmed[..prefix_len];
                html = format!("{keep}{}", rest[e..].trim_start());
            }
            None => return html,
        }
    }
}

#[async_trait::async_trait]
impl Object for DbPost {
    type DataType = AppState;
    type Kind = PostObject;
    type Error = AppError;

    fn id(&self) -> &Url {
        &self.ap_id
    }

    fn is_deleted(&self) -> bool {
        self.is_gone()
    }

    async fn read_from_id(object_id: Url, data: &Data<AppState>) -> Result<Option<Self>, AppError> {
        let mut conn = data.db.pool.acquire().await?;
        Ok(store::posts::find_by_ap_id(&mut conn, object_id.as_str()).await?)
    }

    async fn into_json(self, data: &Data<AppState>) -> Result<PostObject, AppError> {
        let mut conn = data.db.pool.acquire().await?;
        post_json(&mut conn, self).await
    }

    async fn verify(
        json: &PostObject,
        expected_domain: &Url,
        _data: &Data<AppState>,
    ) -> Result<(), AppError> {
        let bad = |m: &'static str| AppError::bad_request("invalid_object", m);
        verify_domains_match(json.id.inner(), expected_domain)
            .map_err(|_| bad("object id is not on the expected domain"))?;
        // FEP-fe34: an object and its author share an origin.
        verify_domains_match(json.id.inner(), &json.attributed_to)
            .map_err(|_| bad("attributedTo is on another host than the object"))?;
        Ok(())
    }

    async fn from_json(json: PostObject, data: &Data<AppState>) -> Result<Self, AppError> {
        ingest(json, data).await
    }
}

/// Stores a remote post or reply (already verified): finds its author, its parent (fetched
/// if unknown, within the request's fetch budget) and its community.
async fn ingest(json: PostObject, data: &Data<AppState>) -> Result<DbPost, AppError> {
    if data.is_local_url(json.id.inner()) {
        return Err(AppError::bad_request(
            "local_object",
            "will not overwrite a local object",
        ));
    }
    let parent = match &json.in_reply_to {
        Some(parent_id) => Some(ancestors(parent_id, data).await?),
        None => None,
    };
    store_one(json, parent, data).await
}

/// Ancestors fetched for one reply, at most; a longer unknown chain (or a cycle) is refused.
pub const MAX_FETCHED_ANCESTORS: usize = 20;

/// The parent of a reply: from the store, or fetched with its unknown ancestors — in a loop,
/// not by recursion, so a hostile chain costs a bounded number of fetches and no stack —
/// then stored from the top down.
async fn ancestors(parent_id: &Url, data: &Data<AppState>) -> Result<DbPost, AppError> {
    let mut pending: Vec<PostObject> = Vec::new();
    let mut next = parent_id.clone();
    let mut known = loop {
        {
            let mut conn = data.db.pool.acquire().await?;
            if let Some(p) = store::posts::find_by_ap_id(&mut conn, next.as_str()).await? {
                break Some(p);
            }
        }
        if pending.len() >= MAX_FETCHED_ANCESTORS || data.is_local_url(&next) {
            return Err(AppError::bad_request(
                "too_deep",
                "the reply chain is too long or unknown",
            ));
        }
        let fetched =
            activitypub_federation::fetch::fetch_object_http::<AppState, PostObject>(&next, data)
                .await?;
        DbPost::verify(&fetched.object, &fetched.url, data).await?;
        let up = fetched.object.in_reply_to.clone();
        pending.push(fetched.object);
        match up {
            Some(u) => next = u,
            None => break None,
        }
    };
    for obj in pending.into_iter().rev() {
        known = Some(store_one(obj, known, data).await?);
    }
    known.ok_or(AppError::NotFound("post"))
}

/// Refused as a post: what is not addressed to the public, unless its community is private
/// (its content is addressed to its members); the inbox answers it `ignored`.
pub const NOT_PUBLIC: &str = "not_public";

/// Every way a remote post or reply gets stored — its Create, a Create naming it by URL, a
/// reply's fetched ancestors, a voted or announced object fetched on the way — meets the
/// same rules as one written here: addressing (what is not addressed to the public is not
/// a post, except in a private community, whose content is addressed to its members), then
/// `domain::posts::check_may_post` / `check_may_reply` in the community it is stored in.
async fn admit(
    json: &PostObject,
    parent: Option<&DbPost>,
    community: &DbCommunity,
    author: &DbPerson,
    content_html: &str,
    data: &Data<AppState>,
) -> Result<(), AppError> {
    if !is_public(&json.addresses()) && !community.members_only {
        return Err(AppError::forbidden(
            NOT_PUBLIC,
            "not addressed to the public: not a post",
        ));
    }
    let links = json.link().is_some() || crate::domain::membership::has_outside_link(content_html);
    let mut conn = data.db.pool.acquire().await?;
    match parent {
        Some(p) => {
            crate::domain::posts::check_may_reply(&mut conn, community, p, author, links).await
        }
        None => crate::domain::posts::check_may_post(&mut conn, community, author, links).await,
    }
}

/// Stores one verified remote post or reply whose parent (if any) is already stored.
async fn store_one(
    json: PostObject,
    parent: Option<DbPost>,
    data: &Data<AppState>,
) -> Result<DbPost, AppError> {
    let author: DbPerson = ObjectId::<DbPerson>::from(json.attributed_to.clone())
        .dereference(data)
        .await?;
    let community = match &parent {
        Some(p) => {
            let mut conn = data.db.pool.acquire().await?;
            store::communities::find_by_id(&mut conn, p.community_id).await?
        }
        None => community_of(&json, data).await?,
    };
    let content_html = json.content_html();
    admit(
        &json,
        parent.as_ref(),
        &community,
        &author,
        &content_html,
        data,
    )
    .await?;
    let (title, content_html) = match (&parent, json.name.as_deref().map(str::trim)) {
        (None, Some(name)) if !name.is_empty() => (
            Some(crate::domain::validate::safe_name(
                name,
                crate::domain::posts::TITLE_MAX,
            )),
            content_html,
        ),
        // A Mastodon Note addressed to a group: a clean title, the body without the mention.
        (None, _) => (
            Some(crate::domain::validate::safe_name(
                &derive_title(&content_html),
                crate::domain::posts::TITLE_MAX,
            )),
            strip_leading_mentions(&content_html),
        ),
        (Some(_), _) => (None, content_html),
    };
    let source = json.source.as_ref().map(|s| {
        crate::domain::validate::clip(&s.content, crate::domain::validate::REMOTE_CONTENT_MAX)
    });
    let mut conn = data.db.write_conn().await?;
    let inserted = store::posts::insert(
        &mut conn,
        &NewPost {
            ap_id: json.id.inner().as_str(),
            community_id: community.id,
            author_id: author.id,
            parent: parent.as_ref(),
            kind: json.kind.as_str(),
            title: title.as_deref(),
            content_html: &content_html,
            source: source.as_deref(),
            url: json.link().as_deref(),
            sensitive: json.sensitive.unwrap_or(false),
            local: false,
            published: json
                .published
                .map(|t| t.timestamp_millis())
                .unwrap_or_else(store::now_ms),
            updated: json.updated.map(|t| t.timestamp_millis()),
        },
    )
    .await?;
    match inserted {
        Some(row) => Ok(row),
        // Known already (a refetch after an Update): take the new content.
        None => {
            let existing = store::posts::find_by_ap_id(&mut conn, json.id.inner().as_str())
                .await?
                .ok_or(AppError::NotFound("post"))?;
            if existing.local || existing.author_id != author.id {
                return Ok(existing);
            }
            store::posts::update_content(
                &mut conn,
                existing.id,
                &PostEdit {
                    title: title.as_deref().filter(|_| existing.root_id.is_none()),
                    content_html: &content_html,
                    source: source.as_deref(),
                    url: json.link().as_deref(),
                    sensitive: json.sensitive.unwrap_or(existing.sensitive),
                    updated: json
                        .updated
                        .map(|t| t.timestamp_millis())
                        .unwrap_or_else(store::now_ms),
                },
            )
            .await?;
            store::posts::find_by_id(&mut conn, existing.id)
                .await?
                .ok_or(AppError::NotFound("post"))
        }
    }
}

/// The community a top-level post is addressed to: `audience`, else a known Group among
/// its recipients or `Mention`s (Mastodon), else an unknown one fetched from `audience`.
async fn community_of(json: &PostObject, data: &Data<AppState>) -> Result<DbCommunity, AppError> {
    let mut candidates: Vec<String> = json.audience.iter().map(|a| a.to_string()).collect();
    candidates.extend(json.to.iter().cloned());
    candidates.extend(json.cc.iter().cloned());
    candidates.extend(json.mentions());
    // A hostile object may list thousands of recipients: look at the first few only.
    candidates.truncate(MAX_ADDRESSES);
    {
        let mut conn = data.db.pool.acquire().await?;
        for c in &candidates {
            if let Some(community) = store::communities::find_by_ap_id(&mut conn, c).await? {
                return Ok(community);
            }
        }
    }
    if let Some(audience) = &json.audience {
        return ObjectId::<DbCommunity>::from(audience.clone())
            .dereference(data)
            .await;
    }
    Err(AppError::bad_request(
        "no_community",
        "the object is not addressed to a community we know",
    ))
}

/// The wire form of a post (`Page`) or reply (`Note`) of ours, Lemmy-compatible.
pub async fn post_json(conn: &mut sqlx::AnyConnection, p: DbPost) -> Result<PostObject, AppError> {
    let community = store::communities::find_by_id(&mut *conn, p.community_id).await?;
    let author = store::people::find_by_id(&mut *conn, p.author_id).await?;
    let parent = match p.parent_id {
        Some(id) => store::posts::find_by_id(&mut *conn, id).await?,
        None => None,
    };
    let root = match p.root_id {
        Some(id) => store::posts::find_by_id(&mut *conn, id).await?,
        None => None,
    };
    let mut tag = Vec::new();
    let mut cc = vec![community.ap_id.to_string()];
    if let Some(parent) = &parent {
        let parent_author = store::people::find_by_id(&mut *conn, parent.author_id).await?;
        cc.push(parent_author.ap_id.to_string());
        tag.push(Tag {
            kind: "Mention".into(),
            href: Some(parent_author.ap_id.to_string()),
            name: Some(format!(
                "@{}@{}",
                parent_author.name,
                parent_author.ap_id.host_str().unwrap_or_default()
            )),
        });
    }
    let thread_root = root
        .as_ref()
        .map(|r| r.ap_id.clone())
        .unwrap_or_else(|| p.ap_id.clone());
    let is_reply = parent.is_some();
    Ok(PostObject {
        kind: if is_reply {
            PostKind::Note
        } else {
            PostKind::Page
        },
        attributed_to: author.ap_id.clone(),
        to: if is_reply {
            audience_of(&community)
        } else {
            [vec![community.ap_id.to_string()], audience_of(&community)].concat()
        },
        cc: if is_reply { cc } else { vec![] },
        audience: Some(community.ap_id.clone()),
        name: if is_reply { None } else { p.title.clone() },
        content: Some(p.content_html.clone()),
        content_map: None,
        media_type: Some("text/html".into()),
        source: p.source.as_deref().and_then(Source::markdown),
        in_reply_to: parent
            .as_ref()
            .map(|x| x.ap_id.clone())
            .or_else(|| root.as_ref().map(|r| r.ap_id.clone())),
        url: None,
        attachment: p
            .url
            .as_ref()
            .map(|u| {
                vec![Attachment {
                    kind: "Link".into(),
                    href: Some(u.clone()),
                    url: None,
                    media_type: None,
                }]
            })
            .unwrap_or_default(),
        sensitive: Some(p.sensitive),
        published: Some(time_of(p.published)),
        updated: p.updated.map(time_of),
        tag,
        context: Some(Value::String(format!("{thread_root}/context"))),
        id: p.ap_id.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_from_mastodon_notes() {
        let html = r#"<p><span class="h-card" translate="no"><a href="https://guild.example/c/woodwork" class="u-url mention">@<span>woodwork</span></a></span> Which axe for carving spoons?</p><p>I have a hatchet.</p>"#;
        assert_eq!(
            derive_title(html),
            "Which axe for carving spoons? I have a hatchet."
        );
        let body = strip_leading_mentions(html);
        assert!(body.starts_with("<p>Which axe"), "{body}");
        assert!(!body.contains("h-card"));
        assert_eq!(
            derive_title("<p>@woodwork@guild.example hello</p>"),
            "hello"
        );
        assert_eq!(derive_title(""), "(untitled)");
        let long = format!("<p>{}</p>", "word ".repeat(50));
        assert!(derive_title(&long).chars().count() <= 101);
    }

    #[test]
    fn tolerant_fields() {
        let v = serde_json::json!({
            "type": "Note", "id": "https://m.example/s/1",
            "attributedTo": [{"type": "Person", "id": "https://m.example/u/a"}],
            "to": "https://www.w3.org/ns/activitystreams#Public",
            "cc": ["https://g.example/c/x", {"id": "https://m.example/u/a/followers"}],
            "inReplyTo": {"id": "https://g.example/post/1"},
            "tag": [{"type": "Mention", "href": "https://g.example/c/x"}, 5],
            "contentMap": {"en": "<p>hi</p>"}
        });
        let p: PostObject = serde_json::from_value(v).unwrap();
        assert_eq!(p.attributed_to.as_str(), "https://m.example/u/a");
        assert!(is_public(&p.to));
        assert_eq!(p.cc.len(), 2);
        assert_eq!(
            p.in_reply_to.as_ref().unwrap().as_str(),
            "https://g.example/post/1"
        );
        assert_eq!(p.tag.len(), 1);
        assert_eq!(p.content_html(), "<p>hi</p>");
    }
}
