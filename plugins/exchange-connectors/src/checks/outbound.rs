//! Checks on outbound connectors: how mail leaves through smart hosts.

use super::OUTBOUND_WEAK_TLS;
use crate::model::{OutboundConnector, Presence, TlsSettings};
use crate::show::{self, ps_quote};
use plumbline_plugin_sdk::{Finding, Severity};

fn looks_like_host_name(h: &str) -> bool {
    !h.contains(':') && !h.starts_with('[') && h.chars().any(|c| c.is_ascii_alphabetic())
}

pub(super) fn weak_tls(key: &str, c: &OutboundConnector) -> Option<Finding> {
    let hosts = c.known_smart_hosts()?;
    if !c.routes_via_smart_hosts() {
        return None;
    }
    let (seen, why) = match &c.tls_settings {
        Presence::Null => (
            show::NOT_SET,
            "TLS is not required, so mail can fall back to plain text, and the smart host's \
             certificate is never checked",
        ),
        Presence::Value(TlsSettings::EncryptionOnly) => (
            "EncryptionOnly",
            "any certificate is accepted, so a server in the path can present its own and read \
             the mail",
        ),
        _ => return None,
    };
    let name = c.id.display();
    let id = ps_quote(c.id.cmdlet_identity());
    let fix = match hosts.iter().find(|h| looks_like_host_name(h)) {
        Some(h) => format!(
            "Set-OutboundConnector -Identity {id} -TlsSettings DomainValidation -TlsDomain {}",
            ps_quote(h)
        ),
        None => format!("Set-OutboundConnector -Identity {id} -TlsSettings CertificateValidation"),
    };
    Some(
        Finding::new(
            OUTBOUND_WEAK_TLS,
            key,
            Severity::High,
            format!("Outbound connector '{name}' sends to smart hosts without certificate validation"),
        )
        .detail(format!(
            "Outbound connector '{name}' routes mail for {} to the smart hosts {} (UseMXRecord: {}) \
             with TlsSettings: {seen}: {why}.",
            show::list(c.recipient_domain_names().as_deref()),
            hosts.join(", "),
            show::bool_(c.use_mx_record),
        ))
        .remediation(format!(
            "Validate the smart host's certificate (first make sure it presents a publicly trusted \
             one): {fix}"
        ))
        .evidence("connector", name)
        .evidence("smart_hosts", hosts.join(", "))
        .evidence("use_mx_record", show::bool_(c.use_mx_record))
        .evidence("tls_settings", seen)
        .evidence("tls_domain", show::text(c.tls_domain.as_deref()))
        .evidence("enabled", show::bool_(c.enabled)),
    )
}
