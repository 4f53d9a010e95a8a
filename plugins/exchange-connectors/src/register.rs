//! Connector register entries: one per connector and one for the
//! tenant-wide settings.

use crate::export::Export;
use crate::fields::normalize_date;
use crate::model::{
    ExchangeState, InboundConnector, OrganizationConfig, OutboundConnector, Presence,
    TransportConfig,
};
use crate::show;
use plumbline_plugin_sdk::{Category, ConnectorRecord};

/// Key of the tenant-wide entry; tenant-wide findings attach to it.
pub const ORGANIZATION_KEY: &str = "exchange:organization";

/// Register key of a connector: `exchange:{direction}:{Guid}`, falling back
/// to `Identity`, then `Name`, then `#{index}` (its position in the export).
pub fn connector_key(direction: &str, key_part: Option<&str>, index: usize) -> String {
    match key_part {
        Some(k) => format!("exchange:{direction}:{k}"),
        None => format!("exchange:{direction}:#{index}"),
    }
}

/// The register entry of an inbound connector.
pub fn inbound_record(key: &str, c: &InboundConnector) -> ConnectorRecord {
    let auth = match (
        &c.tls_sender_certificate_name,
        c.sender_ip_addresses.as_deref(),
    ) {
        (Presence::Value(cert), _) => format!("certificate: {cert}"),
        (_, Some(ips)) if !ips.is_empty() => format!("ip: {} addresses", ips.len()),
        (Presence::Absent, _) | (_, None) => show::UNKNOWN.to_string(),
        _ => "none".to_string(),
    };
    let scope = c
        .sender_domain_names()
        .map_or_else(|| show::UNKNOWN.to_string(), |d| d.join(", "));
    ConnectorRecord::new(key, Category::ExchangeConnector, c.id.display())
        .scope(scope)
        .purpose(c.comment.clone())
        .auth_type(Some(auth))
        .created(c.id.when_created.as_deref().and_then(normalize_date))
        .changed(c.id.when_changed.as_deref().and_then(normalize_date))
        .attr("direction", "inbound")
        .attr(
            "connector_type",
            show::text(c.connector_type.as_ref().map(|t| t.as_str())),
        )
        .attr("enabled", show::bool_(c.enabled))
        .attr(
            "connector_source",
            show::text(c.connector_source.as_deref()),
        )
        .attr("identity", show::text(c.id.identity.as_deref()))
        .attr("guid", show::text(c.id.guid.as_deref()))
        .attr("require_tls", show::bool_(c.require_tls))
        .attr(
            "restrict_domains_to_ip_addresses",
            show::bool_(c.restrict_domains_to_ip_addresses),
        )
        .attr(
            "restrict_domains_to_certificate",
            show::bool_(c.restrict_domains_to_certificate),
        )
        .attr("sender_domains", show::list(c.sender_domains.as_deref()))
        .attr(
            "sender_ip_addresses",
            show::list(c.sender_ip_addresses.as_deref()),
        )
        .attr(
            "associated_accepted_domains",
            show::list(c.associated_accepted_domains.as_deref()),
        )
        .attr(
            "tls_sender_certificate_name",
            show::presence(&c.tls_sender_certificate_name),
        )
        .attr(
            "treat_messages_as_internal",
            show::bool_(c.treat_messages_as_internal),
        )
        // Outbound-only fields: an inbound connector has none of them.
        .attr("use_mx_record", show::UNKNOWN)
        .attr("smart_hosts", show::UNKNOWN)
        .attr("tls_settings", show::UNKNOWN)
}

/// The register entry of an outbound connector. Get-OutboundConnector has
/// no RequireTls, SenderDomains or SenderIPAddresses: those say `unknown`.
pub fn outbound_record(key: &str, c: &OutboundConnector) -> ConnectorRecord {
    let tls = match &c.tls_settings {
        Presence::Absent => show::UNKNOWN.to_string(),
        Presence::Null => "none".to_string(),
        Presence::Value(t) => t.as_str().to_string(),
    };
    ConnectorRecord::new(key, Category::ExchangeConnector, c.id.display())
        .scope(outbound_scope(c))
        .purpose(c.comment.clone())
        .auth_type(Some(tls.clone()))
        .created(c.id.when_created.as_deref().and_then(normalize_date))
        .changed(c.id.when_changed.as_deref().and_then(normalize_date))
        .attr("direction", "outbound")
        .attr(
            "connector_type",
            show::text(c.connector_type.as_ref().map(|t| t.as_str())),
        )
        .attr("enabled", show::bool_(c.enabled))
        .attr(
            "connector_source",
            show::text(c.connector_source.as_deref()),
        )
        .attr("identity", show::text(c.id.identity.as_deref()))
        .attr("guid", show::text(c.id.guid.as_deref()))
        .attr("require_tls", show::UNKNOWN)
        .attr("restrict_domains_to_ip_addresses", show::UNKNOWN)
        .attr("restrict_domains_to_certificate", show::UNKNOWN)
        .attr("sender_domains", show::UNKNOWN)
        .attr("sender_ip_addresses", show::UNKNOWN)
        .attr(
            "recipient_domains",
            show::list(c.recipient_domains.as_deref()),
        )
        .attr("tls_sender_certificate_name", show::UNKNOWN)
        .attr("treat_messages_as_internal", show::UNKNOWN)
        .attr("use_mx_record", show::bool_(c.use_mx_record))
        .attr("smart_hosts", show::list(c.smart_hosts.as_deref()))
        .attr("tls_settings", tls)
        .attr("tls_domain", show::text(c.tls_domain.as_deref()))
        .attr(
            "is_transport_rule_scoped",
            show::bool_(c.is_transport_rule_scoped),
        )
        .attr(
            "route_all_messages_via_on_premises",
            show::bool_(c.route_all_messages_via_on_premises),
        )
}

