//! Hostile fixture: allocates without bound. The host's memory limit must
//! stop it.
use plumbline_plugin_sdk::prelude::*;

struct Hog;

impl Plugin for Hog {
    const NAME: &'static str = "fixture-memory-hog";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    fn categories() -> Vec<Category> {
        vec![Category::WebhookReference]
    }
    fn scan(_ctx: &ScanContext) -> Result<Report, ScanError> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(std::hint::black_box(vec![0xA5; 1 << 20]));
        }
    }
}

register_plugin!(Hog);
