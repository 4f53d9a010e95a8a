//! The dispatcher: sends the outbox on. Alerts wait [`GATHER`] after they
//! are queued, so a burst from one batch leaves as one digest per tenant,
//! rule and destination, not 500 cards. Each destination gets at most one
//! request per [`MIN_INTERVAL`] (Teams throttles above 4 a second). A 429,
//! a 5xx or a network error is retried with backoff and jitter, honouring
//! Retry-After; nothing is dropped, and a refused alert stays in the outbox
//! with its error. Rows are claimed under a lease, so a collector killed
//! mid-send retries them after restart, and replicas never send one row at
//! the same time. A URL never reaches a log line: only its fingerprint.

use super::{sweep, Destination, DestinationKind, Event, NewAlert, RuleSet, Trigger};
use crate::store::alerts::OutboxRow;
use crate::store::{Store, StoreError};
use crate::timestamp;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// How long a queued alert waits for others to join its digest.
pub const GATHER: Duration = Duration::from_secs(20);
/// How long a claim holds its rows: longer than one send with retries of
/// the connection, shorter than anyone waits for an alert after a crash.
pub const LEASE: Duration = Duration::from_secs(120);
/// Rows claimed at once.
pub const CLAIM_LIMIT: u32 = 1000;
/// How often the outbox is polled.
pub const POLL: Duration = Duration::from_secs(2);
/// Between two requests to one destination (Teams: at most 4 a second).
pub const MIN_INTERVAL: Duration = Duration::from_millis(250);
/// The first retry's wait; it doubles with each try.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(5);
/// The longest wait between tries, also for a Retry-After.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// One request's limit.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the timed triggers (silent agents, expiring risks) are looked for.
pub const SWEEP_EVERY: Duration = Duration::from_secs(300);

/// `now` (RFC 3339) plus `d`, as stored.
pub fn plus(now: &str, d: Duration) -> String {
    timestamp::shift(now, i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2))
}

/// The wait before try `attempts + 1`: doubling, capped, with ±20% jitter
/// so a fleet of failed alerts does not return at one instant.
pub fn backoff(attempts: u32, retry_after: Option<Duration>) -> Duration {
    if let Some(d) = retry_after {
        return d.min(MAX_BACKOFF);
    }
    let base = FIRST_BACKOFF.saturating_mul(1u32 << attempts.min(12)).min(MAX_BACKOFF);
    let mut b = [0u8; 2];
    let _ = getrandom::getrandom(&mut b);
    let jitter = 0.8 + 0.4 * f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX);
    base.mul_f64(jitter).min(MAX_BACKOFF)
}

/// What one send did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// Taken (2xx).
    Ok,
    /// Try again after this long.
    Retry(Duration, String),
    /// Refused for good (a 4xx that is not 408 or 429): a wrong URL or body.
    Refused(String),
}

/// One digest, ready for its destination.
enum Body {
    /// A POST body (Teams, signed webhook).
    Http(Vec<u8>),
    /// A message for SMTP.
    Email(Box<lettre::Message>),
    /// It could not be built (an address the mail library refuses).
    Unsendable(String),
}

/// What one pass did, for logs and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pass {
    /// Requests that went out and were taken.
    pub sent: usize,
    /// Rows in them.
    pub rows: usize,
    /// Requests to try again.
    pub retried: usize,
    /// Requests refused for good.
    pub refused: usize,
}

/// Sends the outbox.
pub struct Dispatcher {
    store: Arc<dyn Store>,
    rules: RuleSet,
    client: reqwest::Client,
    /// Where the rules in force come from, when the console may change them.
    live: Option<super::live::LiveRules>,
    /// The ca_file's certificates (DER), also trusted for SMTP.
    extra_roots: Vec<Vec<u8>>,
    console_url: Option<String>,
    next_allowed: HashMap<String, Instant>,
}

/// Why the dispatcher could not start.
#[derive(Debug, thiserror::Error)]
#[error("alerts: {0}")]
pub struct DispatchError(pub String);

