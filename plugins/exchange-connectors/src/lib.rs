//! Plumbline plugin `exchange-connectors`: Exchange Online inbound and
//! outbound mail-flow connectors, and the tenant-wide switches around them.
//!
//! It reads four cmdlets (Get-InboundConnector, Get-OutboundConnector,
//! Get-OrganizationConfig, Get-TransportConfig), either from `ConvertTo-Json`
//! export files (`mode = "offline"`, the default) or from Exchange Online's
//! admin REST endpoint (`mode = "live"`), puts every connector in the
//! register and checks it.
//!
//! Everything except [`source`] is pure, so the parsing and the checks run
//! natively: [`parse_export`] → [`ExchangeState::from_values`] → [`assess`].
//!
//! Absent is unknown, never false: a field a source did not carry can
//! neither fire a check nor clear one.
#![warn(missing_docs)]

pub mod assess;
pub mod checks;
pub mod config;
pub mod export;
mod fields;
pub mod model;
pub mod register;
mod show;
pub mod source;

pub use assess::assess;
pub use config::{Config, Mode};
pub use export::{parse_export, Export};
pub use model::{
    ConnectorType, ExchangeState, InboundConnector, OrganizationConfig, OutboundConnector,
    Presence, TlsSettings, TransportConfig,
};

use plumbline_plugin_sdk::prelude::*;

/// The plugin.
pub struct ExchangeConnectors;

impl Plugin for ExchangeConnectors {
    const NAME: &'static str = "exchange-connectors";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str =
        "Exchange Online inbound and outbound connectors and tenant mail-flow switches, with security checks";

    fn categories() -> Vec<Category> {
        vec![Category::ExchangeConnector]
    }

    fn capabilities() -> Capabilities {
        Capabilities::none()
            .http("outlook.office365.com")
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

/// One scan: read the settings, fetch (offline or live), assess.
pub fn scan(ctx: &ScanContext) -> Result<Report, ScanError> {
    let config = Config::from_settings(&Settings::new(&ctx.settings), &ctx.tenant_id)?;
    let state = source::fetch(&config)?;
    let now_ms = config
        .as_of_ms
        .unwrap_or_else(|| i64::try_from(ctx.started_at_ms).unwrap_or(i64::MAX));
    Ok(assess(&state, &ctx.tenant_id, now_ms, config.recent_days))
}

register_plugin!(ExchangeConnectors);
