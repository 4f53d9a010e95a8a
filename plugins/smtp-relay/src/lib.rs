//! Plumbline plugin `smtp-relay`: the on-premises SMTP relays that
//! scanners, printers and applications send through, checked by speaking
//! SMTP to them over the host's `tcp` capability.
//!
//! For each configured target (a host name, an IP or a CIDR block) and
//! port (25, 587 and 465 by default; 465 speaks TLS from the first byte) it
//! records the greeting, the EHLO capabilities, whether STARTTLS is offered
//! and works (with the certificate's facts), the AUTH mechanisms offered
//! before and after TLS, and runs nmap's smtp-open-relay test: 16 MAIL FROM
//! / RCPT TO combinations with RSET between them, never DATA.
//!
//! Where STARTTLS works, the relay test runs inside TLS, as a sending
//! client would (nmap's script stays in cleartext); where the handshake
//! fails, it runs on a second, cleartext connection. Each entry says which
//! (`open_relay_channel`). A target named by host name gets all 16 too: the
//! host resolves the granted name and tells the address it connected to
//! (`peer-address`, contract 0.2.0), which goes into the address literals
//! and the entry's `connected_to`; only a host that does not tell it leaves
//! the 3 combinations that need no IP.
//!
//! Everything a server sends is bounded ([`reply`]: line length, lines and
//! bytes per reply; [`session`]: time per reply and per endpoint), so a
//! hostile or broken server gives an error on its own register entry and
//! never stalls or crashes the scan. Settings are documented in [`config`].
//!
//! Only [`net::HostNet`] calls the host; the rest runs natively in tests
//! against scripted servers.
#![warn(missing_docs)]

pub mod assess;
pub mod checks;
pub mod config;
pub mod esmtp;
pub mod net;
pub mod probe;
pub mod register;
pub mod relay;
pub mod reply;
pub mod session;
pub mod sweep;
pub mod text;
#[cfg(test)]
mod testnet;
#[cfg(test)]
mod tests;

pub use assess::assess;
pub use config::Config;

use plumbline_plugin_sdk::prelude::*;
use plumbline_plugin_sdk::{log, ScanError};

/// The plugin.
pub struct SmtpRelay;

impl Plugin for SmtpRelay {
    const NAME: &'static str = "smtp-relay";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str =
        "On-premises SMTP relays: banner, EHLO, STARTTLS and certificate, AUTH, and nmap's open-relay test";

    fn categories() -> Vec<Category> {
        vec![Category::SmtpRelay]
    }

    fn capabilities() -> Capabilities {
        // Whatever the operator grants, on the SMTP ports; the grant
        // narrows it to real targets.
        Capabilities::none().tcp("*", &config::DECLARED_PORTS)
    }

    fn settings() -> Vec<SettingSpec> {
        config::declared()
    }

    fn scan(ctx: &ScanContext) -> Result<Report, ScanError> {
        scan(ctx)
    }
}

/// One scan: settings, sweep, report.
pub fn scan(ctx: &ScanContext) -> Result<Report, ScanError> {
    let settings = Settings::new(&ctx.settings);
    let config = Config::from_settings(&settings)?;
    if settings.get("concurrency").is_some() {
        log::warn(
            "setting `concurrency` is ignored: a swept block is dialled all at once and the SMTP sessions then run \
             one at a time; bound sweeps with `max_hosts`, `host_budget_ms` and `scan_budget_ms`",
        );
    }
    log::info(&format!(
        "checking {} targets ({} addresses) on ports {:?}",
        config.targets.len(),
        config.address_count(),
        config.ports
    ));
    let result = sweep::sweep(&mut net::HostNet, &config);
    log::info(&result.summary());
    if result.attempted > 0 && result.denied.len() == result.attempted {
        return Err(ScanError::Denied(format!(
            "every endpoint was denied by the host, first: {}",
            result.denied[0]
        )));
    }
    for m in result.denied.iter().take(5) {
        log::warn(&format!("denied: {m}"));
    }
    if result.skipped > 0 {
        log::warn(&format!(
            "{} endpoints were not checked: the scan budget of {} ms (`scan_budget_ms`) ran out; narrow the targets \
             or lower `connect_timeout_ms` and `sweep_connect_timeout_ms`",
            result.skipped, config.scan_budget_ms
        ));
    }
    Ok(assess(&result.probes, ctx.started_at_ms))
}

register_plugin!(SmtpRelay);
