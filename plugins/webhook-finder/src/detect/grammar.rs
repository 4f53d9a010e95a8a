//! The URL grammar: which hosts and paths are Teams connector and
//! Workflows webhook URLs, in every cloud.

use super::Kind;

/// Which family a host belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum HostFamily {
    /// One of [`OUTLOOK_HOSTS`].
    Outlook,
    /// Below one of [`WEBHOOK_OFFICE`].
    WebhookOffice,
    /// Below one of [`LOGIC_APPS`].
    LogicApps,
    /// Below one of [`POWER_PLATFORM`].
    PowerPlatform,
}

// The hosts per cloud, from Microsoft's documentation rather than from
// examples, so that a search that finds nothing means nothing is there:
//
// - Office 365 connector URLs are served by Exchange Online: commercial and
//   GCC on outlook.office.com / outlook.office365.com, GCC High on
//   outlook.office365.us (Microsoft 365 U.S. Government GCC High endpoints,
//   learn.microsoft.com/microsoft-365/enterprise/microsoft-365-u-s-government-gcc-high-endpoints).
//   The 2021 format moved to a tenant name below webhook.office.com;
//   GCC High's counterpart webhook.office365.us is not in Microsoft's docs
//   but is what GCC High tenants' URLs use (public allowlists list it beside
//   webhook.office.com). Connectors are not offered in DoD or in the China
//   cloud (MicrosoftDocs/msteams-docs pull 9551: "available only in GCC and
//   GCC-High"), so there is no form to look for there.
// - Workflows trigger URLs ("When an HTTP request is received" and "When a
//   Teams webhook request is received"): Microsoft's allowlist for that
//   trigger names *.logic.azure.com and *.api.powerplatform.com (commercial),
//   *.logic.azure.us with *.api.gov.powerplatform.microsoft.us (GCC),
//   *.api.high.powerplatform.microsoft.us (GCC High), *.api.appsplatform.us
//   (DoD), and *.logic.azure.cn with
//   *.api.powerplatform.partner.microsoftonline.cn (21Vianet China)
//   (MicrosoftDocs/power-automate-docs, articles/ip-address-configuration.md,
//   "Allow users on your network to use 'When an HTTP request is received'
//   trigger"). Trigger URLs on the Power Platform API sit below its
//   `environment.` name: `{env}.NN.environment.api.powerplatform.com`.

/// Connector URL hosts, exact names (legacy `/webhook/` and `/webhookb2/`).
const OUTLOOK_HOSTS: [&str; 3] = [
    "outlook.office.com",
    "outlook.office365.com",
    "outlook.office365.us",
];
/// Connector URL hosts below which a tenant name sits (2021 format).
const WEBHOOK_OFFICE: [&str; 2] = [".webhook.office.com", ".webhook.office365.us"];
/// Workflows trigger URLs on the Logic Apps host, per cloud.
const LOGIC_APPS: [&str; 3] = [".logic.azure.com", ".logic.azure.us", ".logic.azure.cn"];
/// Workflows trigger URLs on the Power Platform API host, per cloud.
const POWER_PLATFORM: [&str; 5] = [
    ".environment.api.powerplatform.com",
    ".environment.api.gov.powerplatform.microsoft.us",
    ".environment.api.high.powerplatform.microsoft.us",
    ".environment.api.appsplatform.us",
    ".environment.api.powerplatform.partner.microsoftonline.cn",
];

/// The family of a lower-case host name, if it is a webhook host.
pub(super) fn webhook_host(host: &str) -> Option<HostFamily> {
    let dns_name = !host.is_empty()
        && host
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.');
    if !dns_name {
        return None;
    }
    let below = |suffixes: &[&str]| {
        suffixes.iter().any(|suffix| {
            host.strip_suffix(suffix).is_some_and(|label| {
                !label.is_empty() && !label.starts_with('.') && !label.ends_with('.')
            })
        })
    };
    if OUTLOOK_HOSTS.contains(&host) {
        Some(HostFamily::Outlook)
    } else if below(&WEBHOOK_OFFICE) {
        Some(HostFamily::WebhookOffice)
    } else if below(&LOGIC_APPS) {
        Some(HostFamily::LogicApps)
    } else if below(&POWER_PLATFORM) {
        Some(HostFamily::PowerPlatform)
    } else {
        None
    }
}

