//! `/tenants/{id}/policy`: what the tenant's agents are sent, for the MSP:
//! where it comes from (its group's file, its own), the merged policy, its
//! plugins and whether each is in the plugins folder, and the problems
//! `policy check` names. An msp-admin edits the tenant's own file here; a
//! save is checked merged with the group first, refused with the problems
//! when any agent would refuse the result, and audited before and after.
//! Client viewers never see it: a policy names the MSP's tooling and grants.

use super::super::error::ConsoleError;
use super::super::links;
use super::super::session::Viewer;
use super::{render, Shell};
use crate::accounts::Role;
use crate::api::AppState;
use crate::policy::check::{self, Verdict};
use crate::policy::{edit, PolicyService};
use crate::store::TenantRecord;
use crate::timestamp;
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

/// One plugin row.
pub struct PluginRow {
    /// Section name.
    pub name: String,
    /// Pinned sha256.
    pub sha256: String,
    /// Off at every site.
    pub disabled: bool,
    /// Why agents cannot fetch it, if they cannot.
    pub problem: String,
}

#[derive(Template)]
#[template(path = "policy.html")]
struct PolicyPage {
    shell: Shell,
    tenant_name: String,
    self_href: String,
    served: bool,
    state: String,
    group: String,
    every: String,
    plugins: Vec<PluginRow>,
    problems: Vec<String>,
    merged: String,
    may_edit: bool,
    own_text: String,
    refused: Vec<String>,
    notice: String,
}

/// `?saved=1` after a save.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Notice {
    saved: String,
}

/// A save.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SaveForm {
    csrf: String,
    text: String,
}

/// The tenant, for MSP staff only (a client viewer gets the page that does
/// not exist, as for the alerts).
async fn tenant_for(state: &AppState, viewer: &Viewer, tenant_id: &str) -> Result<TenantRecord, ConsoleError> {
    if viewer.role() == Role::ClientViewer {
        return Err(ConsoleError::NotFound);
    }
    Ok(viewer.principal.tenant(state.store.as_ref(), tenant_id).await?)
}

fn build(
    state: &AppState,
    viewer: &Viewer,
    tenant: &TenantRecord,
    own_text: Option<String>,
    refused: Vec<String>,
    notice: String,
) -> Result<PolicyPage, ConsoleError> {
    let mut page = PolicyPage {
        shell: Shell::new(state, viewer, Some(tenant)),
        tenant_name: tenant.name.clone(),
        self_href: format!("{}/policy", links::tenant(&tenant.id)),
        served: false,
        state: String::new(),
        group: String::new(),
        every: String::new(),
        plugins: Vec::new(),
        problems: Vec::new(),
        merged: String::new(),
        may_edit: viewer.principal.is_admin,
        own_text: String::new(),
        refused,
        notice,
    };
    let Some(policy) = state.policy.as_deref() else {
        page.state = "This collector serves no policy: its agents run their local configs.".into();
        return Ok(page);
    };
    page.served = true;
    let report = check::check(&policy.dir(), &policy.plugin_dir(), std::slice::from_ref(&tenant.id), Some(&tenant.id));
    let verdict = report.tenants.first().expect("the tenant asked for is checked");
    page.problems = verdict.problems();
    match &verdict.verdict {
        Verdict::None => page.state = "No policy: its agents run their local configs alone.".into(),
        Verdict::Invalid(_) => page.state = "Not served: every agent keeps its last good policy until this is fixed.".into(),
        Verdict::Policy { group, every, plugins } => {
            page.state = match page.problems.is_empty() {
                true => "Served to every agent of this tenant.".into(),
                false => "Agents refuse this policy and keep their last good one until it is fixed.".into(),
            };
            page.group = group.clone().unwrap_or_default();
            page.every = every.clone().unwrap_or_default();
            page.plugins = plugins
                .iter()
                .map(|p| PluginRow {
                    name: p.name.clone(),
                    sha256: p.sha256.clone(),
                    disabled: !p.enabled,
                    problem: p.problem.clone().unwrap_or_default(),
                })
                .collect();
            page.merged = policy.content(&tenant.id).unwrap_or_default();
        }
    }
    page.own_text = match own_text {
        Some(text) => text,
        None => edit::own_text(&policy.dir(), &tenant.id).map_err(|e| ConsoleError::BadRequest(own_file_error(policy, e)))?.unwrap_or_default(),
    };
    Ok(page)
}

fn own_file_error(policy: &PolicyService, e: std::io::Error) -> String {
    format!("cannot read the tenant's policy file under {} ({e}); check its permissions", policy.dir().display())
}

/// `GET /tenants/{id}/policy`.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(tenant_id): Path<String>,
    Query(notice): Query<Notice>,
) -> Result<Response, ConsoleError> {
    let tenant = tenant_for(&state, &viewer, &tenant_id).await?;
    let notice = if notice.saved.is_empty() { String::new() } else { "Saved. Agents get it at their next run.".into() };
    render(&build(&state, &viewer, &tenant, None, Vec::new(), notice)?)
}

/// `POST /tenants/{id}/policy`: replace the tenant's own file (msp-admin).
pub async fn save(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(tenant_id): Path<String>,
    Form(f): Form<SaveForm>,
) -> Result<Response, ConsoleError> {
    viewer.check_csrf(&f.csrf)?;
    let tenant = tenant_for(&state, &viewer, &tenant_id).await?;
    if !viewer.principal.is_admin {
        return Err(ConsoleError::Forbidden("only an msp-admin may change a tenant's policy; ask one".into()));
    }
    let Some(policy) = state.policy.clone() else {
        return Err(ConsoleError::BadRequest("this collector serves no policy, so there is nothing to edit".into()));
    };
    // Browsers send a textarea's lines with CRLF.
    let text = f.text.replace("\r\n", "\n");
    let refused = edit::problems_with(&policy.dir(), &policy.plugin_dir(), &tenant.id, &text);
    if !refused.is_empty() {
        let mut response = render(&build(&state, &viewer, &tenant, Some(text), refused, String::new())?)?;
        *response.status_mut() = StatusCode::BAD_REQUEST;
        return Ok(response);
    }
    let saved = edit::save(&policy.dir(), &tenant.id, &text).map_err(|e| ConsoleError::BadRequest(own_file_error(&policy, e)))?;
    if saved.before != saved.after {
        let at = timestamp::now();
        state.store.record_policy_edit(&tenant.id, viewer.email(), &at, saved.before.as_deref(), saved.after.as_deref()).await?;
        tracing::info!(tenant = %tenant.id, by = viewer.email(), "policy file saved in the console");
    }
    Ok(Redirect::to(&format!("{}/policy?saved=1", links::tenant(&tenant.id))).into_response())
}
