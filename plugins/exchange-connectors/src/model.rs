//! A typed view of the four cmdlets' objects.
//!
//! Absent is unknown, never false: every field is an `Option` (or a
//! [`Presence`] where "explicitly null" means something), so a field the
//! export did not carry can never make a check fire or stay quiet by
//! accident. Get-OutboundConnector, for instance, has no `RequireTls`.

pub use crate::fields::Presence;
use crate::fields::{bool_field, date_field, list_field, presence_text, text_field, Object};
use serde_json::Value;

/// `ConnectorType` of a connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectorType {
    /// Mail to or from a partner organisation.
    Partner,
    /// Mail to or from the organisation's own on-premises servers.
    OnPremises,
    /// Anything else, as written (a newer value, or an enum number from an
    /// export that wrote enums as numbers).
    Other(String),
}

impl ConnectorType {
    fn parse(text: &str) -> Self {
        if text.eq_ignore_ascii_case("Partner") {
            ConnectorType::Partner
        } else if text.eq_ignore_ascii_case("OnPremises") {
            ConnectorType::OnPremises
        } else {
            ConnectorType::Other(text.to_string())
        }
    }

    /// As Exchange writes it.
    pub fn as_str(&self) -> &str {
        match self {
            ConnectorType::Partner => "Partner",
            ConnectorType::OnPremises => "OnPremises",
            ConnectorType::Other(s) => s,
        }
    }
}

/// `TlsSettings` of an outbound connector, when set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSettings {
    /// Any certificate will do, trusted or not.
    EncryptionOnly,
    /// A certificate that chains to a trusted root.
    CertificateValidation,
    /// A trusted certificate whose name matches `TlsDomain`.
    DomainValidation,
    /// Anything else, as written.
    Other(String),
}

impl TlsSettings {
    fn parse(text: &str) -> Self {
        if text.eq_ignore_ascii_case("EncryptionOnly") {
            TlsSettings::EncryptionOnly
        } else if text.eq_ignore_ascii_case("CertificateValidation") {
            TlsSettings::CertificateValidation
        } else if text.eq_ignore_ascii_case("DomainValidation") {
            TlsSettings::DomainValidation
        } else {
            TlsSettings::Other(text.to_string())
        }
    }

    /// As Exchange writes it.
    pub fn as_str(&self) -> &str {
        match self {
            TlsSettings::EncryptionOnly => "EncryptionOnly",
            TlsSettings::CertificateValidation => "CertificateValidation",
            TlsSettings::DomainValidation => "DomainValidation",
            TlsSettings::Other(s) => s,
        }
    }
}

/// What identifies a connector, common to both directions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// `Name`.
    pub name: Option<String>,
    /// `Identity` (in Exchange Online usually the same as the name).
    pub identity: Option<String>,
    /// `Guid`.
    pub guid: Option<String>,
    /// `WhenCreatedUTC`, else `WhenCreated`, as written.
    pub when_created: Option<String>,
    /// `WhenChangedUTC`, else `WhenChanged`, as written.
    pub when_changed: Option<String>,
}

impl Identity {
    fn read(o: &Object) -> Self {
        Identity {
            name: text_field(o, "Name"),
            identity: text_field(o, "Identity"),
            guid: text_field(o, "Guid"),
            when_created: date_field(o, &["WhenCreatedUTC", "WhenCreated"]),
            when_changed: date_field(o, &["WhenChangedUTC", "WhenChanged"]),
        }
    }

    /// A name for people: `Name`, else `Identity`, else `Guid`.
    pub fn display(&self) -> &str {
        self.name
            .as_deref()
            .or(self.identity.as_deref())
            .or(self.guid.as_deref())
            .unwrap_or("(unnamed)")
    }

    /// What to pass to `-Identity` in a fix: `Identity`, else `Name`, else `Guid`.
    pub fn cmdlet_identity(&self) -> &str {
        self.identity
            .as_deref()
            .or(self.name.as_deref())
            .or(self.guid.as_deref())
            .unwrap_or("<connector name>")
    }

