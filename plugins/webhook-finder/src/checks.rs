//! The checks. Titles, details and remediations name the file, the line,
//! the host and the workflow id, never the URL or any other part of it.

use crate::config::Config;
use crate::detect::Kind;
use crate::register::lines_text;
use crate::walk::{Reference, Walked};
use plumbline_plugin_sdk::{Finding, Severity};

/// A script or config posts to a retired Office 365 connector URL.
pub const RETIRED_CONNECTOR_URL: &str = "webhook.retired-connector-url";
/// A Workflows URL with its `sig` in a file every local account can read.
pub const WORKFLOW_SIG_WORLD_READABLE: &str = "webhook.workflow-sig-world-readable";
/// A Workflows URL with its `sig` stored in a file.
pub const WORKFLOW_SIG_IN_FILE: &str = "webhook.workflow-sig-in-file";
/// The search did not cover everything (a bound was hit, or something could
/// not be read).
pub const SEARCH_INCOMPLETE: &str = "webhook.search-incomplete";

/// Every check id with its severity.
pub const CHECKS: [(&str, Severity); 4] = [
    (RETIRED_CONNECTOR_URL, Severity::High),
    (WORKFLOW_SIG_WORLD_READABLE, Severity::High),
    (WORKFLOW_SIG_IN_FILE, Severity::Low),
    (SEARCH_INCOMPLETE, Severity::Info),
];

/// `line 12` or `lines 12, 40`.
fn at(r: &Reference) -> String {
    if r.lines.len() > 1 {
        format!("lines {}", lines_text(r))
    } else {
        format!("line {}", r.line())
    }
}

/// The check on one reference, if it fires.
pub fn reference_check(key: &str, r: &Reference) -> Option<Finding> {
    if r.kind.is_retired() {
        Some(retired_connector_url(key, r))
    } else if r.has_sig {
        Some(workflow_sig(key, r))
    } else {
        None
    }
}

fn retired_connector_url(key: &str, r: &Reference) -> Finding {
    let what = match r.kind {
        Kind::LegacyConnector => "an Office 365 connector webhook URL in the legacy outlook.office.com format",
        _ => "a Teams Incoming Webhook connector URL (webhook.office.com/webhookb2)",
    };
    Finding::new(
        RETIRED_CONNECTOR_URL,
        key,
        Severity::High,
        format!("Retired Teams connector webhook URL in {} ({})", r.path, at(r)),
    )
    .detail(format!(
        "{} ({}) posts to {what} on {}. Office 365 connectors in Teams are retired (final \
         rollout May 2026), and messages posted to these URLs are no longer delivered. Scripts \
         and monitoring tools rarely check the answer, so whatever this one sends (alerts, \
         backup or disk-space reports) is lost without anyone noticing.",
        r.path,
        at(r),
        r.host
    ))
    .remediation(format!(
        "In the Teams channel that should get these messages, add a Workflows flow from the \
         template \"Post to a channel when a webhook request is received\" (trigger \"When a \
         Teams webhook request is received\"), and put its URL in {} at {} instead of the old \
         one. Change the message to an Adaptive Card (an `attachments` array with contentType \
         application/vnd.microsoft.card.adaptive): the old MessageCard payload is not what the \
         template posts. Keep the new URL out of the script if you can (a protected secret \
         store or a file only the service account can read): it carries a signature that \
         works like a password.",
        r.path,
        at(r)
    ))
    .evidence("file", r.path.clone())
    .evidence("line", r.line().to_string())
    .evidence("kind", r.kind.as_str())
    .evidence("host", r.host.clone())
    .evidence("url_fingerprint", r.fingerprint.clone())
}

