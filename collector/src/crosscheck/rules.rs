//! The cross-check's rules: a site's smtp-relay facts and egress against the
//! tenant's Exchange inbound connectors. Pure, so ingest runs it inside its
//! transaction and the tests run it on its own.
//!
//! A connector *trusts a site* when one of the site's egress addresses lies
//! in one of its `SenderIPAddresses` entries: mail from that site's relay
//! reaches Microsoft 365 from that address. Then:
//! - Critical: the connector is `OnPremises` and the site's relay is an open
//!   relay.
//! - High: the connector requires TLS or names a `TlsSenderCertificateName`,
//!   and the site's relay offers no STARTTLS, or its certificate's subject is
//!   not that name.
//! - Medium: an `OnPremises` connector trusts entries from which no enrolled
//!   site egresses, and nothing staff entered explains them (see
//!   [`Inbound::explained`]). Judged only once every live agent of the tenant
//!   has a known egress, so a site that has not delivered yet is not taken
//!   for a stranger.
//! - Info: a site's relay that no inbound connector covers, by the site's
//!   egress, the relay's own address or its certificate; judged only for a
//!   tenant whose Exchange connectors were scanned.

use super::addr::{subject_matches, Range};
use plumbline_protocol::register::{finding_id, FindingEntry, Severity};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// Every cross-check finding's check id starts with this; agents may not use it.
pub const PREFIX: &str = "plumbline/cross-check/";
/// Critical: an open relay behind an OnPremises connector's trust.
pub const OPEN_RELAY_TRUSTED: &str = "plumbline/cross-check/open-relay-trusted";
/// High: the connector's TLS demand is not what the relay offers.
pub const TLS_NOT_MET: &str = "plumbline/cross-check/tls-not-met";
/// Medium: trusted addresses no site egresses from.
pub const UNEXPLAINED_TRUST: &str = "plumbline/cross-check/unexplained-trust";
/// Info: a relay no connector covers.
pub const RELAY_UNCOVERED: &str = "plumbline/cross-check/relay-uncovered";
/// The `plugin` of the findings the collector derives (no agent plugin
/// reports into it: its findings' keys would have to start with it).
pub const PLUGIN: &str = "plumbline-collector";

/// What a relay said about STARTTLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartTls {
    /// Offered, or implicit TLS.
    Offered,
    /// Not offered.
    NotOffered,
    /// Not learnt (unreachable, or the session ended first).
    Unknown,
}

/// One site's smtp-relay entry, as the rules read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relay {
    /// Register key.
    pub key: String,
    /// The site that reported it.
    pub site_id: String,
    /// `host:port` as probed.
    pub address: String,
    /// The address it answered on, when it is one.
    pub ip: Option<IpAddr>,
    /// The probe reached it.
    pub reached: bool,
    /// It relayed a test message to an outside domain.
    pub open: bool,
    /// The open-relay test's summary, for evidence.
    pub open_result: String,
    /// STARTTLS.
    pub starttls: StartTls,
    /// Its certificate's subject, when one was seen.
    pub subject: Option<String>,
}

/// One inbound Exchange connector, as the rules read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    /// Register key.
    pub key: String,
    /// Display name.
    pub name: String,
    /// Its `Guid`, when well-formed ([`is_guid`]).
    pub guid: Option<String>,
    /// The site whose agent scanned it.
    pub site_id: String,
    /// `ConnectorType` is `OnPremises`.
    pub on_premises: bool,
    /// `SenderIPAddresses` as written.
    pub sender_ips: String,
    /// The same, parsed.
    pub ranges: Vec<(String, Range)>,
    /// `RequireTls`.
    pub require_tls: bool,
    /// `TlsSenderCertificateName`, when set.
    pub cert_name: Option<String>,
    /// Staff wrote down what is behind it: a purpose or a connected system in
    /// the register fields. That explains addresses no site egresses from
    /// (a partner's server, a cloud scanner), so they are not a finding.
    pub explained: bool,
}

