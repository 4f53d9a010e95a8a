//! The inbound-connector checks, through the public native API:
//! ExchangeState::from_values → assess.

mod common;

use common::*;
use exchange_connectors::checks::*;
use exchange_connectors::{assess, ExchangeState};
use plumbline_plugin_sdk::Severity;
use serde_json::json;

#[test]
fn healthy_connectors_have_no_findings() {
    assert!(ids(&inbound(healthy_inbound())).is_empty());
    assert!(ids(&outbound(healthy_outbound())).is_empty());
    assert!(ids(&tenant(
        Some(json!({"ConnectorsEnabled": false, "ConnectorsEnabledForTeams": false, "RejectDirectSend": true})),
        Some(json!({"SmtpClientAuthenticationDisabled": true}))
    ))
    .is_empty());
}

#[test]
fn wildcard_sender_without_restriction_is_critical() {
    let open = with(
        healthy_inbound(),
        json!({"SenderDomains": ["smtp:*;1"], "RestrictDomainsToCertificate": false, "TlsSenderCertificateName": null}),
    );
    let r = inbound(open.clone());
    let f = find(&r, WILDCARD_SENDER_UNRESTRICTED);
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(
        f.connector_key,
        "exchange:inbound:11111111-1111-1111-1111-111111111111"
    );
    assert!(
        f.detail.contains("Partner A") && f.detail.contains("smtp:*;1"),
        "{}",
        f.detail
    );
    assert!(
        f.remediation
            .contains("Set-InboundConnector -Identity 'Partner A'"),
        "{}",
        f.remediation
    );
    assert!(
        f.remediation
            .contains("-RestrictDomainsToIPAddresses $true"),
        "{}",
        f.remediation
    );
    assert_eq!(evidence(f, "sender_domains"), Some("smtp:*;1"));
    // Exchange's null reads "not set": evidence is text, and "null" read as a certificate name.
    assert_eq!(evidence(f, "tls_sender_certificate_name"), Some("not set"));

    // IPs listed but not enforced: still unrestricted, and the fix uses them.
    let r = inbound(with(
        open.clone(),
        json!({"SenderIPAddresses": ["198.51.100.7"]}),
    ));
    assert!(find(&r, WILDCARD_SENDER_UNRESTRICTED)
        .remediation
        .contains("-SenderIPAddresses 198.51.100.7"));

    // Restricted by IP, or by certificate: no finding.
    let by_ip = with(
        open.clone(),
        json!({"SenderIPAddresses": ["198.51.100.7"], "RestrictDomainsToIPAddresses": true}),
    );
    assert!(!ids(&inbound(by_ip)).contains(&WILDCARD_SENDER_UNRESTRICTED));
    let by_cert = with(healthy_inbound(), json!({"SenderDomains": "smtp:*;1"}));
    assert!(!ids(&inbound(by_cert)).contains(&WILDCARD_SENDER_UNRESTRICTED));
    // A restriction flag without its list restricts nothing.
    let empty_ips = with(open, json!({"RestrictDomainsToIPAddresses": true}));
    assert!(ids(&inbound(empty_ips)).contains(&WILDCARD_SENDER_UNRESTRICTED));
    // A subdomain wildcard is not the any-sender wildcard.
    let sub = with(
        healthy_inbound(),
        json!({"SenderDomains": ["smtp:*.partner.example;1"], "RestrictDomainsToCertificate": false}),
    );
    assert!(!ids(&inbound(sub)).contains(&WILDCARD_SENDER_UNRESTRICTED));
}

#[test]
fn onprem_without_tls_needs_require_tls_known_false() {
    let onprem = with(
        healthy_inbound(),
        json!({"ConnectorType": "OnPremises", "RequireTls": false, "TlsSenderCertificateName": null,
               "RestrictDomainsToCertificate": false, "SenderIPAddresses": ["203.0.113.10"],
               "RestrictDomainsToIPAddresses": true}),
    );
    let r = inbound(onprem.clone());
    let f = find(&r, ONPREM_WITHOUT_TLS);
    assert_eq!(f.severity, Severity::High);
    assert!(f.detail.contains("RequireTls: false"), "{}", f.detail);
    assert!(
        f.remediation.contains("-RequireTls $true"),
        "{}",
        f.remediation
    );

    // Absent RequireTls is unknown: no finding.
    assert!(
        !ids(&inbound(with(onprem.clone(), json!({"-RequireTls": null}))))
            .contains(&ONPREM_WITHOUT_TLS)
    );
    // Null RequireTls is unknown too.
    assert!(
        !ids(&inbound(with(onprem.clone(), json!({"RequireTls": null}))))
            .contains(&ONPREM_WITHOUT_TLS)
    );
    assert!(
        !ids(&inbound(with(onprem.clone(), json!({"RequireTls": true}))))
            .contains(&ONPREM_WITHOUT_TLS)
    );
    assert!(!ids(&inbound(with(
        onprem.clone(),
        json!({"TlsSenderCertificateName": "mail.contoso.com"})
    )))
    .contains(&ONPREM_WITHOUT_TLS));
    assert!(!ids(&inbound(with(
        onprem.clone(),
        json!({"ConnectorType": "Partner"})
    )))
    .contains(&ONPREM_WITHOUT_TLS));
    // "False" written as a string counts.
    assert!(
        ids(&inbound(with(onprem, json!({"RequireTls": "False"})))).contains(&ONPREM_WITHOUT_TLS)
    );
}

