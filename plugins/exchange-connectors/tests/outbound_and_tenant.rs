//! The outbound, lifecycle and tenant-wide checks and the register
//! entries, through the public native API: parse_export →
//! ExchangeState::from_values → assess.

mod common;

use common::*;
use exchange_connectors::checks::*;
use exchange_connectors::{assess, parse_export, ExchangeState};
use plumbline_plugin_sdk::Severity;
use serde_json::json;

#[test]
fn outbound_weak_tls_needs_tls_settings_present() {
    let weak = with(healthy_outbound(), json!({"TlsSettings": null}));
    let f = find(&outbound(weak.clone()), OUTBOUND_WEAK_TLS).clone();
    assert_eq!(f.severity, Severity::High);
    assert!(
        f.detail.contains("relay.partner.example") && f.detail.contains("TlsSettings: not set"),
        "{}",
        f.detail
    );
    assert!(
        f.remediation.contains("Set-OutboundConnector -Identity 'To partner' -TlsSettings DomainValidation -TlsDomain 'relay.partner.example'"),
        "{}",
        f.remediation
    );
    let enc = with(healthy_outbound(), json!({"TlsSettings": "EncryptionOnly"}));
    assert!(ids(&outbound(enc.clone())).contains(&OUTBOUND_WEAK_TLS));
    // IP smart hosts: certificate validation, no TlsDomain.
    let ip = with(weak.clone(), json!({"SmartHosts": ["203.0.113.25"]}));
    assert!(find(&outbound(ip), OUTBOUND_WEAK_TLS)
        .remediation
        .contains("-TlsSettings CertificateValidation"));

    // TlsSettings absent is unknown: no finding.
    assert!(ids(&outbound(with(
        healthy_outbound(),
        json!({"-TlsSettings": 0})
    )))
    .is_empty());
    // Not routed via smart hosts: no finding.
    assert!(ids(&outbound(with(weak.clone(), json!({"UseMXRecord": true})))).is_empty());
    assert!(ids(&outbound(with(weak.clone(), json!({"SmartHosts": []})))).is_empty());
    assert!(ids(&outbound(with(weak, json!({"-SmartHosts": 0})))).is_empty());
    // UseMXRecord unknown with smart hosts listed still counts as smart-host routing.
    assert!(ids(&outbound(with(enc, json!({"-UseMXRecord": 0})))).contains(&OUTBOUND_WEAK_TLS));
}

#[test]
fn outbound_has_no_inbound_fields_and_says_unknown() {
    // Get-OutboundConnector has no RequireTls / SenderDomains / SenderIPAddresses.
    let r = outbound(healthy_outbound());
    let rec = r
        .connectors
        .iter()
        .find(|c| c.key.starts_with("exchange:outbound:"))
        .unwrap();
    assert_eq!(rec.get_attr("require_tls"), Some("unknown"));
    assert_eq!(rec.get_attr("sender_ip_addresses"), Some("unknown"));
    assert_eq!(rec.get_attr("sender_domains"), Some("unknown"));
    assert_eq!(rec.get_attr("tls_settings"), Some("CertificateValidation"));
    assert!(r.findings.is_empty(), "{:?}", ids(&r));
    // An inbound connector whose RequireTls and restriction flags are missing
    // is not assumed to be open.
    let sparse = json!({"Name": "Sparse", "ConnectorType": "OnPremises", "SenderDomains": ["smtp:contoso.com;1"]});
    let r = inbound(sparse);
    assert!(r.findings.is_empty(), "{:?}", ids(&r));
    let rec = r
        .connectors
        .iter()
        .find(|c| c.key == "exchange:inbound:Sparse")
        .unwrap();
    assert_eq!(rec.get_attr("require_tls"), Some("unknown"));
    assert_eq!(rec.get_attr("enabled"), Some("unknown"));
    assert_eq!(rec.auth_type.as_deref(), Some("unknown"));
}

