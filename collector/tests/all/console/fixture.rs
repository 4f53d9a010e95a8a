//! A small MSP for the console's tests: Northwind Dental (hostile connector
//! names included, a changed and a new inbound connector awaiting review)
//! and Fabrikam, which no Northwind user may see; and one user per role.

use crate::support::{connector, finding, ok, TestAgent, TestStore};
use plumbline_collector::accounts::{self, Role};
use plumbline_collector::ingest::ingest;
use plumbline_protocol::register::{ConnectorEntry, Severity, CONTEXT_RECORD, RECORD_ATTRIBUTE};

pub const NORTHWIND: &str = "northwind";
pub const FABRIKAM: &str = "fabrikam";
pub const PASSWORD: &str = "correct horse battery staple";
pub const ADMIN: &str = "admin@msp.example";
pub const ENGINEER: &str = "eng@msp.example";
pub const CLIENT: &str = "it@northwind.example";
pub const IMG_XSS: &str = "<img src=x onerror=alert(1)>";
pub const SCRIPT_XSS: &str = "\"><script>alert(1)</script>";
// Register keys, each in its plugin's namespace as the agent sends them.
pub const INBOUND: &str = "exo/exchange:inbound:relay";
pub const NEW_INBOUND: &str = "exo/exchange:inbound:unexpected";
pub const FLOW: &str = "flows/flow:env1:alerts";
pub const WEBHOOK: &str = "teams/teams:webhook:backup-alerts";

/// Northwind's context records: `(key, category, plugin, name)`.
pub const CONTEXT_RECORDS: [(&str, &str, &str, &str); 3] = [
    ("exchange:organization", "exchange-connector", "exo", "Exchange Online organization settings"),
    ("flow-environment:Default-nw", "power-automate-flow", "flows", "Northwind (default)"),
    ("teams:tenant", "teams-connector", "teams", "Teams connectors (tenant)"),
];

fn named(key: &str, category: &str, plugin: &str, name: &str) -> ConnectorEntry {
    ConnectorEntry { name: name.into(), ..connector(key, category, plugin) }
}

fn northwind_scan(agent: &TestAgent, sequence: u64, second: bool) -> Vec<u8> {
    let mut relay = named(INBOUND, "exchange-connector", "exo", "Scanner relay");
    if second {
        relay.attributes.insert("sender_ip_addresses".into(), "203.0.113.9".into());
    }
    let mut connectors = vec![
        relay,
        named("exchange:inbound:xss1", "exchange-connector", "exo", IMG_XSS),
        named("exchange:outbound:xss2", "exchange-connector", "exo", SCRIPT_XSS),
        ConnectorEntry { co_owners: vec![], ..named(FLOW, "power-automate-flow", "flows", "Backup alerts flow") },
        named(WEBHOOK, "incoming-webhook", "teams", "Backup alerts webhook"),
    ];
    if second {
        connectors.push(named(NEW_INBOUND, "exchange-connector", "exo", "Unexpected relay"));
    }
    // What each plugin scanned around its connectors: in the register, in no count of connectors.
    for (key, category, plugin, name) in CONTEXT_RECORDS {
        let mut c = ConnectorEntry { co_owners: vec![], ..named(key, category, plugin, name) };
        c.attributes.insert(RECORD_ATTRIBUTE.into(), CONTEXT_RECORD.into());
        if second {
            c.attributes.insert("scanned".into(), "again".into());
        }
        connectors.push(c);
    }
    let mut relay_finding = finding(&agent.tenant, "exo.open-relay", INBOUND, "exo");
    relay_finding.severity = Severity::Critical;
    relay_finding.title = "Accepts mail from any server".into();
    relay_finding.remediation = "Set-InboundConnector -Identity 'Scanner relay' -SenderIPAddresses 203.0.113.9".into();
    let mut xss_finding = finding(&agent.tenant, "exo.tls", "exchange:inbound:xss1", "exo");
    xss_finding.title = format!("TLS not required on {SCRIPT_XSS}");
    let plugins = vec![ok("exo"), ok("flows"), ok("teams")];
    let mut batch = agent.batch(sequence, plugins, connectors, vec![relay_finding, xss_finding]);
    batch.scan_finished_at = format!("2026-11-2{sequence}T10:00:05Z");
    agent.sign(&batch)
}

/// Load the MSP: two Northwind scans (so there is history and a review
/// queue), one Fabrikam scan, and the three users.
pub async fn load(t: &TestStore) {
    let nw = t.agent(NORTHWIND, "hq").await;
    t.store.add_tenant_group(NORTHWIND, "contract customers").await.unwrap();
    ingest(t.dyn_store(), &northwind_scan(&nw, 1, false)).await.unwrap();
    ingest(t.dyn_store(), &northwind_scan(&nw, 2, true)).await.unwrap();
    let fb = t.agent(FABRIKAM, "main").await;
    let secret = named("exchange:inbound:fabrikam-secret", "exchange-connector", "exo", "Fabrikam secret relay");
    ingest(t.dyn_store(), &fb.sign(&fb.batch(1, vec![ok("exo")], vec![secret], vec![]))).await.unwrap();
    accounts::add_user(t.dyn_store(), ADMIN, Role::MspAdmin, &[], PASSWORD).await.unwrap();
    accounts::add_user(t.dyn_store(), ENGINEER, Role::MspEngineer, &[NORTHWIND.into()], PASSWORD).await.unwrap();
    accounts::add_user(t.dyn_store(), CLIENT, Role::ClientViewer, &[NORTHWIND.into()], PASSWORD).await.unwrap();
}
