//! Rendering a scan for people, RMM scripts and SIEMs: a plain table, one
//! JSON document, CSV, or OCSF findings as NDJSON; and the one-line summary
//! RMM consoles show last.
//! Colour only when stdout is a terminal.

use crate::register::{ScanResult, Severity};
use plumbline_protocol::cells::{defuse, printable};
use plumbline_protocol::wording::count;
use std::fmt::Write as _;

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

/// Render `result` in `format`. `color` adds ANSI colour to severities.
pub fn render(result: &ScanResult, format: Format, color: bool) -> anyhow::Result<String> {
    match format {
        Format::Json => Ok(serde_json::to_string_pretty(result)? + "\n"),
        Format::Csv => csv(result),
        Format::Ocsf => Ok(ocsf(result)),
        Format::Table => Ok(table(result, color)),
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

/// Longest cell printed in the table before it is cut with `…`.
const MAX_CELL_CHARS: usize = 48;

fn cell(s: &str) -> String {
    let flat = printable(s);
    if flat.chars().count() > MAX_CELL_CHARS {
        format!("{}…", flat.chars().take(MAX_CELL_CHARS - 1).collect::<String>())
    } else {
        flat
    }
}

fn grid(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c}{}", " ".repeat(widths[i] - c.chars().count())))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let _ = writeln!(out, "{}", line(header.iter().map(|h| h.to_string()).collect()));
    for r in rows {
        let _ = writeln!(out, "{}", line(r.clone()));
    }
}

fn table(result: &ScanResult, color: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Connector register: tenant {} site {} ({} .. {})\n",
        result.tenant_id, result.site_id, result.started_at, result.finished_at
    );
    let rows: Vec<Vec<String>> = result
        .connectors
        .iter()
        .map(|c| {
            vec![
                cell(&c.category),
                cell(&c.name),
                cell(&c.scope),
                cell(c.owner.as_deref().unwrap_or("-")),
                cell(c.migration_state.as_deref().unwrap_or("-")),
                cell(c.last_change.as_deref().unwrap_or("-")),
                cell(&c.key),
            ]
        })
        .collect();
    grid(&mut out, &["CATEGORY", "NAME", "SCOPE", "OWNER", "MIGRATION", "LAST CHANGE", "KEY"], &rows);

    let _ = writeln!(out, "\nFindings ({}):", result.findings.len());
    for f in &result.findings {
        let sev = paint(&format!("{:<8}", f.severity.as_str().to_uppercase()), f.severity, color);
        let _ = writeln!(out, "{sev} {}  [{}]  {}", cell(&f.title), printable(&f.check_id), printable(&f.connector_key));
        if !f.remediation.is_empty() {
            let _ = writeln!(out, "         fix: {}", printable(&f.remediation));
        }
    }

    let _ = writeln!(out, "\nPlugins:");
    let rows: Vec<Vec<String>> = result
        .plugins
        .iter()
        .map(|p| {
            let n_context = result.connectors.iter().filter(|c| c.plugin == p.name && c.is_context()).count();
            let context = match n_context {
                0 => String::new(),
                n => format!(", {}", count(n, "context record")),
            };
            vec![
                p.name.clone(),
                printable(p.version.as_deref().unwrap_or("-")),
                p.status.clone(),
                format!(
                    "{}{context}, {}, {} ms",
                    count(p.connectors.saturating_sub(n_context), "connector"),
                    count(p.findings, "finding"),
                    p.duration_ms
                ),
                printable(p.error.as_deref().unwrap_or_default()),
            ]
        })
        .collect();
    grid(&mut out, &["NAME", "VERSION", "STATUS", "REPORTED", "ERROR"], &rows);
    for p in &result.plugins {
        for w in &p.warnings {
            let _ = writeln!(out, "warning: {}: {}", p.name, printable(w));
        }
    }
    let _ = writeln!(out, "\n{}", summary(result));
    out
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

    #[test]
    fn the_table_prints_no_control_characters() {
        let out = render(&hostile(), Format::Table, false).unwrap();
        assert!(!out.contains('\u{1b}') && !out.contains('\r') && !out.contains('\u{7}'), "{out:?}");
        assert!(!out.lines().any(|l| l.starts_with("FORGED")), "{out}");
    }

    #[test]
    fn ocsf_is_one_finding_per_line_in_the_shared_shape() {
        let out = render(&hostile(), Format::Ocsf, false).unwrap();
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
        let out = render(&hostile(), Format::Csv, false).unwrap();
        assert!(out.contains("'=cmd|"), "{out}");
    }
}
