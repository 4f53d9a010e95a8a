//! The site ↔ tenant cross-check: what only a collector that sees both a
//! site and its tenant can say. A site's egress address (as the collector
//! sees its agents connect) and its smtp-relay entries are joined with the
//! tenant's Exchange inbound connectors ([`rules`]).
//!
//! The findings live in the register like a plugin's, in their own check-id
//! namespace ([`rules::PREFIX`], plugin [`rules::PLUGIN`]), each on the
//! Exchange connector it is about (the Info one on its relay), with both
//! connectors' keys in its evidence so both pages show it ([`concerns`]).
//! Ingest recomputes the tenant's whole set in the ingest transaction after
//! planning any of its batches ([`extend`]), so a change on either side, a
//! site's new address included, is judged with the batch that brings it and
//! cannot be lost. The findings then follow the register's lifecycle: new
//! ones open, ones no longer derived are resolved, resolved ones derived
//! again reopen; the SIEM feed and the alert rules see them as they see any
//! finding, since they are part of the plan.

pub mod addr;
pub mod rules;

use crate::register::apply::later;
use crate::register::review::{EXCHANGE_CATEGORY, INBOUND_PREFIX};
use crate::register::{ConnectorState, Current, Plan, OPEN, REOPENED, RESOLVED};
use plumbline_protocol::read_api::FindingRecord;
use plumbline_protocol::register::split_key;
use rules::{Facts, Inbound, Relay, StartTls};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::IpAddr;

/// Category of smtp-relay entries.
pub const RELAY_CATEGORY: &str = "smtp-relay";

/// What the store knows beside the register, read in the ingest transaction.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Each site's egress addresses: its live agents' latest.
    pub egress: BTreeMap<String, BTreeSet<IpAddr>>,
    /// Every live agent of the tenant has a known egress.
    pub egress_complete: bool,
    /// Connector keys whose register fields say what is behind them (a
    /// purpose or a connected system).
    pub explained: HashSet<String>,
}

/// Is `check_id` in the cross-check's namespace?
pub fn is_cross_check(check_id: &str) -> bool {
    check_id.starts_with(rules::PREFIX)
}

/// Does the finding belong on the page of connector `key`: about it, or a
/// cross-check finding naming it as either side?
pub fn concerns(f: &plumbline_protocol::register::FindingEntry, key: &str) -> bool {
    f.connector_key == key
        || (is_cross_check(&f.check_id)
            && ["exchange_connector", "relay_connector"].iter().any(|side| f.evidence.get(*side).is_some_and(|k| k == key)))
}

/// Could the tenant have cross-check findings after `plan`? Without relay
/// or Exchange entries and without stored ones, the store need not read
/// [`Inputs`].
pub fn relevant(current: &Current, plan: &Plan) -> bool {
    current.connectors.values().any(mail)
        || plan.connectors.iter().any(mail)
        || current.findings.values().any(|f| is_cross_check(&f.entry.check_id))
}

/// Is it an entry the rules read (a relay, an Exchange connector)?
fn mail(c: &ConnectorState) -> bool {
    c.entry.category == RELAY_CATEGORY || c.entry.category == EXCHANGE_CATEGORY
}

/// Recompute the tenant's cross-check findings against the register as
/// `plan` leaves it, and put their changes into `plan` (replacing anything
/// the batch planned for that namespace).
pub fn extend(plan: &mut Plan, current: &Current, tenant_id: &str, inputs: &Inputs) {
    // Only the mail entries: a tenant's thousands of flows cost nothing here.
    let mut after: HashMap<&str, &ConnectorState> =
        current.connectors.values().filter(|c| mail(c)).map(|c| (c.entry.key.as_str(), c)).collect();
    for c in &plan.connectors {
        if mail(c) {
            after.insert(&c.entry.key, c);
        } else {
            after.remove(c.entry.key.as_str());
        }
    }
    let facts = facts(&after, inputs);
    let derived = rules::derive(tenant_id, &facts);
    plan.findings.retain(|f| !is_cross_check(&f.entry.check_id));
    let records = lifecycle(current, derived, &plan.at);
    plan.findings.extend(records);
}

