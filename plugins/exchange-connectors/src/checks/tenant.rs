//! Tenant-wide checks (Get-TransportConfig, Get-OrganizationConfig); their
//! findings attach to the `exchange:organization` register entry.

use super::{DIRECT_SEND_ALLOWED, LEGACY_CONNECTORS_ENABLED, SMTP_AUTH_ENABLED};
use crate::model::{OrganizationConfig, TransportConfig};
use crate::register::ORGANIZATION_KEY;
use crate::show;
use plumbline_plugin_sdk::{Finding, Severity};

pub(super) fn smtp_auth_enabled(t: &TransportConfig) -> Option<Finding> {
    if t.smtp_client_authentication_disabled != Some(false) {
        return None;
    }
    Some(
        Finding::new(
            SMTP_AUTH_ENABLED,
            ORGANIZATION_KEY,
            Severity::Medium,
            "SMTP AUTH client submission is enabled for the whole tenant",
        )
        .detail(
            "Get-TransportConfig has SmtpClientAuthenticationDisabled: false, so every mailbox that \
             does not turn it off itself accepts authenticated SMTP submission (smtp.office365.com, \
             port 587). Sign-ins with basic authentication over SMTP AUTH bypass MFA and are a common \
             password-spraying target; Microsoft is disabling basic authentication for SMTP AUTH by \
             default for existing tenants at the end of December 2026 (MC786329).",
        )
        .remediation(
            "Turn SMTP AUTH off tenant-wide: Set-TransportConfig -SmtpClientAuthenticationDisabled \
             $true; then allow it only on the mailboxes of devices or apps that still need it: \
             Set-CASMailbox -Identity 'scanner@contoso.com' -SmtpClientAuthenticationDisabled $false",
        )
        .evidence("smtp_client_authentication_disabled", "false"),
    )
}

pub(super) fn direct_send_allowed(o: &OrganizationConfig) -> Option<Finding> {
    if o.reject_direct_send != Some(false) {
        return None;
    }
    Some(
        Finding::new(
            DIRECT_SEND_ALLOWED,
            ORGANIZATION_KEY,
            Severity::Medium,
            "Direct Send is not rejected",
        )
        .detail(
            "Get-OrganizationConfig has RejectDirectSend: false: anyone can deliver mail that claims \
             to come from your own accepted domains straight to your MX endpoint without \
             authenticating (Direct Send), a route used for internal-looking phishing.",
        )
        .remediation(
            "Move printers, scanners and apps that send through Direct Send to authenticated \
             submission or a partner inbound connector, then: Set-OrganizationConfig \
             -RejectDirectSend $true",
        )
        .evidence("reject_direct_send", "false"),
    )
}

pub(super) fn legacy_connectors_enabled(o: &OrganizationConfig) -> Option<Finding> {
    if o.connectors_enabled != Some(true) && o.connectors_enabled_for_teams != Some(true) {
        return None;
    }
    Some(
        Finding::new(
            LEGACY_CONNECTORS_ENABLED,
            ORGANIZATION_KEY,
            Severity::Medium,
            "Office 365 connectors are still enabled",
        )
        .detail(format!(
            "Get-OrganizationConfig has ConnectorsEnabled: {}, ConnectorsEnabledForTeams: {} \
             (ConnectorsEnabledForOutlook: {}). Office 365 connectors in Teams were retired in May \
             2026; leaving them enabled keeps a retired way of posting into the tenant switched on \
             and hides which integrations still depend on it.",
            show::bool_(o.connectors_enabled),
            show::bool_(o.connectors_enabled_for_teams),
            show::bool_(o.connectors_enabled_for_outlook),
        ))
        .remediation(
            "Move any remaining Incoming Webhooks and connectors to Workflows (Power Automate), then: \
             Set-OrganizationConfig -ConnectorsEnabled $false -ConnectorsEnabledForTeams $false \
             -ConnectorsEnabledForOutlook $false",
        )
        .evidence("connectors_enabled", show::bool_(o.connectors_enabled))
        .evidence("connectors_enabled_for_teams", show::bool_(o.connectors_enabled_for_teams))
        .evidence(
            "connectors_enabled_for_outlook",
            show::bool_(o.connectors_enabled_for_outlook),
        ),
    )
}
