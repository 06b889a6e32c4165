//! Reports: anyone signed in flags a post or reply for the community's moderators, who
//! read the open reports and resolve or dismiss them (issue #6). Federation: `reporting`.

use super::{moderation::require_local_moderator, outgoing::Outgoing, validate};
use crate::{
    error::{AppError, AppResult},
    state::AppState,
    store::{
        self,
        communities::DbCommunity,
        people::DbPerson,
        posts::DbPost,
        reports::{NewReport, ReportRow},
    },
};

/// Longest reason kept, in characters.
pub const REASON_MAX: usize = 2_000;

/// `reporter` reports `post`. Kept here; in our own community it is forwarded, without the
/// reporter's name, to the instances of its remote moderators; for a remote community it
/// is sent to that community (whose moderators act on it), as Lemmy does.
pub async fn report(
    state: &AppState,
    reporter: &DbPerson,
    post: &DbPost,
    reason: &str,
) -> AppResult<i64> {
    validate::text("reason", reason, REASON_MAX, true)?;
    {
        let mut conn = state.db.pool.acquire().await?;
        super::posts::check_may_see(&mut conn, post, super::privacy::Reader::Person(reporter))
            .await?;
    }
    if post.is_gone() {
        return Err(AppError::invalid(
            "gone",
            "this post was deleted or removed",
        ));
    }
    let mut tx = state.db.begin().await?;
    let community = store::communities::find_by_id(&mut tx, post.community_id).await?;
    let what = Outgoing::Report {
        reporter,
        community: &community,
        post,
        reason,
    };
    let activity_id = state.federate(&mut tx, what).await?.unwrap_or_default();
    let id = store::reports::insert(
        &mut tx,
        &NewReport {
            community_id: community.id,
            post_id: post.id,
            reporter_id: Some(reporter.id),
            reason,
            activity_id: &activity_id,
        },
    )
    .await?
    .unwrap_or_default();
    tx.commit().await?;
    state.wake_delivery();
    Ok(id)
}

/// A community's reports, for its moderators: open ones, or all with `all`.
pub async fn list(
    state: &AppState,
    moderator: &DbPerson,
    community: &DbCommunity,
    all: bool,
) -> AppResult<Vec<ReportRow>> {
    let mut conn = state.db.pool.acquire().await?;
    require_local_moderator(&mut conn, community, moderator, "read reports").await?;
    Ok(store::reports::of_community(&mut conn, community.id, all).await?)
}

/// A moderator resolves, dismisses or reopens a report.
pub async fn set_status(
    state: &AppState,
    moderator: &DbPerson,
    id: i64,
    status: &str,
) -> AppResult<ReportRow> {
    if !matches!(status, "open" | "resolved" | "dismissed") {
        return Err(AppError::invalid(
            "bad_status",
            "`status` is open, resolved or dismissed",
        ));
    }
    let mut tx = state.db.begin().await?;
    let report = store::reports::find(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound("report"))?;
    let community = store::communities::find_by_id(&mut tx, report.community_id).await?;
    require_local_moderator(&mut tx, &community, moderator, "resolve reports").await?;
    store::reports::set_status(&mut tx, id, status, moderator.id).await?;
    if status != "open" && report.status == "open" {
        let post = store::posts::find_by_id(&mut tx, report.post_id)
            .await?
            .ok_or(AppError::NotFound("post"))?;
        let what = Outgoing::ResolveReport {
            moderator,
            community: &community,
            post: &post,
            reporter: report.reporter.as_deref(),
        };
        state.federate(&mut tx, what).await?;
    }
    let report = store::reports::find(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound("report"))?;
    tx.commit().await?;
    state.wake_delivery();
    Ok(report)
}