    /// The stable part of the register key: `Guid`, else `Identity`, else `Name`.
    pub fn key_part(&self) -> Option<&str> {
        self.guid
            .as_deref()
            .or(self.identity.as_deref())
            .or(self.name.as_deref())
    }
}

/// One Get-InboundConnector object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InboundConnector {
    /// Name, identity, GUID and dates.
    pub id: Identity,
    /// `Enabled`.
    pub enabled: Option<bool>,
    /// `ConnectorType`.
    pub connector_type: Option<ConnectorType>,
    /// `ConnectorSource` (Default, Migrated, HybridWizard, AdminUI).
    pub connector_source: Option<String>,
    /// `Comment`.
    pub comment: Option<String>,
    /// `SenderIPAddresses`.
    pub sender_ip_addresses: Option<Vec<String>>,
    /// `SenderDomains`, as written (`smtp:contoso.com;1`).
    pub sender_domains: Option<Vec<String>>,
    /// `AssociatedAcceptedDomains`.
    pub associated_accepted_domains: Option<Vec<String>>,
    /// `RequireTls`.
    pub require_tls: Option<bool>,
    /// `RestrictDomainsToIPAddresses`.
    pub restrict_domains_to_ip_addresses: Option<bool>,
    /// `RestrictDomainsToCertificate`.
    pub restrict_domains_to_certificate: Option<bool>,
    /// `TreatMessagesAsInternal`.
    pub treat_messages_as_internal: Option<bool>,
    /// `TlsSenderCertificateName`.
    pub tls_sender_certificate_name: Presence<String>,
}

impl InboundConnector {
    /// Read one cmdlet object; anything that is not an object reads as
    /// "all unknown".
    pub fn from_value(v: &Value) -> Self {
        let Some(o) = v.as_object() else {
            return Self::default();
        };
        InboundConnector {
            id: Identity::read(o),
            enabled: bool_field(o, "Enabled"),
            connector_type: text_field(o, "ConnectorType").map(|t| ConnectorType::parse(&t)),
            connector_source: text_field(o, "ConnectorSource"),
            comment: text_field(o, "Comment"),
            sender_ip_addresses: list_field(o, "SenderIPAddresses"),
            sender_domains: list_field(o, "SenderDomains"),
            associated_accepted_domains: list_field(o, "AssociatedAcceptedDomains"),
            require_tls: bool_field(o, "RequireTls"),
            restrict_domains_to_ip_addresses: bool_field(o, "RestrictDomainsToIPAddresses"),
            restrict_domains_to_certificate: bool_field(o, "RestrictDomainsToCertificate"),
            treat_messages_as_internal: bool_field(o, "TreatMessagesAsInternal"),
            tls_sender_certificate_name: presence_text(o, "TlsSenderCertificateName"),
        }
    }

    /// Sender domains without the `smtp:` prefix and `;1` cost suffix.
    pub fn sender_domain_names(&self) -> Option<Vec<String>> {
        self.sender_domains
            .as_ref()
            .map(|ds| ds.iter().map(|d| address_space_domain(d)).collect())
    }

    /// Whether `SenderDomains` holds the `*` wildcard (`smtp:*;1`).
    pub fn has_wildcard_sender(&self) -> bool {
        self.sender_domains
            .iter()
            .flatten()
            .any(|d| address_space_domain(d) == "*")
    }

    /// The certificate name, when set.
    pub fn certificate_name(&self) -> Option<&str> {
        self.tls_sender_certificate_name.value().map(String::as_str)
    }

    /// Sender IP addresses, when known and not empty.
    pub fn known_sender_ips(&self) -> Option<&[String]> {
        self.sender_ip_addresses
            .as_deref()
            .filter(|ips| !ips.is_empty())
    }

    /// Mail is tied to the sender's IP addresses: `SenderIPAddresses` set and
    /// `RestrictDomainsToIPAddresses` true.
    pub fn ip_restricted(&self) -> bool {
        self.known_sender_ips().is_some() && self.restrict_domains_to_ip_addresses == Some(true)
    }

