//! `/tenants/{id}`: a tenant's connector register, filtered and paged, and
//! the same filtered view as CSV.

use super::super::error::ConsoleError;
use super::super::links;
use super::super::session::Viewer;
use super::{render, Shell};
use crate::api::AppState;
use crate::register::annotations::MIGRATION_LADDER;
use crate::register::table::{self, Filter, RegisterRow, PAGE_ROWS};
use crate::timestamp;
use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use crate::store::TenantRecord;
use plumbline_protocol::read_api::RegisterView;
use plumbline_protocol::wording::count;
use plumbline_protocol::register::Severity;

/// A row and its link.
pub struct Row {
    /// The row.
    pub row: RegisterRow,
    /// Its connector page.
    pub href: String,
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    shell: Shell,
    tenant_id: String,
    tenant_name: String,
    self_href: String,
    review_href: String,
    csv_href: String,
    xlsx_href: String,
    filter: Filter,
    categories: Vec<String>,
    severities: Vec<String>,
    owner_states: Vec<String>,
    migration_states: Vec<String>,
    review_states: Vec<String>,
    rows: Vec<Row>,
    total: usize,
    context_total: usize,
    context_href: String,
    open_findings: usize,
    awaiting: usize,
    page: usize,
    pages: usize,
    prev_href: Option<String>,
    next_href: Option<String>,
}

fn filter_query(f: &Filter, page: Option<usize>) -> String {
    let page = page.map(|p| p.to_string()).unwrap_or_default();
    links::query(&[
        ("category", &f.category),
        ("severity", &f.severity),
        ("owner", &f.owner),
        ("migration", &f.migration),
        ("review", &f.review),
        ("records", &f.records),
        ("page", &page),
    ])
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn with_query(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    }
}

/// The tenant (if the viewer may see it), the filter, the register, and
/// the rows that pass the filter: what the page and its CSV share.
async fn filtered(
    state: &AppState,
    viewer: &Viewer,
    tenant_id: &str,
    query: Result<Query<Filter>, QueryRejection>,
) -> Result<(TenantRecord, Filter, RegisterView, Vec<RegisterRow>), ConsoleError> {
    let tenant = viewer.principal.tenant(state.store.as_ref(), tenant_id).await?;
    let Query(filter) = query.map_err(|e| ConsoleError::BadRequest(e.body_text()))?;
    let view = crate::reads::register(state.store.as_ref(), &tenant.id).await?;
    let rows = table::rows(&view, &filter, &timestamp::today()).map_err(ConsoleError::BadRequest)?;
    Ok((tenant, filter, view, rows))
}

/// `GET /tenants/{id}`.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(tenant_id): Path<String>,
    query: Result<Query<Filter>, QueryRejection>,
) -> Result<Response, ConsoleError> {
    let (tenant, filter, view, all) = filtered(&state, &viewer, &tenant_id, query).await?;
    let awaiting = state.store.review_queue(&tenant.id).await?.len();
    let mut categories: Vec<String> = view.connectors.iter().map(|c| c.entry.category.clone()).collect();
    categories.sort();
    categories.dedup();
    let total = all.len();
    let context_total = view.connectors.iter().filter(|c| c.entry.is_context() && c.status == "present").count();
    let pages = total.div_ceil(PAGE_ROWS).max(1);
    let page = filter.page.unwrap_or(1).clamp(1, pages);
    let rows = all
        .into_iter()
        .skip((page - 1) * PAGE_ROWS)
        .take(PAGE_ROWS)
        .map(|row| Row { href: links::connector(&tenant.id, &row.key), row })
        .collect();
    let self_href = links::tenant(&tenant.id);
    let at = |p: usize| with_query(&self_href, &filter_query(&filter, Some(p)));
    render(&RegisterPage {
        shell: Shell::new(&state, &viewer, Some(&tenant)),
        csv_href: with_query(&format!("{self_href}/register.csv"), &filter_query(&filter, None)),
        xlsx_href: with_query(&format!("{self_href}/register.xlsx"), &filter_query(&filter, None)),
        context_href: with_query(&self_href, &filter_query(&Filter { records: table::CONTEXT.into(), ..Filter::default() }, None)),
        review_href: links::review(&tenant.id),
        prev_href: (page > 1).then(|| at(page - 1)),
        next_href: (page < pages).then(|| at(page + 1)),
        tenant_id: tenant.id.clone(),
        tenant_name: tenant.name.clone(),
        self_href,
        filter,
        categories,
        severities: Severity::ALL.iter().rev().map(|s| s.as_str().to_string()).collect(),
        owner_states: strings(&["none", "single", "shared"]),
        migration_states: strings(MIGRATION_LADDER),
        review_states: strings(&["overdue", "due-30"]),
        rows,
        total,
        context_total,
        open_findings: view.open_findings.len(),
        awaiting,
        page,
        pages,
    })
}

/// A download: `{tenant}-register.{ext}`, never cached.
fn attachment(tenant_id: &str, ext: &str, kind: &str, bytes: Vec<u8>) -> Response {
    let stem: String =
        tenant_id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    (
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{stem}-register.{ext}\"")),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response()
}

/// `GET /tenants/{id}/register.xlsx`: the filtered register as a workbook.
pub async fn xlsx(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(tenant_id): Path<String>,
    query: Result<Query<Filter>, QueryRejection>,
) -> Result<Response, ConsoleError> {
    let (tenant, _, _, rows) = filtered(&state, &viewer, &tenant_id, query).await?;
    let bytes = table::to_xlsx(&rows).map_err(|e| ConsoleError::Store(crate::store::StoreError::Backend(e)))?;
    Ok(attachment(&tenant.id, "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", bytes))
}

/// `GET /tenants/{id}/register.csv`: the filtered register, every page.
pub async fn csv(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(tenant_id): Path<String>,
    query: Result<Query<Filter>, QueryRejection>,
) -> Result<Response, ConsoleError> {
    let (tenant, _, view, rows) = filtered(&state, &viewer, &tenant_id, query).await?;
    // The same file as the API's register.csv, with the page's filter.
    let keys: std::collections::HashSet<&str> = rows.iter().map(|r| r.key.as_str()).collect();
    let body = crate::register::csv::register_csv(&view, Some(&keys), &timestamp::today());
    Ok(attachment(&tenant.id, "csv", "text/csv; charset=utf-8", body))
}
