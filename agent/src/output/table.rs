//! The scan as people read it in a terminal or an RMM's log: the summary
//! first, the findings grouped by check (worst first, each fix once), the
//! register, then the plugins; fitted to the width unless `--wide`.

use super::fit::{self, cut, Column};
use super::{paint, summary};
use crate::register::{FindingEntry, ScanResult};
use console::measure_text_width as width;
use plumbline_protocol::cells::printable;
use plumbline_protocol::wording::count;
use std::fmt::Write as _;

/// Where the text of a finding starts under its check's line.
const INDENT: &str = "    ";

/// The findings of one check at one severity.
struct Group<'a> {
    findings: Vec<&'a FindingEntry>,
}

impl Group<'_> {
    fn first(&self) -> &FindingEntry {
        self.findings[0]
    }

    /// The fix, when every finding of the check has the same one.
    fn shared_fix(&self) -> Option<&str> {
        let fix = self.first().remediation.as_str();
        (!fix.is_empty() && self.findings.iter().all(|f| f.remediation == fix)).then_some(fix)
    }
}

/// Worst first; among equals, the check that hits most connectors.
fn groups(findings: &[FindingEntry]) -> Vec<Group<'_>> {
    let mut groups: Vec<Group> = Vec::new();
    for f in findings {
        match groups.iter_mut().find(|g| g.first().check_id == f.check_id && g.first().severity == f.severity) {
            Some(g) => g.findings.push(f),
            None => groups.push(Group { findings: vec![f] }),
        }
    }
    groups.sort_by(|a, b| {
        (b.first().severity, b.findings.len(), &a.first().check_id).cmp(&(a.first().severity, a.findings.len(), &b.first().check_id))
    });
    groups
}

/// `text` wrapped under `lead` (`fix: `), the next lines aligned with it.
fn wrapped(out: &mut String, lead: &str, text: &str, total: Option<usize>) {
    let text = printable(text);
    let Some(total) = total else {
        let _ = writeln!(out, "{lead}{text}");
        return;
    };
    let hang = " ".repeat(width(lead));
    for (i, line) in fit::wrap(&text, total.saturating_sub(width(lead)).max(20)).iter().enumerate() {
        let _ = writeln!(out, "{}{line}", if i == 0 { lead } else { &hang });
    }
}

/// `- TITLE  KEY` on one line when it fits; else the title wrapped and the
/// key under it, so that neither loses what says which connector it is.
fn finding(out: &mut String, f: &FindingEntry, lead: &str, total: Option<usize>) {
    let (title, key) = (printable(&f.title), printable(&f.connector_key));
    let line = format!("{lead}{title}  {key}");
    match total {
        Some(total) if width(&line) > total => {
            wrapped(out, lead, &title, Some(total));
            let hang = " ".repeat(width(lead));
            let _ = writeln!(out, "{hang}{}", cut(&key, total.saturating_sub(width(lead))));
        }
        _ => {
            let _ = writeln!(out, "{line}");
        }
    }
}

fn findings(out: &mut String, result: &ScanResult, color: bool, total: Option<usize>) {
    let groups = groups(&result.findings);
    let _ = writeln!(
        out,
        "\nFindings by check, worst first: {} under {}",
        count(result.findings.len(), "finding"),
        count(groups.len(), "check")
    );
    for g in &groups {
        let f = g.first();
        let sev = paint(&format!("{:<8}", f.severity.as_str().to_uppercase()), f.severity, color);
        let _ = writeln!(out, "{sev}  {}  ({})", printable(&f.check_id), count(g.findings.len(), "connector"));
        let shared = g.shared_fix();
        if let Some(fix) = shared {
            wrapped(out, &format!("{INDENT}fix: "), fix, total);
        }
        for f in &g.findings {
            finding(out, f, &format!("{INDENT}- "), total);
            if shared.is_none() && !f.remediation.is_empty() {
                wrapped(out, &format!("{INDENT}  fix: "), &f.remediation, total);
            }
        }
    }
}