    /// Mail is tied to the sender's certificate: `TlsSenderCertificateName`
    /// set and `RestrictDomainsToCertificate` true.
    pub fn certificate_restricted(&self) -> bool {
        self.certificate_name().is_some() && self.restrict_domains_to_certificate == Some(true)
    }

    /// Whether Exchange Online can tell the organisation's own servers apart
    /// on this connector: a certificate name or sender IP addresses.
    ///
    /// This is how an OnPremises connector is judged. Exchange Online applies
    /// an OnPremises connector only to mail that presents the certificate or
    /// comes from the listed IPs, so `SenderDomains` `smtp:*;1` on it is the
    /// normal hybrid shape; `RestrictDomainsTo*` and `RequireTls` apply only
    /// to Partner connectors (New-InboundConnector, Microsoft Learn).
    /// `None` when either field is unknown and the other does not settle it.
    pub fn identifies_own_servers(&self) -> Option<bool> {
        if self.certificate_name().is_some() || self.known_sender_ips().is_some() {
            return Some(true);
        }
        let cert_known = self.tls_sender_certificate_name.is_known();
        let ips_known = self.sender_ip_addresses.is_some();
        (cert_known && ips_known).then_some(false)
    }
}

/// One Get-OutboundConnector object. It has no `RequireTls`,
/// `SenderDomains` or `SenderIPAddresses`: those are unknown, not false.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboundConnector {
    /// Name, identity, GUID and dates.
    pub id: Identity,
    /// `Enabled`.
    pub enabled: Option<bool>,
    /// `UseMXRecord`.
    pub use_mx_record: Option<bool>,
    /// `Comment`.
    pub comment: Option<String>,
    /// `ConnectorType`.
    pub connector_type: Option<ConnectorType>,
    /// `ConnectorSource`.
    pub connector_source: Option<String>,
    /// `RecipientDomains`.
    pub recipient_domains: Option<Vec<String>>,
    /// `SmartHosts`.
    pub smart_hosts: Option<Vec<String>>,
    /// `TlsDomain`.
    pub tls_domain: Option<String>,
    /// `TlsSettings`: null means "no TLS requirement", absent means unknown.
    pub tls_settings: Presence<TlsSettings>,
    /// `IsTransportRuleScoped`.
    pub is_transport_rule_scoped: Option<bool>,
    /// `RouteAllMessagesViaOnPremises`.
    pub route_all_messages_via_on_premises: Option<bool>,
    /// `AllAcceptedDomains`.
    pub all_accepted_domains: Option<bool>,
}

impl OutboundConnector {
    /// Read one cmdlet object; anything that is not an object reads as
    /// "all unknown".
    pub fn from_value(v: &Value) -> Self {
        let Some(o) = v.as_object() else {
            return Self::default();
        };
        let tls_settings = match presence_text(o, "TlsSettings") {
            Presence::Absent => Presence::Absent,
            Presence::Null => Presence::Null,
            Presence::Value(t) => Presence::Value(TlsSettings::parse(&t)),
        };
        OutboundConnector {
            id: Identity::read(o),
            enabled: bool_field(o, "Enabled"),
            use_mx_record: bool_field(o, "UseMXRecord"),
            comment: text_field(o, "Comment"),
            connector_type: text_field(o, "ConnectorType").map(|t| ConnectorType::parse(&t)),
            connector_source: text_field(o, "ConnectorSource"),
            recipient_domains: list_field(o, "RecipientDomains"),
            smart_hosts: list_field(o, "SmartHosts"),
            tls_domain: text_field(o, "TlsDomain"),
            tls_settings,
            is_transport_rule_scoped: bool_field(o, "IsTransportRuleScoped"),
            route_all_messages_via_on_premises: bool_field(o, "RouteAllMessagesViaOnPremises"),
            all_accepted_domains: bool_field(o, "AllAcceptedDomains"),
        }
    }

