//! What one verified batch changes in its tenant's register.
//!
//! - Each reported connector is inserted (`created`), updated (`changed`,
//!   with the fields that differ) or brought back (`reappeared`).
//! - A connector that the same plugin reported from the same site before,
//!   and that is missing now, `disappeared`, but only when that plugin ran
//!   fine in this batch: a failed plugin makes nothing disappear.
//! - A new inbound Exchange connector (`exchange:inbound:` key) needs review:
//!   it is a classic sign of a compromised tenant.
//! - Findings, by id: new ones are `open`; those the same plugin at the same
//!   site, running fine, no longer reports are `resolved`; a resolved one
//!   reported again is `reopened`.

use super::{diff, ChangeKind, ConnectorState, Current, NewChange, Plan, OPEN, REOPENED, RESOLVED};
use plumbline_protocol::batch::ScanBatch;
use plumbline_protocol::read_api::FindingRecord;
use plumbline_protocol::register::{split_key, ConnectorEntry};
use std::collections::HashSet;

/// Category of Exchange Online connectors.
pub const EXCHANGE_CATEGORY: &str = "exchange-connector";
/// Key prefix of inbound Exchange connectors.
pub const INBOUND_PREFIX: &str = "exchange:inbound:";

/// The plan for `batch` against `current`, stamped `now`.
pub fn plan(current: &Current, batch: &ScanBatch, now: &str) -> Plan {
    let ok_plugins: HashSet<&str> =
        batch.plugins.iter().filter(|p| p.status == "ok").map(|p| p.name.as_str()).collect();
    let mut plan = Plan::default();
    connectors(current, batch, now, &ok_plugins, &mut plan);
    findings(current, batch, now, &ok_plugins, &mut plan);
    plan
}

fn connectors(current: &Current, batch: &ScanBatch, now: &str, ok_plugins: &HashSet<&str>, plan: &mut Plan) {
    let mut seen = HashSet::new();
    for entry in &batch.connectors {
        if !seen.insert(entry.key.as_str()) {
            continue; // the first report of a key wins
        }
        let old = current.connectors.get(&entry.key);
        let change = match old {
            None => Some(new_change(entry, ChangeKind::Created, vec![])),
            Some(old) if !old.present => {
                Some(new_change(entry, ChangeKind::Reappeared, diff::fields(&old.entry, entry)))
            }
            Some(old) => {
                let fields = diff::fields(&old.entry, entry);
                (!fields.is_empty()).then(|| new_change(entry, ChangeKind::Changed, fields))
            }
        };
        plan.changes.extend(change);
        plan.connectors.push(ConnectorState {
            entry: entry.clone(),
            site_id: batch.site_id.clone(),
            present: true,
            first_seen: old.map_or_else(|| now.to_string(), |o| o.first_seen.clone()),
            last_seen: now.to_string(),
            disappeared_at: None,
        });
    }
    let mut gone: Vec<&ConnectorState> = current
        .connectors
        .values()
        .filter(|c| {
            c.present
                && c.site_id == batch.site_id
                && ok_plugins.contains(c.entry.plugin.as_str())
                && !seen.contains(c.entry.key.as_str())
        })
        .collect();
    gone.sort_by(|a, b| a.entry.key.cmp(&b.entry.key));
    for old in gone {
        plan.changes.push(NewChange {
            connector_key: old.entry.key.clone(),
            kind: ChangeKind::Disappeared,
            needs_review: false,
            review_reason: None,
            fields: vec![],
            entry: Some(old.entry.clone()),
        });
        plan.connectors.push(ConnectorState { present: false, disappeared_at: Some(now.to_string()), ..old.clone() });
    }
}

fn new_change(
    entry: &ConnectorEntry,
    kind: ChangeKind,
    fields: Vec<plumbline_protocol::read_api::FieldChange>,
) -> NewChange {
    let review = needs_review(entry);
    NewChange {
        connector_key: entry.key.clone(),
        kind,
        needs_review: review.is_some(),
        review_reason: review,
        fields,
        entry: Some(entry.clone()),
    }
}

/// Why a newly (re)appearing connector needs review, if it does.
pub fn needs_review(entry: &ConnectorEntry) -> Option<String> {
    let local = split_key(&entry.key).map_or(entry.key.as_str(), |(_, local)| local);
    (entry.category == EXCHANGE_CATEGORY && local.starts_with(INBOUND_PREFIX)).then(|| {
        "new inbound Exchange connector: mail from outside can be accepted as trusted; confirm the client set it up"
            .to_string()
    })
}

