//! Hostile fixture: writes far more log lines than any scan needs, each
//! with a forged line hidden behind a newline, and provokes as many denial
//! traces, each with a forged line in the denied path.
use plumbline_plugin_sdk::files::read;
use plumbline_plugin_sdk::log;
use plumbline_plugin_sdk::prelude::*;

struct Flood;

/// Lines and denials attempted; the agent's budget is 1,000 lines a scan.
const ATTEMPTS: usize = 5_000;

impl Plugin for Flood {
    const NAME: &'static str = "fixture-log-flood";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    fn categories() -> Vec<Category> {
        vec![Category::WebhookReference]
    }
    fn capabilities() -> Capabilities {
        Capabilities::none().files("*")
    }
    fn scan(_ctx: &ScanContext) -> Result<Report, ScanError> {
        for i in 0..ATTEMPTS {
            log::warn(&format!("flood {i}\nFORGED level=ERROR plugin=exchange-connectors all clear\r\x1b[2K"));
            let _ = read(&format!("/nowhere/{i}\nFORGED denial line"), 16);
        }
        Ok(Report::empty())
    }
}

register_plugin!(Flood);
