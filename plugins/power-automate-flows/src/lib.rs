//! Placeholder: being written.
use plumbline_plugin_sdk::prelude::*;

struct P;

impl Plugin for P {
    const NAME: &'static str = "power-automate-flows";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    fn categories() -> Vec<Category> {
        vec![Category::WebhookReference]
    }
    fn scan(_ctx: &ScanContext) -> Result<Report, ScanError> {
        Ok(Report::empty())
    }
}

register_plugin!(P);