#[test]
fn recent_window_boundaries() {
    let at = |created: i64, changed: i64| {
        with(
            healthy_inbound(),
            json!({"WhenCreatedUTC": iso(created), "WhenChangedUTC": iso(changed)}),
        )
    };
    // Exactly 30 days before the scan is inside the window...
    let r = inbound(at(NOW - 30 * DAY, NOW - 30 * DAY));
    let f = find(&r, RECENTLY_CREATED);
    assert_eq!(f.severity, Severity::High);
    assert!(
        f.detail.contains("30 days before this scan"),
        "{}",
        f.detail
    );
    assert!(f.detail.contains("compromised"), "{}", f.detail);
    assert!(
        f.remediation.contains("Search-UnifiedAuditLog"),
        "{}",
        f.remediation
    );
    assert!(
        !ids(&r).contains(&RECENTLY_CHANGED),
        "created wins over changed"
    );
    // ... one second earlier is not.
    assert!(ids(&inbound(at(NOW - 30 * DAY - 1000, NOW - 30 * DAY - 1000))).is_empty());
    // Old connector changed yesterday.
    let r = inbound(at(NOW - 400 * DAY, NOW - DAY));
    assert_eq!(ids(&r), vec![RECENTLY_CHANGED]);
    assert_eq!(find(&r, RECENTLY_CHANGED).severity, Severity::Medium);
    // A change after the scan started still counts.
    assert_eq!(
        ids(&inbound(at(NOW - 400 * DAY, NOW + 5000))),
        vec![RECENTLY_CHANGED]
    );
    // The window follows recent_days.
    let state = ExchangeState::from_values(
        Some(vec![at(NOW - 10 * DAY, NOW - 10 * DAY)]),
        None,
        None,
        None,
    );
    assert!(assess(&state, TENANT, NOW, 7).findings.is_empty());
    assert_eq!(assess(&state, TENANT, NOW, 10).findings.len(), 1);
    assert!(assess(&state, TENANT, NOW, 0).findings.is_empty());
    assert_eq!(assess(&state, TENANT, NOW, u64::MAX).findings.len(), 1);
    // PowerShell 5.1 dates, and the UTC variant preferred over the local one.
    let ps51 = with(
        healthy_inbound(),
        json!({"WhenCreated": iso(NOW - 400 * DAY), "WhenCreatedUTC": format!("/Date({})/", NOW - 2 * DAY),
               "-WhenChangedUTC": 0}),
    );
    assert!(ids(&inbound(ps51)).contains(&RECENTLY_CREATED));
    // Unreadable or missing dates are unknown, not recent.
    let junk = with(
        healthy_inbound(),
        json!({"WhenCreatedUTC": "yesterday", "-WhenChangedUTC": 0}),
    );
    assert!(ids(&inbound(junk)).is_empty());
    // Outbound connectors too.
    let r = outbound(with(
        healthy_outbound(),
        json!({"WhenCreatedUTC": iso(NOW - DAY)}),
    ));
    assert!(find(&r, RECENTLY_CREATED)
        .remediation
        .contains("New-OutboundConnector"));
}

