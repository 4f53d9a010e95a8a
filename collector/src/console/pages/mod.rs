//! One module per page. Each handler checks the session and the tenant,
//! asks the store, builds its page model and renders its template.

pub mod alerts;
pub mod connector;
pub mod fleet;
pub mod fleet_report;
pub mod login;
pub mod migration;
pub mod policy;
pub mod register;
pub mod report;
pub mod review;

use super::error::ConsoleError;
use super::links;
use super::session::Viewer;
use crate::api::AppState;
use crate::store::TenantRecord;
use askama::Template;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};

/// The tenant a page is about, for the navigation.
pub struct TenantNav {
    /// Display name.
    pub name: String,
    /// Its register page.
    pub href: String,
    /// Its review queue.
    pub review_href: String,
    /// Its QBR report.
    pub report_href: String,
    /// Its migration board.
    pub migration_href: String,
    /// Its policy, for MSP staff only.
    pub policy_href: Option<String>,
}

/// What every signed-in page shows around its content.
pub struct Shell {
    /// The MSP's name.
    pub msp_name: String,
    /// Who is signed in.
    pub email: String,
    /// Their role.
    pub role: String,
    /// The session's CSRF token, for the sign-out form.
    pub csrf: String,
    /// The tenant in view, if any.
    pub tenant: Option<TenantNav>,
    /// An msp-admin (sees the alert rules and the outbox).
    pub is_admin: bool,
}

impl Shell {
    /// The shell for `viewer`, about `tenant` when given.
    pub fn new(state: &AppState, viewer: &Viewer, tenant: Option<&TenantRecord>) -> Shell {
        Shell {
            msp_name: state.console.msp_name.clone(),
            email: viewer.email().to_string(),
            role: viewer.role().as_str().to_string(),
            csrf: viewer.session.csrf_token.clone(),
            is_admin: viewer.principal.is_admin,
            tenant: tenant.map(|t| TenantNav {
                name: t.name.clone(),
                href: links::tenant(&t.id),
                review_href: links::review(&t.id),
                report_href: format!("{}/report", links::tenant(&t.id)),
                migration_href: format!("{}/migration", links::tenant(&t.id)),
                policy_href: (viewer.role() != crate::accounts::Role::ClientViewer)
                    .then(|| format!("{}/policy", links::tenant(&t.id))),
            }),
        }
    }
}

/// Render a page; signed-in pages are never cached.
pub fn render(page: &impl Template) -> Result<Response, ConsoleError> {
    Ok(([(header::CACHE_CONTROL, "no-store")], Html(page.render()?)).into_response())
}

/// A JSON value as one line of text for a table cell (strings unquoted).
pub fn show(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => items.iter().map(show).collect::<Vec<_>>().join("; "),
        other => other.to_string(),
    }
}

/// The date and minute of an RFC 3339 time: `2026-11-25 09:00`.
pub fn when(at: &str) -> String {
    match at.get(..16) {
        Some(s) => s.replacen('T', " ", 1),
        None => at.to_string(),
    }
}
