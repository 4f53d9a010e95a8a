//! Helpers shared by the check tests: healthy connectors to patch, and
//! ways to read a report.
#![allow(dead_code)]

use exchange_connectors::{assess, ExchangeState};
use plumbline_plugin_sdk::{Finding, Report};
use serde_json::{json, Value};

pub const TENANT: &str = "5f0c1a8e-2b6d-4c1e-9a77-3d2f8b41c0aa";
/// 2026-11-25T12:00:00Z
pub const NOW: i64 = 1_795_608_000_000;
pub const DAY: i64 = 86_400_000;

pub fn iso(ms: i64) -> String {
    plumbline_plugin_sdk::time::to_rfc3339(ms)
}

pub fn healthy_inbound() -> Value {
    json!({
        "Name": "Partner A", "Identity": "Partner A",
        "Guid": "11111111-1111-1111-1111-111111111111",
        "Enabled": true, "ConnectorType": "Partner", "ConnectorSource": "AdminUI",
        "Comment": "Lab results from Partner A",
        "SenderDomains": ["smtp:partner.example;1"], "SenderIPAddresses": [],
        "RequireTls": true, "RestrictDomainsToIPAddresses": false,
        "RestrictDomainsToCertificate": true, "TlsSenderCertificateName": "mail.partner.example",
        "TreatMessagesAsInternal": false,
        "WhenCreatedUTC": "2025-01-01T00:00:00.0000000Z", "WhenChangedUTC": "2025-02-01T00:00:00.0000000Z"
    })
}

pub fn healthy_outbound() -> Value {
    json!({
        "Name": "To partner", "Identity": "To partner",
        "Guid": "22222222-2222-2222-2222-222222222222",
        "Enabled": true, "UseMXRecord": false, "ConnectorType": "Partner",
        "RecipientDomains": ["partner.example"], "SmartHosts": ["relay.partner.example"],
        "TlsSettings": "CertificateValidation", "TlsDomain": null,
        "WhenCreatedUTC": "2025-01-01T00:00:00.0000000Z", "WhenChangedUTC": "2025-01-01T00:00:00.0000000Z"
    })
}

/// `base` with `patch`'s keys set; a `null` in `patch` stays null, and the
/// key `"-Key"` removes `Key`.
pub fn with(base: Value, patch: Value) -> Value {
    let mut o = base.as_object().cloned().unwrap_or_default();
    for (k, v) in patch.as_object().cloned().unwrap_or_default() {
        match k.strip_prefix('-') {
            Some(gone) => {
                o.remove(gone);
            }
            None => {
                o.insert(k, v);
            }
        }
    }
    Value::Object(o)
}

pub fn inbound(c: Value) -> Report {
    let state = ExchangeState::from_values(Some(vec![c]), None, None, None);
    assess(&state, TENANT, NOW, 30)
}

pub fn outbound(c: Value) -> Report {
    let state = ExchangeState::from_values(None, Some(vec![c]), None, None);
    assess(&state, TENANT, NOW, 30)
}

pub fn tenant(org: Option<Value>, transport: Option<Value>) -> Report {
    let state =
        ExchangeState::from_values(None, None, org.map(|o| vec![o]), transport.map(|t| vec![t]));
    assess(&state, TENANT, NOW, 30)
}

pub fn ids(r: &Report) -> Vec<&str> {
    r.findings.iter().map(|f| f.check_id.as_str()).collect()
}

pub fn find<'a>(r: &'a Report, id: &str) -> &'a Finding {
    r.findings
        .iter()
        .find(|f| f.check_id == id)
        .unwrap_or_else(|| panic!("no {id} in {:?}", ids(r)))
}

pub fn evidence<'a>(f: &'a Finding, name: &str) -> Option<&'a str> {
    f.evidence
        .iter()
        .find(|a| a.name == name)
        .map(|a| a.value.as_str())
}
