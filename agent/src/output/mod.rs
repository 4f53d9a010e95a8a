//! Rendering a scan for people, RMM scripts and SIEMs: a plain table, one
//! JSON document, CSV, or OCSF findings as NDJSON; and the one-line summary
//! RMM consoles show last.
//! Colour only when stdout is a terminal.

pub mod fit;
mod table;

use crate::register::{ScanResult, Severity};
use plumbline_protocol::cells::defuse;
use plumbline_protocol::wording::count;

/// Output format for `plumbline scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned plain text.
    Table,
    /// One JSON document: connectors, findings, plugins.
    Json,
    /// The register, one row per connector, with its findings summarised.
    Csv,
    /// One OCSF Compliance Finding per line, as the collector's
    /// `findings.ocsf` serves them, for a site that ships to a local SIEM.
    Ocsf,
}

/// How the table is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// ANSI colour on severities.
    pub color: bool,
    /// The width to fit, or `None` to print every column and text whole
    /// (`--wide`).
    pub width: Option<usize>,
}

/// Render `result` in `format`; `style` matters only to the table.
pub fn render(result: &ScanResult, format: Format, style: Style) -> anyhow::Result<String> {
    match format {
        Format::Json => Ok(serde_json::to_string_pretty(result)? + "\n"),
        Format::Csv => csv(result),
        Format::Ocsf => Ok(ocsf(result)),
        Format::Table => Ok(table::render(result, style.color, style.width)),
    }
}

/// `plumbline: 9 connectors and 2 context records; findings: 1 critical, 4 high, 5 medium, 1 low, 0 info; plugins: 1 ok, 0 failed`
///
/// A failed plugin leads the line: "0 critical" must not read as a clean
/// bill when the plugin that would have found one never reported.
pub fn summary(result: &ScanResult) -> String {
    let sev: Vec<String> = result
        .severity_counts()
        .into_iter()
        .rev()
        .map(|(s, n)| format!("{n} {}", s.as_str()))
        .collect();
    let failed = result.failed_plugins();
    let names: Vec<&str> = result.plugins.iter().filter(|p| p.status != "ok").map(|p| p.name.as_str()).collect();
    let incomplete = match names.len() {
        0 => String::new(),
        1 => format!(
            "INCOMPLETE: {} failed, so its connectors and findings are missing (its error is under plugins); ",
            names[0]
        ),
        _ => format!(
            "INCOMPLETE: {} failed, so their connectors and findings are missing (their errors are under plugins); ",
            names.join(", ")
        ),
    };
    format!(
        "plumbline: {incomplete}{}{}; findings: {}; plugins: {} ok, {failed} failed",
        count(result.connector_count(), "connector"),
        match result.context_count() {
            0 => String::new(),
            n => format!(" and {}", count(n, "context record")),
        },
        sev.join(", "),
        result.plugins.len() - failed
    )
}

