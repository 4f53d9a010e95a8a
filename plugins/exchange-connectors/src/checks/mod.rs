//! The checks. Each one fires only on values it has seen: a field the
//! source did not carry is unknown and never fires (or silences) a check
//! on its own.

use crate::model::{InboundConnector, OrganizationConfig, OutboundConnector, TransportConfig};
use plumbline_plugin_sdk::{Finding, Severity};

mod inbound;
mod lifecycle;
mod outbound;
mod tenant;

/// Inbound connector takes any sender domain with no IP or certificate restriction.
pub const WILDCARD_SENDER_UNRESTRICTED: &str = "exo.inbound.wildcard-sender-unrestricted";
/// OnPremises inbound connector that does not require TLS and has no certificate.
pub const ONPREM_WITHOUT_TLS: &str = "exo.inbound.onprem-without-tls";
/// Inbound connector restricted neither by IP address nor by certificate.
pub const INBOUND_UNRESTRICTED: &str = "exo.inbound.unrestricted";
/// Outbound smart-host connector with no or encryption-only TLS.
pub const OUTBOUND_WEAK_TLS: &str = "exo.outbound.weak-tls";
/// Connector created within the recent window.
pub const RECENTLY_CREATED: &str = "exo.connector.recently-created";
/// Connector changed (not created) within the recent window.
pub const RECENTLY_CHANGED: &str = "exo.connector.recently-changed";
/// Connector that is disabled.
pub const DISABLED: &str = "exo.connector.disabled";
/// Partner inbound connector whose mail is treated as internal.
pub const PARTNER_TREATED_INTERNAL: &str = "exo.inbound.partner-treated-internal";
/// SMTP AUTH client submission enabled tenant-wide.
pub const SMTP_AUTH_ENABLED: &str = "exo.tenant.smtp-auth-enabled";
/// Direct Send not rejected.
pub const DIRECT_SEND_ALLOWED: &str = "exo.tenant.direct-send-allowed";
/// Office 365 connectors (Outlook/Teams) still enabled.
pub const LEGACY_CONNECTORS_ENABLED: &str = "exo.tenant.legacy-connectors-enabled";

/// Every check id with its severity. A disabled connector's posture
/// findings (all but the lifecycle ones) are one step lower: see
/// [`weigh_disabled`].
pub const CHECKS: [(&str, Severity); 11] = [
    (WILDCARD_SENDER_UNRESTRICTED, Severity::Critical),
    (ONPREM_WITHOUT_TLS, Severity::High),
    (INBOUND_UNRESTRICTED, Severity::Medium),
    (OUTBOUND_WEAK_TLS, Severity::High),
    (RECENTLY_CREATED, Severity::High),
    (RECENTLY_CHANGED, Severity::Medium),
    (DISABLED, Severity::Low),
    (PARTNER_TREATED_INTERNAL, Severity::High),
    (SMTP_AUTH_ENABLED, Severity::Medium),
    (DIRECT_SEND_ALLOWED, Severity::Medium),
    (LEGACY_CONNECTORS_ENABLED, Severity::Medium),
];

const MS_PER_DAY: i64 = 86_400_000;

/// The "recent" window: from `now_ms - recent_days` on. Times after `now_ms`
/// (a change made while the scan ran, or clock skew) count as recent.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    now_ms: i64,
    days: u64,
    cutoff_ms: i64,
}

impl Window {
    /// The `recent_days` before `now_ms`.
    pub fn new(now_ms: i64, recent_days: u64) -> Self {
        let span = i128::from(recent_days) * i128::from(MS_PER_DAY);
        let cutoff = (i128::from(now_ms) - span).max(i128::from(i64::MIN));
        Window {
            now_ms,
            days: recent_days,
            cutoff_ms: i64::try_from(cutoff).unwrap_or(i64::MIN),
        }
    }

    /// Whether `at_ms` falls in the window (the cutoff itself included).
    pub fn contains(&self, at_ms: i64) -> bool {
        at_ms >= self.cutoff_ms
    }

    fn ago(&self, at_ms: i64) -> String {
        if at_ms > self.now_ms {
            return "after this scan started".to_string();
        }
        let days = self.now_ms.saturating_sub(at_ms) / MS_PER_DAY;
        match days {
            0 => "less than a day before this scan".to_string(),
            1 => "1 day before this scan".to_string(),
            n => format!("{n} days before this scan"),
        }
    }
}

/// One step lower: Critical → High → Medium → Low → Info.
pub fn one_step_lower(s: Severity) -> Severity {
    match s {
        Severity::Critical => Severity::High,
        Severity::High => Severity::Medium,
        Severity::Medium => Severity::Low,
        Severity::Low | Severity::Info => Severity::Info,
    }
}

/// A posture finding on a connector known to be disabled: it says so in
/// its title and weighs one step less, since it matters only once someone
/// switches the connector back on. Unknown `Enabled` changes nothing.
pub fn weigh_disabled(mut f: Finding, enabled: Option<bool>) -> Finding {
    if enabled == Some(false) {
        f.severity = one_step_lower(f.severity);
        f.title = format!("{} (disabled)", f.title);
    }
    f
}

/// The checks on one inbound connector.
pub fn inbound_checks(key: &str, c: &InboundConnector, window: &Window, out: &mut Vec<Finding>) {
    let posture = [
        inbound::wildcard_sender_unrestricted(key, c),
        inbound::onprem_without_tls(key, c),
        inbound::unrestricted(key, c),
        inbound::partner_treated_internal(key, c),
    ];
    out.extend(posture.into_iter().flatten().map(|f| weigh_disabled(f, c.enabled)));
    lifecycle::recent(key, "Inbound", "InboundConnector", &c.id, window, out);
    out.extend(lifecycle::disabled(
        key,
        "Inbound",
        "InboundConnector",
        &c.id,
        c.enabled,
    ));
}

/// The checks on one outbound connector.
pub fn outbound_checks(key: &str, c: &OutboundConnector, window: &Window, out: &mut Vec<Finding>) {
    out.extend(outbound::weak_tls(key, c).map(|f| weigh_disabled(f, c.enabled)));
    lifecycle::recent(key, "Outbound", "OutboundConnector", &c.id, window, out);
    out.extend(lifecycle::disabled(
        key,
        "Outbound",
        "OutboundConnector",
        &c.id,
        c.enabled,
    ));
}

/// The tenant-wide checks; unknown (missing) configs are skipped.
pub fn tenant_checks(
    organization: Option<&OrganizationConfig>,
    transport: Option<&TransportConfig>,
    out: &mut Vec<Finding>,
) {
    if let Some(t) = transport {
        out.extend(tenant::smtp_auth_enabled(t));
    }
    if let Some(o) = organization {
        out.extend(tenant::direct_send_allowed(o));
        out.extend(tenant::legacy_connectors_enabled(o));
    }
}
