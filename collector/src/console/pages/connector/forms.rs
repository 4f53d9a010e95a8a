//! The connector page's forms: the register fields, a finding accepted as
//! a risk, and "reviewed today". A refused form shows the page again with
//! the error beside its field and everything else as typed.

use super::super::super::error::ConsoleError;
use super::super::super::links;
use super::super::super::session::Viewer;
use super::super::render;
use super::{build, AcceptView, Typed};
use crate::api::AppState;
use crate::register::annotations;
use crate::store::StoreError;
use crate::timestamp;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use plumbline_protocol::read_api::{Annotations, AnnotationsUpdate};
use serde::Deserialize;

/// The form as submitted: every field, and the CSRF token.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AnnotateForm {
    csrf: String,
    purpose: String,
    connected_system: String,
    owner_override: String,
    co_owner_override: String,
    data_sensitivity: String,
    criticality: String,
    migration_status: String,
    replacement_key: String,
    review_cadence_days: String,
    last_reviewed: String,
    last_tested: String,
    evidence_link: String,
    client_decision: String,
}

impl AnnotateForm {
    pub(super) fn get(&self, name: &str) -> &str {
        match name {
            "purpose" => &self.purpose,
            "connected_system" => &self.connected_system,
            "owner_override" => &self.owner_override,
            "co_owner_override" => &self.co_owner_override,
            "data_sensitivity" => &self.data_sensitivity,
            "criticality" => &self.criticality,
            "migration_status" => &self.migration_status,
            "replacement_key" => &self.replacement_key,
            "review_cadence_days" => &self.review_cadence_days,
            "last_reviewed" => &self.last_reviewed,
            "last_tested" => &self.last_tested,
            "evidence_link" => &self.evidence_link,
            "client_decision" => &self.client_decision,
            _ => "",
        }
    }

    /// Every field set (an empty one cleared), or the field that is wrong.
    fn to_update(&self) -> Result<AnnotationsUpdate, (&'static str, String)> {
        let text = |v: &str| Some(Some(v.trim().to_string()).filter(|s| !s.is_empty()));
        let cadence = match self.review_cadence_days.trim() {
            "" => None,
            days => Some(
                days.parse::<u32>()
                    .map_err(|_| ("review_cadence_days", "a whole number of days, e.g. 90".to_string()))?,
            ),
        };
        let co_owners: Vec<String> =
            self.co_owner_override.split([',', ';']).map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
        let update = AnnotationsUpdate {
            purpose: text(&self.purpose),
            owner_override: text(&self.owner_override),
            co_owner_override: Some(Some(co_owners).filter(|v| !v.is_empty())),
            review_cadence_days: Some(cadence),
            last_tested: text(&self.last_tested),
            client_decision: text(&self.client_decision),
            evidence_link: text(&self.evidence_link),
            connected_system: text(&self.connected_system),
            data_sensitivity: text(&self.data_sensitivity),
            criticality: text(&self.criticality),
            migration_status: text(&self.migration_status),
            replacement_key: text(&self.replacement_key),
            last_reviewed: text(&self.last_reviewed),
        };
        annotations::validate(&update).map_err(|e| (e.field, e.reason))?;
        // The form sends every field, so the update is the whole result.
        let typed = annotations::merge(Annotations::default(), &update, "", "");
        annotations::check_merged(&Annotations::default(), &typed).map_err(|e| (e.field, e.reason))?;
        Ok(update)
    }
}

/// `POST /tenants/{id}/connectors/{key}`: save the register fields.
pub async fn annotate(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((tenant_id, key)): Path<(String, String)>,
    Form(form): Form<AnnotateForm>,
) -> Result<Response, ConsoleError> {
    viewer.check_csrf(&form.csrf)?;
    let tenant = viewer.principal.writable_tenant(state.store.as_ref(), &tenant_id).await?;
    let refused = match form.to_update() {
        Ok(update) => match state.store.update_annotations(&tenant.id, &key, update, viewer.email(), &timestamp::now()).await {
            Ok(saved) => saved.map(|_| None).ok_or(ConsoleError::NotFound)?,
            // The store's own check on the merged result, the last word.
            Err(StoreError::InvalidAnnotation(e)) => Some((e.field, e.reason)),
            Err(e) => return Err(e.into()),
        },
        Err(refusal) => Some(refusal),
    };
    if let Some((field, why)) = refused {
        let page = build(&state, &viewer, &tenant.id, &key, Typed::Fields(&form, field, why), String::new()).await?;
        let mut response = render(&page)?;
        *response.status_mut() = StatusCode::BAD_REQUEST;
        return Ok(response);
    }
    tracing::info!(tenant = %tenant.id, key = %key, by = %viewer.email(), "annotations saved in the console");
    Ok(Redirect::to(&format!("{}?saved=1", links::connector(&tenant.id, &key))).into_response())
}

