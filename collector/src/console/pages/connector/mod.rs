//! `/tenants/{id}/connectors/{key}`: one connector: what the plugins saw,
//! its findings with their fixes, its history, the register fields staff
//! keep (a form for those who may write), its evidence and audit trail.
//! The forms it posts are in `forms`.

mod forms;

pub use forms::{accept, annotate, reviewed, AcceptForm, AnnotateForm, MAX_ACCEPT_DAYS};

use super::super::error::ConsoleError;
use super::super::links;
use super::super::session::Viewer;
use super::{render, show, when, Shell};
use crate::api::AppState;
use crate::register::annotations::{CRITICALITY, DATA_SENSITIVITY, MIGRATION_LADDER};
use crate::timestamp;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use plumbline_protocol::read_api::Annotations;
use serde::Deserialize;

/// What was just typed into a refused form, shown again with its error.
pub enum Typed<'a> {
    /// Nothing: show what is stored.
    Nothing,
    /// The register fields, and the field that is wrong and why.
    Fields(&'a AnnotateForm, &'static str, String),
    /// One finding's accept-risk form, and the field that is wrong and why.
    Accept(&'a AcceptForm, &'static str, String),
}

/// One accept-risk form as typed, with its error beside its field.
#[derive(Default)]
pub struct AcceptView {
    /// Typed rationale.
    pub rationale: String,
    /// Typed approver.
    pub approver: String,
    /// Typed expiry.
    pub expires_on: String,
    /// The field the error is about.
    pub error_field: String,
    /// Why it was refused.
    pub error: String,
}

/// A finding as shown.
pub struct FindingView {
    /// Severity name.
    pub severity: String,
    /// One line.
    pub title: String,
    /// What was seen.
    pub detail: String,
    /// The fix, copyable.
    pub remediation: String,
    /// `open`, `reopened` or `accepted`.
    pub status: String,
    /// First seen.
    pub first_seen: String,
    /// Its id, for the accept-risk form.
    pub id: String,
    /// The acceptance that holds, in words.
    pub accepted: String,
    /// Its accept-risk form as just typed, if refused.
    pub accept: AcceptView,
    /// `(name, value, link)`: what it rests on; a cross-check finding's
    /// connectors on both sides link to their pages.
    pub evidence: Vec<(String, String, String)>,
}

/// One entry of the history.
pub struct HistoryView {
    /// `created`, `changed`, ...
    pub kind: String,
    /// When.
    pub at: String,
    /// The site that saw it.
    pub site_id: String,
    /// Why it needs review.
    pub reason: String,
    /// The review decision, if any.
    pub decision: String,
    /// `(field, before, after)`.
    pub fields: Vec<(String, String, String)>,
}

/// One audit line.
pub struct AuditView {
    /// When.
    pub at: String,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// The change, field by field.
    pub change: String,
}

/// One field of the annotation form.
pub struct FieldView {
    /// Form name.
    pub name: &'static str,
    /// Label.
    pub label: &'static str,
    /// Current (or just typed) value.
    pub value: String,
    /// Allowed values; empty for free text.
    pub choices: Vec<String>,
    /// Why the typed value was refused.
    pub error: String,
}

#[derive(Template)]
#[template(path = "connector.html")]
struct ConnectorPage {
    shell: Shell,
    name: String,
    key: String,
    category: String,
    context: bool,
    status: String,
    site_id: String,
    first_seen: String,
    last_seen: String,
    notice: String,
    last_reviewed: String,
    next_review_due: String,
    review_overdue: bool,
    findings: Vec<FindingView>,
    attributes: Vec<(String, String)>,
    may_write: bool,
    self_href: String,
    form: Vec<FieldView>,
    evidence_link: String,
    batches: Vec<(String, String)>,
    history: Vec<HistoryView>,
    audit: Vec<AuditView>,
}

/// The annotation form's fields, in order: `(name, label, choices)`.
const FIELDS: &[(&str, &str, &[&str])] = &[
    ("purpose", "Purpose", &[]),
    ("connected_system", "Connected system", &[]),
    ("owner_override", "Owner (overrides the scan)", &[]),
    ("co_owner_override", "Co-owners, comma-separated (override)", &[]),
    ("data_sensitivity", "Data sensitivity", DATA_SENSITIVITY),
    ("criticality", "Criticality", CRITICALITY),
    ("migration_status", "Migration status", MIGRATION_LADDER),
    ("replacement_key", "Replaced by (register key of the Workflow)", &[]),
    ("review_cadence_days", "Review cadence (days)", &[]),
    ("last_reviewed", "Last reviewed (YYYY-MM-DD)", &[]),
    ("last_tested", "Last tested (YYYY-MM-DD)", &[]),
    ("evidence_link", "Evidence link (https://...)", &[]),
    ("client_decision", "Client decision", &[]),
];

