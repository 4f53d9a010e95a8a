//! Which changes of a finding's state a plan makes: the SIEM feed's events
//! from ingest. A rescan that finds a finding as it was makes none; so does
//! a finding whose text changed but whose state did not.

use super::{Current, Plan, REOPENED, RESOLVED};
use plumbline_protocol::ocsf::Change;
use plumbline_protocol::read_api::FindingRecord;

/// The findings of `plan` whose state changes against `current`, in the
/// plan's order, each with its state after.
pub fn of_plan<'a>(current: &Current, plan: &'a Plan) -> Vec<(Change, &'a FindingRecord)> {
    plan.findings
        .iter()
        .filter_map(|after| {
            let change = match current.findings.get(&after.entry.id) {
                None => Change::Opened,
                Some(before) if before.status == RESOLVED && after.status == REOPENED => Change::Reopened,
                Some(before) if before.status != RESOLVED && after.status == RESOLVED => Change::Resolved,
                Some(_) => return None,
            };
            Some((change, after))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::register::OPEN;
    use plumbline_protocol::register::{FindingEntry, Severity};

    fn record(id: &str, status: &str) -> FindingRecord {
        FindingRecord {
            entry: FindingEntry {
                id: id.into(),
                check_id: "c".into(),
                connector_key: "p/k".into(),
                severity: Severity::High,
                title: "t".into(),
                detail: "d".into(),
                remediation: "r".into(),
                evidence: Default::default(),
                plugin: "p".into(),
            },
            status: status.into(),
            site_id: "hq".into(),
            first_seen: "a".into(),
            last_seen: "b".into(),
            resolved_at: None,
            reopened_count: 0,
        }
    }

    #[test]
    fn only_state_changes_are_events() {
        let mut current = Current::default();
        for (id, status) in [("still", OPEN), ("back", RESOLVED), ("gone", OPEN), ("reworded", OPEN)] {
            current.findings.insert(id.into(), record(id, status));
        }
        let mut reworded = record("reworded", OPEN);
        reworded.entry.title = "new words".into();
        let plan = Plan {
            findings: vec![
                record("new", OPEN),
                record("still", OPEN),
                record("back", REOPENED),
                record("gone", RESOLVED),
                reworded,
            ],
            ..Plan::default()
        };
        let events: Vec<(Change, &str)> = of_plan(&current, &plan).into_iter().map(|(c, f)| (c, f.entry.id.as_str())).collect();
        assert_eq!(events, [(Change::Opened, "new"), (Change::Reopened, "back"), (Change::Resolved, "gone")]);
    }
}
