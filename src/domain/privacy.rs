//! Private (members-only) communities (issue #6), the model Lemmy 1.0 uses: the community's
//! profile is public and anyone may ask to join, but its posts and replies are shown, served
//! and delivered to accepted members only. Who may read is decided here, once, for the
//! client API, the HTML pages and signed ActivityPub fetches alike; and who may become a
//! member from another instance (only from software that keeps the posts private).

use crate::{
    error::{AppError, AppResult},
    state::AppState,
    store::{self, communities::DbCommunity, people::DbPerson},
};
use sqlx::AnyConnection;
use url::Url;

/// Who asks to read.
#[derive(Debug, Clone, Copy)]
pub enum Reader<'a> {
    /// Nobody in particular: a visitor, an unsigned fetch.
    Anyone,
    /// A local person, logged in.
    Person(&'a DbPerson),
    /// An instance, by the actor that signed its fetch (Lemmy signs with its site actor,
    /// we with our instance actor, Mastodon with a user).
    Instance(&'a Url),
}

impl<'a> Reader<'a> {
    /// A local person if there is one, else anyone.
    pub fn person(p: Option<&'a DbPerson>) -> Self {
        p.map_or(Reader::Anyone, Reader::Person)
    }
}

/// Whether `reader` may see the posts of `community`.
pub async fn may_read(
    conn: &mut AnyConnection,
    community: &DbCommunity,
    reader: Reader<'_>,
) -> AppResult<bool> {
    if !community.members_only {
        return Ok(true);
    }
    Ok(match reader {
        Reader::Anyone => false,
        Reader::Person(p) => is_member(conn, community.id, p.id).await?,
        // Only the community's own instance answers for its members.
        Reader::Instance(signer) => {
            community.local
                && store::followers::has_member_on(conn, community.id, &origin_of(signer)).await?
        }
    })
}

/// Whether someone belongs to a community: an accepted follow, or any role in it (owner,
/// moderator, facilitator, mentor). The one rule for reading and for posting.
pub async fn is_member(
    conn: &mut AnyConnection,
    community_id: i64,
    person_id: i64,
) -> AppResult<bool> {
    Ok(
        store::followers::follow_state(conn, community_id, person_id)
            .await?
            .as_deref()
            == Some("accepted")
            || !store::roles::roles_of(conn, community_id, person_id)
                .await?
                .is_empty(),
    )
}

/// `scheme://host[:port]/`: what the actor ids of one instance start with.
pub fn origin_of(url: &Url) -> String {
    format!("{}/", url.origin().ascii_serialization())
}

/// `may_read`, as an error: 403 `members_only`.
pub async fn check_read(
    conn: &mut AnyConnection,
    community: &DbCommunity,
    reader: Reader<'_>,
) -> AppResult<()> {
    if may_read(conn, community, reader).await? {
        Ok(())
    } else {
        Err(members_only())
    }
}

/// The error for someone who is not a member of a private community.
pub fn members_only() -> AppError {
    AppError::forbidden(
        "members_only",
        "this community is private: its posts are for its members",
    )
}

/// Refuses (409 `cannot_keep_private`) to admit `person` to a private community of ours
/// when their instance runs software not named in `federation.private_community_software`
/// (asked by NodeInfo): it would show the community's posts to everyone. Local people, and
/// public communities, pass.
pub async fn check_keeps_private(
    state: &AppState,
    community: &DbCommunity,
    person: &Url,
    local: bool,
) -> AppResult<()> {
    if !community.members_only || !community.local || local {
        return Ok(());
    }
    check_software(state, person).await
}

/// Whether `person`'s instance runs software that keeps private communities private (409
/// `cannot_keep_private` if not, or if it cannot be told).
async fn check_software(state: &AppState, person: &Url) -> AppResult<()> {
    let domain = store::instances::domain_of(person);
    let accepted = &state.config.federation.private_community_software;
    match state.federator.software_of(state, person).await {
        Ok(sw) if is_accepted(&sw, accepted) => Ok(()),
        Ok(sw) => Err(AppError::conflict(
            "cannot_keep_private",
            format!(
                "{domain} runs {} {}, which does not keep a private community's posts \
                 private; its people cannot join",
                sw.name, sw.version
            ),
        )),
        Err(e) => Err(AppError::conflict(
            "cannot_keep_private",
            format!("cannot tell whether {domain} keeps private posts private ({e})"),
        )),
    }
}

/// Before a public community of ours turns private: its remote members on software that
/// would not keep it private. Role holders there make the switch fail (409: take their role
/// first); the followers there are returned, to wait again for a moderator.
pub async fn members_to_suspend(state: &AppState, community: &DbCommunity) -> AppResult<Vec<i64>> {
    use futures::StreamExt;
    let members = {
        let mut conn = state.db.pool.acquire().await?;
        store::followers::remote_members(&mut conn, community.id).await?
    };
    // One question per instance, several at once (NodeInfo fetches may be slow).
    let mut instances: std::collections::HashMap<String, Url> = Default::default();
    for m in &members {
        if let Ok(ap_id) = Url::parse(&m.ap_id) {
            instances
                .entry(store::instances::domain_of(&ap_id))
                .or_insert(ap_id);
        }
    }
    let verdicts: std::collections::HashMap<String, AppError> = futures::stream::iter(instances)
        .map(|(domain, ap_id)| async move { (domain, check_software(state, &ap_id).await.err()) })
        .buffer_unordered(16)
        .filter_map(|(domain, why)| async move { why.map(|w| (domain, w)) })
        .collect()
        .await;
    let mut suspend = Vec::new();
    for m in members {
        let Ok(ap_id) = Url::parse(&m.ap_id) else {
            continue;
        };
        if let Some(why) = verdicts.get(&store::instances::domain_of(&ap_id)) {
            if m.has_role {
                return Err(AppError::conflict(
                    "cannot_keep_private",
                    format!("{} holds a role here: {why}; take the role first", m.ap_id),
                ));
            }
            suspend.push(m.person_id);
        }
    }
    Ok(suspend)
}

/// Whether `software` is named by one of `accepted` ("name" or "name>=version").
pub fn is_accepted(software: &store::instances::Software, accepted: &[String]) -> bool {
    accepted.iter().any(|rule| {
        let (name, min) = match rule.split_once(">=") {
            Some((n, v)) => (n.trim(), Some(v.trim())),
            None => (rule.trim(), None),
        };
        name.eq_ignore_ascii_case(&software.name)
            && min.is_none_or(|m| version_at_least(&software.version, m))
    })
}

/// Compares the leading numbers of two versions: "1.0.0-beta.1" ≥ "0.20", "0.19.20" < "0.20".
fn version_at_least(version: &str, min: &str) -> bool {
    let nums = |v: &str| -> Vec<u64> {
        v.split(|c: char| !c.is_ascii_digit() && c != '.')
            .next()
            .unwrap_or_default()
            .split('.')
            .map(|n| n.parse().unwrap_or(0))
            .collect()
    };
    let (mut a, mut b) = (nums(version), nums(min));
    let len = a.len().max(b.len());
    a.resize(len, 0);
    b.resize(len, 0);
    a >= b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::instances::Software;

    fn sw(name: &str, version: &str) -> Software {
        Software {
            name: name.into(),
            version: version.into(),
            fetched_at: 0,
        }
    }

    #[test]
    fn software_rules() {
        let rules = vec!["guildhall".to_string(), "lemmy>=0.20".to_string()];
        assert!(is_accepted(&sw("guildhall", "0.1.0"), &rules));
        assert!(is_accepted(&sw("lemmy", "1.0.0-beta.1"), &rules));
        assert!(is_accepted(&sw("lemmy", "0.20.0"), &rules));
        assert!(!is_accepted(&sw("lemmy", "0.19.20"), &rules));
        assert!(!is_accepted(&sw("mastodon", "4.3.0"), &rules));
        assert!(!is_accepted(&sw("lemmy", ""), &rules));
    }
}
