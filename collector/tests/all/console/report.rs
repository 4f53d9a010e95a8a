//! The QBR report: figures counted from the register, its history and the
//! annotations; hostile names as text; and the PDF checked by its text.

use super::fixture::{self, FLOW, IMG_XSS, NEW_INBOUND, NORTHWIND, WEBHOOK};
use crate::both_backends;
use crate::support::Backend;
use plumbline_collector::reports::{self, brand::Brand, qbr::Period};
use plumbline_collector::store::console::Decision;
use plumbline_collector::timestamp;
use plumbline_protocol::read_api::AnnotationsUpdate;

async fn qbr_counts_what_happened(backend: Backend) {
    let t = backend.store().await;
    fixture::load(&t).await;
    let s = t.dyn_store();
    let now = timestamp::now();
    let today = timestamp::today();
    let set = |json: &str| serde_json::from_str::<AnnotationsUpdate>(json).unwrap();
    let by = "eng@msp.example";
    s.update_annotations(NORTHWIND, WEBHOOK, set(r#"{"migration_status":"tested"}"#), by, &now).await.unwrap();
    s.update_annotations(NORTHWIND, WEBHOOK, set(r#"{"migration_status":"old-disabled"}"#), by, &now).await.unwrap();
    s.update_annotations(NORTHWIND, FLOW, set(r#"{"co_owner_override":["ops@northwind.example"]}"#), by, &now).await.unwrap();
    let queue = s.review_queue(NORTHWIND).await.unwrap();
    let new_one = queue.iter().find(|c| c.change.connector_key == NEW_INBOUND).unwrap().change.id;
    let d = Decision { decision: "expected".into(), note: "client IT".into(), by: by.into(), at: now.clone() };
    s.decide_change(NORTHWIND, new_one, d).await.unwrap();

    let brand = Brand::new("Contoso IT Partners", None, Some("#7a1fa8")).unwrap();
    let period = Period::new("2000-01-01", &today).unwrap();
    let html = reports::qbr_html(s, NORTHWIND, &period, &brand).await.unwrap();
    for expected in [
        "northwind Ltd",
        "Contoso IT Partners",
        "--accent: #7a1fa8",
        "1 <span class=\"muted\" style=\"font-size:1rem\">of 1</span></div><div>connectors migrated from legacy Teams connectors",
        "</div><div>Exchange mail connectors reviewed",
        "Unexpected relay",
    ] {
        assert!(html.contains(expected), "{expected:?} missing");
    }
    let at = html.find("onerror").map(|i| html[i.saturating_sub(40)..i + 40].to_string());
    assert!(html.contains("&#60;img src=x onerror=alert(1)&#62;") && !html.contains(IMG_XSS), "names are escaped: {at:?}");
    assert!(!html.contains("<script"), "the report runs no script");
    // Nothing happened in a period before the first scan.
    let empty = reports::qbr_html(s, NORTHWIND, &Period::new("2001-01-01", "2001-03-31").unwrap(), &brand).await.unwrap();
    assert!(empty.contains("No new connectors appeared"));
    assert!(matches!(
        reports::qbr_html(s, "nosuch", &period, &brand).await,
        Err(reports::ReportError::UnknownTenant(_))
    ));

    // The PDF, from the host's Chromium, read back by its text.
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("northwind-qbr.pdf");
    let to_print = html.clone();
    let out = pdf.clone();
    tokio::task::spawn_blocking(move || reports::pdf::print(&to_print, &out)).await.unwrap().unwrap();
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF"));
    let text = std::process::Command::new("pdftotext").arg(&pdf).arg("-").output().expect("pdftotext (poppler-utils) runs");
    let text = String::from_utf8_lossy(&text.stdout);
    // Cells wrap in print: look for words that stay on one line.
    for words in ["northwind Ltd", "Contoso IT Partners", "connectors migrated from", "Next quarter", "onerror=alert(1)>"] {
        assert!(text.contains(words), "{words:?} not in the PDF:\n{text}");
    }
}

both_backends!(qbr_counts_what_happened);
