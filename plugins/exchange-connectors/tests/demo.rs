//! The Northwind Dental demo exports in demo/exchange/ parse and give the
//! findings the demo is meant to show.

use exchange_connectors::checks::*;
use exchange_connectors::{assess, parse_export, ExchangeState, Export};
use plumbline_plugin_sdk::files::decode_text;
use plumbline_plugin_sdk::ScanError;
use serde_json::Value;
use std::path::PathBuf;

const TENANT: &str = "5f0c1a8e-2b6d-4c1e-9a77-3d2f8b41c0aa";
/// 2026-11-25T00:00:00Z, the demo's "today".
const DEMO_NOW: i64 = 1_795_564_800_000;

fn demo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../demo/exchange")
}

fn bytes(export: Export) -> Vec<u8> {
    let path = demo_dir().join(export.file_name());
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn load(export: Export) -> Vec<Value> {
    let text = decode_text(&bytes(export)).expect("demo export decodes");
    parse_export(&text, &export.file_name()).expect("demo export parses")
}

fn demo_state() -> ExchangeState {
    ExchangeState::from_values(
        Some(load(Export::Inbound)),
        Some(load(Export::Outbound)),
        Some(load(Export::Organization)),
        Some(load(Export::Transport)),
    )
}

#[test]
fn demo_files_use_both_powershell_formats() {
    assert_eq!(
        &bytes(Export::Inbound)[..2],
        &[0xFF, 0xFE],
        "PS 5.1: UTF-16LE with BOM"
    );
    assert_eq!(
        &bytes(Export::Organization)[..2],
        &[0xFF, 0xFE],
        "PS 5.1: UTF-16LE with BOM"
    );
    let inbound = decode_text(&bytes(Export::Inbound)).unwrap();
    assert!(inbound.contains(r#""\/Date("#), "PS 5.1 dates");
    let outbound = String::from_utf8(bytes(Export::Outbound)).expect("PS 7: UTF-8");
    assert!(outbound.contains(".0000000Z\""), "PS 7 ISO dates");
    assert_eq!(load(Export::Inbound).len(), 4);
    assert_eq!(load(Export::Outbound).len(), 2);
    assert_eq!(
        load(Export::Organization).len(),
        1,
        "a bare object is one item"
    );
    assert_eq!(load(Export::Transport).len(), 1);
}

#[test]
fn demo_gives_the_expected_register_and_findings() {
    let r = assess(&demo_state(), TENANT, DEMO_NOW, 30);
    let mut got: Vec<(String, String)> = r
        .findings
        .iter()
        .map(|f| {
            let name = r
                .connectors
                .iter()
                .find(|c| c.key == f.connector_key)
                .map(|c| c.name.clone())
                .unwrap_or_default();
            (name, f.check_id.clone())
        })
        .collect();
    got.sort();
    let org = "Exchange Online organization settings";
    let mut want: Vec<(String, String)> = [
        ("Northwind on-prem relay (NWD-SRV01)", ONPREM_WITHOUT_TLS),
        ("eFax Relay Service", WILDCARD_SENDER_UNRESTRICTED),
        ("eFax Relay Service", INBOUND_UNRESTRICTED),
        ("eFax Relay Service", RECENTLY_CREATED),
        ("Contoso Dental Supply (retired)", DISABLED),
        ("To imaging archive (smart host)", OUTBOUND_WEAK_TLS),
        (org, SMTP_AUTH_ENABLED),
        (org, DIRECT_SEND_ALLOWED),
        (org, LEGACY_CONNECTORS_ENABLED),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(r.connectors.len(), 7);

    let fax = r
        .connectors
        .iter()
        .find(|c| c.name == "eFax Relay Service")
        .unwrap();
    assert_eq!(
        fax.key,
        "exchange:inbound:c6a0e8f4-93b1-4d27-a5e6-0f4b7d2c9a81"
    );
    assert_eq!(fax.scope, "*");
    assert_eq!(fax.auth_type.as_deref(), Some("none"));
    assert_eq!(fax.created.as_deref(), Some("2026-11-19T03:42:17Z"));
    let retired = r
        .connectors
        .iter()
        .find(|c| c.name.contains("retired"))
        .unwrap();
    assert_eq!(
        retired.purpose.as_deref(),
        Some("Order confirmations from Contoso Dental Supply - vendor replaced Aug 2024 <do not delete until audit>"),
        "PS 5.1's \\u003c escapes are decoded"
    );
    assert_eq!(retired.auth_type.as_deref(), Some("ip: 2 addresses"));
    let archive = r
        .connectors
        .iter()
        .find(|c| c.name.starts_with("To imaging"))
        .unwrap();
    assert_eq!(
        archive.created.as_deref(),
        Some("2022-11-08T18:15:40Z"),
        "UTC dates preferred"
    );
    let tenant = r
        .connectors
        .iter()
        .find(|c| c.key == "exchange:organization")
        .unwrap();
    assert_eq!(tenant.scope, TENANT);
    assert_eq!(tenant.get_attr("connectors_enabled"), Some("true"));
    assert_eq!(
        tenant.get_attr("smtp_client_authentication_disabled"),
        Some("false")
    );
}

#[test]
fn truncated_demo_file_is_malformed_and_named() {
    let text = decode_text(&bytes(Export::Inbound)).unwrap();
    let cut: String = text.chars().take(text.chars().count() / 2).collect();
    match parse_export(&cut, "demo/exchange/Get-InboundConnector.json") {
        Err(ScanError::Malformed(m)) => {
            assert!(m.contains("demo/exchange/Get-InboundConnector.json"), "{m}");
            assert!(m.contains("line") && m.contains("column"), "{m}");
        }
        other => panic!("expected Malformed, got {other:?}"),
    }
}
