//! Real public Exchange Online records (excerpts, sources named beside
//! each), not our own fixtures: hybrid OnPremises connectors, the `[null]`
//! that `ConvertTo-Json @($null)` writes, and transport-rule-scoped outbound
//! connectors.

mod common;

use common::*;
use exchange_connectors::checks::*;
use exchange_connectors::source::read_exports_with;
use exchange_connectors::{assess, parse_export, ExchangeState, Export};
use plumbline_plugin_sdk::{ScanError, Severity};
use serde_json::{json, Value};

/// Get-InboundConnector records captured from a live tenant over the
/// Exchange Online admin API (both disabled, hand-created OnPremises
/// connectors with `smtp:*;1`: one tied to a certificate with RequireTls,
/// one to a sender IP). Source: github.com/rknightion/graph2otel,
/// internal/collectors/m365/exchangeconnectors/exchangeconnectors_test.go
/// (`liveInboundTLS`, `liveInboundNoTLS`); EF* and empty list fields trimmed.
const LIVE_INBOUND_TLS: &str = r#"{
  "Enabled": false, "ConnectorType": "OnPremises", "ConnectorSource": "AdminUI",
  "Comment": "test connector for poller", "SenderIPAddresses": [], "SenderDomains": ["smtp:*;1"],
  "TrustedOrganizations": [], "AssociatedAcceptedDomains": [], "RequireTls": true,
  "RestrictDomainsToIPAddresses": false, "RestrictDomainsToCertificate": false,
  "CloudServicesMailEnabled": true, "TreatMessagesAsInternal": false,
  "TlsSenderCertificateName": "*.rob-knight.com", "Name": "connectortest", "Identity": "connectortest",
  "WhenChangedUTC": "2026-07-23T22:55:13.0000000Z", "WhenCreatedUTC": "2026-07-23T22:55:04.0000000Z",
  "Guid": "ac4d5ab0-6637-4e91-8d47-f5c2e95c71d9", "IsValid": true
}"#;
const LIVE_INBOUND_IP: &str = r#"{
  "Enabled": false, "ConnectorType": "OnPremises", "ConnectorSource": "AdminUI", "Comment": "",
  "SenderIPAddresses": ["81.187.237.31"], "SenderDomains": ["smtp:*;1"],
  "TrustedOrganizations": [], "AssociatedAcceptedDomains": [], "RequireTls": false,
  "RestrictDomainsToIPAddresses": false, "RestrictDomainsToCertificate": false,
  "CloudServicesMailEnabled": false, "TreatMessagesAsInternal": false,
  "TlsSenderCertificateName": null, "Name": "myorgemail", "Identity": "myorgemail",
  "WhenChangedUTC": "2026-07-23T22:55:49.0000000Z", "WhenCreatedUTC": "2026-07-23T22:55:43.0000000Z",
  "Guid": "acc2eccd-550f-4efa-9905-46054a5f516a", "IsValid": true
}"#;

/// A Get-OutboundConnector record from the same live tenant: scoped by
/// transport rule, no recipient domains. Source: github.com/rknightion/graph2otel,
/// internal/collectors/m365/exchangeconnectors/exchangeconnectors_test.go
/// (`liveOutbound`, a later revision of the file); some fields trimmed.
const LIVE_OUTBOUND_RULE_SCOPED: &str = r#"{
  "Enabled": true, "UseMXRecord": false, "Comment": "for graph2otel test",
  "ConnectorType": "OnPremises", "ConnectorSource": "AdminUI", "RecipientDomains": [],
  "SmartHosts": ["smtp-relay.gmail.com"], "TlsDomain": null, "TlsSettings": "CertificateValidation",
  "IsTransportRuleScoped": true, "RouteAllMessagesViaOnPremises": false,
  "CloudServicesMailEnabled": true, "AllAcceptedDomains": false, "SenderRewritingEnabled": false,
  "Name": "outbourconnection", "Identity": "outbourconnection",
  "WhenChangedUTC": "2026-07-24T19:01:54.0000000Z", "WhenCreatedUTC": "2026-07-24T18:58:31.0000000Z",
  "Guid": "d0d71cb9-6105-410f-8193-3640e12852a5", "IsValid": true
}"#;

