//! Checks on inbound connectors: who may send mail in through them.

use super::{
    INBOUND_UNRESTRICTED, ONPREM_WITHOUT_TLS, PARTNER_TREATED_INTERNAL,
    WILDCARD_SENDER_UNRESTRICTED,
};
use crate::model::{ConnectorType, InboundConnector};
use crate::show::{self, ps_quote};
use plumbline_plugin_sdk::{Finding, Severity};

fn type_label(t: &Option<ConnectorType>) -> &str {
    t.as_ref().map_or("type unknown", ConnectorType::as_str)
}

fn disabled_note(enabled: Option<bool>) -> &'static str {
    if enabled == Some(false) {
        " The connector is disabled at the moment, but it can be switched back on at any time."
    } else {
        ""
    }
}

fn ip_example(c: &InboundConnector) -> String {
    c.known_sender_ips()
        .map(|ips| ips.join(","))
        .unwrap_or_else(|| "<the partner's sending IPs, e.g. 203.0.113.0/24>".to_string())
}

fn cert_example(c: &InboundConnector) -> String {
    c.certificate_name()
        .map(ps_quote)
        .unwrap_or_else(|| "'<certificate subject, e.g. mail.partner.example>'".to_string())
}

fn inbound_evidence(f: Finding, c: &InboundConnector) -> Finding {
    f.evidence("connector", c.id.display())
        .evidence("connector_type", type_label(&c.connector_type))
        .evidence("enabled", show::bool_(c.enabled))
        .evidence("sender_domains", show::list(c.sender_domains.as_deref()))
        .evidence(
            "sender_ip_addresses",
            show::list(c.sender_ip_addresses.as_deref()),
        )
        .evidence(
            "restrict_domains_to_ip_addresses",
            show::bool_(c.restrict_domains_to_ip_addresses),
        )
        .evidence(
            "restrict_domains_to_certificate",
            show::bool_(c.restrict_domains_to_certificate),
        )
        .evidence(
            "tls_sender_certificate_name",
            show::presence(&c.tls_sender_certificate_name),
        )
}

/// Whether the connector lets mail through from servers it cannot tell
/// apart: OnPremises connectors by their certificate and IPs, every other
/// type by its `RestrictDomainsTo*` switches. `None` when unknown.
fn open_to_any_server(c: &InboundConnector) -> Option<bool> {
    if c.connector_type == Some(ConnectorType::OnPremises) {
        return c.identifies_own_servers().map(|known| !known);
    }
    if c.ip_restricted() || c.certificate_restricted() {
        return Some(false);
    }
    // Kept as before for Partner connectors: the flags unset or without their
    // lists leave the sender domains open to any server.
    Some(true)
}

