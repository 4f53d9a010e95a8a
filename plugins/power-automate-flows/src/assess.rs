//! From what was read to the report: register entries and findings, kept
//! within what the host accepts from one plugin.

use crate::checks::flow_checks;
use crate::inventory::Inventory;
use crate::register::{environment_record, flow_key, flow_record};
use plumbline_plugin_sdk::{ConnectorRecord, Finding, Report, Severity};
use std::collections::BTreeSet;

/// How much register (as the host serialises it) this plugin hands over at
/// most, given the host's `max_report_bytes` (`host::limits()`): a sixteenth
/// less, room for what the estimate cannot know (30 MiB of 32).
pub fn report_budget(max_report_bytes: u64) -> usize {
    let max = usize::try_from(max_report_bytes).unwrap_or(usize::MAX);
    max - max / 16
}

/// [`report_budget`] of the host's limit as this version was built against,
/// for native tests, which have no host to ask.
pub const REPORT_BUDGET_BYTES: usize = 30 * 1024 * 1024;

/// What [`assess`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Flows read.
    pub flows: usize,
    /// Flows in the register.
    pub kept: usize,
    /// Estimated size of the report as the host serialises it.
    pub bytes: usize,
}

struct Candidate {
    env: usize,
    record: ConnectorRecord,
    findings: Vec<Finding>,
    worst: Option<Severity>,
    bytes: usize,
}

/// Build the register and findings for `inv`, within `budget` bytes.
///
/// When everything does not fit, flows with findings are kept first (worst
/// severity first), then the rest in key order; each environment's entry
/// says how many of its flows were kept. Deterministic: connectors sorted
/// by key, findings by connector key, then check id.
pub fn assess(inv: &Inventory, plugin: &str, budget: usize) -> (Report, Outcome) {
    let users = inv.users.as_ref();
    let mut seen = BTreeSet::new();
    let mut candidates = Vec::new();
    for (ei, e) in inv.environments.iter().enumerate() {
        for f in &e.flows {
            let key = flow_key(&e.env.name, &f.flow.name);
            if !seen.insert(key.clone()) {
                // The same flow listed twice (pages shifting under a listing).
                continue;
            }
            let record = flow_record(&key, f, e.env.display(), users);
            let mut findings = Vec::new();
            flow_checks(&key, f, e.env.display(), users, &mut findings);
            let bytes = record_bytes(&record, plugin) + findings.iter().map(|x| finding_bytes(x, plugin)).sum::<usize>();
            let worst = findings.iter().map(|x| x.severity).max_by_key(|s| severity_rank(*s));
            candidates.push(Candidate { env: ei, record, findings, worst, bytes });
        }
    }
    let flows = candidates.len();
    let total: usize = candidates.iter().map(|c| c.bytes).sum();
    let env_reserve: usize = inv.environments.len() * 1024;
    let mut kept_per_env = vec![0usize; inv.environments.len()];
    let mut report = Report::empty();
    let mut used = env_reserve;
    if env_reserve + total <= budget {
        used += total;
        for c in candidates {
            kept_per_env[c.env] += 1;
            report.connectors.push(c.record);
            report.findings.extend(c.findings);
        }
    } else {
        candidates.sort_by(|a, b| {
            let ra = a.worst.map_or(0, severity_rank);
            let rb = b.worst.map_or(0, severity_rank);
            rb.cmp(&ra).then_with(|| a.record.key.cmp(&b.record.key))
        });
        for c in candidates {
            if used + c.bytes > budget {
                continue;
            }
            used += c.bytes;
            kept_per_env[c.env] += 1;
            report.connectors.push(c.record);
            report.findings.extend(c.findings);
        }
    }
    let kept = kept_per_env.iter().sum();
    for (e, kept) in inv.environments.iter().zip(kept_per_env) {
        report.connectors.push(environment_record(e, kept));
    }
    report.connectors.sort_by(|a, b| a.key.cmp(&b.key));
    report
        .findings
        .sort_by(|a, b| (&a.connector_key, &a.check_id).cmp(&(&b.connector_key, &b.check_id)));
    (report, Outcome { flows, kept, bytes: used })
}

fn severity_rank(s: Severity) -> u8 {
    match s {
        Severity::Info => 1,
        Severity::Low => 2,
        Severity::Medium => 3,
        Severity::High => 4,
        Severity::Critical => 5,
    }
}

/// Length of a JSON string literal, counting every escape at its longest.
fn js(s: &str) -> usize {
    2 + s.len() + s.chars().filter(|c| matches!(c, '"' | '\\') || (*c as u32) < 0x20).count() * 5
}

fn js_opt(s: &Option<String>) -> usize {
    s.as_ref().map_or(4, |s| js(s))
}

/// `"name":value,` for each key.
fn keys(names: &[&str]) -> usize {
    names.iter().map(|n| js(n) + 2).sum::<usize>() + 2
}

fn map_bytes<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> usize {
    2 + pairs.map(|(k, v)| js(k) + js(v) + 2).sum::<usize>()
}

/// Estimated size of a register entry as the host serialises it.
pub fn record_bytes(r: &ConnectorRecord, plugin: &str) -> usize {
    keys(&[
        "key", "category", "name", "scope", "owner", "co_owners", "purpose", "auth_type", "migration_state",
        "created", "last_change", "attributes", "plugin",
    ]) + js(&r.key)
        + js("power-automate-flow")
        + js(&r.name)
        + js(&r.scope)
        + js_opt(&r.owner)
        + 2
        + r.co_owners.iter().map(|c| js(c) + 1).sum::<usize>()
        + js_opt(&r.purpose)
        + js_opt(&r.auth_type)
        + js_opt(&r.migration_state)
        + js_opt(&r.created)
        + js_opt(&r.changed)
        + map_bytes(r.attributes.iter().map(|a| (a.name.as_str(), a.value.as_str())))
        + js(plugin)
}

/// Estimated size of a finding as the host serialises it (with its
/// 64-hex-digit id).
pub fn finding_bytes(f: &Finding, plugin: &str) -> usize {
    keys(&[
        "id", "check_id", "connector_key", "severity", "title", "detail", "remediation", "evidence", "plugin",
    ]) + 66
        + js(&f.check_id)
        + js(&f.connector_key)
        + js("critical")
        + js(&f.title)
        + js(&f.detail)
        + js(&f.remediation)
        + map_bytes(f.evidence.iter().map(|a| (a.name.as_str(), a.value.as_str())))
        + js(plugin)
}
