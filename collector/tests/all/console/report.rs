//! The QBR report: figures counted from the register, its history and the
//! annotations; hostile names as text; and the PDF checked by its text.

use super::fixture::{self, FABRIKAM, FLOW, IMG_XSS, NEW_INBOUND, NORTHWIND, WEBHOOK};
use crate::both_backends;
use crate::support::Backend;
use plumbline_collector::reports::{self, brand::Brand, qbr::Period, FleetScope};
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
    s.update_annotations(NORTHWIND, WEBHOOK, set(r#"{"migration_status":"tested","last_tested":"2026-11-30","evidence_link":"https://x.example/t"}"#), by, &now).await.unwrap();
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
        "of 6</span></div><div>connectors with an owner and a co-owner confirmed",
        "Unexpected relay",
    ] {
        assert!(html.contains(expected), "{expected:?} missing");
    }
    for (_, _, _, name) in fixture::CONTEXT_RECORDS {
        assert!(!html.contains(name), "the context record {name:?} is no new connector");
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

/// The MSP's fleet report: a row per tenant the reader may see, then each
/// tenant's section counted exactly as its own QBR counts it.
async fn fleet_report_sums_the_tenants_sections(backend: Backend) {
    let t = backend.store().await;
    fixture::load(&t).await;
    let s = t.dyn_store();
    let brand = Brand::new("Contoso IT Partners", None, None).unwrap();
    let period = Period::new("2000-01-01", &timestamp::today()).unwrap();
    let all = FleetScope { tenants: None, group: "", silent_after_hours: 1_000_000 };
    let html = reports::fleet_html(s, &all, &period, &brand).await.unwrap();
    assert!(html.contains("2 tenants</th>"), "a totals row over both tenants");
    let (nw, fb) = (html.find("id=\"tenant-northwind\"").unwrap(), html.find("id=\"tenant-fabrikam\"").unwrap());
    assert!(fb < nw, "sections by name: fabrikam before northwind");
    assert!(html.contains("Fabrikam secret relay") && html.contains("Unexpected relay"));
    // Northwind's own QBR section and its page in the fleet report are the same text.
    let own = reports::qbr_html(s, NORTHWIND, &period, &brand).await.unwrap();
    let section = |h: &str| {
        let start = h.find("<section class=\"tenant\">\n<h1 id=\"tenant-northwind\"").unwrap();
        h[start..start + h[start..].find("</section>").unwrap()].to_string()
    };
    assert_eq!(section(&html), section(&own));
    assert!(html.contains("&#60;img src=x onerror=alert(1)&#62;") && !html.contains(IMG_XSS));
    assert!(!html.contains("<script"), "the report runs no script");
    // Northwind: the open relay (critical) and the TLS finding (high); Fabrikam: none.
    let row = |id: &str| {
        let at = html.find(&format!("<a href=\"#tenant-{id}\">")).unwrap();
        html[at..at + html[at..].find("</tr>").unwrap()].to_string()
    };
    let cells = |r: String| r.split("<td class=\"n\">").skip(1).map(|c| c.split('<').next().unwrap().to_string()).collect::<Vec<_>>();
    let (nw_cells, fb_cells) = (cells(row(NORTHWIND)), cells(row(FABRIKAM)));
    assert_eq!(&nw_cells[..3], ["6", "1", "1"], "connectors, critical, high: {nw_cells:?}");
    assert_eq!(&fb_cells[..3], ["1", "0", "0"], "{fb_cells:?}");

    // A scoped reader sees only its tenants; a group limits the report.
    let only = [NORTHWIND.to_string()];
    let scoped = FleetScope { tenants: Some(&only), group: "", silent_after_hours: 26 };
    let html = reports::fleet_html(s, &scoped, &period, &brand).await.unwrap();
    assert!(!html.contains("Fabrikam"), "a tenant outside the reader's scope is not in its report");
    let grouped = FleetScope { tenants: None, group: "contract customers", silent_after_hours: 26 };
    let html = reports::fleet_html(s, &grouped, &period, &brand).await.unwrap();
    assert!(html.contains("northwind Ltd") && !html.contains("Fabrikam") && html.contains("1 tenant</th>"));
    let typo = FleetScope { tenants: None, group: "contract customer", silent_after_hours: 26 };
    let err = reports::fleet_html(s, &typo, &period, &brand).await.unwrap_err().to_string();
    assert!(err.contains("contract customers"), "a group no tenant is in names the groups: {err}");
}

both_backends!(fleet_report_sums_the_tenants_sections);
