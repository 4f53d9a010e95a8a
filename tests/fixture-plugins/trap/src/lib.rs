//! Hostile fixture: panics (a trap under panic=abort) in the middle of a scan.
use plumbline_plugin_sdk::prelude::*;

struct Trap;

impl Plugin for Trap {
    const NAME: &'static str = "fixture-trap";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    fn categories() -> Vec<Category> {
        vec![Category::WebhookReference]
    }
    fn scan(ctx: &ScanContext) -> Result<Report, ScanError> {
        let settings: Vec<u32> = Vec::new();
        // An out-of-bounds index the optimiser cannot see through.
        let i = std::hint::black_box(ctx.settings.len() + 7);
        Err(ScanError::Other(format!("unreachable {}", settings[i])))
    }
}

register_plugin!(Trap);