fn paint(text: &str, severity: Severity, color: bool) -> String {
    if !color {
        return text.to_string();
    }
    let code = match severity {
        Severity::Critical => "1;31",
        Severity::High => "31",
        Severity::Medium => "33",
        Severity::Low => "36",
        Severity::Info => "2",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// The shared mapping ([`plumbline_protocol::ocsf`]): a scan knows no
/// history, so each finding is `reported`, status New, at the scan's end.
fn ocsf(result: &ScanResult) -> String {
    use plumbline_protocol::ocsf::{compliance_finding, ndjson_line, Change, FindingEvent};
    let mut out = String::new();
    for f in &result.findings {
        let event = FindingEvent {
            finding: f,
            connector: result.connectors.iter().find(|c| c.key == f.connector_key),
            tenant_id: &result.tenant_id,
            tenant_name: None,
            site_id: &result.site_id,
            change: Change::Reported,
            at: &result.finished_at,
            accepted_until: None,
            first_seen: None,
            last_seen: None,
            reopened_count: None,
            event_id: None,
        };
        out.push_str(&ndjson_line(&compliance_finding(&event)));
        out.push('\n');
    }
    out
}

fn csv(result: &ScanResult) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(plumbline_protocol::cells::REGISTER_COLUMNS)?;
    for c in &result.connectors {
        let mine: Vec<_> = result.findings.iter().filter(|f| f.connector_key == c.key).collect();
        let highest = mine.iter().map(|f| f.severity).max().map(|s| s.as_str()).unwrap_or("");
        let checks: Vec<&str> = mine.iter().map(|f| f.check_id.as_str()).collect();
        let row = [
            result.tenant_id.as_str(),
            result.site_id.as_str(),
            &c.key,
            &c.category,
            &c.name,
            &c.scope,
            c.owner.as_deref().unwrap_or(""),
            &c.co_owners.join("; "),
            c.purpose.as_deref().unwrap_or(""),
            c.auth_type.as_deref().unwrap_or(""),
            c.migration_state.as_deref().unwrap_or(""),
            c.created.as_deref().unwrap_or(""),
            c.last_change.as_deref().unwrap_or(""),
            &c.plugin,
            &mine.len().to_string(),
            highest,
            &checks.join(" "),
            plumbline_protocol::cells::record_kind(c.is_context()),
        ];
        w.write_record(row.iter().map(|cell| defuse(cell)))?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Guest and tenant text with escape sequences and a formula in it.
    fn hostile() -> ScanResult {
        serde_json::from_value(serde_json::json!({
            "tenant_id": "t", "site_id": "s", "started_at": "a", "finished_at": "b",
            "plugins": [{"name": "p", "version": "1\u{1b}[2J", "sha256": null, "status": "error",
                "error": "bad\u{1b}]0;pwned\u{7}\nFORGED", "connectors": 0, "findings": 0,
                "warnings": ["w\u{1b}[31m"], "duration_ms": 1}],
            "connectors": [{"key": "k\u{1b}[1A", "category": "smtp-relay", "name": "=cmd|' /C calc'!A0",
                "scope": "", "owner": null, "co_owners": [], "purpose": null, "auth_type": null,
                "migration_state": null, "created": null, "last_change": null, "attributes": {}, "plugin": "p"}],
            "findings": [{"id": "i", "check_id": "c\u{1b}[H", "connector_key": "k\u{1b}[1A", "severity": "high",
                "title": "t", "detail": "d", "remediation": "fix\u{1b}[2J\r\nFORGED", "evidence": {}, "plugin": "p"}]
        }))
        .expect("a scan result")
    }

    const PLAIN: Style = Style { color: false, width: Some(100) };

    #[test]
    fn the_table_prints_no_control_characters() {
        for style in [PLAIN, Style { width: None, ..PLAIN }] {
            let out = render(&hostile(), Format::Table, style).unwrap();
            assert!(!out.contains('\u{1b}') && !out.contains('\r') && !out.contains('\u{7}'), "{out:?}");
            assert!(!out.lines().any(|l| l.starts_with("FORGED")), "{out}");
        }
    }

    #[test]
    fn ocsf_is_one_finding_per_line_in_the_shared_shape() {
        let out = render(&hostile(), Format::Ocsf, PLAIN).unwrap();
        assert!(!out.contains('\u{1b}') && !out.contains('\r'), "{out:?}");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 1, "{out}");
        let o: plumbline_protocol::ocsf::ComplianceFinding = serde_json::from_str(lines[0]).unwrap();
        assert_eq!((o.class_uid, o.activity_id, o.status_id, o.severity_id), (2003, 1, 1, 4));
        assert_eq!((o.metadata.tenant_uid.as_str(), o.unmapped.site_id.as_str()), ("t", "s"));
        assert_eq!(o.resources[0].name.as_deref(), Some("=cmd|' /C calc'!A0"));
        assert_eq!(o.metadata.uid, None);
    }

    #[test]
    fn the_csv_defuses_formulas() {
        let out = render(&hostile(), Format::Csv, PLAIN).unwrap();
        assert!(out.contains("'=cmd|"), "{out}");
    }
}