/// Everything the rules join, for one tenant.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Present relays, by key.
    pub relays: Vec<Relay>,
    /// Present, enabled inbound connectors, by key.
    pub inbound: Vec<Inbound>,
    /// Each site's egress addresses (its live agents' latest).
    pub egress: BTreeMap<String, BTreeSet<IpAddr>>,
    /// Every live agent of the tenant has a known egress.
    pub egress_complete: bool,
    /// The tenant has Exchange Online entries at all.
    pub exchange_scanned: bool,
}

/// A finding the rules derive, with the site it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derived {
    /// The finding.
    pub entry: FindingEntry,
    /// Its site: the relay's, or for a connector alone the site that scanned it.
    pub site_id: String,
}

/// The findings `facts` call for, in a stable order.
pub fn derive(tenant_id: &str, facts: &Facts) -> Vec<Derived> {
    let mut out = Vec::new();
    for c in &facts.inbound {
        for (site, egress) in &facts.egress {
            let Some((entry, ip)) = trusting_entry(c, egress) else { continue };
            for r in facts.relays.iter().filter(|r| &r.site_id == site) {
                let joined = Join { c, r, entry, ip, egress };
                out.extend(open_relay_trusted(tenant_id, &joined));
                out.extend(tls_not_met(tenant_id, &joined));
            }
        }
        out.extend(unexplained_trust(tenant_id, c, facts));
    }
    out.extend(facts.relays.iter().filter_map(|r| relay_uncovered(tenant_id, r, facts)));
    out
}

/// The first entry of `c` that admits one of `egress`, with that address.
fn trusting_entry<'a>(c: &'a Inbound, egress: &BTreeSet<IpAddr>) -> Option<(&'a str, IpAddr)> {
    c.ranges.iter().find_map(|(text, range)| egress.iter().find(|ip| range.contains(**ip)).map(|ip| (text.as_str(), *ip)))
}

/// A connector that trusts a site, and one relay of that site.
struct Join<'a> {
    c: &'a Inbound,
    r: &'a Relay,
    entry: &'a str,
    ip: IpAddr,
    egress: &'a BTreeSet<IpAddr>,
}

impl Join<'_> {
    /// The finding, with the evidence from both sides.
    fn finding(&self, tenant_id: &str, check_id: &str, severity: Severity, title: String, detail: String, fix: String) -> Derived {
        let (c, r) = (self.c, self.r);
        let subject = format!("{}:{}{}", c.key.len(), c.key, r.key);
        let mut f = entry(tenant_id, check_id, &subject, &c.key, severity, title, detail, fix);
        let ev = &mut f.evidence;
        connector_evidence(ev, c);
        ev.insert("trusted_by_entry".into(), self.entry.to_string());
        ev.insert("site".into(), r.site_id.clone());
        ev.insert("site_egress".into(), list(self.egress));
        ev.insert("egress_matched".into(), self.ip.to_string());
        relay_evidence(ev, r);
        Derived { entry: f, site_id: r.site_id.clone() }
    }
}

fn open_relay_trusted(tenant_id: &str, j: &Join) -> Option<Derived> {
    let (c, r) = (j.c, j.r);
    if !(c.on_premises && r.open) {
        return None;
    }
    Some(j.finding(
        tenant_id,
        OPEN_RELAY_TRUSTED,
        Severity::Critical,
        format!("Open relay {} at site {} is trusted by inbound connector {}", r.address, r.site_id, c.name),
        format!(
            "Inbound connector {} (OnPremises) accepts mail from {} ({}), the address site {} reaches the internet from, \
             and the SMTP relay {} at that site relays for anyone ({}). Anyone on the site's network, or anything that can \
             reach the relay, can send mail through Microsoft 365 as the organisation, past its spam and spoofing checks.",
            c.name, j.entry, j.ip, r.site_id, r.address, r.open_result
        ),
        format!(
            "Close the relay first: accept mail for relay only from the devices that need it (Postfix: `mynetworks` and \
             `smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination`; \
             Exchange Server: remove Anonymous relay from the receive connector or restrict its RemoteIPRanges). Then \
             consider making the connector require the relay's certificate: Set-InboundConnector -Identity {} \
             -RestrictDomainsToCertificate $true -TlsSenderCertificateName <the relay's name>.",
            identity(c)
        ),
    ))
}