#[test]
fn unrestricted_needs_both_flags_known_false() {
    let open = with(
        healthy_inbound(),
        json!({"RestrictDomainsToCertificate": false}),
    );
    let f = find(&inbound(open.clone()), INBOUND_UNRESTRICTED).clone();
    assert_eq!(f.severity, Severity::Medium);
    assert!(f.detail.contains("partner.example"), "{}", f.detail);
    assert!(
        f.remediation
            .contains("-RestrictDomainsToCertificate $true"),
        "{}",
        f.remediation
    );
    assert!(!ids(&inbound(with(
        open.clone(),
        json!({"-RestrictDomainsToIPAddresses": 0})
    )))
    .contains(&INBOUND_UNRESTRICTED));
    assert!(!ids(&inbound(with(
        open.clone(),
        json!({"RestrictDomainsToCertificate": null})
    )))
    .contains(&INBOUND_UNRESTRICTED));
    assert!(!ids(&inbound(with(
        open,
        json!({"RestrictDomainsToIPAddresses": "True"})
    )))
    .contains(&INBOUND_UNRESTRICTED));
}

#[test]
fn partner_treated_internal() {
    let c = with(
        healthy_inbound(),
        json!({"TreatMessagesAsInternal": "True"}),
    );
    let f = find(&inbound(c.clone()), PARTNER_TREATED_INTERNAL).clone();
    assert_eq!(f.severity, Severity::High);
    assert!(f.remediation.contains("-TreatMessagesAsInternal $false"));
    assert!(!ids(&inbound(with(
        c.clone(),
        json!({"ConnectorType": "OnPremises"})
    )))
    .contains(&PARTNER_TREATED_INTERNAL));
    assert!(!ids(&inbound(with(
        c.clone(),
        json!({"-TreatMessagesAsInternal": 0})
    )))
    .contains(&PARTNER_TREATED_INTERNAL));
    assert!(
        !ids(&inbound(with(c, json!({"TreatMessagesAsInternal": false}))))
            .contains(&PARTNER_TREATED_INTERNAL)
    );
}

#[test]
fn disabled_only_when_known_false() {
    let r = inbound(with(healthy_inbound(), json!({"Enabled": "False"})));
    assert_eq!(find(&r, DISABLED).severity, Severity::Low);
    assert!(find(&r, DISABLED)
        .remediation
        .contains("Remove-InboundConnector -Identity 'Partner A'"));
    let r = outbound(with(healthy_outbound(), json!({"Enabled": false})));
    assert!(find(&r, DISABLED)
        .remediation
        .contains("Remove-OutboundConnector"));
    assert!(ids(&inbound(with(healthy_inbound(), json!({"-Enabled": 0})))).is_empty());
    assert!(ids(&inbound(with(healthy_inbound(), json!({"Enabled": null})))).is_empty());
}


#[test]
fn check_ids_are_unique_and_match_their_findings() {
    let mut seen = std::collections::HashSet::new();
    for (id, _) in CHECKS {
        assert!(seen.insert(id), "{id} twice");
        assert!(id.starts_with("exo."), "{id}");
    }
    for enabled in [true, false] {
        let r = inbound(with(
            healthy_inbound(),
            json!({"SenderDomains": ["smtp:*;1"], "RestrictDomainsToCertificate": false,
                   "TlsSenderCertificateName": null, "Enabled": enabled}),
        ));
        assert!(r.findings.len() >= 2, "{:?}", ids(&r));
        for f in &r.findings {
            let listed = CHECKS
                .iter()
                .find(|(id, _)| *id == f.check_id)
                .map(|(_, s)| *s)
                .unwrap_or_else(|| panic!("{} not in CHECKS", f.check_id));
            // A disabled connector's posture findings weigh one step less.
            let want = if enabled || f.check_id == DISABLED {
                listed
            } else {
                one_step_lower(listed)
            };
            assert_eq!(want, f.severity, "{}", f.check_id);
            assert!(!f.title.is_empty() && !f.detail.is_empty() && !f.remediation.is_empty());
        }
    }
}

