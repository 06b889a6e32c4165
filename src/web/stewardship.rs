//! The stewardship part of a community's moderation page (issue #6): who holds which role
//! (appoint and remove moderators, facilitators and mentors), how the community is led
//! (model, rotation, passing the term on, open proposals), and its membership settings
//! (private, approval, guidelines, newcomers, anonymous log). The same use-cases as the
//! API; moderators only (the use-cases check).

use super::extract::{WebForm, WebPath};
use super::{Viewer, error_page, escape, see_other, session::check_origin};
use crate::{
    domain::{
        leadership::{self, ModelInput},
        membership::{self, SettingsPatch},
        moderation,
    },
    error::{AppError, AppResult},
    state::AppState,
    store::{self, communities::DbCommunity, people::DbPerson},
};
use axum::{Router, extract::State, http::HeaderMap, response::Response, routing::post};
use serde::Deserialize;
use std::fmt::Write;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/community/{id}/moderation/role", post(role))
        .route(
            "/community/{id}/moderation/leadership",
            post(set_leadership),
        )
        .route("/community/{id}/moderation/pass", post(pass))
        .route("/community/{id}/moderation/proposal", post(proposal))
        .route("/community/{id}/moderation/settings", post(settings))
}

/// The sections, as HTML, for a local community's moderator.
pub async fn sections(state: &AppState, c: &DbCommunity) -> AppResult<String> {
    let mut conn = state.db.pool.acquire().await?;
    let mut out = String::from("<section><h2>Roles</h2><ul>");
    for role in ["owner", "moderator", "facilitator", "mentor"] {
        let holders = store::roles::role_holders(&mut conn, c.id, role).await?;
        let names: Vec<String> = holders.iter().map(|h| escape(&h.ap_id)).collect();
        let _ = write!(
            out,
            "<li>{role}s: {}</li>",
            if names.is_empty() {
                "nobody".to_string()
            } else {
                names.join(", ")
            }
        );
    }
    let _ = write!(
        out,
        "</ul><form method=\"post\" action=\"/community/{id}/moderation/role\">\
         <label>Person (local username or ActivityPub id) <input type=\"text\" name=\"person\" \
         required></label> <select name=\"role\"><option>moderator</option>\
         <option>facilitator</option><option>mentor</option></select> \
         <button name=\"add\" value=\"true\">Appoint</button> \
         <button name=\"add\" value=\"false\">Remove</button></form></section>",
        id = c.id
    );
    let lead = store::leadership::get(&mut conn, c.id).await?;
    let roster: Vec<String> = store::leadership::roster(&mut conn, c.id)
        .await?
        .into_iter()
        .map(|(_, ap_id)| ap_id)
        .collect();
    let _ = write!(
        out,
        "<section><h2>Leadership</h2><p>Model: <strong>{model}</strong></p>\
         <form method=\"post\" action=\"/community/{id}/moderation/leadership\">\
         <p><select name=\"model\">{options}</select> \
         <label>Term (days, rotational) <input type=\"number\" name=\"term_days\" min=\"1\" \
         value=\"{days}\"></label></p>\
         <p><label>Roster, one person per line, in turn order (rotational) \
         <textarea name=\"roster\">{roster}</textarea></label></p>\
         <p><button>Set leadership</button></p></form>",
        model = escape(&lead.model),
        id = c.id,
        options = leadership::MODELS
            .iter()
            .map(|m| format!(
                "<option{}>{m}</option>",
                if *m == lead.model { " selected" } else { "" }
            ))
            .collect::<String>(),
        days = (lead.term_secs / 86_400).max(1),
        roster = escape(&roster.join("\n")),
    );
    if lead.model == "rotational" {
        let _ = write!(
            out,
            "<form method=\"post\" action=\"/community/{}/moderation/pass\">\
             <button>Pass the facilitator role on now</button></form>",
            c.id
        );
    }
    let open = store::leadership::open_proposals(&mut conn, c.id).await?;
    if !open.is_empty() {
        out.push_str("<h3>Open proposals</h3><ul>");
    }
    for p in &open {
        let what = match (p.action.as_str(), &p.person, &p.value) {
            ("swap", Some(who), _) => format!("swap terms with {}", escape(who)),
            (action, Some(who), _) => format!("{} {}", escape(action), escape(who)),
            (action, None, Some(v)) => format!("{} {}", escape(action), escape(v)),
            (action, _, _) => escape(action),
        };
        let _ = write!(
            out,
            "<li>{who} proposes: {what} <form class=\"inline\" method=\"post\" \
             action=\"/community/{id}/moderation/proposal\">\
             <input type=\"hidden\" name=\"proposal\" value=\"{pid}\">\
             <button name=\"approve\" value=\"true\">Approve</button> \
             <button name=\"approve\" value=\"false\">Decline</button></form></li>",
            who = escape(&p.proposed_by),
            id = c.id,
            pid = p.id,
        );
    }
    if !open.is_empty() {
        out.push_str("</ul>");
    }
    out.push_str("</section>");
    let s = store::settings::get(&mut conn, c.id).await?;
    let check = |on: bool| if on { " checked" } else { "" };
    let _ = write!(
        out,
        "<section><h2>Membership</h2><form method=\"post\" \
         action=\"/community/{id}/moderation/settings\">\
         <p><label><input type=\"checkbox\" name=\"private\"{p}> Private: only members see \
         posts</label></p>\
         <p><label><input type=\"checkbox\" name=\"approval_required\"{a}> New members wait \
         for a moderator</label></p>\
         <p><label><input type=\"checkbox\" name=\"guidelines_required\"{g}> Joining needs \
         accepting the guidelines</label></p>\
         <p><label><input type=\"checkbox\" name=\"newcomer_limits\"{n}> Newcomers post no \
         links</label></p>\
         <p><label><input type=\"checkbox\" name=\"modlog_anonymous\"{m}> The log says \"a \
         moderator\"</label></p><p><button>Save</button></p></form></section>",
        id = c.id,
        p = check(c.members_only),
        a = check(c.approval_required),
        g = check(s.guidelines_required),
        n = check(s.newcomer_limits),
        m = check(s.modlog_anonymous),
    );
    Ok(out)
}