#[test]
fn tenant_checks_attach_to_the_organization_entry() {
    let r = tenant(
        None,
        Some(json!({"SmtpClientAuthenticationDisabled": "False"})),
    );
    let f = find(&r, SMTP_AUTH_ENABLED);
    assert_eq!(
        (f.severity, f.connector_key.as_str()),
        (Severity::Medium, "exchange:organization")
    );
    assert!(f
        .remediation
        .contains("Set-TransportConfig -SmtpClientAuthenticationDisabled $true"));
    assert!(tenant(
        None,
        Some(json!({"SmtpClientAuthenticationDisabled": true}))
    )
    .findings
    .is_empty());
    assert!(tenant(None, Some(json!({"Name": "Transport"})))
        .findings
        .is_empty());

    let r = tenant(Some(json!({"RejectDirectSend": false})), None);
    assert_eq!(ids(&r), vec![DIRECT_SEND_ALLOWED]);
    assert!(find(&r, DIRECT_SEND_ALLOWED)
        .remediation
        .contains("Set-OrganizationConfig -RejectDirectSend $true"));
    assert!(tenant(Some(json!({"RejectDirectSend": true})), None)
        .findings
        .is_empty());

    let r = tenant(Some(json!({"ConnectorsEnabled": true})), None);
    assert_eq!(ids(&r), vec![LEGACY_CONNECTORS_ENABLED]);
    assert!(find(&r, LEGACY_CONNECTORS_ENABLED)
        .detail
        .contains("May 2026"));
    let r = tenant(
        Some(json!({"ConnectorsEnabled": false, "ConnectorsEnabledForTeams": "True"})),
        None,
    );
    assert_eq!(ids(&r), vec![LEGACY_CONNECTORS_ENABLED]);
    assert!(
        tenant(Some(json!({"ConnectorsEnabledForOutlook": true})), None)
            .findings
            .is_empty()
    );
    assert!(tenant(
        Some(json!({"ConnectorsEnabled": false, "ConnectorsEnabledForTeams": false})),
        None
    )
    .findings
    .is_empty());
}

#[test]
fn organization_entry_says_unknown_for_missing_exports() {
    let r = tenant(
        Some(json!({"RejectDirectSend": true, "ConnectorsEnabled": false})),
        None,
    );
    let org = r
        .connectors
        .iter()
        .find(|c| c.key == "exchange:organization")
        .unwrap();
    assert_eq!(org.name, "Exchange Online organization settings");
    assert_eq!(org.scope, TENANT);
    assert_eq!(org.get_attr("reject_direct_send"), Some("true"));
    assert_eq!(org.get_attr("connectors_enabled"), Some("false"));
    assert_eq!(
        org.get_attr("smtp_client_authentication_disabled"),
        Some("unknown")
    );
    assert_eq!(org.get_attr("transport_config"), Some("missing"));
    assert_eq!(org.get_attr("inbound_connectors"), Some("unknown"));
}

#[test]
fn records_have_keys_scope_auth_and_dates() {
    let state = ExchangeState::from_values(
        Some(vec![
            with(
                healthy_inbound(),
                json!({"SenderDomains": ["smtp:b.example;1", "SMTP:a.example;5"]}),
            ),
            with(
                healthy_inbound(),
                json!({"-Guid": 0, "Identity": "By identity", "TlsSenderCertificateName": null,
                                            "SenderIPAddresses": ["1.2.3.4", "5.6.7.0/24"]}),
            ),
            json!({"Name": "Only a name", "SenderIPAddresses": [], "TlsSenderCertificateName": ""}),
            json!({"Name": "Only a name"}),
        ]),
        Some(vec![with(
            healthy_outbound(),
            json!({"TlsSettings": null, "Comment": ""}),
        )]),
        None,
        None,
    );
    let r = assess(&state, TENANT, NOW, 30);
    let keys: Vec<&str> = r.connectors.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "exchange:inbound:11111111-1111-1111-1111-111111111111",
            "exchange:inbound:By identity",
            "exchange:inbound:Only a name",
            "exchange:inbound:Only a name~2",
            "exchange:organization",
            "exchange:outbound:22222222-2222-2222-2222-222222222222",
        ]
    );
    let get = |k: &str| r.connectors.iter().find(|c| c.key == k).unwrap();
    let first = get("exchange:inbound:11111111-1111-1111-1111-111111111111");
    assert_eq!(first.scope, "b.example, a.example");
    assert_eq!(
        first.auth_type.as_deref(),
        Some("certificate: mail.partner.example")
    );
    assert_eq!(first.purpose.as_deref(), Some("Lab results from Partner A"));
    assert_eq!(first.created.as_deref(), Some("2025-01-01T00:00:00Z"));
    assert_eq!(first.changed.as_deref(), Some("2025-02-01T00:00:00Z"));
    assert_eq!(first.get_attr("direction"), Some("inbound"));
    assert_eq!(first.get_attr("connector_type"), Some("Partner"));
    assert_eq!(
        first.get_attr("restrict_domains_to_certificate"),
        Some("true")
    );
    assert_eq!(
        get("exchange:inbound:By identity").auth_type.as_deref(),
        Some("ip: 2 addresses")
    );
    assert_eq!(
        get("exchange:inbound:Only a name").auth_type.as_deref(),
        Some("none")
    );
    assert_eq!(get("exchange:inbound:Only a name").scope, "unknown");
    let out = get("exchange:outbound:22222222-2222-2222-2222-222222222222");
    assert_eq!(out.auth_type.as_deref(), Some("none"));
    assert_eq!(out.scope, "partner.example");
    assert_eq!(out.purpose, None);
    assert_eq!(out.get_attr("smart_hosts"), Some("relay.partner.example"));
    assert_eq!(out.get_attr("direction"), Some("outbound"));
    // Findings are sorted by connector key, then check id.
    let order: Vec<(&str, &str)> = r
        .findings
        .iter()
        .map(|f| (f.connector_key.as_str(), f.check_id.as_str()))
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted);
    assert!(!order.is_empty());
}

