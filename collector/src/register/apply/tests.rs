//! The plan against hand-made registers: disappearance, resolution,
//! sightings across agents and sites, and review wording.

use super::*;
use crate::register::Sightings;
use plumbline_protocol::register::{FindingEntry, PluginStatus, Severity};

/// A bare entry (the cross-check's and the parts' tests build on it).
pub(crate) fn connector(key: &str, category: &str, plugin: &str) -> ConnectorEntry {
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

pub(crate) fn finding(id: &str, key: &str, plugin: &str) -> FindingEntry {
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

pub(crate) fn batch(plugins: Vec<PluginStatus>, connectors: Vec<ConnectorEntry>, findings: Vec<FindingEntry>) -> ScanBatch {
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
        part: None,
    }
}

/// The stored state with every agent's sightings, as a store keeps them.
#[derive(Default)]
struct World {
    current: Current,
    seen: std::collections::HashMap<String, HashSet<(&'static str, String)>>,
    /// Agents that no longer count (revoked, or silent too long).
    dead: HashSet<String>,
    last_agent: String,
}

impl std::ops::Deref for World {
    type Target = Current;
    fn deref(&self) -> &Current {
        &self.current
    }
}

impl World {
    /// Plan `batch` as its agent sees the world.
    fn plan(&mut self, batch: &ScanBatch, at: &str) -> Plan {
        let mut s = Sightings::default();
        for (agent, seen) in &self.seen {
            let (connectors, findings) = if *agent == batch.agent_id {
                (&mut s.mine, &mut s.findings_mine)
            } else if self.dead.contains(agent) {
                continue;
            } else {
                (&mut s.others, &mut s.findings_others)
            };
            for (subject, key) in seen {
                if *subject == "connector" { connectors.insert(key.clone()) } else { findings.insert(key.clone()) };
            }
        }
        self.current.sightings = s;
        self.last_agent = batch.agent_id.clone();
        plan(&self.current, batch, at)
    }

    /// Apply the last plan, as a store would.
    fn apply(&mut self, plan: &Plan) {
        for c in &plan.connectors {
            self.current.connectors.insert(c.entry.key.clone(), c.clone());
        }
        for f in &plan.findings {
            self.current.findings.insert(f.entry.id.clone(), f.clone());
        }
        let seen = self.seen.entry(self.last_agent.clone()).or_default();
        for x in &plan.sightings {
            let item = (x.subject.as_str(), x.key.clone());
            if x.present { seen.insert(item) } else { seen.remove(&item) };
        }
    }
}

fn kinds(plan: &Plan) -> Vec<(String, &'static str, bool)> {
    plan.changes.iter().map(|c| (c.connector_key.clone(), c.kind.as_str(), c.needs_review)).collect()
}

#[test]
fn a_failed_plugin_makes_nothing_disappear_and_resolves_nothing() {
    let mut cur = World::default();
    let first = batch(
        vec![status("exo", true), status("teams", true)],
        vec![
            connector("exchange:inbound:a", EXCHANGE_CATEGORY, "exo"),
            connector("teams:1", "teams-connector", "teams"),
        ],
        vec![finding("f1", "teams:1", "teams")],
    );
    let p = cur.plan(&first, "t1");
    assert_eq!(
        kinds(&p),
        vec![("exchange:inbound:a".into(), "created", true), ("teams:1".into(), "created", false)]
    );
    cur.apply(&p);

    let failed = batch(
        vec![status("exo", true), status("teams", false)],
        vec![connector("exchange:inbound:a", EXCHANGE_CATEGORY, "exo")],
        vec![],
    );
    let p = cur.plan(&failed, "t2");
    assert!(p.changes.is_empty());
    assert!(p.findings.is_empty());
    cur.apply(&p);

    let ok = batch(
        vec![status("exo", true), status("teams", true)],
        vec![connector("exchange:inbound:a", EXCHANGE_CATEGORY, "exo")],
        vec![],
    );
    let p = cur.plan(&ok, "t3");
    assert_eq!(kinds(&p), vec![("teams:1".into(), "disappeared", false)]);
    assert_eq!(p.findings.len(), 1);
    assert_eq!(p.findings[0].status, RESOLVED);
    assert_eq!(p.findings[0].resolved_at.as_deref(), Some("t3"));
    cur.apply(&p);
    assert_eq!(cur.connectors["teams:1"].first_seen, "t1");
    assert_eq!(cur.connectors["exchange:inbound:a"].last_seen, "t3");

    let back = batch(
        vec![status("teams", true)],
        vec![connector("teams:1", "teams-connector", "teams")],
        vec![finding("f1", "teams:1", "teams")],
    );
    let p = cur.plan(&back, "t4");
    assert_eq!(kinds(&p), vec![("teams:1".into(), "reappeared", false)]);
    assert_eq!(p.findings[0].status, REOPENED);
    assert_eq!(p.findings[0].reopened_count, 1);
    assert_eq!(p.findings[0].first_seen, "t1");
}

#[test]
fn another_site_does_not_make_this_sites_connectors_disappear() {
    let mut cur = World::default();
    let p = cur.plan(&batch(vec![status("relay", true)], vec![connector("smtp:1", "smtp-relay", "relay")], vec![]),
        "t1",
    );
    cur.apply(&p);
    let mut other = batch(vec![status("relay", true)], vec![], vec![]);
    other.site_id = "s2".into();
    other.agent_id = "agt2".into();
    assert!(cur.plan(&other, "t2").changes.is_empty());
}

#[test]
fn outbound_exchange_connectors_need_no_review() {
    let outbound = connector("exchange:outbound:a", EXCHANGE_CATEGORY, "exo");
    assert!(review_reason(&outbound, Occasion::New, &[]).is_none());
    assert!(review_reason(&connector("exchange:inbound:a", "smtp-relay", "exo"), Occasion::New, &[]).is_none());
}

fn by(agent: &str, site: &str, plugins: Vec<PluginStatus>, connectors: Vec<ConnectorEntry>, findings: Vec<FindingEntry>) -> ScanBatch {
    ScanBatch { agent_id: agent.into(), site_id: site.into(), ..batch(plugins, connectors, findings) }
}

fn present(w: &World, key: &str) -> bool {
    w.connectors[key].present
}

/// Two hosts of one site, each with webhook-finder: each reports its own
/// files. Neither makes the other's connectors disappear or its findings
/// resolve; a connector goes only when the host that saw it stops seeing it.
#[test]
fn two_hosts_of_one_site_do_not_erase_each_other() {
    let mut w = World::default();
    let wf = || vec![status("wf", true)];
    let a = |c: Vec<&str>, f: Vec<&str>| {
        let conns = c.iter().map(|k| connector(k, "incoming-webhook", "wf")).collect();
        by("agtA", "hq", wf(), conns, f.iter().map(|k| finding(&format!("f-{k}"), k, "wf")).collect())
    };
    let b = |c: Vec<&str>, f: Vec<&str>| ScanBatch { agent_id: "agtB".into(), ..a(c, f) };
    for (batch, at) in [(a(vec!["w1"], vec!["w1"]), "t1"), (b(vec!["w2"], vec!["w2"]), "t2")] {
        let p = w.plan(&batch, at);
        w.apply(&p);
    }
    for round in 0..3 {
        for (batch, at) in [(a(vec!["w1"], vec!["w1"]), "t3"), (b(vec!["w2"], vec!["w2"]), "t4")] {
            let p = w.plan(&batch, at);
            assert!(p.changes.is_empty(), "round {round}: no churn: {:?}", kinds(&p));
            assert!(p.findings.iter().all(|f| f.status == OPEN), "round {round}: nothing resolved");
            w.apply(&p);
        }
    }
    assert!(present(&w, "w1") && present(&w, "w2"));
    // Host B's file is deleted: its connector goes, its finding resolves.
    let p = w.plan(&b(vec![], vec![]), "t5");
    assert_eq!(kinds(&p), vec![("w2".into(), "disappeared", false)]);
    assert_eq!(p.findings.iter().map(|f| (f.entry.id.as_str(), f.status.as_str())).collect::<Vec<_>>(), [("f-w2", RESOLVED)]);
    w.apply(&p);
    assert!(present(&w, "w1") && !present(&w, "w2"));
}

/// One cloud tenant scanned from two sites: a connector disappears only
/// when every live agent that saw it no longer does.
#[test]
fn a_cloud_connector_disappears_only_when_no_live_agent_sees_it() {
    let mut w = World::default();
    let exo = || vec![status("exo", true)];
    let x = || vec![connector("exchange:outbound:x", EXCHANGE_CATEGORY, "exo")];
    let f = || vec![finding("f-x", "exchange:outbound:x", "exo")];
    for (agent, site, at) in [("agtA", "s1", "t1"), ("agtB", "s2", "t2"), ("agtA", "s1", "t3"), ("agtB", "s2", "t4")] {
        let p = w.plan(&by(agent, site, exo(), x(), f()), at);
        assert!(p.changes.is_empty() || at == "t1", "{at}: {:?}", kinds(&p));
        w.apply(&p);
    }
    let p = w.plan(&by("agtA", "s1", exo(), vec![], vec![]), "t5");
    assert!(p.changes.is_empty() && p.findings.is_empty(), "B still sees it: {:?}", kinds(&p));
    w.apply(&p);
    assert!(present(&w, "exchange:outbound:x"));
    let p = w.plan(&by("agtB", "s2", exo(), vec![], vec![]), "t6");
    assert_eq!(kinds(&p), vec![("exchange:outbound:x".into(), "disappeared", false)]);
    assert_eq!(p.findings[0].status, RESOLVED);
    // A failed plugin withdraws no sighting.
    let mut w = World::default();
    for (agent, site) in [("agtA", "s1"), ("agtB", "s2")] {
        let p = w.plan(&by(agent, site, exo(), x(), vec![]), "t1");
        w.apply(&p);
    }
    let p = w.plan(&by("agtB", "s2", vec![status("exo", false)], vec![], vec![]), "t2");
    assert!(p.sightings.is_empty() && p.changes.is_empty());
}

/// An agent revoked or silent for too long keeps nothing present: a
/// decommissioned host must not hide a deleted connector for ever.
#[test]
fn a_dead_agents_sightings_do_not_count() {
    let mut w = World::default();
    let exo = || vec![status("exo", true)];
    let x = || vec![connector("exchange:outbound:x", EXCHANGE_CATEGORY, "exo")];
    for agent in ["agtA", "agtB"] {
        let p = w.plan(&by(agent, "s1", exo(), x(), vec![]), "t1");
        w.apply(&p);
    }
    w.dead.insert("agtB".into());
    let p = w.plan(&by("agtA", "s1", exo(), vec![], vec![]), "t2");
    assert_eq!(kinds(&p), vec![("exchange:outbound:x".into(), "disappeared", false)]);
    // Seen only by a dead agent of this site, never by this one: an orphan,
    // judged by this site's agent that runs the plugin.
    let mut w = World::default();
    let p = w.plan(&by("agtOld", "s1", exo(), x(), vec![]), "t1");
    w.apply(&p);
    w.dead.insert("agtOld".into());
    let p = w.plan(&by("agtNew", "s1", exo(), vec![], vec![]), "t2");
    assert_eq!(kinds(&p), vec![("exchange:outbound:x".into(), "disappeared", false)]);
    // ... but not by an agent of another site.
    let p = w.plan(&by("agtElsewhere", "s9", exo(), vec![], vec![]), "t2");
    assert!(p.changes.is_empty());
}

/// The first report of a plugin for a tenant is a baseline; later ones are
/// news; each kind is worded as what it is.
#[test]
fn review_reasons_say_baseline_new_changed_or_back() {
    let mut w = World::default();
    let exo = || vec![status("exo", true)];
    let inbound = |k: &str| ConnectorEntry { created: Some("2024-03-05T10:00:00Z".into()), ..connector(k, EXCHANGE_CATEGORY, "exo") };
    let reason = |p: &Plan, key: &str| p.changes.iter().find(|c| c.connector_key == key).and_then(|c| c.review_reason.clone()).unwrap();
    let p = w.plan(&by("agtA", "s1", exo(), vec![inbound("exchange:inbound:old")], vec![]), "t1");
    let first = reason(&p, "exchange:inbound:old");
    assert!(first.starts_with("not yet reviewed") && first.contains("(created 2024-03-05)"), "{first}");
    w.apply(&p);
    let mut changed = inbound("exchange:inbound:old");
    changed.attributes.insert("sender_ip_addresses".into(), "203.0.113.9".into());
    let p = w.plan(&by("agtA", "s1", exo(), vec![changed.clone(), inbound("exchange:inbound:new")], vec![]), "t2");
    assert!(reason(&p, "exchange:inbound:new").starts_with("new since the last scan"));
    let why = reason(&p, "exchange:inbound:old");
    assert!(why.starts_with("changed since the last scan (attributes.sender_ip_addresses)"), "{why}");
    w.apply(&p);
    let p = w.plan(&by("agtA", "s1", exo(), vec![changed.clone()], vec![]), "t3");
    w.apply(&p);
    let p = w.plan(&by("agtA", "s1", exo(), vec![changed, inbound("exchange:inbound:new")], vec![]), "t4");
    assert!(reason(&p, "exchange:inbound:new").starts_with("reappeared"));
}
