use super::*;
use plumbline_protocol::register::Severity;

fn state(key: &str, category: &str, site: &str, attributes: &[(&str, &str)]) -> ConnectorState {
    let mut entry = crate::register::apply::tests::connector(key, category, key.split('/').next().unwrap());
    entry.name = key.rsplit(':').next().unwrap_or(key).into();
    entry.attributes = attributes.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    ConnectorState {
        entry,
        site_id: site.into(),
        present: true,
        first_seen: "2026-01-01T00:00:00Z".into(),
        last_seen: "2026-01-01T00:00:00Z".into(),
        disappeared_at: None,
    }
}

/// A relay as the smtp-relay plugin writes it.
fn relay(open: &str) -> ConnectorState {
    state(
        "smtp-relay/smtp:10.0.0.25:25",
        RELAY_CATEGORY,
        "hq",
        &[
            ("status", "ok"),
            ("address", "10.0.0.25:25"),
            ("connected_to", "10.0.0.25"),
            ("open_relay", open),
            ("open_relay_result", "Server is an open relay (2/16 tests)"),
            ("starttls_offered", "true"),
            ("tls_subject", "CN=mail.contoso.example"),
        ],
    )
}

/// An inbound connector as the exchange-connectors plugin writes it.
fn inbound(ips: &str) -> ConnectorState {
    state(
        "exo/exchange:inbound:Relay",
        EXCHANGE_CATEGORY,
        "hq",
        &[
            ("connector_type", "OnPremises"),
            ("enabled", "true"),
            ("sender_ip_addresses", ips),
            ("require_tls", "false"),
            ("tls_sender_certificate_name", "not set"),
        ],
    )
}

fn inputs() -> Inputs {
    Inputs {
        egress: [("hq".to_string(), ["203.0.113.9".parse().unwrap()].into())].into(),
        egress_complete: true,
        explained: HashSet::new(),
    }
}

/// The plan's cross-check rows after `batch` (connectors the batch reports) against `current`.
fn run(current: &Current, batch: Vec<ConnectorState>, at: &str) -> Vec<FindingRecord> {
    let mut plan = Plan { connectors: batch, at: at.into(), ..Plan::default() };
    extend(&mut plan, current, "contoso", &inputs());
    plan.findings
}

fn stored(records: Vec<FindingRecord>) -> HashMap<String, FindingRecord> {
    records.into_iter().map(|f| (f.entry.id.clone(), f)).collect()
}

#[test]
fn the_register_attributes_are_read_as_the_plugins_write_them() {
    let mut current = Current::default();
    current.connectors.insert(inbound("").entry.key, inbound("203.0.113.0/24"));
    // The relay arrives in this batch, the connector was stored before: both sides count.
    let rows = run(&current, vec![relay("yes")], "2026-02-01T00:00:00Z");
    assert_eq!(rows.len(), 1, "{rows:#?}");
    let r = &rows[0];
    assert_eq!((r.entry.check_id.as_str(), r.status.as_str(), r.site_id.as_str()), (rules::OPEN_RELAY_TRUSTED, OPEN, "hq"));
    assert!(concerns(&r.entry, "exo/exchange:inbound:Relay") && concerns(&r.entry, "smtp-relay/smtp:10.0.0.25:25"));
    assert!(!concerns(&r.entry, "exo/exchange:inbound:Other"));

    // A disabled connector trusts nobody.
    let mut disabled = inbound("203.0.113.0/24");
    disabled.entry.attributes.insert("enabled".into(), "false".into());
    current.connectors.insert(disabled.entry.key.clone(), disabled);
    assert!(run(&current, vec![relay("yes")], "2026-02-01T00:00:00Z").iter().all(|f| f.entry.severity != Severity::Critical));
}

#[test]
fn fixed_resolves_and_broken_again_reopens() {
    let mut current = Current::default();
    current.connectors.insert(inbound("").entry.key, inbound("203.0.113.9"));
    let opened = run(&current, vec![relay("yes")], "2026-02-01T00:00:00Z");
    current.findings = stored(opened.clone());
    current.connectors.insert(relay("").entry.key, relay("yes"));

    let still = run(&current, vec![relay("yes")], "2026-02-02T00:00:00Z");
    assert_eq!((still[0].status.as_str(), still[0].first_seen.as_str(), still[0].last_seen.as_str()), (OPEN, "2026-02-01T00:00:00Z", "2026-02-02T00:00:00Z"));

    let fixed = run(&current, vec![relay("no")], "2026-02-03T00:00:00Z");
    assert_eq!(fixed.len(), 1, "{fixed:#?}");
    assert_eq!((fixed[0].status.as_str(), fixed[0].resolved_at.as_deref()), (RESOLVED, Some("2026-02-03T00:00:00Z")));
    assert_eq!(fixed[0].entry.id, opened[0].entry.id);

    current.findings = stored(fixed);
    assert!(run(&current, vec![relay("no")], "2026-02-04T00:00:00Z").is_empty(), "resolved stays resolved, no row");
    let back = run(&current, vec![relay("yes")], "2026-02-05T00:00:00Z");
    assert_eq!((back[0].status.as_str(), back[0].reopened_count, back[0].resolved_at.clone()), (REOPENED, 1, None));
}

#[test]
fn the_batch_cannot_plan_over_the_namespace() {
    let mut current = Current::default();
    current.connectors.insert(inbound("").entry.key, inbound("203.0.113.9"));
    let opened = run(&current, vec![relay("yes")], "2026-02-01T00:00:00Z");
    current.findings = stored(opened.clone());
    // The generic lifecycle resolved it (say a plugin called itself plumbline-collector); the cross-check decides.
    let resolved = FindingRecord { status: RESOLVED.into(), ..opened[0].clone() };
    let mut plan = Plan { connectors: vec![relay("yes")], findings: vec![resolved], at: "2026-02-02T00:00:00Z".into(), ..Plan::default() };
    extend(&mut plan, &current, "contoso", &inputs());
    assert_eq!(plan.findings.len(), 1);
    assert_eq!(plan.findings[0].status, OPEN);
}

#[test]
fn only_mail_tenants_read_the_inputs() {
    let mut current = Current::default();
    let plan = Plan::default();
    assert!(!relevant(&current, &plan));
    current.connectors.insert("wf/x".into(), state("wf/x", "workflow", "hq", &[]));
    assert!(!relevant(&current, &plan));
    assert!(relevant(&current, &Plan { connectors: vec![relay("no")], ..Plan::default() }));
}
