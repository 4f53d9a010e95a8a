//! The boundary: WIT values from a plugin into the agent's register types,
//! with the report caps enforced. Nothing outside `runtime` sees WIT types.

use super::limits;
use super::wit::latest::{Category, PluginInfo, Report, ScanError, Severity as WitSeverity};
use super::{Description, PluginReport};
use crate::capabilities::Declared;
use crate::register::{finding_id, ConnectorEntry, FindingEntry, Severity};
use std::collections::{BTreeMap, BTreeSet};

/// Longest plugin name: it appears in file names, traces and config keys.
const MAX_PLUGIN_NAME: usize = 64;

pub(super) fn description(info: PluginInfo) -> Result<Description, String> {
    let name_ok = !info.name.is_empty()
        && info.name.len() <= MAX_PLUGIN_NAME
        && info
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !name_ok {
        return Err(format!(
            "describe() returned the name {:?}; names are 1-{MAX_PLUGIN_NAME} characters of a-z, 0-9 and '-'",
            info.name.chars().take(80).collect::<String>()
        ));
    }
    Ok(Description {
        name: info.name,
        version: info.version,
        description: info.description,
        categories: info.categories.into_iter().map(category_name).map(String::from).collect(),
        declared: Declared {
            http_hosts: info.capabilities.http_hosts,
            tcp_targets: info
                .capabilities
                .tcp_targets
                .into_iter()
                .map(|t| (t.host, t.ports))
                .collect(),
            file_dirs: info.capabilities.file_dirs,
        },
    })
}

pub(super) fn category_name(c: Category) -> &'static str {
    match c {
        Category::TeamsConnector => "teams-connector",
        Category::IncomingWebhook => "incoming-webhook",
        Category::Workflow => "workflow",
        Category::PowerAutomateFlow => "power-automate-flow",
        Category::ExchangeConnector => "exchange-connector",
        Category::SmtpRelay => "smtp-relay",
        Category::WebhookReference => "webhook-reference",
    }
}

fn severity(s: WitSeverity) -> Severity {
    match s {
        WitSeverity::Info => Severity::Info,
        WitSeverity::Low => Severity::Low,
        WitSeverity::Medium => Severity::Medium,
        WitSeverity::High => Severity::High,
        WitSeverity::Critical => Severity::Critical,
    }
}

pub(super) fn scan_error(e: ScanError) -> (&'static str, String) {
    match e {
        ScanError::Config(m) => ("config", m),
        ScanError::Denied(m) => ("denied", m),
        ScanError::Malformed(m) => ("malformed", m),
        ScanError::Upstream(m) => ("upstream", m),
        ScanError::Other(m) => ("other", m),
    }
}

/// Convert and check a report. `Err` when it breaks the size caps.
pub(super) fn convert(tenant_id: &str, plugin: &str, report: Report) -> Result<PluginReport, String> {
    let items = report.connectors.len() + report.findings.len();
    if items > limits::MAX_REPORT_ITEMS {
        return Err(format!(
            "{} connectors and {} findings; the limit is {} items in all",
            report.connectors.len(),
            report.findings.len(),
            limits::MAX_REPORT_ITEMS
        ));
    }
    let mut warnings = Vec::new();
    let mut seen = BTreeSet::new();
    let mut connectors = Vec::with_capacity(report.connectors.len());
    for c in report.connectors {
        if !seen.insert(c.key.clone()) {
            warnings.push(format!("duplicate connector key {:?}; kept the first", c.key));
            continue;
        }
        connectors.push(ConnectorEntry {
            key: c.key,
            category: category_name(c.category).to_string(),
            name: c.name,
            scope: c.scope,
            owner: c.owner,
            co_owners: c.co_owners,
            purpose: c.purpose,
            auth_type: c.auth_type,
            migration_state: c.migration_state,
            created: c.created,
            last_change: c.changed,
            attributes: c.attributes.into_iter().map(|a| (a.name, a.value)).collect::<BTreeMap<_, _>>(),
            plugin: plugin.to_string(),
        });
    }
    let mut findings = Vec::with_capacity(report.findings.len());
    let mut seen_findings = BTreeSet::new();
    for f in report.findings {
        if !seen.contains(&f.connector_key) {
            warnings.push(format!(
                "finding {} names connector {:?}, which the report does not contain",
                f.check_id, f.connector_key
            ));
        }
        let id = finding_id(tenant_id, &f.check_id, &f.connector_key);
        if !seen_findings.insert(id.clone()) {
            warnings.push(format!("duplicate finding {} on {:?}; kept the first", f.check_id, f.connector_key));
            continue;
        }
        findings.push(FindingEntry {
            id,
            check_id: f.check_id,
            connector_key: f.connector_key,
            severity: severity(f.severity),
            title: f.title,
            detail: f.detail,
            remediation: f.remediation,
            evidence: f.evidence.into_iter().map(|a| (a.name, a.value)).collect(),
            plugin: plugin.to_string(),
        });
    }
    let size = serde_json::to_vec(&(&connectors, &findings)).map(|v| v.len()).unwrap_or(usize::MAX);
    if size > limits::MAX_REPORT_BYTES {
        return Err(format!(
            "{size} bytes as JSON; the limit is {} bytes",
            limits::MAX_REPORT_BYTES
        ));
    }
    Ok(PluginReport { connectors, findings, warnings })
}