/// What an outbound connector applies to. A connector scoped by transport
/// rule usually has no recipient domains at all: the rules that name it
/// decide which mail it carries, so an empty list is not "nothing".
fn outbound_scope(c: &OutboundConnector) -> String {
    let domains = c.recipient_domain_names().filter(|d| !d.is_empty());
    let by_rule = c.is_transport_rule_scoped == Some(true);
    let all_accepted = c.all_accepted_domains == Some(true);
    let mut parts: Vec<String> = Vec::new();
    if let Some(d) = &domains {
        parts.push(d.join(", "));
    }
    if by_rule {
        parts.push(
            "transport rules that route to this connector (IsTransportRuleScoped; see \
             Get-TransportRule | Where-Object RouteMessageOutboundConnector)"
                .to_string(),
        );
    }
    if all_accepted {
        parts.push("all accepted domains (AllAcceptedDomains)".to_string());
    }
    if parts.is_empty() {
        return match c.recipient_domains {
            Some(_) => "none".to_string(),
            None => show::UNKNOWN.to_string(),
        };
    }
    parts.join("; ")
}

/// The tenant-wide entry, `exchange:organization`.
pub fn organization_record(state: &ExchangeState, tenant_id: &str) -> ConnectorRecord {
    let org = state.organization.clone().unwrap_or_default();
    let transport = state.transport.clone().unwrap_or_default();
    let read = |known: bool, export: Export| {
        if known {
            "read"
        } else if state.unreadable.iter().any(|(e, _)| *e == export) {
            "unreadable"
        } else {
            "missing"
        }
    };
    let unreadable = if state.unreadable.is_empty() {
        "none".to_string()
    } else {
        state
            .unreadable
            .iter()
            .map(|(_, why)| why.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    };
    let count = |n: Option<usize>| n.map_or_else(|| show::UNKNOWN.to_string(), |n| n.to_string());
    let OrganizationConfig {
        connectors_enabled,
        connectors_enabled_for_teams,
        connectors_enabled_for_outlook,
        connectors_actionable_messages_enabled,
        reject_direct_send,
    } = org;
    let TransportConfig {
        smtp_client_authentication_disabled,
        allow_legacy_tls_clients,
    } = transport;
    ConnectorRecord::new(
        ORGANIZATION_KEY,
        Category::ExchangeConnector,
        "Exchange Online organization settings",
    )
    .context_record()
    .scope(tenant_id)
    .purpose(Some(
        "Tenant-wide mail-flow and connector switches (Get-OrganizationConfig, Get-TransportConfig)"
            .to_string(),
    ))
    .attr("organization_config", read(state.organization.is_some(), Export::Organization))
    .attr("transport_config", read(state.transport.is_some(), Export::Transport))
    .attr("unreadable_exports", unreadable)
    .attr("inbound_connectors", count(state.inbound.as_ref().map(Vec::len)))
    .attr("outbound_connectors", count(state.outbound.as_ref().map(Vec::len)))
    .attr(
        "smtp_client_authentication_disabled",
        show::bool_(smtp_client_authentication_disabled),
    )
    .attr("allow_legacy_tls_clients", show::bool_(allow_legacy_tls_clients))
    .attr("reject_direct_send", show::bool_(reject_direct_send))
    .attr("connectors_enabled", show::bool_(connectors_enabled))
    .attr("connectors_enabled_for_teams", show::bool_(connectors_enabled_for_teams))
    .attr("connectors_enabled_for_outlook", show::bool_(connectors_enabled_for_outlook))
    .attr(
        "connectors_actionable_messages_enabled",
        show::bool_(connectors_actionable_messages_enabled),
    )
}
