//! Fetching the cmdlet objects: from export files (offline) or from
//! Exchange Online's admin REST endpoint (live). The only module that
//! calls the host.

use crate::config::{Config, Mode};
use crate::export::{parse_export, Export};
use crate::model::ExchangeState;
use plumbline_plugin_sdk::files::{self, EntryKind};
use plumbline_plugin_sdk::http::{self, NextPage, Request};
use plumbline_plugin_sdk::{log, ScanError};
use serde_json::{json, Value};

/// The system mailbox Exchange Online's own module anchors admin calls on.
const ANCHOR_MAILBOX: &str = "SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}";

/// Read everything the configured mode gives.
pub fn fetch(config: &Config) -> Result<ExchangeState, ScanError> {
    match &config.mode {
        Mode::Offline { export_dir } => fetch_offline(export_dir),
        Mode::Live { credential, tenant } => fetch_live(credential, tenant),
    }
}

fn fetch_offline(dir: &str) -> Result<ExchangeState, ScanError> {
    let entries = files::list_dir(dir).map_err(|e| match e {
        ScanError::Config(m) => ScanError::Config(format!("export_dir: {m}")),
        other => other,
    })?;
    let names: Vec<String> = entries
        .into_iter()
        .filter(|e| e.kind != EntryKind::Directory)
        .map(|e| e.name)
        .collect();
    let state = read_exports_with(dir, &names, files::read_text, log::warn)?;
    let read = [
        state.inbound.is_some(),
        state.outbound.is_some(),
        state.organization.is_some(),
        state.transport.is_some(),
    ];
    log::info(&format!(
        "read {} of 4 exports from {dir}: {} inbound and {} outbound connectors",
        read.iter().filter(|r| **r).count(),
        count(state.inbound.as_ref().map(Vec::len)),
        count(state.outbound.as_ref().map(Vec::len))
    ));
    Ok(state)
}

/// Offline mode over the file `names` found in `dir`, with the reading and
/// the warnings passed in (the host's in a scan, fakes in native tests).
///
/// A file that cannot be read or parsed costs only its own cmdlet's results
/// (they become unknown, with a warning and an `unreadable_exports` note on
/// the organization entry). Only when no export at all could be read is it
/// an error, since an empty report would look like a clean tenant.
pub fn read_exports_with(
    dir: &str,
    names: &[String],
    mut read_text: impl FnMut(&str) -> Result<String, ScanError>,
    mut warn: impl FnMut(&str),
) -> Result<ExchangeState, ScanError> {
    let mut found = 0;
    let mut unreadable: Vec<(Export, ScanError)> = Vec::new();
    let mut read = |export: Export| -> Option<Vec<Value>> {
        let wanted = export.file_name();
        let Some(name) = names.iter().find(|n| n.eq_ignore_ascii_case(&wanted)) else {
            warn(&format!(
                "{wanted} not found in {dir}: {} results are unknown; the checks that need them are skipped",
                export.cmdlet()
            ));
            return None;
        };
        found += 1;
        let path = files::join(dir, name);
        match read_text(&path).and_then(|text| parse_export(&text, &path)) {
            Ok(items) => Some(items),
            Err(e) => {
                warn(&format!(
                    "{}; {} results are unknown for this scan: export the cmdlet again \
                     (`{} | ConvertTo-Json -Depth 5 | Out-File {wanted}`)",
                    message(&e),
                    export.cmdlet(),
                    export.cmdlet()
                ));
                unreadable.push((export, e));
                None
            }
        }
    };
    let inbound = read(Export::Inbound);
    let outbound = read(Export::Outbound);
    let organization = read(Export::Organization);
    let transport = read(Export::Transport);
    if found == 0 {
        return Err(ScanError::Config(format!(
            "export_dir {dir} holds none of the expected exports ({}); run the Get-* cmdlets \
             there with `| ConvertTo-Json -Depth 5 | Out-File <cmdlet>.json`",
            Export::ALL.map(Export::file_name).join(", ")
        )));
    }
    if unreadable.len() == found {
        // Nothing was read: a report would look like a clean tenant.
        if unreadable.len() == 1 {
            return Err(unreadable.remove(0).1);
        }
        let why: Vec<&str> = unreadable.iter().map(|(_, e)| message(e)).collect();
        return Err(ScanError::Malformed(format!(
            "none of the {found} exports in {dir} could be read: {}",
            why.join("; ")
        )));
    }
    let mut state = ExchangeState::from_values(inbound, outbound, organization, transport);
    state.unreadable = unreadable
        .into_iter()
        .map(|(export, e)| (export, message(&e).to_string()))
        .collect();
    Ok(state)
}

fn fetch_live(credential: &str, tenant: &str) -> Result<ExchangeState, ScanError> {
    let state = fetch_live_with(credential, tenant, http::send_json)?;
    let n = |v: Option<usize>| v.map_or_else(|| "unknown".to_string(), |n| n.to_string());
    log::info(&format!(
        "read {} inbound and {} outbound connectors from Exchange Online",
        n(state.inbound.as_ref().map(Vec::len)),
        n(state.outbound.as_ref().map(Vec::len))
    ));
    Ok(state)
}

/// Live mode with the transport passed in (`http::send_json` in a scan, a
/// fake in native tests): each cmdlet is POSTed and its `nextLink` pages
/// re-POSTed with the same body.
pub fn fetch_live_with(
    credential: &str,
    tenant: &str,
    mut transport: impl FnMut(&Request) -> Result<Value, ScanError>,
) -> Result<ExchangeState, ScanError> {
    let mut get = |export: Export| -> Result<Option<Vec<Value>>, ScanError> {
        let req = invoke_command_request(tenant, credential, export);
        let items = http::collect_pages_with(req, NextPage::Repeat, &mut transport)
            .map_err(|e| in_cmdlet(e, export))?;
        if let Some(i) = items.iter().position(|v| !v.is_object()) {
            return Err(ScanError::Malformed(format!(
                "{}: item {i} of the answer is not an object",
                export.cmdlet()
            )));
        }
        Ok(Some(items))
    };
    let inbound = get(Export::Inbound)?;
    let outbound = get(Export::Outbound)?;
    let organization = get(Export::Organization)?;
    let transport = get(Export::Transport)?;
    Ok(ExchangeState::from_values(
        inbound,
        outbound,
        organization,
        transport,
    ))
}

