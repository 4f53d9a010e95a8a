//! What one verified batch changes in its tenant's register.
//!
//! - Each reported connector is inserted (`created`), updated (`changed`,
//!   with the fields that differ) or brought back (`reappeared`).
//! - Who saw what is kept per agent (sightings). A connector the agent saw
//!   before and does not report now, while its plugin ran fine in this
//!   batch, is no longer seen by that agent; it `disappeared` only when no
//!   other live agent still sees it. So two hosts of one site, or several
//!   sites scanning one cloud tenant, do not erase each other's connectors.
//!   A failed plugin makes nothing disappear, nor does one part of a scan
//!   split into parts (see [`super::parts`]).
//! - A connector no live agent claims (its agents were revoked or went
//!   silent) is judged by any agent of its site that runs its plugin.
//! - Findings, by id, the same way: new ones are `open`; one no live agent
//!   reports any more is `resolved`; a resolved one reported again is
//!   `reopened`.
//! - Inbound Exchange connectors need review (see [`super::review`]); the
//!   first batch of a plugin for a tenant is a baseline, worded as such.

use super::review::{review_reason, Occasion};
use super::{diff, ChangeKind, ConnectorState, Current, NewChange, Plan, Sighting, Subject, OPEN, REOPENED, RESOLVED};
use plumbline_protocol::batch::ScanBatch;
use plumbline_protocol::read_api::FindingRecord;
use plumbline_protocol::register::ConnectorEntry;
use std::collections::HashSet;

pub use super::review::{EXCHANGE_CATEGORY, INBOUND_PREFIX};

/// The plan for `batch` against `current`, with history stamped `at` (the
/// scan's time, bounded by the store; see `store::rows::history_time`).
pub fn plan(current: &Current, batch: &ScanBatch, at: &str) -> Plan {
    let ok_plugins = ok_plugins(batch);
    let mut plan = Plan { at: at.to_string(), ..Plan::default() };
    connectors(current, batch, at, &ok_plugins, &mut plan);
    findings(current, batch, at, &ok_plugins, &mut plan);
    plan
}

/// The plugins whose report in `batch` is whole and fine: only they make
/// anything disappear (a part of a split scan is not the whole of what the
/// plugin saw).
pub fn ok_plugins(batch: &ScanBatch) -> HashSet<&str> {
    match super::parts::decides_disappearance(batch) {
        true => batch.plugins.iter().filter(|p| p.status == "ok").map(|p| p.name.as_str()).collect(),
        false => HashSet::new(),
    }
}

/// Later of two RFC 3339 times as stored (same format, so text order).
pub(crate) fn later(a: &str, b: &str) -> String {
    if a >= b { a.to_string() } else { b.to_string() }
}

fn connectors(current: &Current, batch: &ScanBatch, at: &str, ok_plugins: &HashSet<&str>, plan: &mut Plan) {
    let s = &current.sightings;
    // Plugins this tenant has never had a connector from: their first
    // report is a baseline, not news.
    let loaded = current.connectors.values().map(|c| c.entry.plugin.as_str());
    let known_plugins: HashSet<&str> = loaded.chain(current.plugins.iter().map(String::as_str)).collect();
    let mut seen: HashSet<&str> = current.unchanged.connectors.iter().map(String::as_str).collect();
    for key in current.unchanged.connectors.iter().filter(|k| !s.mine.contains(*k)) {
        plan.sightings.push(Sighting { subject: Subject::Connector, key: key.clone(), present: true });
    }
    for entry in &batch.connectors {
        if !seen.insert(entry.key.as_str()) {
            continue; // the first report of a key wins
        }
        let old = current.connectors.get(&entry.key);
        let change = match old {
            None => {
                let occasion =
                    if known_plugins.contains(entry.plugin.as_str()) { Occasion::New } else { Occasion::Baseline };
                Some(new_change(entry, ChangeKind::Created, vec![], occasion))
            }
            Some(old) if !old.present => Some(new_change(
                entry,
                ChangeKind::Reappeared,
                diff::fields(&old.entry, entry),
                Occasion::Reappeared,
            )),
            Some(old) => {
                let fields = diff::fields(&old.entry, entry);
                (!fields.is_empty()).then(|| new_change(entry, ChangeKind::Changed, fields, Occasion::Changed))
            }
        };
        plan.changes.extend(change);
        if !s.mine.contains(&entry.key) {
            plan.sightings.push(Sighting { subject: Subject::Connector, key: entry.key.clone(), present: true });
        }
        plan.connectors.push(ConnectorState {
            entry: entry.clone(),
            site_id: batch.site_id.clone(),
            present: true,
            first_seen: old.map_or_else(|| at.to_string(), |o| o.first_seen.clone()),
            last_seen: old.map_or_else(|| at.to_string(), |o| later(&o.last_seen, at)),
            disappeared_at: None,
        });
    }
    let mut gone: Vec<&ConnectorState> = Vec::new();
    let mut candidates: Vec<&ConnectorState> = current
        .connectors
        .values()
        .filter(|c| ok_plugins.contains(c.entry.plugin.as_str()) && !seen.contains(c.entry.key.as_str()))
        .collect();
    candidates.sort_by(|a, b| a.entry.key.cmp(&b.entry.key));
    for c in candidates {
        let key = &c.entry.key;
        let mine = s.mine.contains(key);
        if mine {
            plan.sightings.push(Sighting { subject: Subject::Connector, key: key.clone(), present: false });
        }
        let orphan = !mine && !s.others.contains(key) && c.site_id == batch.site_id;
        if c.present && (mine || orphan) && !s.others.contains(key) {
            gone.push(c);
        }
    }
    for old in gone {
        plan.changes.push(NewChange {
            connector_key: old.entry.key.clone(),
            kind: ChangeKind::Disappeared,
            needs_review: false,
            review_reason: None,
            fields: vec![],
            entry: Some(old.entry.clone()),
            baseline: false,
        });
        plan.connectors.push(ConnectorState { present: false, disappeared_at: Some(at.to_string()), ..old.clone() });
    }
}