fn value_of(a: &Annotations, name: &str) -> String {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    match name {
        "purpose" => text(&a.purpose),
        "connected_system" => text(&a.connected_system),
        "owner_override" => text(&a.owner_override),
        "co_owner_override" => a.co_owner_override.as_ref().map(|v| v.join(", ")).unwrap_or_default(),
        "data_sensitivity" => text(&a.data_sensitivity),
        "criticality" => text(&a.criticality),
        "migration_status" => text(&a.migration_status),
        "replacement_key" => text(&a.replacement_key),
        "review_cadence_days" => a.review_cadence_days.map(|d| d.to_string()).unwrap_or_default(),
        "last_reviewed" => text(&a.last_reviewed),
        "last_tested" => text(&a.last_tested),
        "evidence_link" => text(&a.evidence_link),
        "client_decision" => text(&a.client_decision),
        _ => String::new(),
    }
}

/// `?saved=1` after a save.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PageQuery {
    saved: Option<String>,
    reviewed: Option<String>,
}

async fn build(
    state: &AppState,
    viewer: &Viewer,
    tenant_id: &str,
    key: &str,
    typed: Typed<'_>,
    notice: String,
) -> Result<ConnectorPage, ConsoleError> {
    let tenant = viewer.principal.tenant(state.store.as_ref(), tenant_id).await?;
    let view = crate::reads::register(state.store.as_ref(), &tenant.id).await?;
    let c = view.connectors.iter().find(|c| c.entry.key == key).ok_or(ConsoleError::NotFound)?;
    let acceptances = crate::reads::live_acceptances(state.store.as_ref(), &tenant.id).await?;
    let findings = view
        .open_findings
        .iter()
        .filter(|f| crate::crosscheck::concerns(&f.entry, key))
        .map(|f| FindingView {
            severity: f.entry.severity.as_str().to_string(),
            title: f.entry.title.clone(),
            detail: f.entry.detail.clone(),
            remediation: f.entry.remediation.clone(),
            status: f.status.clone(),
            first_seen: when(&f.first_seen),
            id: f.entry.id.clone(),
            accepted: acceptances
                .get(&f.entry.id)
                .map(|a| format!("Accepted until {} by {}, approved by {}: {}", a.expires_on, a.accepted_by, a.approver, a.rationale))
                .unwrap_or_default(),
            accept: match &typed {
                Typed::Accept(form, field, why) if form.finding_id == f.entry.id => form.typed(field, why),
                _ => AcceptView::default(),
            },
            evidence: f
                .entry
                .evidence
                .iter()
                .map(|(k, v)| {
                    let link = if crate::crosscheck::is_cross_check(&f.entry.check_id) && k.ends_with("_connector") && v != key {
                        links::connector(&tenant.id, v)
                    } else {
                        String::new()
                    };
                    (k.clone(), v.clone(), link)
                })
                .collect(),
        })
        .collect();
    let review = crate::register::table::row(c, &[], &timestamp::today());
    let e = &c.entry;
    let mut attributes = vec![
        ("scope".to_string(), e.scope.clone()),
        ("owner (scanned)".to_string(), e.owner.clone().unwrap_or_default()),
        ("co-owners (scanned)".to_string(), e.co_owners.join("; ")),
        ("auth or trigger".to_string(), e.auth_type.clone().unwrap_or_default()),
        ("migration state (scanned)".to_string(), e.migration_state.clone().unwrap_or_default()),
        ("created".to_string(), e.created.clone().unwrap_or_default()),
        ("last change".to_string(), e.last_change.clone().unwrap_or_default()),
        ("plugin".to_string(), e.plugin.clone()),
    ];
    attributes.extend(e.attributes.iter().map(|(k, v)| (k.clone(), v.clone())));
    let changes = state.store.connector_changes(&tenant.id, key).await?;
    let mut batches: Vec<(String, String)> = Vec::new();
    for ch in &changes {
        let digest = &ch.change.batch_digest;
        if !batches.iter().any(|(d, _)| d == digest) {
            batches.push((digest.clone(), links::envelope(&tenant.id, digest)));
        }
    }
    let history = changes
        .into_iter()
        .map(|rc| HistoryView {
            kind: rc.change.kind.clone(),
            at: when(&rc.change.at),
            site_id: rc.change.site_id.clone(),
            reason: rc.change.review_reason.clone().unwrap_or_default(),
            decision: rc
                .decision
                .map(|d| format!("{} by {} ({})", d.decision, d.by, d.note))
                .unwrap_or_else(|| if rc.change.needs_review { "awaiting review".into() } else { String::new() }),
            fields: rc.change.fields.iter().map(|f| (f.field.clone(), show(&f.before), show(&f.after))).collect(),
        })
        .collect();
    let audit = state
        .store
        .audit(&tenant.id, key)
        .await?
        .into_iter()
        .map(|a| AuditView { at: when(&a.at), actor: a.actor, action: a.action, change: audit_change(&a.before, &a.after) })
        .collect();
    let form = FIELDS
        .iter()
        .map(|(name, label, choices)| {
            let (value, error) = match &typed {
                Typed::Fields(f, field, why) => {
                    (f.get(name).to_string(), if field == name { why.clone() } else { String::new() })
                }
                _ => (value_of(&c.annotations, name), String::new()),
            };
            FieldView { name, label, value, choices: choices.iter().map(|c| c.to_string()).collect(), error }
        })
        .collect();
    Ok(ConnectorPage {
        shell: Shell::new(state, viewer, Some(&tenant)),
        name: e.name.clone(),
        key: e.key.clone(),
        category: e.category.clone(),
        context: e.is_context(),
        status: c.status.clone(),
        site_id: c.site_id.clone(),
        first_seen: when(&c.first_seen),
        last_seen: when(&c.last_seen),
        notice,
        last_reviewed: c.annotations.last_reviewed.clone().unwrap_or_default(),
        next_review_due: review.next_review_due,
        review_overdue: review.review_overdue,
        findings,
        attributes,
        may_write: viewer.principal.may_write,
        self_href: links::connector(&tenant.id, key),
        form,
        evidence_link: c.annotations.evidence_link.clone().unwrap_or_default(),
        batches,
        history,
        audit,
    })
}