pub(super) fn wildcard_sender_unrestricted(key: &str, c: &InboundConnector) -> Option<Finding> {
    if !c.has_wildcard_sender() || open_to_any_server(c) != Some(true) {
        return None;
    }
    let name = c.id.display();
    let id = ps_quote(c.id.cmdlet_identity());
    let (why, fix) = if c.connector_type == Some(ConnectorType::OnPremises) {
        (
            format!(
                "is an OnPremises connector with the wildcard sender domain (SenderDomains: {}) \
                 and neither a sender certificate (TlsSenderCertificateName: {}) nor sending IP \
                 addresses (SenderIPAddresses: {}) to recognise your own servers by, so any \
                 server on the internet can have its mail handled as if it came from your \
                 organisation and relay it through the tenant.",
                show::list(c.sender_domains.as_deref()),
                show::presence(&c.tls_sender_certificate_name),
                show::list(c.sender_ip_addresses.as_deref()),
            ),
            format!(
                "If nobody can account for this connector, disable it now and investigate: \
                 Set-InboundConnector -Identity {id} -Enabled $false. Otherwise tie it to your \
                 on-premises servers, by certificate: Set-InboundConnector -Identity {id} \
                 -TlsSenderCertificateName '<subject of your on-premises mail server certificate, \
                 e.g. mail.contoso.com>'; or by IP: Set-InboundConnector -Identity {id} \
                 -SenderIPAddresses <your servers' public IPs, e.g. 203.0.113.10>."
            ),
        )
    } else {
        (
            format!(
                "({}) has the wildcard sender domain (SenderDomains: {}) and does not reject \
                 mail from servers other than the sender's: RestrictDomainsToIPAddresses: {} \
                 (SenderIPAddresses: {}), RestrictDomainsToCertificate: {} \
                 (TlsSenderCertificateName: {}). Mail from any server on the internet can match it.",
                type_label(&c.connector_type),
                show::list(c.sender_domains.as_deref()),
                show::bool_(c.restrict_domains_to_ip_addresses),
                show::list(c.sender_ip_addresses.as_deref()),
                show::bool_(c.restrict_domains_to_certificate),
                show::presence(&c.tls_sender_certificate_name),
            ),
            format!(
                "If nobody can account for this connector, disable it now and investigate: \
                 Set-InboundConnector -Identity {id} -Enabled $false. Otherwise replace the \
                 wildcard with the partner's domains and tie the connector to the partner's \
                 servers, by IP: Set-InboundConnector -Identity {id} -SenderDomains \
                 'partner.example' -RestrictDomainsToIPAddresses $true -SenderIPAddresses {}; or \
                 by certificate: Set-InboundConnector -Identity {id} -SenderDomains \
                 'partner.example' -RequireTls $true -TlsSenderCertificateName {} \
                 -RestrictDomainsToCertificate $true.",
                ip_example(c),
                cert_example(c),
            ),
        )
    };
    let f = Finding::new(
        WILDCARD_SENDER_UNRESTRICTED,
        key,
        Severity::Critical,
        format!("Inbound connector '{name}' accepts any sender domain from any server"),
    )
    .detail(format!(
        "Inbound connector '{name}' {why} Connectors like this are what attackers create after \
         taking over an admin account, to send spam and phishing through the tenant.{}",
        disabled_note(c.enabled),
    ))
    .remediation(fix);
    Some(inbound_evidence(f, c))
}

pub(super) fn onprem_without_tls(key: &str, c: &InboundConnector) -> Option<Finding> {
    if c.connector_type != Some(ConnectorType::OnPremises)
        || c.require_tls != Some(false)
        || c.certificate_name().is_some()
    {
        return None;
    }
    let name = c.id.display();
    let id = ps_quote(c.id.cmdlet_identity());
    let f = Finding::new(
        ONPREM_WITHOUT_TLS,
        key,
        Severity::High,
        format!("OnPremises inbound connector '{name}' does not require TLS"),
    )
    .detail(format!(
        "Inbound connector '{name}' is an OnPremises connector with RequireTls: false and no \
         TlsSenderCertificateName ({}): mail from your on-premises servers may reach Exchange \
         Online unencrypted, and nothing but the sending IP addresses ({}) identifies those \
         servers. Microsoft notes that OnPremises inbound connectors are the ones at risk of being \
         abused to relay mail.{}",
        show::presence(&c.tls_sender_certificate_name),
        show::list(c.sender_ip_addresses.as_deref()),
        disabled_note(c.enabled),
    ))
    .remediation(format!(
        "Require TLS and identify your on-premises servers by their certificate (an \
         OnPremises connector is matched on it; RestrictDomainsTo* apply only to Partner \
         connectors): Set-InboundConnector -Identity {id} -RequireTls $true \
         -TlsSenderCertificateName '<subject of your on-premises mail server certificate, e.g. \
         mail.contoso.com>'"
    ))
    .evidence("require_tls", show::bool_(c.require_tls));
    Some(inbound_evidence(f, c))
}

