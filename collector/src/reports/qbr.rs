//! The client's quarterly business review: what was reviewed, migrated,
//! confirmed and removed in the period, what changed, what the client has
//! to decide, and next quarter's risks, counted from the register.

use super::brand::Brand;
use super::ReportError;
use crate::register::{FLOW_CATEGORIES, LEGACY_TEAMS_CATEGORIES};
use crate::register::RESOLVED;
use crate::store::console::{AuditRecord, ReviewedChange};
use crate::store::TenantRecord;
use askama::Template;
use plumbline_protocol::read_api::{ChangeRecord, FindingRecord, RegisterView};
use plumbline_protocol::register::Severity;
use std::collections::{BTreeSet, HashMap};
use time::macros::format_description;

/// The period: whole days, both ends included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    /// First day, `YYYY-MM-DD`.
    pub from: String,
    /// Last day, `YYYY-MM-DD`.
    pub to: String,
}

impl Period {
    /// Check `from <= to`, both dates.
    pub fn new(from: &str, to: &str) -> Result<Period, ReportError> {
        let f = format_description!("[year]-[month]-[day]");
        let parse = |name: &str, v: &str| {
            time::Date::parse(v.trim(), f)
                .map_err(|_| ReportError::Period(format!("--{name} {v:?}: give a date as YYYY-MM-DD, e.g. 2026-10-01")))
        };
        let (a, b) = (parse("from", from)?, parse("to", to)?);
        if a > b {
            return Err(ReportError::Period(format!("the period ends ({to}) before it starts ({from})")));
        }
        Ok(Period { from: from.trim().into(), to: to.trim().into() })
    }

    /// The first instant, RFC 3339 as stored.
    pub fn start(&self) -> String {
        format!("{}T00:00:00.000000Z", self.from)
    }

    /// The instant after the last day.
    pub fn end(&self) -> String {
        let f = format_description!("[year]-[month]-[day]");
        let next = time::Date::parse(&self.to, f).ok().and_then(|d| d.next_day()).and_then(|d| d.format(f).ok());
        format!("{}T00:00:00.000000Z", next.unwrap_or_else(|| "9999-12-31".into()))
    }

    /// Does the time or date `at` fall inside?
    pub fn contains(&self, at: &str) -> bool {
        let day = at.get(..10).unwrap_or(at);
        day >= self.from.as_str() && day <= self.to.as_str()
    }
}

/// What the report is made from.
pub struct Input {
    /// The register now.
    pub register: RegisterView,
    /// Every finding, resolved ones too.
    pub findings: Vec<FindingRecord>,
    /// The history, newest first.
    pub changes: Vec<ChangeRecord>,
    /// Review decisions.
    pub decided: Vec<ReviewedChange>,
    /// The audit trail of the period.
    pub audit: Vec<AuditRecord>,
}

/// One headline figure.
pub struct Figure {
    /// The count.
    pub value: usize,
    /// Out of how many, when that means something.
    pub of: Option<usize>,
    /// What it counts, in words for a client.
    pub words: &'static str,
}

/// One line of a list.
pub struct Line {
    /// The connector.
    pub name: String,
    /// Its category.
    pub category: String,
    /// What about it.
    pub what: String,
}

/// The report's model: one tenant's section under the MSP's branding.
#[derive(Template)]
#[template(path = "qbr.html")]
pub struct Qbr {
    /// Branding.
    pub brand: Brand,
    /// When made.
    pub generated: String,
    /// The tenant's part, which the fleet report repeats per tenant.
    pub section: Section,
}

/// One tenant's review for the period.
pub struct Section {
    /// The tenant's id.
    pub tenant_id: String,
    /// The client.
    pub tenant_name: String,
    /// The period.
    pub period: Period,
    /// The headline figures.
    pub figures: Vec<Figure>,
    /// Connectors first seen in the period.
    pub new: Vec<Line>,
    /// Findings resolved in the period.
    pub fixed: Vec<Line>,
    /// Findings still open, worst first.
    pub still_open: Vec<Line>,
    /// Findings accepted as risks, until their expiry.
    pub accepted: Vec<Line>,
    /// What the client has to decide.
    pub decisions: Vec<Line>,
    /// Next quarter's risks.
    pub risks: Vec<String>,
    /// Critical findings open (not accepted), for the fleet summary.
    pub open_critical: usize,
    /// High findings open (not accepted).
    pub open_high: usize,
}