    /// Recipient domains without any `smtp:` prefix or `;1` suffix.
    pub fn recipient_domain_names(&self) -> Option<Vec<String>> {
        self.recipient_domains
            .as_ref()
            .map(|ds| ds.iter().map(|d| address_space_domain(d)).collect())
    }

    /// Smart hosts, when known and not empty.
    pub fn known_smart_hosts(&self) -> Option<&[String]> {
        self.smart_hosts.as_deref().filter(|h| !h.is_empty())
    }

    /// Mail goes to smart hosts rather than the recipients' MX records.
    pub fn routes_via_smart_hosts(&self) -> bool {
        self.known_smart_hosts().is_some() && self.use_mx_record != Some(true)
    }
}

/// The Get-OrganizationConfig fields the checks read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrganizationConfig {
    /// `ConnectorsEnabled`.
    pub connectors_enabled: Option<bool>,
    /// `ConnectorsEnabledForTeams`.
    pub connectors_enabled_for_teams: Option<bool>,
    /// `ConnectorsEnabledForOutlook`.
    pub connectors_enabled_for_outlook: Option<bool>,
    /// `ConnectorsActionableMessagesEnabled`.
    pub connectors_actionable_messages_enabled: Option<bool>,
    /// `RejectDirectSend`.
    pub reject_direct_send: Option<bool>,
}

impl OrganizationConfig {
    /// Read the cmdlet object; anything that is not an object reads as
    /// "all unknown".
    pub fn from_value(v: &Value) -> Self {
        let Some(o) = v.as_object() else {
            return Self::default();
        };
        OrganizationConfig {
            connectors_enabled: bool_field(o, "ConnectorsEnabled"),
            connectors_enabled_for_teams: bool_field(o, "ConnectorsEnabledForTeams"),
            connectors_enabled_for_outlook: bool_field(o, "ConnectorsEnabledForOutlook"),
            connectors_actionable_messages_enabled: bool_field(
                o,
                "ConnectorsActionableMessagesEnabled",
            ),
            reject_direct_send: bool_field(o, "RejectDirectSend"),
        }
    }
}

/// The Get-TransportConfig fields the checks read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransportConfig {
    /// `SmtpClientAuthenticationDisabled` (tenant-wide SMTP AUTH switch).
    pub smtp_client_authentication_disabled: Option<bool>,
    /// `AllowLegacyTLSClients`.
    pub allow_legacy_tls_clients: Option<bool>,
}

impl TransportConfig {
    /// Read the cmdlet object; anything that is not an object reads as
    /// "all unknown".
    pub fn from_value(v: &Value) -> Self {
        let Some(o) = v.as_object() else {
            return Self::default();
        };
        TransportConfig {
            smtp_client_authentication_disabled: bool_field(o, "SmtpClientAuthenticationDisabled"),
            allow_legacy_tls_clients: bool_field(o, "AllowLegacyTLSClients"),
        }
    }
}

/// Everything one scan read. `None` where that source was not available
/// (its export file was missing or unreadable): unknown, not empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExchangeState {
    /// Exports that were there but could not be read, with why. Their
    /// sources are `None`; the rest of the scan stands.
    pub unreadable: Vec<(crate::export::Export, String)>,
    /// Get-InboundConnector.
    pub inbound: Option<Vec<InboundConnector>>,
    /// Get-OutboundConnector.
    pub outbound: Option<Vec<OutboundConnector>>,
    /// Get-OrganizationConfig.
    pub organization: Option<OrganizationConfig>,
    /// Get-TransportConfig.
    pub transport: Option<TransportConfig>,
}

