//! The register as the MSP keeps it: one row per connector with the
//! columns of the console's register page, its CSV download and the
//! reports, filtered the same way everywhere.

use super::annotations::MIGRATION_LADDER;
use plumbline_protocol::read_api::{FindingRecord, RegisterConnector, RegisterView};
use plumbline_protocol::register::Severity;
use std::collections::HashMap;
use time::macros::format_description;

/// [`Filter::records`] for the scan-context records.
pub const CONTEXT: &str = "context";

/// Rows per page of the console's register.
pub const PAGE_ROWS: usize = 100;

/// One connector as a row of text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterRow {
    /// Register key.
    pub key: String,
    /// Category.
    pub category: String,
    /// Display name.
    pub name: String,
    /// `present` or `disappeared`.
    pub status: String,
    /// Effective purpose.
    pub purpose: String,
    /// Connected system.
    pub connected_system: String,
    /// Effective owner.
    pub owner: String,
    /// Effective co-owners, `; `-separated.
    pub co_owners: String,
    /// Channel or scope.
    pub scope: String,
    /// Data sensitivity.
    pub data_sensitivity: String,
    /// Authentication or trigger type.
    pub auth_type: String,
    /// Last tested.
    pub last_tested: String,
    /// Review cadence in days.
    pub review_cadence_days: String,
    /// Next review due, `YYYY-MM-DD`, when a cadence is set.
    pub next_review_due: String,
    /// The next review date has passed.
    pub review_overdue: bool,
    /// Migration status (annotated, else what the plugin said).
    pub migration_status: String,
    /// Evidence link.
    pub evidence_link: String,
    /// Criticality.
    pub criticality: String,
    /// The most severe open finding's severity, empty when none.
    pub highest_severity: String,
    /// How many open findings.
    pub open_findings: usize,
}

/// The table's header, in [`RegisterRow::cells`] order.
pub const HEADER: [&str; 19] = [
    "key",
    "category",
    "name",
    "status",
    "purpose",
    "connected_system",
    "owner",
    "co_owners",
    "scope",
    "data_sensitivity",
    "auth_type",
    "last_tested",
    "review_cadence_days",
    "next_review_due",
    "migration_status",
    "evidence_link",
    "criticality",
    "highest_severity",
    "open_findings",
];

impl RegisterRow {
    /// The cells, in [`HEADER`] order.
    pub fn cells(&self) -> [String; 19] {
        [
            self.key.clone(),
            self.category.clone(),
            self.name.clone(),
            self.status.clone(),
            self.purpose.clone(),
            self.connected_system.clone(),
            self.owner.clone(),
            self.co_owners.clone(),
            self.scope.clone(),
            self.data_sensitivity.clone(),
            self.auth_type.clone(),
            self.last_tested.clone(),
            self.review_cadence_days.clone(),
            self.next_review_due.clone(),
            self.migration_status.clone(),
            self.evidence_link.clone(),
            self.criticality.clone(),
            self.highest_severity.clone(),
            self.open_findings.to_string(),
        ]
    }
}

/// Which rows. Empty strings mean "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Filter {
    /// One category.
    pub category: String,
    /// Open findings at or above this severity.
    pub severity: String,
    /// `none` (no owner), `single` (no co-owner) or `shared`.
    pub owner: String,
    /// One migration status.
    pub migration: String,
    /// `overdue` or `due-30` (within 30 days, or overdue).
    pub review: String,
    /// Empty for connectors, `context` for the scan-context records alone
    /// (which are not connectors), `all` for both.
    pub records: String,
    /// The page, from 1 (console only).
    pub page: Option<usize>,
}

impl Filter {
    /// Refuse values that match nothing, with the ones that work.
    pub fn validate(&self) -> Result<Option<Severity>, String> {
        let severity = match self.severity.as_str() {
            "" => None,
            s => Some(s.parse::<Severity>()?),
        };
        if !["", "none", "single", "shared"].contains(&self.owner.as_str()) {
            return Err(format!("owner {:?}: use none, single or shared", self.owner));
        }
        if !self.migration.is_empty() && !MIGRATION_LADDER.contains(&self.migration.as_str()) {
            return Err(format!("migration {:?}: use one of {}", self.migration, MIGRATION_LADDER.join(", ")));
        }
        if !["", "overdue", "due-30"].contains(&self.review.as_str()) {
            return Err(format!("review {:?}: use overdue or due-30", self.review));
        }
        if !["", CONTEXT, "all"].contains(&self.records.as_str()) {
            return Err(format!("records {:?}: use context or all, or leave it out for connectors", self.records));
        }
        Ok(severity)
    }
}

/// `YYYY-MM-DD` plus `days`.
pub fn add_days(date: &str, days: u32) -> Option<String> {
    let d = time::Date::parse(date.get(..10)?, format_description!("[year]-[month]-[day]")).ok()?;
    let due = d.checked_add(time::Duration::days(i64::from(days)))?;
    due.format(format_description!("[year]-[month]-[day]")).ok()
}