fn migrated_to_disabled(a: &AuditRecord) -> bool {
    let status = |s: &Option<String>| -> Option<String> {
        let v: serde_json::Value = serde_json::from_str(s.as_deref()?).ok()?;
        v.get("migration_status")?.as_str().map(String::from)
    };
    a.action == "annotate"
        && status(&a.after).as_deref() == Some("old-disabled")
        && status(&a.before).as_deref() != Some("old-disabled")
}

/// Count everything for the period.
pub fn build(tenant: &TenantRecord, input: &Input, period: &Period, brand: &Brand, today: &str) -> Qbr {
    Qbr { brand: brand.clone(), generated: today.to_string(), section: section(tenant, input, period, today) }
}

/// One tenant's section, counted for the period.
pub fn section(tenant: &TenantRecord, input: &Input, period: &Period, today: &str) -> Section {
    let contexts: BTreeSet<&str> =
        input.register.connectors.iter().filter(|c| c.entry.is_context()).map(|c| c.entry.key.as_str()).collect();
    let connectors: HashMap<&str, (&str, &str)> = input
        .register
        .connectors
        .iter()
        .map(|c| (c.entry.key.as_str(), (c.entry.name.as_str(), c.entry.category.as_str())))
        .collect();
    let name_of = |key: &str| connectors.get(key).map(|(n, _)| n.to_string()).unwrap_or_else(|| key.to_string());
    let category_of = |key: &str| connectors.get(key).map(|(_, c)| c.to_string()).unwrap_or_default();
    // Context records (the Exchange organisation, a flow environment, the
    // Teams tenant, a file search) are no connectors: no figure counts them.
    // Their findings still count, as open findings and decisions.
    let is_context = |key: &str| contexts.contains(key);
    let counted: Vec<_> = input.register.connectors.iter().filter(|c| !c.entry.is_context()).collect();
    let present: Vec<_> = counted.iter().copied().filter(|c| c.status == "present").collect();
    let is_legacy = |cat: &str| LEGACY_TEAMS_CATEGORIES.contains(&cat);

    let decided_in: Vec<&ReviewedChange> =
        input.decided.iter().filter(|d| d.decision.as_ref().is_some_and(|x| period.contains(&x.at))).collect();
    let mut reviewed: BTreeSet<&str> = decided_in.iter().map(|d| d.change.connector_key.as_str()).collect();
    reviewed.retain(|k| !is_context(k));
    for c in &counted {
        if c.annotations.last_reviewed.as_deref().is_some_and(|d| period.contains(d)) {
            reviewed.insert(c.entry.key.as_str());
        }
    }
    let exchange_reviewed: BTreeSet<&str> = decided_in
        .iter()
        .map(|d| d.change.connector_key.as_str())
        .filter(|k| category_of(k) == "exchange-connector" && !is_context(k))
        .collect();
    let migrated: BTreeSet<&str> = input
        .audit
        .iter()
        .filter(|a| migrated_to_disabled(a))
        .filter_map(|a| a.connector_key.as_deref())
        .filter(|k| is_legacy(&category_of(k)) && !is_context(k))
        .collect();
    let legacy_total = counted.iter().filter(|c| is_legacy(&c.entry.category)).count();
    let owned = present.iter().filter(|c| c.effective.owner.is_some() && !c.effective.co_owners.is_empty()).count();
    let in_period = |c: &&ChangeRecord| period.contains(&c.at);
    let removed = input
        .changes
        .iter()
        .filter(in_period)
        .filter(|c| c.kind == "disappeared" && !is_context(&c.connector_key))
        .count();
    let exchange_total = present.iter().filter(|c| c.entry.category == "exchange-connector").count();

    let open: Vec<&FindingRecord> =
        input.register.open_findings.iter().filter(|f| f.status != crate::register::view::ACCEPTED).collect();
    let accepted: Vec<Line> = input
        .register
        .open_findings
        .iter()
        .filter(|f| f.status == crate::register::view::ACCEPTED)
        .map(|f| Line { name: name_of(&f.entry.connector_key), category: f.entry.severity.as_str().into(), what: f.entry.title.clone() })
        .collect();
    let decisions: Vec<Line> = input
        .register
        .connectors
        .iter()
        .filter(|c| c.status == "present" && c.annotations.client_decision.is_none())
        .filter_map(|c| {
            let worst = open.iter().filter(|f| f.entry.connector_key == c.entry.key).map(|f| f.entry.severity).max()?;
            (worst >= Severity::High).then(|| Line {
                name: c.entry.name.clone(),
                category: c.entry.category.clone(),
                what: if c.entry.is_context() {
                    format!("{} finding open on this setting; fix it or accept the risk?", worst.as_str())
                } else {
                    format!("{} finding open; keep, fix or retire it?", worst.as_str())
                },
            })
        })
        .collect();

    let figures = vec![
        Figure { value: reviewed.len(), of: None, words: "connector-backed workflows reviewed" },
        Figure { value: migrated.len(), of: Some(legacy_total), words: "connectors migrated from legacy Teams connectors" },
        Figure { value: owned, of: Some(present.len()), words: "connectors with an owner and a co-owner confirmed" },
        Figure { value: exchange_reviewed.len(), of: Some(exchange_total), words: "Exchange mail connectors reviewed" },
        Figure { value: removed, of: None, words: "stale connectors removed or disabled" },
        Figure { value: decisions.len(), of: None, words: "decisions open for you" },
    ];
    let new = input
        .changes
        .iter()
        .filter(in_period)
        .filter(|c| c.kind == "created" && !is_context(&c.connector_key))
        .map(|c| Line { name: name_of(&c.connector_key), category: category_of(&c.connector_key), what: format!("first seen {}", &c.at[..10.min(c.at.len())]) })
        .collect();
    let fixed = input
        .findings
        .iter()
        .filter(|f| f.status == RESOLVED && f.resolved_at.as_deref().is_some_and(|at| period.contains(at)))
        .map(|f| Line {
            name: name_of(&f.entry.connector_key),
            category: f.entry.severity.as_str().into(),
            what: f.entry.title.clone(),
        })
        .collect();
    let still_open = open
        .iter()
        .map(|f| Line { name: name_of(&f.entry.connector_key), category: f.entry.severity.as_str().into(), what: f.entry.title.clone() })
        .collect();

    let mut risks = Vec::new();
    let critical = open.iter().filter(|f| f.entry.severity == Severity::Critical).count();
    let high = open.iter().filter(|f| f.entry.severity == Severity::High).count();
    if critical + high > 0 {
        risks.push(format!("{critical} critical and {high} high findings are still open."));
    }
    let legacy_left = present
        .iter()
        .filter(|c| is_legacy(&c.entry.category))
        .filter(|c| !matches!(c.annotations.migration_status.as_deref(), Some("old-disabled" | "exception-approved")))
        .count();
    if legacy_left > 0 {
        risks.push(format!(
            "{legacy_left} legacy Teams connector(s) or Incoming Webhook(s) are not yet replaced: Microsoft has retired them, and alerts sent to them are lost without a sound."
        ));
    }
    let single = present
        .iter()
        .filter(|c| FLOW_CATEGORIES.contains(&c.entry.category.as_str()) && c.effective.co_owners.is_empty())
        .count();
    if single > 0 {
        risks.push(format!("{single} flow(s) have one owner or none: they stop when that person leaves."));
    }
    let horizon = crate::register::table::add_days(today, 90).unwrap_or_else(|| today.to_string());
    let due_soon = present.iter().filter(|c| crate::register::table::row(c, &[], &horizon).review_overdue).count();
    if due_soon > 0 {
        risks.push(format!("{due_soon} connector review(s) fall due in the next 90 days or are overdue."));
    }
    if risks.is_empty() {
        risks.push("No open risk was found in the register.".into());
    }

    Section {
        tenant_id: tenant.id.clone(),
        tenant_name: tenant.name.clone(),
        period: period.clone(),
        figures,
        new,
        fixed,
        still_open,
        accepted,
        decisions,
        risks,
        open_critical: critical,
        open_high: high,
    }
}

/// The report as one self-contained HTML file.
pub fn render(model: &Qbr) -> Result<String, askama::Error> {
    model.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_whole_days() {
        let p = Period::new("2026-10-01", "2026-12-31").unwrap();
        assert_eq!((p.start().as_str(), p.end().as_str()), ("2026-10-01T00:00:00.000000Z", "2027-01-01T00:00:00.000000Z"));
        assert!(p.contains("2026-12-31T23:59:59.000000Z") && !p.contains("2027-01-01T00:00:00Z"));
        assert!(Period::new("2026-12-31", "2026-10-01").unwrap_err().to_string().contains("before it starts"));
        assert!(Period::new("last quarter", "2026-10-01").unwrap_err().to_string().contains("YYYY-MM-DD"));
    }
}
