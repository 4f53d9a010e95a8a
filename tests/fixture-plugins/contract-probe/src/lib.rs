//! Test plugin for contract 0.2.0: sends its `urls` through one `send-all`,
//! dials its `tcp` targets through one `connect-all`, reads `limits()`,
//! reports progress, and puts what the host answered in the register (one
//! entry per request or target, in order, and one for the limits).
use plumbline_plugin_sdk::http::{self, json_request};
use plumbline_plugin_sdk::prelude::*;
use plumbline_plugin_sdk::{host, tcp};

struct Probe;

/// The ports it may dial; a test listens on the first one free.
pub const PORTS: [u16; 8] = [40125, 40126, 40127, 40128, 40129, 40130, 40131, 40132];

fn entry(key: String, attrs: Vec<(&str, String)>) -> ConnectorRecord {
    ConnectorRecord {
        key: key.clone(),
        category: Category::WebhookReference,
        name: key,
        scope: String::new(),
        owner: None,
        co_owners: vec![],
        purpose: None,
        auth_type: None,
        migration_state: None,
        created: None,
        changed: None,
        attributes: attrs.into_iter().map(|(n, v)| Attribute { name: n.into(), value: v }).collect(),
    }
}

impl Plugin for Probe {
    const NAME: &'static str = "fixture-contract-probe";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    fn categories() -> Vec<Category> {
        vec![Category::WebhookReference]
    }
    fn capabilities() -> Capabilities {
        Capabilities::none().http("graph.microsoft.com").http("api.bap.microsoft.com").http("exfil.example.net").tcp("*", &PORTS)
    }
    fn settings() -> Vec<SettingSpec> {
        vec![
            SettingSpec::list("urls", "URLs sent through one send-all"),
            SettingSpec::list("tcp", "host:port targets dialled through one connect-all"),
            SettingSpec::choice("credential", &["none", "graph"], "credential profile of the requests").default("none"),
        ]
    }
    fn required_permissions() -> Vec<Permission> {
        vec![Permission::graph("User.Read.All", "nothing; a test").via("credential")]
    }
    fn watch() -> Vec<String> {
        // For the service's watches: one folder a test grants (relative to
        // the config's), one beside it and one far outside any grant.
        vec!["watched".into(), "unwatched".into(), "/etc".into()]
    }
    fn scan(ctx: &ScanContext) -> Result<Report, ScanError> {
        let settings = Settings::new(&ctx.settings);
        let credential = settings.get("credential").filter(|c| *c != "none");
        let urls = settings.list("urls");
        let reqs: Vec<_> = urls.iter().map(|u| json_request("GET", u, None, credential, &[])).collect();
        let mut report = Report::empty();
        for (i, answer) in http::send_all(&reqs).into_iter().enumerate() {
            host::progress(i as u64 + 1, Some(reqs.len() as u64), "probe requests");
            let outcome = match answer {
                Ok(r) => format!("status {}", r.status),
                Err(e) => format!("error {e}"),
            };
            report.connectors.push(entry(format!("http:{i}"), vec![("outcome", outcome)]));
        }
        let targets: Vec<(String, u16)> = settings
            .list("tcp")
            .iter()
            .filter_map(|t| t.rsplit_once(':').and_then(|(h, p)| Some((h.to_string(), p.parse().ok()?))))
            .collect();
        if !targets.is_empty() {
            for (i, c) in tcp::connect_all(&targets, 2000).into_iter().enumerate() {
                let outcome = match c {
                    Ok(conn) => format!("peer {}", conn.peer_address()),
                    Err(e) => format!("error {e:?}"),
                };
                report.connectors.push(entry(format!("tcp:{i}"), vec![("outcome", outcome)]));
            }
        }
        let l = host::limits();
        report.connectors.push(entry(
            "limits".into(),
            vec![
                ("max_report_bytes", l.max_report_bytes.to_string()),
                ("max_report_items", l.max_report_items.to_string()),
                ("time_left_ms", l.time_left_ms.to_string()),
                ("max_batch", l.max_batch.to_string()),
                ("max_open_connections", l.max_open_connections.to_string()),
            ],
        ));
        Ok(report)
    }
}

register_plugin!(Probe);