/// The register entries the rules read, sorted by key.
fn facts(after: &HashMap<&str, &ConnectorState>, inputs: &Inputs) -> Facts {
    let mut present: Vec<&ConnectorState> = after.values().copied().filter(|c| c.present).collect();
    present.sort_by(|a, b| a.entry.key.cmp(&b.entry.key));
    let attr = |c: &ConnectorState, name: &str| c.entry.attributes.get(name).cloned().unwrap_or_default();
    let known = |v: String| (!matches!(v.as_str(), "" | "unknown" | "not set" | "none")).then_some(v);
    let relays = present
        .iter()
        .filter(|c| c.entry.category == RELAY_CATEGORY)
        .map(|c| Relay {
            key: c.entry.key.clone(),
            site_id: c.site_id.clone(),
            address: known(attr(c, "address")).unwrap_or_else(|| c.entry.name.clone()),
            ip: attr(c, "connected_to").parse().ok(),
            reached: matches!(attr(c, "status").as_str(), "ok" | "error"),
            open: attr(c, "open_relay") == "yes",
            open_result: known(attr(c, "open_relay_result")).unwrap_or_else(|| "not tested".into()),
            starttls: match attr(c, "starttls_offered").as_str() {
                "true" | "not-applicable" => StartTls::Offered,
                "false" => StartTls::NotOffered,
                _ => StartTls::Unknown,
            },
            subject: known(attr(c, "tls_subject")),
        })
        .collect();
    let inbound = present
        .iter()
        .filter(|c| {
            c.entry.category == EXCHANGE_CATEGORY
                && split_key(&c.entry.key).is_some_and(|(_, local)| local.starts_with(INBOUND_PREFIX))
                && attr(c, "enabled") != "false"
        })
        .map(|c| {
            let sender_ips = attr(c, "sender_ip_addresses");
            Inbound {
                key: c.entry.key.clone(),
                name: c.entry.name.clone(),
                guid: Some(attr(c, "guid")).filter(|g| rules::is_guid(g)),
                site_id: c.site_id.clone(),
                on_premises: attr(c, "connector_type").eq_ignore_ascii_case("OnPremises"),
                ranges: addr::ranges(&sender_ips),
                sender_ips,
                require_tls: attr(c, "require_tls") == "true",
                cert_name: known(attr(c, "tls_sender_certificate_name")),
                explained: inputs.explained.contains(&c.entry.key),
            }
        })
        .collect();
    Facts {
        relays,
        inbound,
        egress: inputs.egress.clone(),
        egress_complete: inputs.egress_complete,
        exchange_scanned: present.iter().any(|c| c.entry.category == EXCHANGE_CATEGORY),
    }
}

/// The finding rows that change: derived ones opened, kept up to date or
/// reopened; stored ones no longer derived resolved.
fn lifecycle(current: &Current, derived: Vec<rules::Derived>, at: &str) -> Vec<FindingRecord> {
    let mut out = Vec::new();
    let mut ids = HashSet::new();
    for d in derived {
        if !ids.insert(d.entry.id.clone()) {
            continue;
        }
        out.push(match current.findings.get(&d.entry.id) {
            None => FindingRecord {
                entry: d.entry,
                status: OPEN.into(),
                site_id: d.site_id,
                first_seen: at.into(),
                last_seen: at.into(),
                resolved_at: None,
                reopened_count: 0,
            },
            Some(old) if old.status == RESOLVED => FindingRecord {
                entry: d.entry,
                status: REOPENED.into(),
                site_id: d.site_id,
                last_seen: later(&old.last_seen, at),
                resolved_at: None,
                reopened_count: old.reopened_count + 1,
                ..old.clone()
            },
            Some(old) => FindingRecord { entry: d.entry, site_id: d.site_id, last_seen: later(&old.last_seen, at), ..old.clone() },
        });
    }
    let mut gone: Vec<&FindingRecord> = current
        .findings
        .values()
        .filter(|f| is_cross_check(&f.entry.check_id) && f.status != RESOLVED && !ids.contains(&f.entry.id))
        .collect();
    gone.sort_by(|a, b| a.entry.id.cmp(&b.entry.id));
    out.extend(gone.into_iter().map(|f| FindingRecord { status: RESOLVED.into(), resolved_at: Some(at.into()), ..f.clone() }));
    out
}

#[cfg(test)]
mod tests;
