//! Checks on any connector's life: recently created or changed, disabled.

use super::{Window, DISABLED, MS_PER_DAY, RECENTLY_CHANGED, RECENTLY_CREATED};
use crate::fields::parse_date_ms;
use crate::model::Identity;
use crate::show::{self, ps_quote};
use plumbline_plugin_sdk::time::to_rfc3339;
use plumbline_plugin_sdk::{Finding, Severity};

const COMPROMISE_GUIDANCE: &str = "Microsoft's guidance on responding to a compromised connector \
    (Microsoft Defender for Office 365) lists an inbound connector that was not created by an \
    admin, and unauthorised changes to a connector's name, domains or IP addresses, as signs that \
    the connector has been compromised.";

pub(super) fn recent(
    key: &str,
    direction: &str,
    noun: &str,
    id: &Identity,
    window: &Window,
    out: &mut Vec<Finding>,
) {
    let created = id.when_created.as_deref().and_then(parse_date_ms);
    let changed = id.when_changed.as_deref().and_then(parse_date_ms);
    let name = id.display();
    let cmd_id = ps_quote(id.cmdlet_identity());
    let audit = |at: i64| {
        let day = |ms: i64| {
            to_rfc3339(ms)
                .split('T')
                .next()
                .unwrap_or_default()
                .to_string()
        };
        format!(
            "Search-UnifiedAuditLog -StartDate {} -EndDate {} -Operations New-{noun},Set-{noun} \
             -ResultSize 1000 | Format-List CreationDate,UserIds,Operations,AuditData",
            day(at.saturating_sub(MS_PER_DAY)),
            day(at.saturating_add(2 * MS_PER_DAY)),
        )
    };
    let window_text = format!("the last {} days", window.days);
    if let Some(at) = created.filter(|t| window.contains(*t)) {
        out.push(
            Finding::new(
                RECENTLY_CREATED,
                key,
                Severity::High,
                format!("{direction} connector '{name}' was created recently"),
            )
            .detail(format!(
                "{direction} connector '{name}' was created at {} ({}; window: {window_text}). \
                 {COMPROMISE_GUIDANCE} Confirm that this connector was created on purpose.",
                to_rfc3339(at),
                window.ago(at),
            ))
            .remediation(format!(
                "Find who created it: {}. If nobody can account for it, disable it at once \
                 (Set-{noun} -Identity {cmd_id} -Enabled $false), reset the credentials of the \
                 account that created it and review the tenant for other changes.",
                audit(at)
            ))
            .evidence("connector", name)
            .evidence("created", to_rfc3339(at))
            .evidence("recent_days", window.days.to_string()),
        );
    } else if let Some(at) = changed.filter(|t| window.contains(*t)) {
        out.push(
            Finding::new(
                RECENTLY_CHANGED,
                key,
                Severity::Medium,
                format!("{direction} connector '{name}' was changed recently"),
            )
            .detail(format!(
                "{direction} connector '{name}' was changed at {} ({}; window: {window_text}; \
                 created {}). {COMPROMISE_GUIDANCE} Confirm that the change was intended.",
                to_rfc3339(at),
                window.ago(at),
                created.map_or_else(|| show::UNKNOWN.to_string(), to_rfc3339),
            ))
            .remediation(format!(
                "Find who changed it and what changed: {}. If nobody can account for the change, \
                 disable the connector (Set-{noun} -Identity {cmd_id} -Enabled $false) and review \
                 its domains and IP addresses.",
                audit(at)
            ))
            .evidence("connector", name)
            .evidence("changed", to_rfc3339(at))
            .evidence(
                "created",
                created.map_or_else(|| show::UNKNOWN.to_string(), to_rfc3339),
            )
            .evidence("recent_days", window.days.to_string()),
        );
    }
}

pub(super) fn disabled(
    key: &str,
    direction: &str,
    noun: &str,
    id: &Identity,
    enabled: Option<bool>,
) -> Option<Finding> {
    if enabled != Some(false) {
        return None;
    }
    let name = id.display();
    let cmd_id = ps_quote(id.cmdlet_identity());
    Some(
        Finding::new(
            DISABLED,
            key,
            Severity::Low,
            format!("{direction} connector '{name}' is disabled"),
        )
        .detail(format!(
            "{direction} connector '{name}' has Enabled: false. A disabled connector can be \
                 switched back on by anyone with the rights, with whatever settings it has; \
                 connectors nobody uses should be removed."
        ))
        .remediation(format!(
            "If the connector is no longer needed, remove it: Remove-{noun} -Identity {cmd_id}. \
                 If it is kept on purpose, say why in its comment: Set-{noun} -Identity {cmd_id} \
                 -Comment '<why it is kept, and who owns it>'"
        ))
        .evidence("connector", name)
        .evidence("enabled", "false"),
    )
}
