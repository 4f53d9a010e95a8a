//! Hostile plugins against the network capabilities: names resolved only
//! on a name grant, nothing DNS answers told to the guest.

use crate::support::{error_of, Site};

/// Before the fix, the agent resolved every name first and checked the
/// address after: a made-up name went to the site's DNS server (carrying
/// whatever the plugin encoded in it), and `localhost` passed a CIDR grant
/// of 127.0.0.0/8, with the resolved address in the denial text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_are_resolved_only_on_a_name_grant_and_answers_stay_with_the_host() {
    let site = Site::new();
    let body = Site::fixture_section(
        "fixture-dns-leak",
        "[plugins.fixture-dns-leak.grants]\ntcp = ['127.0.0.0/8:25']",
    );
    let result = site.scan(&site.config(&body)).await;
    let e = error_of(&result, "fixture-dns-leak");
    let line = |host: &str| {
        e.lines()
            .find(|l| l.contains(&format!("{host} => ")))
            .unwrap_or_else(|| panic!("no answer for {host}: {e}"))
            .to_string()
    };
    let localhost = line("localhost");
    assert!(localhost.contains("=> denied:"), "a CIDR grant must not cover a name: {localhost}");
    assert!(localhost.contains("\"localhost:25\""), "the denial says what to grant: {localhost}");
    assert!(!localhost.contains("127.0.0.1") && !localhost.contains("::1"), "resolved address told to the guest: {localhost}");
    let exfil = line("tenant-secret.exfil.invalid");
    assert!(exfil.contains("=> denied:"), "a made-up name was resolved (the lookup failed, not the check): {exfil}");
    assert!(!exfil.to_lowercase().contains("resolv") && !exfil.contains("lookup"), "{exfil}");
    let literal = line("127.0.0.1");
    assert!(!literal.contains("denied"), "an address inside the CIDR grant is still reachable: {literal}");
}

/// With a name grant, the name is resolved; an answer that no real relay
/// has (here the name is granted but the plugin asks on an ungranted port)
/// is still refused before any lookup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_grant_resolves_that_name_on_its_ports_only() {
    let site = Site::new();
    let body = Site::fixture_section(
        "fixture-dns-leak",
        "[plugins.fixture-dns-leak.grants]\ntcp = ['localhost:25']",
    );
    let result = site.scan(&site.config(&body)).await;
    let e = error_of(&result, "fixture-dns-leak");
    let localhost = e.lines().find(|l| l.starts_with("localhost => ")).unwrap_or_default();
    assert!(!localhost.contains("denied"), "a granted name is resolved and connected: {e}");
    assert!(e.lines().any(|l| l.starts_with("tenant-secret.exfil.invalid => denied:")), "{e}");
    assert!(e.lines().any(|l| l.starts_with("127.0.0.1 => denied:")), "a name grant does not cover its address literally: {e}");
}
