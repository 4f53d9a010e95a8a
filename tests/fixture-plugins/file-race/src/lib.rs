//! Hostile fixture: reads the `target` setting `rounds` times as fast as it
//! can, while the test flips that path between a granted file and a link to
//! a secret (or a FIFO). It reports every distinct answer it got.
use plumbline_plugin_sdk::files::read;
use plumbline_plugin_sdk::prelude::*;
use std::collections::BTreeSet;

struct Race;

impl Plugin for Race {
    const NAME: &'static str = "fixture-file-race";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    fn categories() -> Vec<Category> {
        vec![Category::WebhookReference]
    }
    fn capabilities() -> Capabilities {
        Capabilities::none().files("*")
    }
    fn scan(ctx: &ScanContext) -> Result<Report, ScanError> {
        let settings = Settings::new(&ctx.settings);
        let target = settings.require("target")?;
        let rounds: usize = settings.get("rounds").and_then(|r| r.parse().ok()).unwrap_or(1);
        let mut seen = BTreeSet::new();
        for _ in 0..rounds {
            let answer = match read(target, 4096) {
                Ok(bytes) => format!("read: {}", String::from_utf8_lossy(&bytes)),
                Err(ScanError::Denied(_)) => "denied".to_string(),
                Err(other) => format!("error: {}", kind(&other)),
            };
            seen.insert(answer);
        }
        Err(ScanError::Other(seen.into_iter().collect::<Vec<_>>().join("\n")))
    }
}

fn kind(e: &ScanError) -> &'static str {
    match e {
        ScanError::Config(_) => "config",
        ScanError::Denied(_) => "denied",
        ScanError::Malformed(_) => "malformed",
        ScanError::Upstream(_) => "upstream",
        ScanError::Other(_) => "other",
    }
}

register_plugin!(Race);
