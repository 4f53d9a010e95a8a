//! The boundary: WIT values from a plugin into the agent's register types,
//! with the report caps enforced. Nothing outside `runtime` sees WIT types.

use super::limits;
use super::wit::latest::{Attribute, Category, PluginInfo, Report, ScanError, Severity as WitSeverity};
use super::{declarations, Description, PluginReport};
use crate::capabilities::Declared;
use crate::register::{finding_id, qualified_key, ConnectorEntry, FindingEntry, Severity};
use plumbline_protocol::register::{reserved_attribute_ok, CONTEXT_RECORD, RECORD_ATTRIBUTE, RESERVED_ATTRIBUTE_PREFIX};
use plumbline_protocol::cells::bounded;
use std::collections::{BTreeMap, BTreeSet};

/// Longest plugin name: it appears in file names, traces and config keys.
const MAX_PLUGIN_NAME: usize = 64;

pub(super) fn description(info: PluginInfo, contract: &'static str) -> Result<Description, String> {
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
    let version_ok = !info.version.is_empty()
        && info.version.len() <= limits::MAX_VERSION_CHARS
        && info.version.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'));
    if !version_ok {
        return Err(format!(
            "describe() returned the version {:?}; versions are 1-{} characters of A-Z, a-z, 0-9, '.', '-' and '+', e.g. \"1.2.0\"",
            bounded(&info.version, 80),
            limits::MAX_VERSION_CHARS
        ));
    }
    Ok(Description {
        name: info.name,
        version: info.version,
        description: bounded(&info.description, limits::MAX_DESCRIPTION_CHARS),
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
        contract,
        settings: declarations::settings(info.settings)?,
        permissions: declarations::permissions(info.required_permissions)?,
        watch: declarations::watch(info.watch)?,
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

/// A scan error's kind and message, the message capped.
pub(super) fn scan_error(e: ScanError) -> (&'static str, String) {
    let (kind, m) = match e {
        ScanError::Config(m) => ("config", m),
        ScanError::Denied(m) => ("denied", m),
        ScanError::Malformed(m) => ("malformed", m),
        ScanError::Upstream(m) => ("upstream", m),
        ScanError::Other(m) => ("other", m),
    };
    (kind, bounded(&m, limits::MAX_GUEST_ERROR_CHARS))
}

/// Guest keys quoted in a warning: enough to find the record.
const WARNING_KEY_CHARS: usize = 120;

/// Conversion warnings, bounded in number and in the guest text they quote.
#[derive(Default)]
struct Warnings {
    kept: Vec<String>,
    more: usize,
}

impl Warnings {
    fn push(&mut self, w: String) {
        if self.kept.len() < limits::MAX_REPORT_WARNINGS {
            self.kept.push(w);
        } else {
            self.more += 1;
        }
    }

    fn finish(mut self) -> Vec<String> {
        if self.more > 0 {
            self.kept.push(format!("{} more warnings like these were not kept", self.more));
        }
        self.kept
    }
}

fn key_text(key: &str) -> String {
    format!("{:?}", bounded(key, WARNING_KEY_CHARS))
}

/// A record's attributes, without the reserved names Plumbline does not
/// know: a plugin may mark a record as context, and nothing else under
/// `plumbline:`, so that no plugin can forge what the host or collector
/// would one day put there.
fn attributes(key: &str, attributes: Vec<Attribute>, warnings: &mut Warnings) -> BTreeMap<String, String> {
    let mut kept = BTreeMap::new();
    for a in attributes {
        if a.name.starts_with(RESERVED_ATTRIBUTE_PREFIX) && !reserved_attribute_ok(&a.name, &a.value) {
            warnings.push(format!(
                "connector {} has the attribute {} = {}; names under {RESERVED_ATTRIBUTE_PREFIX} are Plumbline's, and the \
                 only one a plugin may set is {RECORD_ATTRIBUTE} = {CONTEXT_RECORD:?}; it was dropped",
                key_text(key),
                key_text(&a.name),
                key_text(&a.value)
            ));
            continue;
        }
        kept.insert(a.name, a.value);
    }
    kept
}

/// Convert and check a report. `Err` when it breaks the size caps.
pub(super) fn convert(tenant_id: &str, desc: &Description, report: Report) -> Result<PluginReport, String> {
    let plugin = desc.name.as_str();
    let items = report.connectors.len() + report.findings.len();
    if items > limits::MAX_REPORT_ITEMS {
        return Err(format!(
            "{} connectors and {} findings; the limit is {} items in all",
            report.connectors.len(),
            report.findings.len(),
            limits::MAX_REPORT_ITEMS
        ));
    }
    let mut warnings = Warnings::default();
    let mut seen = BTreeSet::new();
    let mut refused = BTreeSet::new();
    let mut connectors = Vec::with_capacity(report.connectors.len());
    for c in report.connectors {
        // A plugin reports only what it declared it is about, so that it
        // cannot pass off, say, an Exchange connector and dodge its review.
        let category = category_name(c.category);
        if !desc.categories.iter().any(|d| d == category) {
            warnings.push(format!(
                "connector {} has category {category}, which the plugin did not declare in describe(); it was refused",
                key_text(&c.key)
            ));
            refused.insert(c.key);
            continue;
        }
        if !seen.insert(c.key.clone()) {
            warnings.push(format!("duplicate connector key {}; kept the first", key_text(&c.key)));
            continue;
        }
        connectors.push(ConnectorEntry {
            key: qualified_key(plugin, &c.key),
            category: category.to_string(),
            name: c.name,
            scope: c.scope,
            owner: c.owner,
            co_owners: c.co_owners,
            purpose: c.purpose,
            auth_type: c.auth_type,
            migration_state: c.migration_state,
            created: c.created,
            last_change: c.changed,
            attributes: attributes(&c.key, c.attributes, &mut warnings),
            plugin: plugin.to_string(),
        });
    }
    let mut findings = Vec::with_capacity(report.findings.len());
    let mut seen_findings = BTreeSet::new();
    for f in report.findings {
        if refused.contains(&f.connector_key) {
            continue;
        }
        if !seen.contains(&f.connector_key) {
            warnings.push(format!(
                "finding {} names connector {}, which the report does not contain",
                key_text(&f.check_id),
                key_text(&f.connector_key)
            ));
        }
        let connector_key = qualified_key(plugin, &f.connector_key);
        let id = finding_id(tenant_id, &f.check_id, &connector_key);
        if !seen_findings.insert(id.clone()) {
            warnings.push(format!(
                "duplicate finding {} on {}; kept the first",
                key_text(&f.check_id),
                key_text(&f.connector_key)
            ));
            continue;
        }
        findings.push(FindingEntry {
            id,
            check_id: f.check_id,
            connector_key,
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
    Ok(PluginReport { connectors, findings, warnings: warnings.finish() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::wit::latest::plumbline::plugin::types::{Capabilities, ConnectorRecord};

    fn info(version: &str, description: &str) -> PluginInfo {
        PluginInfo {
            name: "x".into(),
            version: version.into(),
            description: description.into(),
            categories: vec![Category::SmtpRelay],
            capabilities: Capabilities { http_hosts: vec![], tcp_targets: vec![], file_dirs: vec![] },
            settings: vec![],
            required_permissions: vec![],
            watch: vec![],
        }
    }

    fn description_of(info: PluginInfo) -> Result<Description, String> {
        description(info, "0.2.0")
    }

    #[test]
    fn versions_are_checked_and_descriptions_capped() {
        for bad in ["", "1.0\nFAKE level=error", &"9".repeat(65), "1.0 beta"] {
            let e = description_of(info(bad, "d")).unwrap_err();
            assert!(e.contains("e.g. \"1.2.0\"") && !e.contains('\n'), "{e}");
        }
        assert!(description_of(info("1.2.0-beta.1+b5", "d")).is_ok());
        let d = description_of(info("1.0.0", &"d".repeat(1 << 20))).unwrap();
        assert_eq!(d.description.chars().count(), limits::MAX_DESCRIPTION_CHARS + 1);
    }

    #[test]
    fn a_huge_error_is_capped() {
        let (kind, m) = scan_error(ScanError::Other("e".repeat(64 << 20)));
        assert_eq!(kind, "other");
        assert_eq!(m.chars().count(), limits::MAX_GUEST_ERROR_CHARS + 1);
    }

    fn record(key: String, category: Category) -> ConnectorRecord {
        ConnectorRecord {
            key,
            category,
            name: "n".into(),
            scope: String::new(),
            owner: None,
            co_owners: vec![],
            purpose: None,
            auth_type: None,
            migration_state: None,
            created: None,
            changed: None,
            attributes: vec![],
        }
    }

    #[test]
    fn undeclared_categories_are_refused_and_warnings_bounded() {
        let desc = description_of(info("1.0.0", "d")).unwrap();
        let mut connectors = vec![record("exchange:inbound:X".into(), Category::ExchangeConnector)];
        let long = "k".repeat(10_000);
        for _ in 0..500 {
            connectors.push(record(long.clone(), Category::SmtpRelay));
        }
        let out = convert("t", &desc, Report { connectors, findings: vec![] }).unwrap();
        assert_eq!(out.connectors.len(), 1, "one relay kept, the Exchange record refused");
        assert_eq!(out.connectors[0].category, "smtp-relay");
        assert_eq!(out.connectors[0].key, format!("x/{long}"), "keys are namespaced by plugin");
        assert!(out.warnings[0].contains("did not declare") && out.warnings[0].contains("exchange:inbound:X"));
        assert_eq!(out.warnings.len(), limits::MAX_REPORT_WARNINGS + 1);
        assert!(out.warnings.last().unwrap().contains("more warnings"));
        assert!(out.warnings.iter().all(|w| w.len() < 400), "guest keys are quoted bounded");
    }

    #[test]
    fn only_the_context_marker_passes_under_the_reserved_prefix() {
        let desc = description_of(info("1.0.0", "d")).unwrap();
        let attr = |name: &str, value: &str| Attribute { name: name.into(), value: value.into() };
        let mut context = record("relay:search".into(), Category::SmtpRelay);
        context.attributes = vec![attr(RECORD_ATTRIBUTE, CONTEXT_RECORD), attr("hosts", "3")];
        let mut forged = record("relay:a".into(), Category::SmtpRelay);
        forged.attributes = vec![attr(RECORD_ATTRIBUTE, "reviewed"), attr("plumbline:owner", "ceo@x"), attr("port", "25")];
        let out = convert("t", &desc, Report { connectors: vec![context, forged], findings: vec![] }).unwrap();
        let by_key = |k: &str| out.connectors.iter().find(|c| c.key == k).unwrap();
        assert!(by_key("x/relay:search").is_context());
        assert_eq!(by_key("x/relay:search").attributes.len(), 2);
        let forged = by_key("x/relay:a");
        assert!(!forged.is_context());
        assert_eq!(forged.attributes.keys().collect::<Vec<_>>(), ["port"], "the unknown reserved names are dropped");
        assert_eq!(out.warnings.len(), 2, "{:?}", out.warnings);
        assert!(out.warnings.iter().all(|w| w.contains("it was dropped") && w.contains("relay:a")), "{:?}", out.warnings);
    }
}