/// An accepted risk as submitted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AcceptForm {
    csrf: String,
    pub(super) finding_id: String,
    rationale: String,
    approver: String,
    expires_on: String,
}

impl AcceptForm {
    /// The form as typed, with `why` beside `field`.
    pub(super) fn typed(&self, field: &str, why: &str) -> AcceptView {
        AcceptView {
            rationale: self.rationale.clone(),
            approver: self.approver.clone(),
            expires_on: self.expires_on.clone(),
            error_field: field.to_string(),
            error: why.to_string(),
        }
    }
}

/// Longest an acceptance may run: it must come back to the client's review.
pub const MAX_ACCEPT_DAYS: u32 = 366;

/// `POST /tenants/{id}/connectors/{key}/accept`: accept a finding as a risk
/// until a date; it reopens by itself the day after.
pub async fn accept(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((tenant_id, key)): Path<(String, String)>,
    Form(f): Form<AcceptForm>,
) -> Result<Response, ConsoleError> {
    viewer.check_csrf(&f.csrf)?;
    let tenant = viewer.principal.writable_tenant(state.store.as_ref(), &tenant_id).await?;
    let today = timestamp::today();
    let latest = crate::register::table::add_days(&today, MAX_ACCEPT_DAYS).unwrap_or_else(|| today.clone());
    let date_ok = f.expires_on.len() == 10 && timestamp::is_date_or_time(&f.expires_on);
    let refused = if f.rationale.trim().is_empty() {
        Some(("rationale", "say why the client accepts this risk".to_string()))
    } else if f.approver.trim().is_empty() {
        Some(("approver", "name who at the client approved it".to_string()))
    } else if !date_ok || f.expires_on < today || f.expires_on > latest {
        Some(("expires_on", format!("a date (YYYY-MM-DD) from {today} to {latest}")))
    } else {
        None
    };
    if let Some((field, why)) = refused {
        let page = build(&state, &viewer, &tenant.id, &key, Typed::Accept(&f, field, why), String::new()).await?;
        let mut response = render(&page)?;
        *response.status_mut() = StatusCode::BAD_REQUEST;
        return Ok(response);
    }
    let a = crate::store::console::Acceptance {
        rationale: f.rationale.trim().to_string(),
        approver: f.approver.trim().to_string(),
        expires_on: f.expires_on.clone(),
        accepted_by: viewer.email().to_string(),
        accepted_at: timestamp::now(),
    };
    if !state.store.accept_risk(&tenant.id, &f.finding_id, a).await? {
        return Err(ConsoleError::NotFound);
    }
    Ok(Redirect::to(&format!("{}?saved=1", links::connector(&tenant.id, &key))).into_response())
}

/// "Reviewed today": only the CSRF token.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReviewedForm {
    csrf: String,
}

/// `POST /tenants/{id}/connectors/{key}/reviewed`: record today as the last
/// review, audited like any annotation. Pressed twice on one day, it
/// changes nothing the second time, so the audit trail has one entry.
pub async fn reviewed(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((tenant_id, key)): Path<(String, String)>,
    Form(f): Form<ReviewedForm>,
) -> Result<Response, ConsoleError> {
    viewer.check_csrf(&f.csrf)?;
    let tenant = viewer.principal.writable_tenant(state.store.as_ref(), &tenant_id).await?;
    let update = AnnotationsUpdate { last_reviewed: Some(Some(timestamp::today())), ..Default::default() };
    state
        .store
        .update_annotations(&tenant.id, &key, update, viewer.email(), &timestamp::now())
        .await?
        .ok_or(ConsoleError::NotFound)?;
    Ok(Redirect::to(&format!("{}?reviewed=1", links::connector(&tenant.id, &key))).into_response())
}