pub(super) fn unrestricted(key: &str, c: &InboundConnector) -> Option<Finding> {
    if c.connector_type == Some(ConnectorType::OnPremises) {
        return onprem_unidentified(key, c);
    }
    if c.restrict_domains_to_ip_addresses != Some(false)
        || c.restrict_domains_to_certificate != Some(false)
    {
        return None;
    }
    let name = c.id.display();
    let id = ps_quote(c.id.cmdlet_identity());
    let domains = show::list(c.sender_domain_names().as_deref());
    let f = Finding::new(
        INBOUND_UNRESTRICTED,
        key,
        Severity::Medium,
        format!("Inbound connector '{name}' is not restricted to IP addresses or a certificate"),
    )
    .detail(format!(
        "Inbound connector '{name}' ({}) has RestrictDomainsToIPAddresses: false and \
         RestrictDomainsToCertificate: false: mail claiming to come from its sender domains \
         ({domains}) is not rejected when it arrives from servers other than the partner's \
         (SenderIPAddresses: {}, TlsSenderCertificateName: {}).{}",
        type_label(&c.connector_type),
        show::list(c.sender_ip_addresses.as_deref()),
        show::presence(&c.tls_sender_certificate_name),
        disabled_note(c.enabled),
    ))
    .remediation(format!(
        "Restrict the connector to the sender's servers, by IP: Set-InboundConnector -Identity \
         {id} -RestrictDomainsToIPAddresses $true -SenderIPAddresses {}; or by certificate: \
         Set-InboundConnector -Identity {id} -RequireTls $true -TlsSenderCertificateName {} \
         -RestrictDomainsToCertificate $true",
        ip_example(c),
        cert_example(c),
    ));
    Some(inbound_evidence(f, c))
}

/// The OnPremises form of "unrestricted": no certificate and no IPs, the
/// only two things that tie such a connector to the organisation's servers.
fn onprem_unidentified(key: &str, c: &InboundConnector) -> Option<Finding> {
    if c.identifies_own_servers() != Some(false) {
        return None;
    }
    let name = c.id.display();
    let id = ps_quote(c.id.cmdlet_identity());
    let f = Finding::new(
        INBOUND_UNRESTRICTED,
        key,
        Severity::Medium,
        format!("OnPremises inbound connector '{name}' names neither a certificate nor IP addresses"),
    )
    .detail(format!(
        "Inbound connector '{name}' is an OnPremises connector with no TlsSenderCertificateName \
         and no SenderIPAddresses, so nothing tells your own servers apart from anyone else's \
         for its sender domains ({}). OnPremises connectors grant relay and internal treatment, \
         which is why Exchange Online expects one of the two.{}",
        show::list(c.sender_domain_names().as_deref()),
        disabled_note(c.enabled),
    ))
    .remediation(format!(
        "Tie the connector to your on-premises servers, by certificate: Set-InboundConnector \
         -Identity {id} -TlsSenderCertificateName '<subject of your on-premises mail server \
         certificate, e.g. mail.contoso.com>'; or by IP: Set-InboundConnector -Identity {id} \
         -SenderIPAddresses <your servers' public IPs, e.g. 203.0.113.10>"
    ));
    Some(inbound_evidence(f, c))
}

pub(super) fn partner_treated_internal(key: &str, c: &InboundConnector) -> Option<Finding> {
    if c.connector_type != Some(ConnectorType::Partner)
        || c.treat_messages_as_internal != Some(true)
    {
        return None;
    }
    let name = c.id.display();
    let id = ps_quote(c.id.cmdlet_identity());
    let f = Finding::new(
        PARTNER_TREATED_INTERNAL,
        key,
        Severity::High,
        format!("Partner inbound connector '{name}' treats outside mail as internal"),
    )
    .detail(format!(
        "Inbound connector '{name}' is a Partner connector with TreatMessagesAsInternal: true. \
         That setting is meant only for mail from your own organisation's on-premises servers; \
         on a Partner connector it asks Exchange Online to treat mail from another organisation \
         (sender domains: {}) as internal, exempt from external-sender tagging and some \
         anti-spoofing checks.{}",
        show::list(c.sender_domain_names().as_deref()),
        disabled_note(c.enabled),
    ))
    .remediation(format!(
        "Set-InboundConnector -Identity {id} -TreatMessagesAsInternal $false"
    ))
    .evidence(
        "treat_messages_as_internal",
        show::bool_(c.treat_messages_as_internal),
    );
    Some(inbound_evidence(f, c))
}