/// Runs a moderator's form action on a community (the use-case checks who may), then back to
/// the moderation page.
pub(super) async fn act<F, Fut>(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    id: i64,
    f: F,
) -> Response
where
    F: FnOnce(DbPerson, DbCommunity) -> Fut,
    Fut: std::future::Future<Output = AppResult<()>>,
{
    let result = async {
        check_origin(state, headers)?;
        let user = viewer.require()?;
        let c = {
            let mut conn = state.db.pool.acquire().await?;
            store::communities::find_by_id_opt(&mut conn, id)
                .await?
                .ok_or(AppError::NotFound("community"))?
        };
        f(user.person.clone(), c).await
    }
    .await;
    match result {
        Ok(()) => see_other(&format!("/community/{id}/moderation")),
        Err(e) => error_page(state, viewer, e),
    }
}

#[derive(Deserialize)]
struct RoleForm {
    person: String,
    role: String,
    add: bool,
}

async fn role(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    WebPath(id): WebPath<i64>,
    WebForm(f): WebForm<RoleForm>,
) -> Response {
    let st = state.clone();
    act(&state, &viewer, &headers, id, |me, c| async move {
        moderation::appoint(&st, &me, &c, f.person.trim(), &f.role, f.add).await?;
        Ok(())
    })
    .await
}

#[derive(Deserialize)]
struct LeadershipForm {
    model: String,
    #[serde(default)]
    term_days: Option<String>,
    #[serde(default)]
    roster: String,
}

async fn set_leadership(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    WebPath(id): WebPath<i64>,
    WebForm(f): WebForm<LeadershipForm>,
) -> Response {
    let st = state.clone();
    act(&state, &viewer, &headers, id, |me, c| async move {
        let rotational = f.model == "rotational";
        let days: i64 = f
            .term_days
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| d.parse())
            .transpose()
            .map_err(|_| AppError::invalid("bad_term", "the term is a number of days"))?
            .unwrap_or(0);
        let input = ModelInput {
            model: f.model.clone(),
            term_secs: if rotational {
                days.saturating_mul(86_400)
            } else {
                0
            },
            roster: if rotational {
                f.roster
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(String::from)
                    .collect()
            } else {
                Vec::new()
            },
        };
        leadership::set_model(&st, &me, &c, &input, false).await?;
        Ok(())
    })
    .await
}

async fn pass(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    WebPath(id): WebPath<i64>,
) -> Response {
    let st = state.clone();
    act(&state, &viewer, &headers, id, |me, c| async move {
        leadership::pass_on(&st, &me, &c).await
    })
    .await
}

#[derive(Deserialize)]
struct ProposalForm {
    proposal: i64,
    approve: bool,
}

async fn proposal(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    WebPath(id): WebPath<i64>,
    WebForm(f): WebForm<ProposalForm>,
) -> Response {
    let st = state.clone();
    act(&state, &viewer, &headers, id, |me, _| async move {
        crate::domain::proposals::decide(&st, &me, f.proposal, f.approve).await?;
        Ok(())
    })
    .await
}

/// Checkboxes: present when ticked.
#[derive(Deserialize)]
struct SettingsForm {
    private: Option<String>,
    approval_required: Option<String>,
    guidelines_required: Option<String>,
    newcomer_limits: Option<String>,
    modlog_anonymous: Option<String>,
}

async fn settings(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    WebPath(id): WebPath<i64>,
    WebForm(f): WebForm<SettingsForm>,
) -> Response {
    let st = state.clone();
    act(&state, &viewer, &headers, id, |me, c| async move {
        let private = f.private.is_some();
        let patch = SettingsPatch {
            private: Some(private),
            // A private community approves its members whatever the box says.
            approval_required: Some(f.approval_required.is_some() || private),
            guidelines_required: Some(f.guidelines_required.is_some()),
            newcomer_limits: Some(f.newcomer_limits.is_some()),
            modlog_anonymous: Some(f.modlog_anonymous.is_some()),
        };
        membership::update_settings(&st, &me, &c, patch).await
    })
    .await
}