impl Dispatcher {
    /// A dispatcher trusting the public roots and the PEM certificates in `ca_pem`.
    pub fn new(store: Arc<dyn Store>, rules: RuleSet, ca_pem: Option<&[u8]>, console_url: Option<String>) -> Result<Dispatcher, DispatchError> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let mut extra_roots = Vec::new();
        if let Some(pem) = ca_pem {
            use rustls_pki_types::pem::PemObject;
            let mut added = 0;
            for cert in rustls_pki_types::CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| DispatchError(format!("ca_file: not a PEM certificate: {e}")))?;
                extra_roots.push(cert.to_vec());
                roots.add(cert).map_err(|e| DispatchError(format!("ca_file: {e}")))?;
                added += 1;
            }
            if added == 0 {
                return Err(DispatchError("ca_file holds no PEM certificate; give the CA's certificate in PEM".into()));
            }
        }
        let tls = rustls::ClientConfig::builder_with_provider(crate::tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| DispatchError(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .timeout(REQUEST_TIMEOUT)
            // A redirect could carry the body elsewhere; a Workflows URL never redirects.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| DispatchError(e.to_string()))?;
        Ok(Dispatcher { store, rules, live: None, client, extra_roots, console_url, next_allowed: HashMap::new() })
    }

    /// The same, following the rules in force as the console changes them.
    pub fn following(mut self, live: super::live::LiveRules) -> Dispatcher {
        self.rules = live.current();
        self.live = Some(live);
        self
    }

    fn refresh(&mut self) {
        if let Some(live) = &self.live {
            self.rules = live.current();
        }
    }

    /// Run until `shutdown`: poll the outbox, sweep the timed triggers.
    pub async fn run(mut self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut last_sweep: Option<Instant> = None;
        loop {
            self.refresh();
            if last_sweep.is_none_or(|t| t.elapsed() >= SWEEP_EVERY) {
                if let Err(e) = self.sweep(&timestamp::now()).await {
                    tracing::warn!("alerts: looking for silent agents and expiring risks failed: {e}");
                }
                last_sweep = Some(Instant::now());
            }
            match self.pass().await {
                Ok(p) if p != Pass::default() => tracing::info!(sent = p.sent, rows = p.rows, retried = p.retried, refused = p.refused, "alerts"),
                Ok(_) => {}
                Err(e) => tracing::warn!("alerts: reading the outbox failed, trying again: {e}"),
            }
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// Claim what is due and send it, one request per tenant, rule and destination.
    pub async fn pass(&mut self) -> Result<Pass, StoreError> {
        self.refresh();
        let now = timestamp::now();
        let rows = self.store.claim_alerts(&now, &plus(&now, LEASE), CLAIM_LIMIT).await?;
        let mut groups: BTreeMap<(String, String, String), Vec<OutboxRow>> = BTreeMap::new();
        for r in rows {
            groups.entry((r.destination.clone(), r.tenant_id.clone(), r.rule.clone())).or_default().push(r);
        }
        let mut pass = Pass::default();
        for ((destination, tenant_id, rule), rows) in groups {
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            let Some(dest) = self.rules.destination(&destination).cloned() else {
                // A destination removed from the config: keep the rows and say so.
                let why = format!("destination {destination:?} is no longer in the config");
                self.store.alerts_retry(&ids, &plus(&now, MAX_BACKOFF), &why).await?;
                pass.retried += 1;
                continue;
            };
            let events: Vec<Event> = rows.iter().filter_map(|r| serde_json::from_str(&r.event).ok()).collect();
            let tenant_name = self.store.tenant(&tenant_id).await?.map(|t| t.name).unwrap_or_else(|| tenant_id.clone());
            let delivery = format!("plb-{}-{}", ids[0], ids.len());
            let console_url = self.console_url.as_deref();
            let body = match dest.kind {
                DestinationKind::Teams => Body::Http(super::teams::message(&rule, &tenant_name, &events, console_url)),
                DestinationKind::Webhook => Body::Http(
                    serde_json::to_vec(&super::webhook::Body {
                        delivery: &delivery,
                        rule: &rule,
                        tenant_id: &tenant_id,
                        tenant_name: &tenant_name,
                        events: &events,
                    })
                    .expect("events serialise"),
                ),
                DestinationKind::Email => match &dest.email {
                    Some(target) => super::email::message(target, &rule, &tenant_name, &events, console_url, &delivery)
                        .map_or_else(Body::Unsendable, |m| Body::Email(Box::new(m))),
                    None => Body::Unsendable("an email destination without its server".into()),
                },
            };
            self.wait_turn(&dest).await;
            let attempts = rows.iter().map(|r| r.attempts).max().unwrap_or(0);
            let sent = match body {
                Body::Http(body) => self.send(&dest, &delivery, body).await,
                Body::Email(message) => match &dest.email {
                    Some(target) => super::email::send(target, &self.extra_roots, *message).await,
                    None => Sent::Refused("an email destination without its server".into()),
                },
                Body::Unsendable(why) => Sent::Refused(format!("the message could not be built: {why}")),
            };
            match sent {
                Sent::Ok => {
                    self.store.alerts_sent(&ids, &timestamp::now()).await?;
                    pass.sent += 1;
                    pass.rows += ids.len();
                }
                Sent::Retry(after, why) => {
                    let wait = backoff(attempts, Some(after).filter(|d| !d.is_zero()));
                    tracing::warn!(destination = %dest.name, url = %dest.fingerprint(), "alert not delivered, retrying in {} s: {why}", wait.as_secs());
                    self.store.alerts_retry(&ids, &plus(&timestamp::now(), wait), &why).await?;
                    pass.retried += 1;
                }
                Sent::Refused(why) => {
                    tracing::error!(destination = %dest.name, url = %dest.fingerprint(), "alert refused for good; fix the destination in the config: {why}");
                    self.store.alerts_refused(&ids, &why).await?;
                    pass.refused += 1;
                }
            }
        }
        Ok(pass)
    }

    async fn wait_turn(&mut self, dest: &Destination) {
        if let Some(at) = self.next_allowed.get(&dest.name) {
            let now = Instant::now();
            if *at > now {
                tokio::time::sleep(*at - now).await;
            }
        }
        self.next_allowed.insert(dest.name.clone(), Instant::now() + MIN_INTERVAL);
    }

    async fn send(&self, dest: &Destination, delivery: &str, body: Vec<u8>) -> Sent {
        let mut req = self.client.post(&dest.url).header("content-type", "application/json");
        if let (DestinationKind::Webhook, Some(secret)) = (dest.kind, &dest.secret) {
            let ts = OffsetDateTime::now_utc().unix_timestamp();
            req = req
                .header(super::webhook::TIMESTAMP_HEADER, ts.to_string())
                .header(super::webhook::SIGNATURE_HEADER, super::webhook::sign(secret, ts, &body))
                .header(super::webhook::DELIVERY_HEADER, delivery);
        }
        let response = match req.body(body).send().await {
            Ok(r) => r,
            // without_url: the URL is the secret.
            Err(e) => return Sent::Retry(Duration::ZERO, e.without_url().to_string()),
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs)
            .unwrap_or(Duration::ZERO);
        if status.is_success() {
            return Sent::Ok;
        }
        let text: String = response.text().await.unwrap_or_default().chars().take(200).collect();
        let why = format!("HTTP {status}: {}", text.trim());
        if status.as_u16() == 429 || status.as_u16() == 408 || status.is_server_error() {
            Sent::Retry(retry_after, why)
        } else {
            Sent::Refused(why)
        }
    }

    /// Queue the timed triggers' alerts: agents silent too long and accepted
    /// risks about to expire. Each episode is queued once (its dedupe key
    /// names the last delivery or the expiry date). How many are new.
    pub async fn sweep(&self, now: &str) -> Result<usize, StoreError> {
        let timed: Vec<_> = self
            .rules
            .rules
            .iter()
            .filter(|r| matches!(r.trigger, Trigger::RiskExpiring(_) | Trigger::AgentSilent(_) | Trigger::ReviewOverdue))
            .collect();
        if timed.is_empty() {
            return Ok(0);
        }
        let today = &now[..10.min(now.len())];
        let groups: HashMap<String, Vec<String>> = if self.rules.needs_groups() {
            self.store.fleet(None, today).await?.into_iter().map(|s| (s.id, s.groups)).collect()
        } else {
            HashMap::new()
        };
        let none = Vec::new();
        let mut alerts = Vec::new();
        for tenant in self.store.tenants().await? {
            let g = groups.get(&tenant.id).unwrap_or(&none);
            let rules: Vec<_> = timed.iter().filter(|r| r.scope.covers(&tenant.id, g)).collect();
            if rules.is_empty() {
                continue;
            }
            let agents = self.store.agents(Some(&tenant.id)).await?;
            let acceptances = self.store.acceptances(&tenant.id).await?;
            let findings = if acceptances.is_empty() { Vec::new() } else { self.store.findings(&tenant.id, crate::store::FindingFilter::Open).await? };
            // The register is read only where a rule wants reviews and some connector has a cadence.
            let wants_reviews = rules.iter().any(|r| r.trigger == Trigger::ReviewOverdue);
            let register = if wants_reviews && self.store.annotations(&tenant.id).await?.iter().any(|(_, a)| a.review_cadence_days.is_some()) {
                Some(crate::reads::register(self.store.as_ref(), &tenant.id).await?)
            } else {
                None
            };
            for rule in rules {
                let events = match rule.trigger {
                    Trigger::AgentSilent(hours) => {
                        sweep::silent_agents(&tenant.id, &agents, &timestamp::shift(now, -i64::from(hours) * 3600))
                    }
                    Trigger::RiskExpiring(days) => {
                        let horizon = crate::register::table::add_days(today, days).unwrap_or_else(|| today.to_string());
                        sweep::expiring_risks(&tenant.id, &acceptances, &findings, today, &horizon)
                    }
                    Trigger::ReviewOverdue => match &register {
                        Some(view) => sweep::overdue_reviews(&tenant.id, view, today),
                        None => Vec::new(),
                    },
                    _ => Vec::new(),
                };
                for (key, event) in events {
                    for d in &rule.send_to {
                        alerts.push(NewAlert { rule: rule.name.clone(), destination: d.name.clone(), tenant_id: tenant.id.clone(), dedupe_key: key.clone(), event: event.clone() });
                    }
                }
            }
        }
        self.store.queue_alerts(&alerts, now, &self.rules.due_at(now)).await
    }
}