/// The `InvokeCommand` request for one cmdlet, as the Exchange Online v3
/// module sends it. Pure, so it is tested natively.
pub fn invoke_command_request(tenant: &str, credential: &str, export: Export) -> Request {
    let url = format!("https://outlook.office365.com/adminapi/beta/{tenant}/InvokeCommand");
    let body = json!({"CmdletInput": {"CmdletName": export.cmdlet(), "Parameters": {}}});
    let anchor = format!("APP:{ANCHOR_MAILBOX}@{tenant}");
    http::json_request(
        "POST",
        &url,
        Some(&body),
        Some(credential),
        &[
            ("Prefer", "odata.maxpagesize=1000"),
            ("X-ResponseFormat", "json"),
            ("X-AnchorMailbox", &anchor),
        ],
    )
}

/// The same error, its message prefixed with the cmdlet.
fn in_cmdlet(e: ScanError, export: Export) -> ScanError {
    e.context(export.cmdlet())
}

fn message(e: &ScanError) -> &str {
    match e {
        ScanError::Config(m)
        | ScanError::Denied(m)
        | ScanError::Malformed(m)
        | ScanError::Upstream(m)
        | ScanError::Other(m) => m,
    }
}

fn count(n: Option<usize>) -> String {
    n.map_or_else(|| "unknown".to_string(), |n| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoke_command_request_matches_the_exo_module() {
        let r = invoke_command_request("contoso.onmicrosoft.com", "exchange", Export::Outbound);
        assert_eq!(r.method, "POST");
        assert_eq!(
            r.url,
            "https://outlook.office365.com/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand"
        );
        assert_eq!(r.credential.as_deref(), Some("exchange"));
        let body: Value = serde_json::from_slice(r.body.as_deref().unwrap_or_default()).unwrap();
        assert_eq!(
            body,
            json!({"CmdletInput": {"CmdletName": "Get-OutboundConnector", "Parameters": {}}})
        );
        let h = |n: &str| {
            r.headers
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case(n))
                .map(|a| a.value.clone())
        };
        assert_eq!(h("Prefer").as_deref(), Some("odata.maxpagesize=1000"));
        assert_eq!(h("X-ResponseFormat").as_deref(), Some("json"));
        assert_eq!(
            h("X-AnchorMailbox").as_deref(),
            Some("APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@contoso.onmicrosoft.com")
        );
    }

    #[test]
    fn live_follows_next_links_per_cmdlet_by_reposting() {
        let mut calls: Vec<(String, String)> = Vec::new();
        let state = fetch_live_with("exchange", "t.onmicrosoft.com", |r| {
            let body = String::from_utf8(r.body.clone().unwrap_or_default()).unwrap();
            calls.push((r.url.clone(), body.clone()));
            Ok(if body.contains("Get-InboundConnector") && !r.url.contains("skip") {
                json!({"value": [{"Name": "in-1"}], "@odata.nextLink": "https://outlook.office365.com/adminapi/beta/t.onmicrosoft.com/InvokeCommand?$skip=1"})
            } else if body.contains("Get-InboundConnector") {
                json!({"value": [{"Name": "in-2"}]})
            } else if body.contains("Get-OrganizationConfig") {
                json!({"value": [{"RejectDirectSend": "False"}]})
            } else {
                json!({"value": []})
            })
        })
        .unwrap();
        assert_eq!(calls.len(), 5);
        assert!(
            calls[1].0.contains("$skip=1") && calls[1].1 == calls[0].1,
            "{calls:?}"
        );
        let names: Vec<_> = state
            .inbound
            .unwrap()
            .iter()
            .map(|c| c.id.display().to_string())
            .collect();
        assert_eq!(names, ["in-1", "in-2"]);
        assert_eq!(state.outbound.map(|o| o.len()), Some(0));
        assert_eq!(
            state.organization.and_then(|o| o.reject_direct_send),
            Some(false)
        );
        assert!(
            state.transport.is_none(),
            "an empty config answer is unknown"
        );
    }

    #[test]
    fn live_errors_name_the_cmdlet() {
        let e = fetch_live_with("exchange", "t", |r| {
            let body = String::from_utf8(r.body.clone().unwrap_or_default()).unwrap();
            if body.contains("Get-OutboundConnector") {
                Err(ScanError::Upstream("https://x answered HTTP 403".into()))
            } else {
                Ok(json!({"value": []}))
            }
        })
        .unwrap_err();
        assert!(
            matches!(e, ScanError::Upstream(ref m) if m.starts_with("Get-OutboundConnector: ")),
            "{e:?}"
        );
        let e = fetch_live_with("exchange", "t", |_| Ok(json!({"value": [1]}))).unwrap_err();
        assert!(
            matches!(e, ScanError::Malformed(ref m) if m.contains("Get-InboundConnector")),
            "{e:?}"
        );
    }

    #[test]
    fn errors_name_the_cmdlet_and_keep_their_kind() {
        let e = in_cmdlet(ScanError::Upstream("HTTP 403".into()), Export::Transport);
        assert!(
            matches!(e, ScanError::Upstream(ref m) if m == "Get-TransportConfig: HTTP 403"),
            "{e:?}"
        );
    }
}