fn tls_not_met(tenant_id: &str, j: &Join) -> Option<Derived> {
    let (c, r) = (j.c, j.r);
    if !(c.require_tls || c.cert_name.is_some()) {
        return None;
    }
    let demand = match &c.cert_name {
        Some(name) => format!("requires TLS with a certificate named {name}"),
        None => "requires TLS".to_string(),
    };
    let (what, consequence) = if r.starttls == StartTls::NotOffered {
        ("offers no STARTTLS".to_string(), "its mail is refused, or the relay is not the server that sends it")
    } else {
        let (Some(want), Some(subject)) = (&c.cert_name, &r.subject) else { return None };
        if subject_matches(want, subject) {
            return None;
        }
        (format!("presents a certificate for {subject}"), "either its mail is refused or the restriction is not what it seems")
    };
    Some(j.finding(
        tenant_id,
        TLS_NOT_MET,
        Severity::High,
        format!("Relay {} at site {} does not meet the TLS that connector {} requires", r.address, r.site_id, c.name),
        format!(
            "Inbound connector {} trusts site {} by {} ({}) and {demand}, but the site's relay {} {what}: {consequence}.",
            c.name, r.site_id, j.entry, j.ip, r.address
        ),
        format!(
            "Give the relay a certificate whose subject is the name the connector expects, and enable STARTTLS on it \
             (Postfix: `smtpd_tls_cert_file`, `smtpd_tls_key_file`, `smtp_tls_security_level = encrypt` towards \
             Microsoft 365). If the connector's name is the stale one, correct it: Set-InboundConnector -Identity {} \
             -TlsSenderCertificateName <the relay's certificate name>.",
            identity(c)
        ),
    ))
}

fn unexplained_trust(tenant_id: &str, c: &Inbound, facts: &Facts) -> Option<Derived> {
    if !(c.on_premises && facts.egress_complete) || c.explained {
        return None;
    }
    let all: BTreeSet<IpAddr> = facts.egress.values().flatten().copied().collect();
    let strangers: Vec<&str> =
        c.ranges.iter().filter(|(_, range)| !all.iter().any(|ip| range.contains(*ip))).map(|(t, _)| t.as_str()).collect();
    if strangers.is_empty() {
        return None;
    }
    let strangers = strangers.join(", ");
    let mut f = entry(
        tenant_id,
        UNEXPLAINED_TRUST,
        &c.key,
        &c.key,
        Severity::Medium,
        format!("Inbound connector {} trusts addresses no site sends from", c.name),
        format!(
            "Inbound connector {} (OnPremises) treats mail from {strangers} as the organisation's own, but no enrolled site \
             reaches the internet from there (the sites' addresses: {}), and its register fields do not say what is behind \
             them. A former office, a decommissioned server or an address someone else now holds can send as the client.",
            c.name,
            if all.is_empty() { "none known".to_string() } else { list(&all) }
        ),
        format!(
            "Find out what sends from {strangers}. Remove what is gone: Set-InboundConnector -Identity {} \
             -SenderIPAddresses <the addresses still in use>. For what is legitimate (a partner's server, a cloud \
             scanner), write it in the connector's Purpose or Connected system field in Plumbline.",
            identity(c)
        ),
    );
    connector_evidence(&mut f.evidence, c);
    f.evidence.insert("untrusted_entries".into(), strangers);
    f.evidence.insert("tenant_egress".into(), list(&all));
    Some(Derived { entry: f, site_id: c.site_id.clone() })
}