#[test]
fn assess_is_deterministic() {
    let state = ExchangeState::from_values(
        Some(vec![
            healthy_inbound(),
            with(healthy_inbound(), json!({"Guid": "0", "Enabled": false})),
        ]),
        Some(vec![healthy_outbound()]),
        Some(vec![json!({"RejectDirectSend": false})]),
        Some(vec![json!({"SmtpClientAuthenticationDisabled": false})]),
    );
    let a = format!("{:?}", assess(&state, TENANT, NOW, 30));
    let b = format!("{:?}", assess(&state, TENANT, NOW, 30));
    assert_eq!(a, b);
}


#[test]
fn parsed_exports_feed_the_state() {
    let inbound_text = r#"{"Name":"Solo","Guid":"abc","Enabled":"False","ConnectorType":"Partner",
        "WhenCreatedUTC":"\/Date(1795000000000)\/"}"#;
    let items = parse_export(inbound_text, "Get-InboundConnector.json").unwrap();
    let state = ExchangeState::from_values(Some(items), None, None, None);
    let r = assess(&state, TENANT, NOW, 30);
    assert_eq!(ids(&r), vec![DISABLED, RECENTLY_CREATED]);
    let rec = r
        .connectors
        .iter()
        .find(|c| c.key == "exchange:inbound:abc")
        .unwrap();
    assert_eq!(rec.created.as_deref(), Some("2026-11-18T11:06:40Z"));
}


#[test]
fn random_exports_never_panic() {
    // A tiny deterministic fuzzer: token soup that is sometimes valid JSON.
    const TOKENS: &[&str] = &[
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"Enabled\"",
        "\"SenderDomains\"",
        "\"smtp:*;1\"",
        "\"True\"",
        "true",
        "false",
        "null",
        "\"WhenCreatedUTC\"",
        "\"\\/Date(1795000000000)\\/\"",
        "\"value\"",
        "\"TlsSettings\"",
        "\"SmartHosts\"",
        "\"ConnectorType\"",
        "\"OnPremises\"",
        "1e999",
        "-0",
        "\"\\u0000\"",
        "\"\u{20ac}\"",
        "\"RequireTls\"",
        "\"Guid\"",
        "\"Count\"",
        " ",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut parsed = 0;
    for _ in 0..20_000 {
        let len = (next() % 24) as usize;
        let text: String = (0..len)
            .map(|_| TOKENS[(next() % TOKENS.len() as u64) as usize])
            .collect();
        if let Ok(items) = parse_export(&text, "fuzz.json") {
            parsed += 1;
            let state = ExchangeState::from_values(
                Some(items.clone()),
                Some(items.clone()),
                Some(items.clone()),
                Some(items),
            );
            let _ = assess(&state, TENANT, NOW, 30);
        }
    }
    assert!(parsed > 0, "the fuzzer should produce some valid exports");
}
