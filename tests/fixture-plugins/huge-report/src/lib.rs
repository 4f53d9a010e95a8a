//! Hostile fixture: returns a report far over the host's size cap.
use plumbline_plugin_sdk::prelude::*;

struct Huge;

impl Plugin for Huge {
    const NAME: &'static str = "fixture-huge-report";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    fn categories() -> Vec<Category> {
        vec![Category::WebhookReference]
    }
    fn scan(_ctx: &ScanContext) -> Result<Report, ScanError> {
        let filler = "x".repeat(700);
        let connectors = (0..60_000)
            .map(|i| ConnectorRecord::new(format!("k{i}"), Category::WebhookReference, filler.clone()))
            .collect();
        Ok(Report { connectors, findings: Vec::new() })
    }
}

register_plugin!(Huge);
