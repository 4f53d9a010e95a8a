//! exchange-connectors in offline mode, as a real component in the real
//! host, against PowerShell exports as an MSP's RMM script leaves them.

use crate::support::{error_of, lit, status, Site, local};
use plumbline_tests::plugins;

/// Windows PowerShell 5.1 `Out-File`: UTF-16LE with a byte-order mark.
fn utf16le(text: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    out
}

const PS51_SINGLE_INBOUND: &str = r#"{
    "Enabled":  true,
    "ConnectorType":  "Partner",
    "SenderDomains":  [ "smtp:*;1" ],
    "SenderIPAddresses":  [ ],
    "RequireTls":  false,
    "RestrictDomainsToIPAddresses":  false,
    "RestrictDomainsToCertificate":  false,
    "TreatMessagesAsInternal":  true,
    "Name":  "Scanner relay",
    "Identity":  "Scanner relay",
    "Guid":  "0c8f6a7e-1111-4a3b-9c2d-5e6f7a8b9c0d",
    "WhenCreatedUTC":  "\/Date(1795000000000)\/",
    "WhenChangedUTC":  "\/Date(1795000000000)\/"
}"#;

const PS7_OUTBOUND: &str = r#"[
  {
    "Enabled": true,
    "UseMXRecord": false,
    "ConnectorType": "Partner",
    "RecipientDomains": ["archive.example"],
    "SmartHosts": ["relay.archive.example"],
    "TlsSettings": "EncryptionOnly",
    "Name": "Archive",
    "Identity": "Archive",
    "Guid": "7d6c5b4a-2222-4e3f-8a9b-0c1d2e3f4a5b",
    "WhenCreated": "2024-01-02T03:04:05.0000000Z",
    "WhenChanged": "2024-01-02T03:04:05.0000000Z"
  }
]"#;

fn config_for(site: &Site, dir: &std::path::Path, grant: &std::path::Path) -> std::path::PathBuf {
    site.config(&format!(
        "[plugins.exchange-connectors]\npath = {}\n[plugins.exchange-connectors.grants]\nfiles = [{}]\n\
         [plugins.exchange-connectors.settings]\nexport_dir = {}\nrecent_days = 30\nas_of = '2026-11-25T00:00:00Z'\n",
        lit(&plugins::plugin("exchange-connectors")),
        lit(grant),
        lit(dir)
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_powershell_51_and_7_exports_alike() {
    let site = Site::new();
    let dir = site.path("exports");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Get-InboundConnector.json"), utf16le(PS51_SINGLE_INBOUND)).unwrap();
    std::fs::write(dir.join("get-outboundconnector.JSON"), PS7_OUTBOUND).unwrap();
    let result = site.scan(&config_for(&site, &dir, &dir)).await;
    assert_eq!(status(&result, "exchange-connectors").status, "ok", "{:?}", result.plugins);

    let inbound = result
        .connectors
        .iter()
        .find(|c| local(&c.key) == "exchange:inbound:0c8f6a7e-1111-4a3b-9c2d-5e6f7a8b9c0d")
        .expect("the bare-object UTF-16 export is one connector");
    assert_eq!(inbound.created.as_deref(), Some("2026-11-18T11:06:40Z"), "/Date(ms)/ read as UTC");
    let checks: Vec<(&str, &str)> = result
        .findings
        .iter()
        .map(|f| (f.check_id.as_str(), local(&f.connector_key)))
        .collect();
    for check in [
        "exo.inbound.wildcard-sender-unrestricted",
        "exo.inbound.partner-treated-internal",
        "exo.connector.recently-created",
    ] {
        assert!(checks.iter().any(|(c, k)| *c == check && k.contains("0c8f6a7e")), "{check} missing: {checks:?}");
    }
    assert!(checks.contains(&("exo.outbound.weak-tls", "exchange:outbound:7d6c5b4a-2222-4e3f-8a9b-0c1d2e3f4a5b")));
    // Outbound connectors have no RequireTls: absent is unknown, never false.
    let out = result.connectors.iter().find(|c| local(&c.key).starts_with("exchange:outbound:")).unwrap();
    assert_eq!(out.attributes.get("require_tls").map(String::as_str), Some("unknown"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_export_is_a_clear_error_naming_the_file() {
    let site = Site::new();
    let dir = site.path("exports");
    std::fs::create_dir_all(&dir).unwrap();
    let cut = &PS7_OUTBOUND[..PS7_OUTBOUND.len() / 2];
    std::fs::write(dir.join("Get-OutboundConnector.json"), cut).unwrap();
    let result = site.scan(&config_for(&site, &dir, &dir)).await;
    let e = error_of(&result, "exchange-connectors");
    assert!(e.contains("malformed") && e.contains("Get-OutboundConnector.json"), "{e}");

    std::fs::write(dir.join("Get-OutboundConnector.json"), [0xFF, 0xFE, 0x41]).unwrap();
    let result = site.scan(&config_for(&site, &dir, &dir)).await;
    let e = error_of(&result, "exchange-connectors");
    assert!(e.contains("Get-OutboundConnector.json"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_outside_the_grant_or_missing_are_refused() {
    let site = Site::new();
    let exports = site.demo_exports();
    let elsewhere = site.path("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let result = site.scan(&config_for(&site, &exports, &elsewhere)).await;
    let e = error_of(&result, "exchange-connectors");
    assert!(e.contains("denied") && e.contains("outside every granted directory"), "{e}");

    let missing = site.path("exchange/none-here");
    let result = site.scan(&config_for(&site, &missing, &exports)).await;
    let e = error_of(&result, "exchange-connectors");
    assert!(e.contains("none-here"), "{e}");
}