/// The row of one connector. `today` is `YYYY-MM-DD`.
pub fn row(c: &RegisterConnector, findings: &[&FindingRecord], today: &str) -> RegisterRow {
    let a = &c.annotations;
    let next_due = a
        .review_cadence_days
        .and_then(|days| add_days(a.last_reviewed.as_deref().unwrap_or(&c.first_seen), days))
        .unwrap_or_default();
    let highest = findings.iter().map(|f| f.entry.severity).max();
    RegisterRow {
        key: c.entry.key.clone(),
        category: c.entry.category.clone(),
        name: c.entry.name.clone(),
        status: c.status.clone(),
        purpose: c.effective.purpose.clone().unwrap_or_default(),
        connected_system: a.connected_system.clone().unwrap_or_default(),
        owner: c.effective.owner.clone().unwrap_or_default(),
        co_owners: c.effective.co_owners.join("; "),
        scope: c.entry.scope.clone(),
        data_sensitivity: a.data_sensitivity.clone().unwrap_or_default(),
        auth_type: c.entry.auth_type.clone().unwrap_or_default(),
        last_tested: a.last_tested.clone().unwrap_or_default(),
        review_cadence_days: a.review_cadence_days.map(|d| d.to_string()).unwrap_or_default(),
        review_overdue: !next_due.is_empty() && next_due.as_str() < today,
        next_review_due: next_due,
        migration_status: a.migration_status.clone().or_else(|| c.entry.migration_state.clone()).unwrap_or_default(),
        evidence_link: a.evidence_link.clone().unwrap_or_default(),
        criticality: a.criticality.clone().unwrap_or_default(),
        highest_severity: highest.map(|s| s.as_str().to_string()).unwrap_or_default(),
        open_findings: findings.len(),
    }
}

/// Every row of `view` that passes `filter`, by key.
pub fn rows(view: &RegisterView, filter: &Filter, today: &str) -> Result<Vec<RegisterRow>, String> {
    let min_severity = filter.validate()?;
    let mut by_key: HashMap<&str, Vec<&FindingRecord>> = HashMap::new();
    for f in view.open_findings.iter().filter(|f| f.status != super::view::ACCEPTED) {
        by_key.entry(f.entry.connector_key.as_str()).or_default().push(f);
    }
    let due_by = add_days(today, 30).unwrap_or_default();
    let mut out = Vec::new();
    for c in &view.connectors {
        let findings = by_key.get(c.entry.key.as_str()).map(Vec::as_slice).unwrap_or(&[]);
        if !filter.category.is_empty() && c.entry.category != filter.category {
            continue;
        }
        let wanted = match filter.records.as_str() {
            "all" => true,
            CONTEXT => c.entry.is_context(),
            _ => !c.entry.is_context(),
        };
        if !wanted {
            continue;
        }
        if let Some(min) = min_severity {
            if !findings.iter().any(|f| f.entry.severity >= min) {
                continue;
            }
        }
        let r = row(c, findings, today);
        let owner_state = match (r.owner.is_empty(), r.co_owners.is_empty()) {
            (true, true) => "none",
            (_, true) => "single",
            _ => "shared",
        };
        if !filter.owner.is_empty() && filter.owner != owner_state {
            continue;
        }
        if !filter.migration.is_empty() && r.migration_status != filter.migration {
            continue;
        }
        match filter.review.as_str() {
            "overdue" if !r.review_overdue => continue,
            "due-30" if r.next_review_due.is_empty() || r.next_review_due > due_by => continue,
            _ => {}
        }
        out.push(r);
    }
    Ok(out)
}

/// The rows as an XLSX workbook: one sheet, a bold frozen header with a
/// filter. Every cell is written as text, so a name that starts with `=`
/// stays a name and never becomes a formula.
pub fn to_xlsx(rows: &[RegisterRow]) -> Result<Vec<u8>, String> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let xe = |e: rust_xlsxwriter::XlsxError| format!("writing the workbook: {e}");
    sheet.set_name("Register").map_err(xe)?;
    let bold = Format::new().set_bold();
    for (col, name) in HEADER.iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, *name, &bold).map_err(xe)?;
        sheet.set_column_width(col as u16, if col == 0 { 40 } else { 20 }).map_err(xe)?;
    }
    for (i, r) in rows.iter().enumerate() {
        for (col, cell) in r.cells().iter().enumerate() {
            sheet.write_string((i + 1) as u32, col as u16, cell).map_err(xe)?;
        }
    }
    sheet.set_freeze_panes(1, 0).map_err(xe)?;
    sheet.autofilter(0, 0, rows.len() as u32, (HEADER.len() - 1) as u16).map_err(xe)?;
    book.save_to_buffer().map_err(xe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_review_is_cadence_after_the_last_review() {
        assert_eq!(add_days("2026-11-01T10:00:00.000000Z", 30).as_deref(), Some("2026-12-01"));
        assert_eq!(add_days("2026-02-27", 2).as_deref(), Some("2026-03-01"));
        assert_eq!(add_days("garbage", 2), None);
    }

    #[test]
    fn the_workbook_is_a_zip_with_the_rows() {
        let row = RegisterRow {
            key: "k".into(),
            category: "exchange-connector".into(),
            name: "=HYPERLINK(\"http://x\")".into(),
            status: "present".into(),
            purpose: String::new(),
            connected_system: String::new(),
            owner: String::new(),
            co_owners: String::new(),
            scope: String::new(),
            data_sensitivity: String::new(),
            auth_type: String::new(),
            last_tested: String::new(),
            review_cadence_days: String::new(),
            next_review_due: String::new(),
            review_overdue: false,
            migration_status: String::new(),
            evidence_link: String::new(),
            criticality: String::new(),
            highest_severity: String::new(),
            open_findings: 0,
        };
        let bytes = to_xlsx(&[row.clone(), row]).unwrap();
        assert!(bytes.starts_with(b"PK\x03\x04") && bytes.len() > 2000, "{} bytes", bytes.len());
    }

    #[test]
    fn bad_filters_say_what_works() {
        let f = Filter { owner: "nobody".into(), ..Default::default() };
        assert!(f.validate().unwrap_err().contains("none, single or shared"));
        let f = Filter { severity: "severe".into(), ..Default::default() };
        assert!(f.validate().unwrap_err().contains("critical"));
        let f = Filter { migration: "done".into(), ..Default::default() };
        assert!(f.validate().unwrap_err().contains("old-disabled"));
    }
}