/// `field: before → after` for each field an audit entry changed.
fn audit_change(before: &Option<String>, after: &Option<String>) -> String {
    let parse = |s: &Option<String>| -> serde_json::Map<String, serde_json::Value> {
        s.as_deref().and_then(|t| serde_json::from_str(t).ok()).unwrap_or_default()
    };
    let (b, a) = (parse(before), parse(after));
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    let null = serde_json::Value::Null;
    keys.into_iter()
        .filter(|k| b.get(*k).unwrap_or(&null) != a.get(*k).unwrap_or(&null))
        .map(|k| {
            let before = show(b.get(k).unwrap_or(&null));
            let after = show(a.get(k).unwrap_or(&null));
            if before.is_empty() { format!("{k}: {after}") } else { format!("{k}: {before} → {after}") }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `GET /tenants/{id}/connectors/{key}`.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((tenant_id, key)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
) -> Result<Response, ConsoleError> {
    let notice = match (&q.saved, &q.reviewed) {
        (Some(_), _) => "Saved.".to_string(),
        (None, Some(_)) => format!("Marked reviewed on {}.", timestamp::today()),
        _ => String::new(),
    };
    render(&build(&state, &viewer, &tenant_id, &key, Typed::Nothing, notice).await?)
}

/// `GET /tenants/{id}/batches/{digest}/envelope`: the signed batch as the
/// agent sent it, for auditors (`plumbline verify`).
pub async fn envelope(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((tenant_id, digest)): Path<(String, String)>,
) -> Result<Response, ConsoleError> {
    let tenant = viewer.principal.tenant(state.store.as_ref(), &tenant_id).await?;
    let bytes = state.store.envelope(&tenant.id, &digest).await?.ok_or(ConsoleError::NotFound)?;
    let name: String = digest.chars().filter(char::is_ascii_hexdigit).take(64).collect();
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"batch-{name}.json\"")),
        ],
        bytes,
    )
        .into_response())
}