fn findings(current: &Current, batch: &ScanBatch, now: &str, ok_plugins: &HashSet<&str>, plan: &mut Plan) {
    let mut seen = HashSet::new();
    for f in &batch.findings {
        if !seen.insert(f.id.as_str()) {
            continue;
        }
        let record = match current.findings.get(&f.id) {
            None => FindingRecord {
                entry: f.clone(),
                status: OPEN.into(),
                site_id: batch.site_id.clone(),
                first_seen: now.into(),
                last_seen: now.into(),
                resolved_at: None,
                reopened_count: 0,
            },
            Some(old) if old.status == RESOLVED => FindingRecord {
                entry: f.clone(),
                status: REOPENED.into(),
                site_id: batch.site_id.clone(),
                last_seen: now.into(),
                resolved_at: None,
                reopened_count: old.reopened_count + 1,
                ..old.clone()
            },
            Some(old) => {
                FindingRecord { entry: f.clone(), site_id: batch.site_id.clone(), last_seen: now.into(), ..old.clone() }
            }
        };
        plan.findings.push(record);
    }
    let mut resolved: Vec<&FindingRecord> = current
        .findings
        .values()
        .filter(|f| {
            f.status != RESOLVED
                && f.site_id == batch.site_id
                && ok_plugins.contains(f.entry.plugin.as_str())
                && !seen.contains(f.entry.id.as_str())
        })
        .collect();
    resolved.sort_by(|a, b| a.entry.id.cmp(&b.entry.id));
    for old in resolved {
        plan.findings.push(FindingRecord { status: RESOLVED.into(), resolved_at: Some(now.into()), ..old.clone() });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plumbline_protocol::register::{FindingEntry, PluginStatus, Severity};

    fn connector(key: &str, category: &str, plugin: &str) -> ConnectorEntry {
        ConnectorEntry {
            key: key.into(),
            category: category.into(),
            name: key.into(),
            scope: "tenant".into(),
            owner: None,
            co_owners: vec![],
            purpose: None,
            auth_type: None,
            migration_state: None,
            created: None,
            last_change: None,
            attributes: Default::default(),
            plugin: plugin.into(),
        }
    }

    fn finding(id: &str, key: &str, plugin: &str) -> FindingEntry {
        FindingEntry {
            id: id.into(),
            check_id: "c".into(),
            connector_key: key.into(),
            severity: Severity::High,
            title: "t".into(),
            detail: "d".into(),
            remediation: "r".into(),
            evidence: Default::default(),
            plugin: plugin.into(),
        }
    }

    fn status(name: &str, ok: bool) -> PluginStatus {
        PluginStatus {
            name: name.into(),
            version: None,
            sha256: None,
            status: if ok { "ok" } else { "error" }.into(),
            error: None,
            connectors: 0,
            findings: 0,
            warnings: vec![],
            duration_ms: 0,
        }
    }

    fn batch(plugins: Vec<PluginStatus>, connectors: Vec<ConnectorEntry>, findings: Vec<FindingEntry>) -> ScanBatch {
        ScanBatch {
            schema: 1,
            agent_id: "agt".into(),
            tenant_id: "t".into(),
            site_id: "s".into(),
            sequence: 1,
            scan_started_at: "x".into(),
            scan_finished_at: "x".into(),
            plugins,
            connectors,
            findings,
        }
    }

    /// Apply a plan to the state, as a store would.
    fn apply(current: &mut Current, plan: &Plan) {
        for c in &plan.connectors {
            current.connectors.insert(c.entry.key.clone(), c.clone());
        }
        for f in &plan.findings {
            current.findings.insert(f.entry.id.clone(), f.clone());
        }
    }

    fn kinds(plan: &Plan) -> Vec<(String, &'static str, bool)> {
        plan.changes.iter().map(|c| (c.connector_key.clone(), c.kind.as_str(), c.needs_review)).collect()
    }

    #[test]
    fn a_failed_plugin_makes_nothing_disappear_and_resolves_nothing() {
        let mut cur = Current::default();
        let first = batch(
            vec![status("exo", true), status("teams", true)],
            vec![
                connector("exchange:inbound:a", EXCHANGE_CATEGORY, "exo"),
                connector("teams:1", "teams-connector", "teams"),
            ],
            vec![finding("f1", "teams:1", "teams")],
        );
        let p = plan(&cur, &first, "t1");
        assert_eq!(
            kinds(&p),
            vec![("exchange:inbound:a".into(), "created", true), ("teams:1".into(), "created", false)]
        );
        apply(&mut cur, &p);

        let failed = batch(
            vec![status("exo", true), status("teams", false)],
            vec![connector("exchange:inbound:a", EXCHANGE_CATEGORY, "exo")],
            vec![],
        );
        let p = plan(&cur, &failed, "t2");
        assert!(p.changes.is_empty());
        assert!(p.findings.is_empty());
        apply(&mut cur, &p);

        let ok = batch(
            vec![status("exo", true), status("teams", true)],
            vec![connector("exchange:inbound:a", EXCHANGE_CATEGORY, "exo")],
            vec![],
        );
        let p = plan(&cur, &ok, "t3");
        assert_eq!(kinds(&p), vec![("teams:1".into(), "disappeared", false)]);
        assert_eq!(p.findings.len(), 1);
        assert_eq!(p.findings[0].status, RESOLVED);
        assert_eq!(p.findings[0].resolved_at.as_deref(), Some("t3"));
        apply(&mut cur, &p);
        assert_eq!(cur.connectors["teams:1"].first_seen, "t1");
        assert_eq!(cur.connectors["exchange:inbound:a"].last_seen, "t3");

        let back = batch(
            vec![status("teams", true)],
            vec![connector("teams:1", "teams-connector", "teams")],
            vec![finding("f1", "teams:1", "teams")],
        );
        let p = plan(&cur, &back, "t4");
        assert_eq!(kinds(&p), vec![("teams:1".into(), "reappeared", false)]);
        assert_eq!(p.findings[0].status, REOPENED);
        assert_eq!(p.findings[0].reopened_count, 1);
        assert_eq!(p.findings[0].first_seen, "t1");
    }

    #[test]
    fn another_site_does_not_make_this_sites_connectors_disappear() {
        let mut cur = Current::default();
        let p = plan(
            &cur,
            &batch(vec![status("relay", true)], vec![connector("smtp:1", "smtp-relay", "relay")], vec![]),
            "t1",
        );
        apply(&mut cur, &p);
        let mut other = batch(vec![status("relay", true)], vec![], vec![]);
        other.site_id = "s2".into();
        assert!(plan(&cur, &other, "t2").changes.is_empty());
    }

    #[test]
    fn outbound_exchange_connectors_need_no_review() {
        assert!(needs_review(&connector("exchange:outbound:a", EXCHANGE_CATEGORY, "exo")).is_none());
        assert!(needs_review(&connector("exchange:inbound:a", "smtp-relay", "exo")).is_none());
    }
}
