//! From register to action: rules in the collector's config decide which
//! changes are worth telling someone about, and where. An alert is written
//! to the outbox in the same transaction as the ingest that caused it (so
//! none is lost, and none is sent for a batch that was not stored); the
//! dispatcher sends the outbox on, as one digest per tenant, rule and
//! destination, retrying with backoff until the destination takes it.
//!
//! - [`config`]: the `[alerts]` section, checked at start.
//! - [`evaluate`]: which rules a planned batch fires (pure).
//! - [`teams`]: the Adaptive Card for a Teams Workflows webhook.
//! - [`webhook`]: the signed JSON for PSA and ticketing intake.
//! - [`email`]: the message for a mailbox, sent over SMTP with TLS.
//! - [`dispatch`]: the sender loop, its backoff, digests and rate limits.
//! - [`live`]: the rules in force, the file's and the console's.
//! - [`sweep`]: the timed triggers (silent agents, expiring risks, overdue reviews).

pub mod config;
pub mod dispatch;
pub mod email;
pub mod evaluate;
pub mod live;
pub mod sweep;
pub mod teams;
pub mod webhook;

use plumbline_protocol::register::Severity;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What fires a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// A finding opened at or above this severity.
    FindingOpened(Severity),
    /// A resolved finding came back, at or above this severity.
    FindingReopened(Severity),
    /// An Exchange connector appeared, changed or came back (not at a
    /// tenant's first scan, which is a baseline): Microsoft lists
    /// unexpected connectors as a sign of compromise.
    ExchangeConnectorChanged,
    /// An accepted risk expires within this many days.
    RiskExpiring(u32),
    /// An agent has not delivered for this many hours.
    AgentSilent(u32),
    /// A connector's review is past its date (its cadence since the last review).
    ReviewOverdue,
}

impl Trigger {
    /// What fires it, in words for the console.
    pub fn explained(self) -> String {
        match self {
            Trigger::FindingOpened(s) => format!("a finding opens at {} or above", s.as_str()),
            Trigger::FindingReopened(s) => format!("a resolved finding at {} or above comes back", s.as_str()),
            Trigger::ExchangeConnectorChanged => "an Exchange connector appears, changes or comes back".into(),
            Trigger::RiskExpiring(d) => format!("an accepted risk expires within {d} days"),
            Trigger::AgentSilent(h) => format!("an agent has not delivered for {h} hours"),
            Trigger::ReviewOverdue => "a connector's review is past its date".into(),
        }
    }

    /// As written in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::FindingOpened(_) => "finding-opened",
            Trigger::FindingReopened(_) => "finding-reopened",
            Trigger::ExchangeConnectorChanged => "exchange-connector-changed",
            Trigger::RiskExpiring(_) => "risk-expiring",
            Trigger::AgentSilent(_) => "agent-silent",
            Trigger::ReviewOverdue => "review-overdue",
        }
    }
}

/// Which tenants a rule watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every tenant.
    All,
    /// One tenant.
    Tenant(String),
    /// The tenants in a group.
    Group(String),
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::All => f.write_str("every tenant"),
            Scope::Tenant(t) => write!(f, "tenant {t}"),
            Scope::Group(g) => write!(f, "group {g:?}"),
        }
    }
}

impl Scope {
    /// Does it cover `tenant_id` (in `groups`)?
    pub fn covers(&self, tenant_id: &str, groups: &[String]) -> bool {
        match self {
            Scope::All => true,
            Scope::Tenant(t) => t == tenant_id,
            Scope::Group(g) => groups.iter().any(|x| x == g),
        }
    }
}

/// How a destination is spoken to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DestinationKind {
    /// A Teams Workflows "when a webhook request is received" URL.
    Teams,
    /// Signed JSON for a PSA or ticketing system.
    Webhook,
    /// Email over SMTP.
    Email,
}

impl DestinationKind {
    /// As written in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            DestinationKind::Teams => "teams",
            DestinationKind::Webhook => "webhook",
            DestinationKind::Email => "email",
        }
    }
}

/// A destination, with its secrets.
pub struct Destination {
    /// Its name in the config.
    pub name: String,
    /// How to speak to it.
    pub kind: DestinationKind,
    /// The URL: a secret (a Workflows URL's `sig` is its only key). For
    /// email, the server and recipients ([`email::EmailTarget::address`]).
    pub url: String,
    /// The HMAC key of a signed webhook.
    pub secret: Option<String>,
    /// Where an email destination sends.
    pub email: Option<email::EmailTarget>,
}