/// The outbound connector a mail-security vendor creates for "MX stays at
/// Microsoft" routing: OnPremises, scoped by transport rule. Source:
/// github.com/seppmail/SEPPmail365cloud, ExOConfig/Connectors/OutBound.json
/// (`routing.m365`).
const SEPPMAIL_OUTBOUND_M365: &str = r#"{
  "Name": "[SEPPmail.cloud] ExO -> SEPPmail / MX:'M365'",
  "Comment": "E-Mails are send to SEPPmail.cloud based on transport rules. MX is set to Microsoft",
  "ConnectorSource": "Default", "ConnectorType": "OnPremises", "IsTransportRuleScoped": true,
  "TlsSettings": "DomainValidation", "UseMXRecord": false, "CloudServicesMailEnabled": true
}"#;

fn value(text: &str) -> Value {
    serde_json::from_str(text).expect("sample is JSON")
}

fn with_enabled(v: Value) -> Value {
    with(v, json!({"Enabled": true}))
}

#[test]
fn live_hybrid_onprem_connectors_are_not_called_open() {
    let r = inbound(value(LIVE_INBOUND_TLS));
    // Tied to its certificate: nothing but the fact that it is disabled.
    assert_eq!(ids(&r), vec![DISABLED], "{:#?}", r.findings);
    let rec = &r.connectors.iter().find(|c| c.name == "connectortest").unwrap();
    assert_eq!(rec.auth_type.as_deref(), Some("certificate: *.rob-knight.com"));

    // Tied to its sender IP; it takes cleartext (RequireTls false, no
    // certificate), which is the one thing worth saying, and it is disabled.
    let r = inbound(value(LIVE_INBOUND_IP));
    let mut got = ids(&r);
    got.sort();
    assert_eq!(got, vec![DISABLED, ONPREM_WITHOUT_TLS], "{:#?}", r.findings);
    let f = find(&r, ONPREM_WITHOUT_TLS);
    assert_eq!(f.severity, Severity::Medium, "disabled: one step below high");
    assert!(f.title.ends_with("(disabled)"), "{}", f.title);

    // Switched on, the same two connectors are still not "open to any server".
    for sample in [LIVE_INBOUND_TLS, LIVE_INBOUND_IP] {
        let r = inbound(with_enabled(value(sample)));
        for id in ids(&r) {
            assert!(id != WILDCARD_SENDER_UNRESTRICTED && id != INBOUND_UNRESTRICTED, "{id}");
        }
        for f in &r.findings {
            // Those switches apply only to Partner connectors; on a hybrid one they break mail flow.
            assert!(!f.remediation.contains("-RestrictDomainsToCertificate $true"), "{}", f.remediation);
            assert!(!f.remediation.contains("-RestrictDomainsToIPAddresses $true"), "{}", f.remediation);
        }
    }
    assert_eq!(
        find(&inbound(with_enabled(value(LIVE_INBOUND_IP))), ONPREM_WITHOUT_TLS).severity,
        Severity::High
    );
}

#[test]
fn live_onprem_connector_without_its_ties_is_still_critical() {
    // The same live record with its certificate removed: now nothing ties it.
    let bare = with(
        with_enabled(value(LIVE_INBOUND_TLS)),
        json!({"TlsSenderCertificateName": null}),
    );
    let r = inbound(bare);
    let f = find(&r, WILDCARD_SENDER_UNRESTRICTED);
    assert_eq!(f.severity, Severity::Critical);
    assert!(f.detail.contains("neither a sender certificate"), "{}", f.detail);
}

/// Windows PowerShell 5.1's `ConvertTo-Json @($null)`, which is how CISA
/// ScubaGear's EXO provider exports every cmdlet
/// (`ConvertTo-Json @($Tracker.TryCommand("Get-TransportConfig"))`; source:
/// github.com/cisagov/ScubaGear,
/// PowerShell/ScubaGear/Modules/Providers/ExportEXOProvider.psm1) when the
/// cmdlet returned nothing.
const PS51_EMPTY_ARRAY_OF_NULL: &str = "[\r\n    null\r\n]\r\n";

#[test]
fn an_export_of_null_is_none() {
    for text in [PS51_EMPTY_ARRAY_OF_NULL, "[null]", "null", "", "\u{feff}"] {
        let items = parse_export(text, "Get-OutboundConnector.json")
            .unwrap_or_else(|e| panic!("{text:?}: {e:?}"));
        assert!(items.is_empty(), "{text:?}");
    }
    let mixed = parse_export(r#"[null, {"Name": "a"}]"#, "f.json").unwrap();
    assert_eq!(mixed.len(), 1);
}

fn exports(files: &[(&str, &str)]) -> (Result<ExchangeState, ScanError>, Vec<String>) {
    let names: Vec<String> = files.iter().map(|(n, _)| n.to_string()).collect();
    let mut warnings = Vec::new();
    let state = read_exports_with(
        "exports",
        &names,
        |path| {
            let name = path.trim_start_matches("exports/");
            files
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, t)| t.to_string())
                .ok_or_else(|| ScanError::Other(format!("{path}: not found")))
        },
        |w| warnings.push(w.to_string()),
    );
    (state, warnings)
}