fn new_change(
    entry: &ConnectorEntry,
    kind: ChangeKind,
    fields: Vec<plumbline_protocol::read_api::FieldChange>,
    occasion: Occasion,
) -> NewChange {
    let review = review_reason(entry, occasion, &fields);
    NewChange {
        connector_key: entry.key.clone(),
        kind,
        needs_review: review.is_some(),
        review_reason: review,
        fields,
        entry: Some(entry.clone()),
        baseline: occasion == Occasion::Baseline,
    }
}

fn findings(current: &Current, batch: &ScanBatch, at: &str, ok_plugins: &HashSet<&str>, plan: &mut Plan) {
    let s = &current.sightings;
    let mut seen: HashSet<&str> = current.unchanged.findings.iter().map(String::as_str).collect();
    for id in current.unchanged.findings.iter().filter(|id| !s.findings_mine.contains(*id)) {
        plan.sightings.push(Sighting { subject: Subject::Finding, key: id.clone(), present: true });
    }
    for f in &batch.findings {
        if !seen.insert(f.id.as_str()) {
            continue;
        }
        let record = match current.findings.get(&f.id) {
            None => FindingRecord {
                entry: f.clone(),
                status: OPEN.into(),
                site_id: batch.site_id.clone(),
                first_seen: at.into(),
                last_seen: at.into(),
                resolved_at: None,
                reopened_count: 0,
            },
            Some(old) if old.status == RESOLVED => FindingRecord {
                entry: f.clone(),
                status: REOPENED.into(),
                site_id: batch.site_id.clone(),
                last_seen: later(&old.last_seen, at),
                resolved_at: None,
                reopened_count: old.reopened_count + 1,
                ..old.clone()
            },
            Some(old) => FindingRecord {
                entry: f.clone(),
                site_id: batch.site_id.clone(),
                last_seen: later(&old.last_seen, at),
                ..old.clone()
            },
        };
        if !s.findings_mine.contains(&f.id) {
            plan.sightings.push(Sighting { subject: Subject::Finding, key: f.id.clone(), present: true });
        }
        plan.findings.push(record);
    }
    let mut candidates: Vec<&FindingRecord> = current
        .findings
        .values()
        .filter(|f| ok_plugins.contains(f.entry.plugin.as_str()) && !seen.contains(f.entry.id.as_str()))
        .collect();
    candidates.sort_by(|a, b| a.entry.id.cmp(&b.entry.id));
    for old in candidates {
        let id = &old.entry.id;
        let mine = s.findings_mine.contains(id);
        if mine {
            plan.sightings.push(Sighting { subject: Subject::Finding, key: id.clone(), present: false });
        }
        let orphan = !mine && !s.findings_others.contains(id) && old.site_id == batch.site_id;
        if old.status != RESOLVED && (mine || orphan) && !s.findings_others.contains(id) {
            plan.findings.push(FindingRecord { status: RESOLVED.into(), resolved_at: Some(at.into()), ..old.clone() });
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
