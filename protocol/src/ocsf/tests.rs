use super::*;
use crate::register::{finding_id, Severity};

fn finding(severity: Severity) -> FindingEntry {
    let key = "exchange-connectors/exchange:inbound:1";
    FindingEntry {
        id: finding_id("contoso", "exo.inbound.no-tls", key),
        check_id: "exo.inbound.no-tls".into(),
        connector_key: key.into(),
        severity,
        title: "Inbound connector accepts mail without TLS".into(),
        detail: "RequireTls is false".into(),
        remediation: "Set RequireTls to true".into(),
        evidence: [("RequireTls".to_string(), "False".to_string())].into(),
        plugin: "exchange-connectors".into(),
    }
}

fn connector() -> ConnectorEntry {
    ConnectorEntry {
        key: "exchange-connectors/exchange:inbound:1".into(),
        category: "exchange-connector".into(),
        name: "From scanner".into(),
        scope: "tenant".into(),
        owner: None,
        co_owners: vec![],
        purpose: None,
        auth_type: None,
        migration_state: None,
        created: None,
        last_change: None,
        attributes: Default::default(),
        plugin: "exchange-connectors".into(),
    }
}

fn event<'a>(f: &'a FindingEntry, c: Option<&'a ConnectorEntry>, change: Change) -> FindingEvent<'a> {
    FindingEvent {
        finding: f,
        connector: c,
        tenant_id: "contoso",
        tenant_name: Some("Contoso Ltd"),
        site_id: "hq",
        change,
        at: "2026-11-20T12:00:00.250000Z",
        accepted_until: None,
        first_seen: Some("2026-11-01T00:00:00Z"),
        last_seen: Some("2026-11-20T12:00:00.250000Z"),
        reopened_count: Some(0),
        event_id: Some(42),
    }
}

/// The JSON Schema generated from the published OCSF 1.4.0 schema.
fn schema() -> jsonschema::Validator {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/ocsf/compliance_finding-1.4.0-cloud.schema.json");
    let text = std::fs::read_to_string(path).expect("the OCSF schema in tests/data");
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).expect("the OCSF schema compiles")
}

fn errors(v: &jsonschema::Validator, value: &serde_json::Value) -> Vec<String> {
    v.iter_errors(value).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

#[test]
fn ids_follow_the_class_activity_and_severity() {
    let f = finding(Severity::Critical);
    let o = compliance_finding(&event(&f, None, Change::Opened));
    assert_eq!((o.class_uid, o.category_uid, o.activity_id, o.type_uid), (2003, 2, 1, 200301));
    assert_eq!((o.severity_id, o.severity.as_str()), (5, "Critical"));
    assert_eq!((o.status_id, o.compliance.status_id), (1, 3));
    assert_eq!(o.time, 1_795_176_000_250);
    assert_eq!(o.finding_info.first_seen_time, Some(1_793_491_200_000));
    assert_eq!(o.metadata.uid.as_deref(), Some("42"));
    for (change, activity) in Change::ALL.iter().map(|c| (*c, c.activity_id())) {
        let o = compliance_finding(&event(&f, None, change));
        assert_eq!(o.type_uid, 200300 + u32::from(activity), "{change:?}");
        assert_eq!(o.type_name, format!("Compliance Finding: {}", o.activity_name));
        assert_eq!(Change::parse(change.as_str()), Some(change));
    }
    let ids: Vec<u8> = Severity::ALL.iter().map(|s| severity(*s).0).collect();
    assert_eq!(ids, [1, 2, 3, 4, 5]);
}

#[test]
fn status_is_new_suppressed_or_resolved() {
    let f = finding(Severity::High);
    let mut e = event(&f, None, Change::Reopened);
    assert_eq!(compliance_finding(&e).status, "New");
    e.accepted_until = Some("2026-12-31");
    let accepted = compliance_finding(&e);
    assert_eq!((accepted.status_id, accepted.status_detail.as_deref()), (3, Some("risk accepted until 2026-12-31")));
    // Resolved wins over an acceptance, and the control passes again.
    e.change = Change::Resolved;
    let resolved = compliance_finding(&e);
    assert_eq!((resolved.status_id, resolved.status_detail, resolved.compliance.status.as_str()), (4, None, "Pass"));
    let info = finding(Severity::Info);
    assert_eq!(compliance_finding(&event(&info, None, Change::Reported)).compliance.status, "Warning");
}

#[test]
fn the_resource_names_the_connector() {
    let (f, c) = (finding(Severity::Low), connector());
    let o = compliance_finding(&event(&f, Some(&c), Change::Opened));
    assert_eq!(o.resources, vec![Resource { uid: c.key.clone(), name: Some(c.name), kind: Some(c.category) }]);
    assert_eq!(o.remediation, Some(Remediation { desc: "Set RequireTls to true".into() }));
    let line = ndjson_line(&o);
    assert!(!line.contains('\n') && line.contains("\"type\":\"exchange-connector\""), "{line}");
    assert_eq!(serde_json::from_str::<ComplianceFinding>(&line).unwrap(), o);
}

#[test]
fn every_variant_passes_the_published_schema() {
    let v = schema();
    for severity in Severity::ALL {
        let mut f = finding(severity);
        for change in Change::ALL {
            for accepted in [None, Some("2026-12-31")] {
                let c = connector();
                let mut e = event(&f, Some(&c), change);
                e.accepted_until = accepted;
                let value = serde_json::to_value(compliance_finding(&e)).unwrap();
                assert_eq!(errors(&v, &value), Vec::<String>::new(), "{value:#}");
            }
        }
        // What the agent knows: no connector name, no history, no event id.
        f.remediation.clear();
        f.evidence.clear();
        let bare = FindingEvent {
            tenant_name: None,
            first_seen: None,
            last_seen: None,
            reopened_count: None,
            event_id: None,
            ..event(&f, None, Change::Reported)
        };
        let value = serde_json::to_value(compliance_finding(&bare)).unwrap();
        assert!(value.get("remediation").is_none() && value.get("evidences").is_none(), "{value:#}");
        assert_eq!(errors(&v, &value), Vec::<String>::new(), "{value:#}");
    }
}

/// The schema is strict enough to catch a slip: a field OCSF does not have,
/// a missing required one, an id outside its enumeration.
#[test]
fn the_schema_refuses_what_ocsf_does_not_allow() {
    let v = schema();
    let f = finding(Severity::High);
    let good = serde_json::to_value(compliance_finding(&event(&f, None, Change::Opened))).unwrap();
    let mut extra = good.clone();
    extra["finding_info"]["severity"] = "high".into();
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("cloud");
    let mut bad_status = good.clone();
    bad_status["status_id"] = 7.into();
    for (name, bad) in [("extra", extra), ("missing", missing), ("status", bad_status)] {
        assert!(!errors(&v, &bad).is_empty(), "{name} passed");
    }
}