fn relay_uncovered(tenant_id: &str, r: &Relay, facts: &Facts) -> Option<Derived> {
    let egress = facts.egress.get(&r.site_id);
    if !(facts.exchange_scanned && r.reached) || (egress.is_none() && r.ip.is_none()) {
        return None;
    }
    let mut from: BTreeSet<IpAddr> = egress.cloned().unwrap_or_default();
    from.extend(r.ip);
    let covered = facts.inbound.iter().any(|c| {
        c.ranges.iter().any(|(_, range)| from.iter().any(|ip| range.contains(*ip)))
            || matches!((&c.cert_name, &r.subject), (Some(want), Some(s)) if subject_matches(want, s))
    });
    if covered {
        return None;
    }
    let mut f = entry(
        tenant_id,
        RELAY_UNCOVERED,
        &r.key,
        &r.key,
        Severity::Info,
        format!("No inbound connector covers relay {} at site {}", r.address, r.site_id),
        format!(
            "No inbound Exchange connector of the tenant trusts the addresses relay {} sends from ({}) or its certificate. \
             If it hands mail to Microsoft 365, that mail arrives as anonymous internet mail, subject to spam and spoofing \
             checks, and mail as the organisation's own domains may be rejected.",
            r.address,
            list(&from)
        ),
        "If the relay sends to Microsoft 365, create an OnPremises inbound connector that names it by certificate \
         (New-InboundConnector -ConnectorType OnPremises -RestrictDomainsToCertificate $true -TlsSenderCertificateName \
         <the relay's name>), or by the site's address. If it delivers elsewhere, this is for the record only."
            .to_string(),
    );
    f.evidence.insert("site".into(), r.site_id.clone());
    f.evidence.insert("site_egress".into(), egress.map(list).unwrap_or_else(|| "unknown".into()));
    relay_evidence(&mut f.evidence, r);
    Some(Derived { entry: f, site_id: r.site_id.clone() })
}

/// A finding with no evidence yet. `subject` names what it is about, for its id.
#[allow(clippy::too_many_arguments)]
fn entry(
    tenant_id: &str,
    check_id: &str,
    subject: &str,
    connector_key: &str,
    severity: Severity,
    title: String,
    detail: String,
    remediation: String,
) -> FindingEntry {
    FindingEntry {
        id: finding_id(tenant_id, check_id, subject),
        check_id: check_id.into(),
        connector_key: connector_key.into(),
        severity,
        title,
        detail,
        remediation,
        evidence: BTreeMap::new(),
        plugin: PLUGIN.into(),
    }
}

/// The Exchange side's evidence; `exchange_connector` also puts the finding on that connector's page.
fn connector_evidence(ev: &mut BTreeMap<String, String>, c: &Inbound) {
    ev.insert("exchange_connector".into(), c.key.clone());
    ev.insert("exchange_connector_name".into(), c.name.clone());
    ev.insert("connector_type".into(), if c.on_premises { "OnPremises" } else { "other" }.into());
    ev.insert("sender_ip_addresses".into(), c.sender_ips.clone());
    ev.insert("require_tls".into(), c.require_tls.to_string());
    ev.insert("tls_sender_certificate_name".into(), c.cert_name.clone().unwrap_or_else(|| "not set".into()));
}

/// The site side's evidence; `relay_connector` also puts the finding on that relay's page.
fn relay_evidence(ev: &mut BTreeMap<String, String>, r: &Relay) {
    ev.insert("relay_connector".into(), r.key.clone());
    ev.insert("relay_address".into(), r.address.clone());
    ev.insert("open_relay".into(), if r.open { "yes" } else { "no" }.into());
    ev.insert("open_relay_result".into(), r.open_result.clone());
    let starttls = match r.starttls {
        StartTls::Offered => "offered",
        StartTls::NotOffered => "not offered",
        StartTls::Unknown => "unknown",
    };
    ev.insert("starttls".into(), starttls.into());
    ev.insert("tls_subject".into(), r.subject.clone().unwrap_or_else(|| "unknown".into()));
}

fn list(ips: &BTreeSet<IpAddr>) -> String {
    ips.iter().map(IpAddr::to_string).collect::<Vec<_>>().join(", ")
}

/// How a fix names the connector: by its GUID, which cannot carry
/// anything but hex digits and dashes into a command someone pastes; a
/// connector without a well-formed one gets a placeholder, never its
/// (hostile) name.
fn identity(c: &Inbound) -> &str {
    c.guid.as_deref().unwrap_or("<the connector's GUID>")
}

/// `8-4-4-4-12` hex digits.
pub fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, ch)| if matches!(i, 8 | 13 | 18 | 23) { ch == '-' } else { ch.is_ascii_hexdigit() })
}

#[cfg(test)]
mod tests;