#[test]
fn one_unreadable_export_costs_only_its_own_records() {
    let inbound_file = format!("[{LIVE_INBOUND_TLS},{LIVE_INBOUND_IP}]");
    let (state, warnings) = exports(&[
        ("Get-InboundConnector.json", &inbound_file),
        ("Get-OutboundConnector.json", PS51_EMPTY_ARRAY_OF_NULL),
        ("Get-OrganizationConfig.json", "{\"ConnectorsEnabled\": tr"),
        ("Get-TransportConfig.json", r#"{"SmtpClientAuthenticationDisabled": false}"#),
    ]);
    let state = state.expect("three of four exports read");
    assert_eq!(state.inbound.as_ref().map(Vec::len), Some(2));
    assert_eq!(state.outbound.as_ref().map(Vec::len), Some(0), "[null] is none");
    assert!(state.organization.is_none(), "the broken file is unknown");
    assert!(state.transport.is_some());
    assert_eq!(state.unreadable.len(), 1);
    assert_eq!(state.unreadable[0].0, Export::Organization);
    let w = warnings.join("\n");
    assert!(w.contains("exports/Get-OrganizationConfig.json") && w.contains("export the cmdlet again"), "{w}");

    let r = assess(&state, TENANT, NOW, 30);
    assert_eq!(r.connectors.len(), 3);
    let org = r.connectors.iter().find(|c| c.key == "exchange:organization").unwrap();
    assert_eq!(org.get_attr("organization_config"), Some("unreadable"));
    assert_eq!(org.get_attr("outbound_connectors"), Some("0"));
    assert!(org.get_attr("unreadable_exports").unwrap().contains("Get-OrganizationConfig.json"));
    assert!(ids(&r).contains(&SMTP_AUTH_ENABLED), "the transport config still counts");

    // Nothing readable at all stays an error: an empty report would look clean.
    let (state, _) = exports(&[("Get-OutboundConnector.json", "[{")]);
    match state {
        Err(ScanError::Malformed(m)) => assert!(m.contains("Get-OutboundConnector.json"), "{m}"),
        other => panic!("expected Malformed, got {other:?}"),
    }
    let (state, _) = exports(&[("Get-InboundConnector.json", "[{"), ("Get-OutboundConnector.json", "42")]);
    match state {
        Err(ScanError::Malformed(m)) => assert!(m.contains("none of the 2 exports"), "{m}"),
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[test]
fn transport_rule_scoped_outbound_connectors_say_what_scopes_them() {
    for sample in [LIVE_OUTBOUND_RULE_SCOPED, SEPPMAIL_OUTBOUND_M365] {
        let r = outbound(value(sample));
        let rec = r
            .connectors
            .iter()
            .find(|c| c.key.starts_with("exchange:outbound:"))
            .unwrap();
        assert!(rec.scope.contains("transport rules"), "{}: {:?}", rec.name, rec.scope);
        assert!(rec.scope.contains("IsTransportRuleScoped"), "{:?}", rec.scope);
        assert_eq!(rec.get_attr("is_transport_rule_scoped"), Some("true"));
    }
    // Recipient domains and rule scoping together: both are named.
    let both = with(value(LIVE_OUTBOUND_RULE_SCOPED), json!({"RecipientDomains": ["contoso.com"]}));
    let scope = outbound(both).connectors.iter().find(|c| c.key.starts_with("exchange:outbound:")).unwrap().scope.clone();
    assert!(scope.starts_with("contoso.com; transport rules"), "{scope}");
    // Not rule-scoped and no domains: none; no field at all: unknown.
    let plain = with(value(LIVE_OUTBOUND_RULE_SCOPED), json!({"IsTransportRuleScoped": false}));
    assert_eq!(outbound(plain).connectors.iter().find(|c| c.key.starts_with("exchange:outbound:")).unwrap().scope, "none");
    let unknown = with(value(SEPPMAIL_OUTBOUND_M365), json!({"IsTransportRuleScoped": false}));
    assert_eq!(outbound(unknown).connectors.iter().find(|c| c.key.starts_with("exchange:outbound:")).unwrap().scope, "unknown");
}
