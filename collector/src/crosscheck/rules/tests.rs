use super::*;
use crate::crosscheck::addr::ranges;

fn relay(key: &str, site: &str, open: bool) -> Relay {
    Relay {
        key: format!("smtp-relay/smtp:{key}:25"),
        site_id: site.into(),
        address: format!("{key}:25"),
        ip: key.parse().ok(),
        reached: true,
        open,
        open_result: if open { "Server is an open relay (3/16 tests)".into() } else { "0/16 accepted".into() },
        starttls: StartTls::Offered,
        subject: Some("CN=mail.contoso.example".into()),
    }
}

fn inbound(name: &str, on_premises: bool, ips: &str) -> Inbound {
    Inbound {
        key: format!("exo/exchange:inbound:{name}"),
        name: name.into(),
        guid: Some("5f3c1e2a-0b4d-4c8e-9a7f-1d2e3f4a5b6c".into()),
        site_id: "hq".into(),
        on_premises,
        sender_ips: ips.into(),
        ranges: ranges(ips),
        require_tls: false,
        cert_name: None,
        explained: false,
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Site `hq` egresses from 203.0.113.9, `branch` from 198.51.100.7.
fn facts(relays: Vec<Relay>, inbound: Vec<Inbound>) -> Facts {
    Facts {
        relays,
        inbound,
        egress: [("hq".to_string(), [ip("203.0.113.9")].into()), ("branch".to_string(), [ip("198.51.100.7")].into())].into(),
        egress_complete: true,
        exchange_scanned: true,
    }
}

fn found(f: &Facts) -> Vec<(Severity, String, String)> {
    derive("contoso", f).into_iter().map(|d| (d.entry.severity, d.entry.check_id, d.entry.connector_key)).collect()
}

#[test]
fn an_open_relay_behind_an_on_premises_connector_is_critical() {
    let f = facts(vec![relay("10.0.0.25", "hq", true), relay("10.1.0.25", "branch", true)], vec![inbound("Relay", true, "203.0.113.0/28")]);
    let d = derive("contoso", &f);
    let critical: Vec<&Derived> = d.iter().filter(|d| d.entry.severity == Severity::Critical).collect();
    assert_eq!(critical.len(), 1, "only the site the connector trusts: {d:#?}");
    let c = critical[0];
    assert_eq!((c.entry.check_id.as_str(), c.entry.connector_key.as_str(), c.site_id.as_str()), (OPEN_RELAY_TRUSTED, "exo/exchange:inbound:Relay", "hq"));
    assert_eq!(c.entry.plugin, PLUGIN);
    let ev = &c.entry.evidence;
    assert_eq!(ev["exchange_connector"], "exo/exchange:inbound:Relay");
    assert_eq!(ev["relay_connector"], "smtp-relay/smtp:10.0.0.25:25");
    assert_eq!((ev["trusted_by_entry"].as_str(), ev["egress_matched"].as_str()), ("203.0.113.0/28", "203.0.113.9"));
    assert!(c.entry.remediation.contains("-Identity 5f3c1e2a-0b4d-4c8e-9a7f-1d2e3f4a5b6c "), "{}", c.entry.remediation);
    // The branch's open relay is nobody's trusted sender: for the record.
    assert!(d.iter().any(|d| d.entry.check_id == RELAY_UNCOVERED && d.site_id == "branch"));
    // Deterministic: the same facts name the same findings.
    assert_eq!(derive("contoso", &f), d);
    assert_ne!(derive("fabrikam", &f)[0].entry.id, d[0].entry.id, "ids are per tenant");
}

#[test]
fn no_critical_for_a_closed_relay_or_a_partner_connector() {
    let closed = facts(vec![relay("10.0.0.25", "hq", false)], vec![inbound("Relay", true, "203.0.113.9")]);
    assert!(found(&closed).is_empty(), "{:?}", found(&closed));
    let partner = facts(vec![relay("10.0.0.25", "hq", true)], vec![inbound("Partner", false, "203.0.113.9")]);
    assert!(found(&partner).is_empty(), "{:?}", found(&partner));
}

#[test]
fn ipv6_egress_matches_an_ipv6_block() {
    let mut f = facts(vec![relay("fd00::25", "v6", true)], vec![inbound("Relay", true, "2001:db8:1::/48, 203.0.113.9")]);
    f.egress.insert("v6".into(), [ip("2001:db8:1:7::5")].into());
    let got = found(&f);
    assert!(got.contains(&(Severity::Critical, OPEN_RELAY_TRUSTED.into(), "exo/exchange:inbound:Relay".into())), "{got:?}");
    f.egress.insert("v6".into(), [ip("2001:db8:2::5")].into());
    assert!(!found(&f).iter().any(|(s, _, _)| *s == Severity::Critical));
}

#[test]
fn a_tls_demand_the_relay_does_not_meet_is_high() {
    let mut require = inbound("Tls", false, "203.0.113.9");
    require.require_tls = true;
    let mut plain = relay("10.0.0.25", "hq", false);
    plain.starttls = StartTls::NotOffered;
    let d = derive("contoso", &facts(vec![plain.clone()], vec![require.clone()]));
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!((d[0].entry.severity, d[0].entry.check_id.as_str()), (Severity::High, TLS_NOT_MET));
    assert!(d[0].entry.detail.contains("offers no STARTTLS"), "{}", d[0].entry.detail);
    assert_eq!(d[0].entry.evidence["starttls"], "not offered");

    let mut named = inbound("Cert", true, "203.0.113.9");
    named.cert_name = Some("relay.contoso.example".into());
    let d = derive("contoso", &facts(vec![relay("10.0.0.25", "hq", false)], vec![named.clone()]));
    assert_eq!(d.len(), 1, "{d:#?}");
    assert!(d[0].entry.detail.contains("CN=mail.contoso.example"), "{}", d[0].entry.detail);

    named.cert_name = Some("*.contoso.example".into());
    assert!(found(&facts(vec![relay("10.0.0.25", "hq", false)], vec![named])).is_empty(), "the name matches");
    let mut unknown = relay("10.0.0.25", "hq", false);
    unknown.starttls = StartTls::Unknown;
    assert!(found(&facts(vec![unknown], vec![require])).is_empty(), "nothing learnt is no finding");
}

#[test]
fn trusted_addresses_no_site_sends_from_are_medium_unless_explained() {
    let c = inbound("Old", true, "203.0.113.9, 192.0.2.0/24");
    let d = derive("contoso", &facts(vec![], vec![c.clone()]));
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!((d[0].entry.severity, d[0].entry.check_id.as_str()), (Severity::Medium, UNEXPLAINED_TRUST));
    assert_eq!(d[0].entry.evidence["untrusted_entries"], "192.0.2.0/24");
    assert_eq!(d[0].site_id, "hq");

    let explained = Inbound { explained: true, ..c.clone() };
    assert!(found(&facts(vec![], vec![explained])).is_empty());
    let mut incomplete = facts(vec![], vec![c.clone()]);
    incomplete.egress_complete = false;
    assert!(found(&incomplete).is_empty(), "a site not yet heard from may be behind them");
    assert!(found(&facts(vec![], vec![inbound("Partner", false, "192.0.2.0/24")])).is_empty(), "partners send from anywhere");
    assert!(found(&facts(vec![], vec![inbound("Both", true, "203.0.113.9, 198.51.100.0/24")])).is_empty());
}

#[test]
fn a_relay_no_connector_covers_is_info() {
    let d = derive("contoso", &facts(vec![relay("10.1.0.25", "branch", false)], vec![inbound("Relay", true, "203.0.113.9")]));
    assert_eq!(d.len(), 1, "{d:#?}");
    let i = &d[0];
    assert_eq!((i.entry.severity, i.entry.check_id.as_str(), i.site_id.as_str()), (Severity::Info, RELAY_UNCOVERED, "branch"));
    assert_eq!(i.entry.connector_key, "smtp-relay/smtp:10.1.0.25:25");
    assert_eq!(i.entry.evidence["site_egress"], "198.51.100.7");

    let mut by_cert = inbound("Cert", true, "none");
    by_cert.cert_name = Some("mail.contoso.example".into());
    assert!(found(&facts(vec![relay("10.1.0.25", "branch", false)], vec![by_cert])).is_empty(), "covered by its certificate");
    let own = relay("198.18.0.25", "nowhere", false);
    let dmz = found(&facts(vec![own], vec![inbound("Dmz", true, "198.18.0.0/24, 203.0.113.9")]));
    assert!(dmz.iter().all(|(s, _, _)| *s != Severity::Info), "covered by its own address: {dmz:?}");
    let mut unscanned = facts(vec![relay("10.1.0.25", "branch", false)], vec![]);
    unscanned.exchange_scanned = false;
    assert!(found(&unscanned).is_empty(), "a tenant without Exchange facts");
    let unreached = Relay { reached: false, ..relay("10.1.0.25", "branch", false) };
    assert!(found(&facts(vec![unreached], vec![])).is_empty());
}

#[test]
fn nothing_to_join_is_no_finding() {
    assert!(found(&Facts::default()).is_empty());
    assert!(found(&facts(vec![], vec![])).is_empty());
    // A connector that trusts nothing parseable trusts no site.
    assert!(found(&facts(vec![relay("10.0.0.25", "hq", true)], vec![inbound("Odd", true, "unknown")])).iter().all(|(s, _, _)| *s == Severity::Info));
}

#[test]
fn one_pair_one_id() {
    let f = facts(
        vec![relay("10.0.0.25", "hq", true), relay("10.0.0.26", "hq", true)],
        vec![inbound("A", true, "203.0.113.9"), inbound("B", true, "203.0.113.9")],
    );
    let ids: BTreeSet<String> = derive("contoso", &f).into_iter().map(|d| d.entry.id).collect();
    assert_eq!(ids.len(), 4, "two connectors by two relays");
}

#[test]
fn fixes_name_the_connector_by_a_well_formed_guid_only() {
    assert!(is_guid("5f3c1e2a-0b4d-4c8e-9a7f-1d2e3f4a5b6c"));
    for bad in ["5f3c1e2a-0b4d-4c8e-9a7f-1d2e3f4a5b6", "5f3c1e2a-0b4d-4c8e-9a7f-1d2e3f4a5b6'", "x'; Remove-Item -Recurse C:\\ #abcdef"] {
        assert!(!is_guid(bad), "{bad}");
    }
    let hostile = Inbound { guid: None, name: "x'; Remove-Item C:\\".into(), ..inbound("Relay", true, "203.0.113.9") };
    let d = derive("contoso", &facts(vec![relay("10.0.0.25", "hq", true)], vec![hostile]));
    assert!(d[0].entry.remediation.contains("-Identity <the connector's GUID>"), "{}", d[0].entry.remediation);
    assert!(!d[0].entry.remediation.contains("Remove-Item"));
}