impl Destination {
    /// What logs and pages show instead of the URL.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.url)
    }

    /// Where it sends, as the console may show it: a mail server and its
    /// recipients are no secret; a URL is shown only by its fingerprint.
    pub fn shown(&self) -> String {
        match &self.email {
            Some(target) => target.address(),
            None => self.fingerprint(),
        }
    }
}

/// A secret's fingerprint: enough to tell two apart, nothing to use.
pub fn fingerprint(secret: &str) -> String {
    format!("sha256:{}", &crate::tls::fingerprint(secret.as_bytes())[..16])
}

impl std::fmt::Debug for Destination {
    // Never the URL or the secret, even in a debug dump.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Destination")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("url", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

/// One rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Its name, shown on its alerts.
    pub name: String,
    /// What fires it.
    pub trigger: Trigger,
    /// Which tenants.
    pub scope: Scope,
    /// Where its alerts go.
    pub send_to: Vec<Arc<Destination>>,
}

/// Every rule and destination, cheap to clone into each ingest.
#[derive(Debug, Clone)]
pub struct RuleSet {
    /// The rules, in config order.
    pub rules: Arc<Vec<Rule>>,
    /// Every destination, by name.
    pub destinations: Vec<Arc<Destination>>,
    /// How long a queued alert waits for others to join its digest.
    pub gather: std::time::Duration,
}

impl Default for RuleSet {
    fn default() -> Self {
        RuleSet { rules: Arc::default(), destinations: Vec::new(), gather: dispatch::GATHER }
    }
}

impl RuleSet {
    /// When an alert queued `now` is first sent: after the gather time.
    pub fn due_at(&self, now: &str) -> String {
        dispatch::plus(now, self.gather)
    }

    /// No rules: nothing is ever written to the outbox.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Does any rule scope by group (so ingest must read the tenant's groups)?
    pub fn needs_groups(&self) -> bool {
        self.rules.iter().any(|r| matches!(r.scope, Scope::Group(_)))
    }

    /// The destination called `name`.
    pub fn destination(&self, name: &str) -> Option<&Arc<Destination>> {
        self.destinations.iter().find(|d| d.name == name)
    }
}

/// What happened, as an alert tells it. Stored in the outbox as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The trigger's name.
    pub kind: String,
    /// The tenant.
    pub tenant_id: String,
    /// The site that saw it (empty for a tenant-wide event).
    pub site_id: String,
    /// The connector's register key (empty for an agent).
    pub connector_key: String,
    /// Its display name, or the agent's host.
    pub name: String,
    /// Its category.
    pub category: String,
    /// The finding's severity, if it is about one.
    pub severity: Option<String>,
    /// One line.
    pub title: String,
    /// More, in words.
    pub detail: String,
    /// `(field, before, after)` for a changed connector.
    pub changes: Vec<(String, String, String)>,
    /// What to do.
    pub remediation: String,
    /// When it happened.
    pub at: String,
}

impl Event {
    /// Its headline: the severity in capitals, then the title.
    pub fn heading(&self) -> String {
        match &self.severity {
            Some(s) => format!("{}: {}", s.to_uppercase(), self.title),
            None => self.title.clone(),
        }
    }

    /// `(label, value)` lines that every destination shows: the tenant, the
    /// site, what it is about, and when; then each change, before → after.
    pub fn facts(&self, tenant_name: &str) -> Vec<(String, String)> {
        let mut facts = vec![("Tenant".to_string(), format!("{tenant_name} ({})", self.tenant_id))];
        if !self.site_id.is_empty() {
            facts.push(("Site".into(), self.site_id.clone()));
        }
        facts.push((if self.connector_key.is_empty() { "Agent" } else { "Connector" }.into(), self.name.clone()));
        if !self.category.is_empty() {
            facts.push(("Kind".into(), self.category.clone()));
        }
        facts.push(("When".into(), self.at.clone()));
        facts.extend(self.changes.iter().map(|(field, before, after)| (field.clone(), format!("{before} → {after}"))));
        facts
    }

    /// Its connector's console page, when it is about one and the console's address is known.
    pub fn console_link(&self, console_url: Option<&str>) -> Option<String> {
        let base = console_url.filter(|_| !self.connector_key.is_empty())?;
        Some(format!("{}{}", base.trim_end_matches('/'), crate::console::links::connector(&self.tenant_id, &self.connector_key)))
    }
}

/// One outbox row to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAlert {
    /// The rule's name.
    pub rule: String,
    /// The destination's name.
    pub destination: String,
    /// The tenant (digests are per tenant).
    pub tenant_id: String,
    /// One alert per rule, destination and this key: the same event is
    /// never queued twice, whichever replica or timer finds it.
    pub dedupe_key: String,
    /// What happened.
    pub event: Event,
}