fn register(out: &mut String, result: &ScanResult, total: Option<usize>) {
    // The key goes first: the findings above name each connector's key.
    let columns = [
        Column { header: "CATEGORY", min: None, drop: None },
        Column { header: "NAME", min: Some(30), drop: None },
        Column { header: "SCOPE", min: Some(14), drop: Some(4) },
        Column { header: "OWNER", min: Some(14), drop: Some(5) },
        Column { header: "MIGRATION", min: None, drop: Some(3) },
        Column { header: "LAST CHANGE", min: None, drop: Some(2) },
        Column { header: "KEY", min: Some(20), drop: Some(1) },
    ];
    let (connectors, context): (Vec<_>, Vec<_>) = result.connectors.iter().partition(|c| !c.is_context());
    let rows: Vec<Vec<String>> = connectors
        .iter()
        .map(|c| {
            [
                c.category.as_str(),
                &c.name,
                &c.scope,
                c.owner.as_deref().unwrap_or("-"),
                c.migration_state.as_deref().unwrap_or("-"),
                c.last_change.as_deref().unwrap_or("-"),
                &c.key,
            ]
            .map(printable)
            .to_vec()
        })
        .collect();
    let _ = writeln!(out, "\nConnector register: {}", count(connectors.len(), "connector"));
    fit::grid(out, &columns, &rows, total);
    if context.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nContext records, scanned around the connectors and not counted as connectors: {}", context.len());
    let columns = [
        Column { header: "NAME", min: Some(30), drop: None },
        Column { header: "SCOPE", min: Some(14), drop: Some(1) },
        Column { header: "KEY", min: Some(20), drop: None },
    ];
    let rows: Vec<Vec<String>> = context.iter().map(|c| [c.name.as_str(), &c.scope, &c.key].map(printable).to_vec()).collect();
    fit::grid(out, &columns, &rows, total);
}

fn plugins(out: &mut String, result: &ScanResult, total: Option<usize>) {
    let _ = writeln!(out, "\nPlugins:");
    let columns = [
        Column { header: "NAME", min: None, drop: None },
        Column { header: "VERSION", min: Some(8), drop: Some(1) },
        Column { header: "STATUS", min: None, drop: None },
        Column { header: "REPORTED", min: Some(30), drop: None },
    ];
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
                printable(&p.name),
                printable(p.version.as_deref().unwrap_or("-")),
                p.status.clone(),
                format!(
                    "{}{context}, {}, {} ms",
                    count(p.connectors.saturating_sub(n_context), "connector"),
                    count(p.findings, "finding"),
                    p.duration_ms
                ),
            ]
        })
        .collect();
    fit::grid(out, &columns, &rows, total);
    // Errors and warnings are read whole: each says what to do.
    for p in &result.plugins {
        if let Some(e) = p.error.as_deref().filter(|e| !e.is_empty()) {
            wrapped(out, &format!("error: {}: ", printable(&p.name)), e, total);
        }
        for w in &p.warnings {
            wrapped(out, &format!("warning: {}: ", printable(&p.name)), w, total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(findings: &[(&str, &str, &str, &str)]) -> ScanResult {
        let findings: Vec<serde_json::Value> = findings
            .iter()
            .map(|(check, severity, key, fix)| {
                serde_json::json!({"id": format!("{check}{key}"), "check_id": check, "connector_key": key,
                    "severity": severity, "title": format!("{check} on {key}"), "detail": "d", "remediation": fix,
                    "evidence": {}, "plugin": "p"})
            })
            .collect();
        serde_json::from_value(serde_json::json!({"tenant_id": "t", "site_id": "s", "started_at": "a",
            "finished_at": "b", "plugins": [], "connectors": [], "findings": findings}))
        .unwrap()
    }

    #[test]
    fn a_check_says_its_fix_once_when_every_connector_shares_it() {
        let same = scan(&[("c.legacy", "high", "k1", "Move it."), ("c.legacy", "high", "k2", "Move it."), ("c.open", "critical", "k3", "Close it.")]);
        let out = render(&same, false, Some(100));
        assert_eq!(out.matches("fix: Move it.").count(), 1, "{out}");
        let critical = out.find("CRITICAL  c.open  (1 connector)").unwrap();
        let high = out.find("HIGH      c.legacy  (2 connectors)").unwrap();
        assert!(critical < high, "worst first: {out}");
        assert!(out.contains("- c.legacy on k1  k1") && out.contains("- c.legacy on k2  k2"), "{out}");
        let differ = scan(&[("c.file", "high", "k1", "Edit a.ps1."), ("c.file", "high", "k2", "Edit b.ps1.")]);
        let out = render(&differ, false, Some(100));
        assert!(out.contains("  fix: Edit a.ps1.") && out.contains("  fix: Edit b.ps1."), "each its own: {out}");
    }
}

/// The whole table; `total` is the width to fit, `None` for `--wide`.
pub fn render(result: &ScanResult, color: bool, total: Option<usize>) -> String {
    let mut out = String::new();
    // First for whoever reads from the top, fitted; and last (below), on
    // one line however long, for the RMM consoles that show only a
    // script's last line.
    wrapped(&mut out, "", &summary(result), total);
    let scanned = format!(
        "tenant {}, site {}, scanned {} .. {}",
        printable(&result.tenant_id),
        printable(&result.site_id),
        result.started_at,
        result.finished_at
    );
    wrapped(&mut out, "", &scanned, total);
    findings(&mut out, result, color, total);
    register(&mut out, result, total);
    plugins(&mut out, result, total);
    let _ = writeln!(out, "\n{}", summary(result));
    out
}
