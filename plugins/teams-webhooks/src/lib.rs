//! Plumbline plugin `teams-webhooks`: which teams still have the Incoming
//! Webhook or other Office 365 connector apps, which channels have
//! connectors (from Purview audit records), who owns them, and whether the
//! tenant still has connectors switched on.
//!
//! Sources:
//! - `mode = "live"`: Microsoft Graph v1.0 (teams, then each team's
//!   installed apps and owners through `$batch`), see [`live`];
//! - `mode = "offline"` (default): saved Graph answers written by
//!   `demo/teams/export-teams.ps1`, see [`export::LAYOUT`];
//! - either mode: Purview audit exports (`audit_dir`, or `audit/` in the
//!   export) for channel-level detail, see [`audit`]; the tenant switch from
//!   the `connectors_enabled` setting or a Get-OrganizationConfig export.
//!
//! Installed apps count as connectors when they are the Incoming Webhook,
//! on the published connector list ([`known_connectors`]), named in
//! `connector_app_ids`, or named by audit records.
//!
//! Everything but [`source`] is pure, so it runs natively in `cargo test`.
#![warn(missing_docs)]

pub mod assess;
pub mod audit;
pub mod checks;
pub mod config;
pub mod export;
mod json;
pub mod known_connectors;
pub mod live;
pub mod model;
pub mod source;

pub use assess::{assess, Options, RETIREMENT_MS, TENANT_KEY};
pub use config::{Config, Mode};
pub use json::{parse_collection, Collection, GraphError};
pub use model::{TeamsState, INCOMING_WEBHOOK_APP_ID};

use plumbline_plugin_sdk::prelude::*;

/// The plugin.
pub struct TeamsWebhooks;

impl Plugin for TeamsWebhooks {
    const NAME: &'static str = "teams-webhooks";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str =
        "Teams connectors and Incoming Webhooks (Microsoft Graph, Purview audit), with retirement and ownership checks";

    fn categories() -> Vec<Category> {
        vec![Category::TeamsConnector, Category::IncomingWebhook]
    }

    fn capabilities() -> Capabilities {
        Capabilities::none().http("graph.microsoft.com").files("*")
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

/// One scan: settings, fetch, assess.
pub fn scan(ctx: &ScanContext) -> Result<Report, ScanError> {
    let config = Config::from_settings(&Settings::new(&ctx.settings))?;
    let state = source::fetch(&config)?;
    let now_ms = config
        .as_of_ms
        .unwrap_or_else(|| i64::try_from(ctx.started_at_ms).unwrap_or(i64::MAX));
    let options = Options {
        connector_app_ids: config.connector_app_ids.clone(),
        match_connector_names: config.match_connector_names,
    };
    Ok(assess(&state, &options, &ctx.tenant_id, now_ms))
}

register_plugin!(TeamsWebhooks);
