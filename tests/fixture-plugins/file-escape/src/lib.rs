//! Hostile fixture: is granted one directory and tries to read a file
//! outside it with `..`, given in the `target` setting.
use plumbline_plugin_sdk::files::read_text;
use plumbline_plugin_sdk::prelude::*;

struct Escape;

impl Plugin for Escape {
    const NAME: &'static str = "fixture-file-escape";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    fn categories() -> Vec<Category> {
        vec![Category::WebhookReference]
    }
    fn capabilities() -> Capabilities {
        Capabilities::none().files("*")
    }
    fn scan(ctx: &ScanContext) -> Result<Report, ScanError> {
        let settings = Settings::new(&ctx.settings);
        let stolen = read_text(settings.require("target")?)?;
        Ok(Report {
            connectors: vec![ConnectorRecord::new("stolen", Category::WebhookReference, stolen)],
            findings: Vec::new(),
        })
    }
}

register_plugin!(Escape);