/// The non-secret parts of a webhook URL.
pub(super) struct Parts {
    pub(super) kind: Kind,
    pub(super) host: String,
    pub(super) workflow_id: Option<String>,
    pub(super) has_sig: bool,
}

/// Classify a decoded URL; `None` when it is not one of the webhook formats.
pub(super) fn classify(url: &str) -> Option<Parts> {
    let scheme_len = if url.len() >= 8 && url[..8].eq_ignore_ascii_case("https://") {
        8
    } else if url.len() >= 7 && url[..7].eq_ignore_ascii_case("http://") {
        7
    } else {
        return None;
    };
    let rest = &url[scheme_len..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    // `https://outlook.office.com@evil.example/...` is not Microsoft's host.
    if authority.contains('@') {
        return None;
    }
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    if port.is_some_and(|p| p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit())) {
        return None;
    }
    let host = host.to_ascii_lowercase();
    let family = webhook_host(&host)?;
    let after = &rest[authority_end..];
    let (path, query) = after.split_once('?').unwrap_or((after, ""));
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let is = |i: usize, name: &str| segs.get(i).is_some_and(|s| s.eq_ignore_ascii_case(name));
    let present = |i: usize| segs.get(i).is_some_and(|s| !s.is_empty());
    let group_at_tenant = |i: usize| {
        segs.get(i)
            .and_then(|s| s.split_once('@'))
            .is_some_and(|(g, t)| !g.is_empty() && !t.is_empty())
    };
    let hex32 = |i: usize| {
        segs.get(i)
            .filter(|s| s.len() == 32 && s.bytes().all(|c| c.is_ascii_hexdigit()))
            .map(|s| s.to_ascii_lowercase())
    };
    let (kind, workflow_id) = match family {
        // /webhook/{group}@{tenant}/{connector}/{id}/...; {connector} is the
        // connector's name: IncomingWebhook, JenkinsCI, GitHub and so on.
        HostFamily::Outlook if is(0, "webhook") && group_at_tenant(1) && present(2) && present(3) => {
            (Kind::LegacyConnector, None)
        }
        // /webhookb2/... on the Outlook hosts: the 2021 path, as connectors
        // configured before the move to {tenant}.webhook.office.com hand out.
        HostFamily::Outlook if is(0, "webhookb2") && group_at_tenant(1) && present(2) && present(3) => {
            (Kind::IncomingWebhookB2, None)
        }
        // /webhookb2/{group}@{tenant}/{connector}/{id}/...
        HostFamily::WebhookOffice
            if is(0, "webhookb2") && group_at_tenant(1) && present(2) && present(3) =>
        {
            (Kind::IncomingWebhookB2, None)
        }
        // /workflows/{32hex}/triggers/{trigger}/...
        HostFamily::LogicApps if is(0, "workflows") && is(2, "triggers") && present(3) => {
            (Kind::WorkflowLogicApps, Some(hex32(1)?))
        }
        // /powerautomate/automations/direct/workflows/{32hex}/triggers/{trigger}/...
        HostFamily::PowerPlatform
            if is(0, "powerautomate")
                && is(1, "automations")
                && is(2, "direct")
                && is(3, "workflows")
                && is(5, "triggers")
                && present(6) =>
        {
            (Kind::WorkflowPowerPlatform, Some(hex32(4)?))
        }
        _ => return None,
    };
    let has_sig = query.split('&').any(|param| {
        param
            .split_once('=')
            .is_some_and(|(k, v)| k.eq_ignore_ascii_case("sig") && !v.is_empty())
    });
    Some(Parts {
        kind,
        host,
        workflow_id,
        has_sig,
    })
}
