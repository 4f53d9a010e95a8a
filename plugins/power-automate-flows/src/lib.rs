//! Plumbline plugin `power-automate-flows`: Power Automate cloud flows (and
//! the Teams Workflows they include) in every Power Platform environment,
//! with their owners, triggers, state and connectors.
//!
//! It reads, either from the services (`mode = "live"`, see [`live`]) or
//! from the same answers saved in a folder (`mode = "offline"`, the
//! default; see [`offline`] for the layout):
//! - the environments (Power Platform admin API);
//! - each environment's flows (Power Automate admin `v2/flows`);
//! - each flow's permissions (owners, co-owners);
//! - for flows with a Teams webhook or HTTP trigger, or whose summary lists
//!   no trigger (the admin list often answers `"triggers": []`), the flow
//!   definition (the real triggers, who may call the trigger URL, connectors);
//! - the owners' accounts (Graph): enabled, disabled or deleted.
//!
//! Register entries: `flow:{environment}:{flow}` per flow (see
//! [`register::flow_record`]) and `flow-environment:{environment}` per
//! environment, saying how much was read. Checks: [`checks::CHECKS`].
//!
//! Bounded: at most `max_flows` flows are examined (default
//! [`config::DEFAULT_MAX_FLOWS`]), and the register is kept within
//! [`assess::report_budget`] of the host's `limits()`, keeping flows with findings first. Both
//! cuts are logged as warnings and shown on the environment entries.
//!
//! Everything except the host calls in [`live`] and [`offline`] is pure and
//! runs natively: `Source` → [`inventory::collect`] → [`assess::assess`].
#![warn(missing_docs)]

pub mod assess;
pub mod checks;
pub mod config;
mod fields;
pub mod inventory;
pub mod live;
pub mod model;
pub mod offline;
pub mod register;

pub use assess::assess;
pub use config::{Config, Mode};
pub use inventory::{collect, Inventory, Source};

use plumbline_plugin_sdk::prelude::*;
use plumbline_plugin_sdk::{host, http, log};

/// The plugin.
pub struct PowerAutomateFlows;

/// The plugin's name.
pub const NAME: &str = "power-automate-flows";

impl Plugin for PowerAutomateFlows {
    const NAME: &'static str = NAME;
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str =
        "Power Automate flows and Teams Workflows: owners, triggers, state and connectors, with orphan and webhook checks";

    fn categories() -> Vec<Category> {
        vec![Category::PowerAutomateFlow, Category::Workflow]
    }

    fn capabilities() -> Capabilities {
        Capabilities::none()
            .http(live::BAP_HOST)
            .http(live::FLOW_HOST)
            .http(live::GRAPH_HOST)
            .files("*")
    }

    fn settings() -> Vec<SettingSpec> {
        config::declared()
    }

    fn required_permissions() -> Vec<Permission> {
        config::permissions()
    }

    fn scan(ctx: &ScanContext) -> Result<Report, ScanError> {
        scan(ctx)
    }
}

/// One scan: read the settings, collect (live or offline), assess, log.
pub fn scan(ctx: &ScanContext) -> Result<Report, ScanError> {
    let config = Config::from_settings(&Settings::new(&ctx.settings))?;
    let (inv, what) = match &config.mode {
        Mode::Offline { export_dir } => {
            let mut src = offline::Offline::new(offline::HostFiles, export_dir);
            let inv = collect(&mut src, &config)?;
            (inv, format!("{} files from {export_dir}", src.files_read))
        }
        Mode::Live { flow_credential, bap_credential, graph_credential } => {
            let mut src = live::Live::new(http::Host, flow_credential, bap_credential, graph_credential.as_deref());
            src.on_progress = Some(host::progress);
            let inv = collect(&mut src, &config)?;
            if src.vanished > 0 {
                log::info(&format!(
                    "{} flows were deleted while the scan ran (404); their owners or triggers are unknown",
                    src.vanished
                ));
            }
            (inv, format!("{} requests", src.requests))
        }
    };
    for note in &inv.notes {
        log::warn(note);
    }
    let budget = assess::report_budget(host::limits().max_report_bytes);
    let (report, outcome) = assess(&inv, NAME, budget);
    if outcome.kept < outcome.flows {
        log::warn(&format!(
            "the register holds {} of {} flows: all of them would exceed the {} bytes of report the host accepts \
             from one plugin; flows with findings were kept first (see the flow-environment entries)",
            outcome.kept,
            outcome.flows,
            budget
        ));
    }
    log::info(&format!(
        "read {} environments and {} flows ({what}); {} register entries, {} findings",
        inv.environments.len(),
        outcome.flows,
        report.connectors.len(),
        report.findings.len()
    ));
    Ok(report)
}

register_plugin!(PowerAutomateFlows);