fn workflow_sig(key: &str, r: &Reference) -> Finding {
    let workflow = r.workflow_id.as_deref().unwrap_or("unknown");
    let what = format!(
        "a Workflows trigger URL for workflow {workflow} on {} with its `sig` parameter",
        r.host
    );
    let why = "The sig is a shared access signature: anyone who has the URL can run the flow, \
               and post into whatever channel it posts to, without signing in.";
    let rotate = "Because the URL may already have been copied, replace it: in Power Automate, \
                  save the flow as a copy (or delete and re-add its trigger), which issues a new \
                  URL and sig, point the callers at the new URL, then turn off or delete the old \
                  flow so the exposed URL stops working. Where the callers can get an OAuth \
                  token, set the trigger's \"Who can trigger the flow\" to \"Any user in my \
                  tenant\" instead: its URL then carries no sig.";
    let base = Finding::new(
        if r.world_readable {
            WORKFLOW_SIG_WORLD_READABLE
        } else {
            WORKFLOW_SIG_IN_FILE
        },
        key,
        if r.world_readable {
            Severity::High
        } else {
            Severity::Low
        },
        if r.world_readable {
            format!(
                "Workflows webhook URL with its signature in world-readable {} ({})",
                r.path,
                at(r)
            )
        } else {
            format!("Workflows webhook URL with its signature stored in {} ({})", r.path, at(r))
        },
    );
    let f = if r.world_readable {
        base.detail(format!(
            "{} ({}) holds {what}. {why} The file's permissions let every local account on this \
             host read it.",
            r.path,
            at(r)
        ))
        .remediation(format!(
            "Take the URL out of {}: have the script read it at run time from a protected store \
             (Windows Credential Manager or a DPAPI-protected file, the RMM's secure or secret \
             variables, or a file readable only by the account the script runs as), and restrict \
             the file's permissions meanwhile (chmod o-r on Linux and macOS; remove Everyone and \
             Users from its ACL on Windows). {rotate}",
            r.path
        ))
    } else {
        base.detail(format!(
            "{} ({}) holds {what}. {why} The host does not report the file as readable by every \
             local account, but the URL is still a credential in plain text, copied along with \
             the file into backups, RMM script libraries and tickets.",
            r.path,
            at(r)
        ))
        .remediation(format!(
            "Keep the URL in a protected secret store that the script reads at run time (Windows \
             Credential Manager or a DPAPI-protected file, the RMM's secure or secret variables) \
             rather than in {}. If the file has been shared or copied, replace the URL: {rotate}",
            r.path
        ))
    };
    f.evidence("file", r.path.clone())
        .evidence("line", r.line().to_string())
        .evidence("kind", r.kind.as_str())
        .evidence("host", r.host.clone())
        .evidence("workflow_id", workflow)
        .evidence("file_world_readable", if r.world_readable { "true" } else { "false" })
        .evidence("url_fingerprint", r.fingerprint.clone())
}

/// The search-wide check: the search did not cover everything.
pub fn search_check(key: &str, config: &Config, walked: &Walked) -> Option<Finding> {
    if walked.gaps.is_empty() {
        return None;
    }
    let reasons: Vec<String> = walked.gaps.iter().map(|g| g.explain(config)).collect();
    let s = &walked.stats;
    Some(
        Finding::new(
            SEARCH_INCOMPLETE,
            key,
            Severity::Info,
            "The webhook URL search did not cover everything",
        )
        .detail(format!(
            "The search of {} is incomplete: {}. Webhook URLs in what was not searched are not \
             in the register. Searched: {} directories, {} files, {} bytes.",
            config.paths.join(", "),
            reasons.join("; "),
            s.dirs_listed,
            s.files_read,
            s.bytes_read
        ))
        .remediation(
            "Point `paths` at the directories that hold scripts and monitoring configs rather \
             than at whole drives, add bulky directories to `exclude`, or raise the bound named \
             above in [plugins.webhook-finder.settings]. For unreadable directories and files, \
             check the agent log for the paths and the errors.",
        )
        .evidence(
            "gaps",
            walked
                .gaps
                .iter()
                .map(|g| g.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        )
        .evidence("dirs_listed", s.dirs_listed.to_string())
        .evidence("files_read", s.files_read.to_string())
        .evidence("bytes_read", s.bytes_read.to_string())
        .evidence("dirs_too_deep", s.dirs_too_deep.to_string())
        .evidence("dirs_unreadable", s.dirs_unreadable.to_string())
        .evidence("files_unreadable", s.files_unreadable.to_string()),
    )
}
