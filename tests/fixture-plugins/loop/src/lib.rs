//! Hostile fixture: spins forever inside `scan`. The host's epoch deadline
//! must stop it.
use plumbline_plugin_sdk::prelude::*;

struct Spin;

impl Plugin for Spin {
    const NAME: &'static str = "fixture-loop";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    fn categories() -> Vec<Category> {
        vec![Category::WebhookReference]
    }
    fn scan(_ctx: &ScanContext) -> Result<Report, ScanError> {
        let mut n: u64 = 0;
        loop {
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }
}

register_plugin!(Spin);