#[test]
fn disabled_connectors_posture_findings_say_so_and_weigh_less() {
    let open = json!({"SenderDomains": ["smtp:*;1"], "RestrictDomainsToCertificate": false,
                      "TlsSenderCertificateName": null});
    let on = inbound(with(healthy_inbound(), open.clone()));
    let off = inbound(with(with(healthy_inbound(), open), json!({"Enabled": false})));
    let (a, b) = (find(&on, WILDCARD_SENDER_UNRESTRICTED), find(&off, WILDCARD_SENDER_UNRESTRICTED));
    assert_eq!((a.severity, b.severity), (Severity::Critical, Severity::High));
    assert!(!a.title.contains("disabled"), "{}", a.title);
    assert!(b.title.ends_with("(disabled)"), "{}", b.title);
    assert!(b.detail.contains("disabled at the moment"), "{}", b.detail);
    assert_eq!(find(&off, INBOUND_UNRESTRICTED).severity, Severity::Low);
    // The lifecycle finding itself keeps its weight, and unknown Enabled changes nothing.
    assert_eq!(find(&off, DISABLED).severity, Severity::Low);
    let unknown = inbound(with(
        with(healthy_inbound(), json!({"SenderDomains": ["smtp:*;1"], "RestrictDomainsToCertificate": false})),
        json!({"-Enabled": 0}),
    ));
    assert_eq!(find(&unknown, WILDCARD_SENDER_UNRESTRICTED).severity, Severity::Critical);
    // Outbound too.
    let weak = outbound(with(healthy_outbound(), json!({"TlsSettings": null, "Enabled": false})));
    let f = find(&weak, OUTBOUND_WEAK_TLS);
    assert_eq!(f.severity, Severity::Medium);
    assert!(f.title.ends_with("(disabled)"), "{}", f.title);
}

#[test]
fn onprem_connectors_are_judged_by_certificate_and_ips() {
    let onprem = json!({"Name": "Hybrid", "ConnectorType": "OnPremises", "Enabled": true,
        "SenderDomains": ["smtp:*;1"], "SenderIPAddresses": [], "TlsSenderCertificateName": null,
        "RequireTls": true, "RestrictDomainsToIPAddresses": false, "RestrictDomainsToCertificate": false});
    // Neither certificate nor IPs: open to any server, and the fix names them, not RestrictDomainsTo*.
    let r = inbound(onprem.clone());
    let f = find(&r, WILDCARD_SENDER_UNRESTRICTED);
    assert_eq!(f.severity, Severity::Critical);
    assert!(f.remediation.contains("-TlsSenderCertificateName"), "{}", f.remediation);
    assert!(!f.remediation.contains("-RestrictDomainsTo"), "{}", f.remediation);
    assert!(f.detail.contains("OnPremises"), "{}", f.detail);
    let u = find(&r, INBOUND_UNRESTRICTED);
    assert!(!u.remediation.contains("-RestrictDomainsTo"), "{}", u.remediation);
    // A certificate, or IPs, is what ties it: no posture finding, whatever RestrictDomainsTo* say.
    for tie in [
        json!({"TlsSenderCertificateName": "mail.contoso.com"}),
        json!({"SenderIPAddresses": ["203.0.113.10"]}),
    ] {
        let r = inbound(with(onprem.clone(), tie));
        assert!(ids(&r).is_empty(), "{:?}", ids(&r));
    }
    // Unknown certificate or IPs: unknown, no finding.
    assert!(ids(&inbound(with(onprem.clone(), json!({"-TlsSenderCertificateName": 0})))).is_empty());
    assert!(ids(&inbound(with(onprem.clone(), json!({"-SenderIPAddresses": 0})))).is_empty());
    // Not the wildcard: only the medium one.
    let r = inbound(with(onprem, json!({"SenderDomains": ["smtp:contoso.com;1"]})));
    assert_eq!(ids(&r), vec![INBOUND_UNRESTRICTED]);
}


#[test]
fn hostile_values_never_panic() {
    let dates = [
        "2026-07-23T1\u{20ac}:00:00Z",
        "2026-07-23T10:00:00+1\u{e9}1",
        "/Date(-9223372036854775808)/",
        "/Date(9223372036854775807)/",
        "9999-12-31T23:59:59Z",
        "0000-01-01T00:00:00Z",
        "\u{1f4a5}",
    ];
    for d in dates {
        let c = json!({"Name": d, "Identity": "'; Remove-Item C:\\ -Recurse #", "Guid": d,
            "WhenCreatedUTC": d, "WhenChangedUTC": d, "WhenCreated": d, "SenderDomains": [d, "smtp:*;1"],
            "SenderIPAddresses": d, "Enabled": d, "ConnectorType": d, "TlsSenderCertificateName": [d],
            "RestrictDomainsToIPAddresses": false, "RestrictDomainsToCertificate": false});
        let state = ExchangeState::from_values(
            Some(vec![c.clone(), json!(null), json!([1, 2])]),
            Some(vec![
                c.clone(),
                json!({"SmartHosts": [d], "TlsSettings": d}),
            ]),
            Some(vec![c.clone()]),
            Some(vec![json!("x")]),
        );
        for now in [0, NOW, i64::MIN, i64::MAX] {
            for days in [0, 30, u64::MAX] {
                let _ = assess(&state, TENANT, now, days);
            }
        }
    }
    // The fix quotes the identity so it cannot break out of the command.
    let r = inbound(with(
        healthy_inbound(),
        json!({"Identity": "x'; Remove-Item C:\\ #", "Enabled": false}),
    ));
    assert!(find(&r, DISABLED)
        .remediation
        .contains("-Identity 'x''; Remove-Item C:\\ #'"));
}