impl ExchangeState {
    /// Build the state from each cmdlet's objects (as [`crate::parse_export`]
    /// or the live fetch return them); `None` for a source that was not read.
    /// The organization and transport configs use their first object; an
    /// empty list for them is treated as "not read".
    pub fn from_values(
        inbound: Option<Vec<Value>>,
        outbound: Option<Vec<Value>>,
        organization: Option<Vec<Value>>,
        transport: Option<Vec<Value>>,
    ) -> Self {
        ExchangeState {
            unreadable: Vec::new(),
            inbound: inbound.map(|vs| vs.iter().map(InboundConnector::from_value).collect()),
            outbound: outbound.map(|vs| vs.iter().map(OutboundConnector::from_value).collect()),
            organization: organization
                .as_ref()
                .and_then(|vs| vs.first())
                .map(OrganizationConfig::from_value),
            transport: transport
                .as_ref()
                .and_then(|vs| vs.first())
                .map(TransportConfig::from_value),
        }
    }
}

/// The domain of an address-space entry: `smtp:contoso.com;1` → `contoso.com`.
pub fn address_space_domain(entry: &str) -> String {
    let e = entry.trim();
    let e = match e.split_once(':') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("smtp") => rest,
        _ => e,
    };
    let e = match e.rsplit_once(';') {
        Some((domain, cost)) if cost.trim().chars().all(|c| c.is_ascii_digit()) => domain,
        _ => e,
    };
    e.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn address_spaces_lose_prefix_and_cost() {
        assert_eq!(address_space_domain("smtp:*;1"), "*");
        assert_eq!(address_space_domain("SMTP:contoso.com;10"), "contoso.com");
        assert_eq!(address_space_domain("fabrikam.com"), "fabrikam.com");
        assert_eq!(address_space_domain("smtp:*.contoso.com"), "*.contoso.com");
    }

    #[test]
    fn inbound_reads_every_field_and_keeps_unknown() {
        let c = InboundConnector::from_value(&json!({
            "Name": "Partner", "Identity": "Partner", "Guid": "g-1",
            "Enabled": "True", "ConnectorType": "partner", "ConnectorSource": "AdminUI",
            "SenderDomains": "smtp:contoso.com;1", "SenderIPAddresses": [],
            "RequireTls": true, "RestrictDomainsToCertificate": "False",
            "TlsSenderCertificateName": null,
            "WhenCreatedUTC": "/Date(1772500512000)/"
        }));
        assert_eq!(c.enabled, Some(true));
        assert_eq!(c.connector_type, Some(ConnectorType::Partner));
        assert_eq!(
            c.sender_domain_names(),
            Some(vec!["contoso.com".to_string()])
        );
        assert_eq!(c.sender_ip_addresses, Some(vec![]));
        assert_eq!(c.restrict_domains_to_certificate, Some(false));
        assert_eq!(c.restrict_domains_to_ip_addresses, None);
        assert_eq!(c.treat_messages_as_internal, None);
        assert_eq!(c.tls_sender_certificate_name, Presence::Null);
        assert_eq!(c.id.when_created.as_deref(), Some("/Date(1772500512000)/"));
        assert_eq!(c.id.when_changed, None);
        assert!(!c.has_wildcard_sender());
    }

    #[test]
    fn outbound_tls_settings_null_is_not_absent() {
        let null = OutboundConnector::from_value(&json!({"TlsSettings": null}));
        let absent = OutboundConnector::from_value(&json!({"Name": "x"}));
        let set = OutboundConnector::from_value(&json!({"TlsSettings": "DomainValidation"}));
        assert_eq!(null.tls_settings, Presence::Null);
        assert_eq!(absent.tls_settings, Presence::Absent);
        assert_eq!(
            set.tls_settings,
            Presence::Value(TlsSettings::DomainValidation)
        );
    }

    #[test]
    fn state_takes_first_config_object_and_keeps_missing_sources() {
        let s = ExchangeState::from_values(
            Some(vec![json!({"Name": "a"}), json!({"Name": "b"})]),
            None,
            Some(vec![json!({"RejectDirectSend": false})]),
            Some(vec![]),
        );
        assert_eq!(s.inbound.as_ref().map(Vec::len), Some(2));
        assert!(s.outbound.is_none());
        assert_eq!(
            s.organization.and_then(|o| o.reject_direct_send),
            Some(false)
        );
        assert!(s.transport.is_none());
    }
}
