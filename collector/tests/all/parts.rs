//! Large batches: gzip bodies (and decompression bombs) over HTTP, and a
//! scan split into parts, which decides what disappeared only once whole.

use crate::api::router;
use crate::support::{connector, finding, ok, Backend, TestAgent};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use plumbline_collector::ingest::{ingest, IngestError, MAX_INFLATED_BYTES};
use plumbline_collector::store::FindingFilter;
use plumbline_protocol::batch::{BatchPart, ScanBatch};
use plumbline_protocol::messages::{ErrorBody, IngestResponse};
use std::io::Write as _;
use tower::ServiceExt;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

async fn post(r: &axum::Router, encoding: Option<&str>, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
    let mut req = Request::builder().method(Method::POST).uri("/v1/ingest");
    if let Some(e) = encoding {
        req = req.header(header::CONTENT_ENCODING, e);
    }
    let res = r.clone().oneshot(req.body(Body::from(body)).unwrap()).await.unwrap();
    (res.status(), res.into_body().collect().await.unwrap().to_bytes().to_vec())
}

fn refusal(answer: &(StatusCode, Vec<u8>)) -> (StatusCode, String, String) {
    let e: ErrorBody = serde_json::from_slice(&answer.1).unwrap();
    (answer.0, e.error, e.message)
}

/// A gzip body is inflated, then verified and stored as an uncompressed
/// one (the stored evidence is the envelope as signed); a bomb, a broken
/// stream and an unknown encoding are typed refusals that store nothing.
async fn gzip_bodies_are_inflated_within_a_bound(backend: Backend) {
    let t = backend.store().await;
    let r = router(&t);
    let agent = t.agent("contoso", "hq").await;
    let envelope = agent.sign(&agent.typical(1, 50));
    let compressed = gzip(&envelope);
    assert!(compressed.len() * 2 < envelope.len(), "gzip shrinks a batch: {} -> {}", envelope.len(), compressed.len());

    // Bad input first: nothing is stored, and the batch still goes after.
    let bomb = gzip(&vec![b' '; MAX_INFLATED_BYTES + 1]);
    assert!(bomb.len() < MAX_INFLATED_BYTES / 50, "a bomb is small on the wire: {}", bomb.len());
    let (status, code, message) = refusal(&post(&r, Some("gzip"), bomb).await);
    assert_eq!((status, code.as_str()), (StatusCode::PAYLOAD_TOO_LARGE, "too_large"));
    assert!(message.contains("inflates to more than") && message.contains("max_batch_bytes"), "{message}");
    let (status, code, _) = refusal(&post(&r, Some("gzip"), compressed[..compressed.len() / 2].to_vec()).await);
    assert_eq!((status, code.as_str()), (StatusCode::BAD_REQUEST, "malformed"));
    let (status, code, message) = refusal(&post(&r, Some("br"), envelope.clone()).await);
    assert_eq!((status, code.as_str()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_encoding"));
    assert!(message.contains("gzip"), "says what is accepted: {message}");
    assert_eq!(t.store.counts().await.unwrap().batches, 0);

    let (status, body) = post(&r, Some("gzip"), compressed).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let ack: IngestResponse = serde_json::from_slice(&body).unwrap();
    assert_eq!(ack.status, "stored");
    let stored = t.store.envelope("contoso", &ack.digest).await.unwrap().expect("kept");
    assert_eq!(stored, envelope, "the evidence is the envelope as signed, not the gzip");
    // The same batch uncompressed is the same batch.
    let (_, body) = post(&r, None, envelope).await;
    assert_eq!(serde_json::from_slice::<IngestResponse>(&body).unwrap().status, "duplicate");
}

fn parts_of(agent: &TestAgent, first_sequence: u64, scan: &str, parts: Vec<Vec<&str>>) -> Vec<ScanBatch> {
    let count = parts.len() as u32;
    parts
        .into_iter()
        .enumerate()
        .map(|(i, names)| {
            let connectors: Vec<_> = names.iter().map(|n| connector(n, "exchange-connector", "exo")).collect();
            let findings = connectors.iter().map(|c| finding(&agent.tenant, "exo.tls", &c.key, "exo")).collect();
            let mut b = agent.batch(first_sequence + i as u64, vec![ok("exo")], connectors, findings);
            b.part = Some(BatchPart { scan_id: scan.into(), index: i as u32 + 1, count });
            b
        })
        .collect()
}

async fn present(t: &crate::support::TestStore) -> Vec<String> {
    let mut keys: Vec<String> =
        t.store.connectors("contoso").await.unwrap().into_iter().filter(|c| c.present).map(|c| c.entry.key).collect();
    keys.sort();
    keys
}

async fn open_findings(t: &crate::support::TestStore) -> usize {
    t.store.findings("contoso", FindingFilter::All).await.unwrap().iter().filter(|f| f.status != "resolved").count()
}

/// A split scan: what each part reports is applied as it comes, but only
/// the last part, with all the earlier ones stored, makes anything
/// disappear, and from the whole scan: a part never erases what another
/// part of the same scan reports.
async fn a_split_scan_decides_disappearance_only_when_whole(backend: Backend) {
    let t = backend.store().await;
    let agent = t.agent("contoso", "hq").await;
    let all = ["a", "b", "c", "d"];
    let whole = parts_of(&agent, 1, "s0", vec![all.to_vec()]).remove(0);
    ingest(t.dyn_store(), &agent.sign(&ScanBatch { part: None, ..whole })).await.unwrap();
    let keys = |names: &[&str]| names.iter().map(|n| format!("exo/{n}")).collect::<Vec<_>>();
    assert_eq!(present(&t).await, keys(&all));

    // Scan 2: a, b | c, e. d is gone, e is new.
    let scan = parts_of(&agent, 2, "s1", vec![vec!["a", "b"], vec!["c", "e"]]);
    ingest(t.dyn_store(), &agent.sign(&scan[0])).await.unwrap();
    assert_eq!(present(&t).await, keys(&all), "the first part alone makes nothing disappear");
    assert_eq!(open_findings(&t).await, 4);
    ingest(t.dyn_store(), &agent.sign(&scan[1])).await.unwrap();
    assert_eq!(present(&t).await, keys(&["a", "b", "c", "e"]), "the whole scan: only d is gone");
    assert_eq!(open_findings(&t).await, 4, "d's finding resolved, e's opened");
    let changes = t.store.changes("contoso", false, 100).await.unwrap();
    let kinds: Vec<(&str, &str)> = changes.iter().map(|c| (c.connector_key.as_str(), c.kind.as_str())).collect();
    assert_eq!(kinds.iter().filter(|(_, k)| *k == "disappeared").collect::<Vec<_>>(), [&("exo/d", "disappeared")]);
    assert_eq!(kinds.iter().filter(|(_, k)| *k == "created").count(), 5, "a to d, then e; nothing twice");

    // Scan 3 in three parts, the middle one lost: nothing disappears, what came is applied.
    let scan = parts_of(&agent, 4, "s2", vec![vec!["a"], vec!["b"], vec!["f"]]);
    ingest(t.dyn_store(), &agent.sign(&scan[0])).await.unwrap();
    ingest(t.dyn_store(), &agent.sign(&scan[2])).await.unwrap();
    assert_eq!(present(&t).await, keys(&["a", "b", "c", "e", "f"]), "an incomplete scan erases nothing");
    // The next whole scan decides.
    let next = parts_of(&agent, 7, "s3", vec![vec!["a", "f"]]).remove(0);
    ingest(t.dyn_store(), &agent.sign(&ScanBatch { part: None, ..next })).await.unwrap();
    assert_eq!(present(&t).await, keys(&["a", "f"]));
}

/// A part header that cannot be a part is refused before anything is stored.
async fn a_nonsensical_part_header_is_refused(backend: Backend) {
    let t = backend.store().await;
    let agent = t.agent("contoso", "hq").await;
    let base = parts_of(&agent, 1, "s", vec![vec!["a"], vec!["b"]]).remove(0);
    let with = |scan_id: &str, index: u32, count: u32| ScanBatch {
        part: Some(BatchPart { scan_id: scan_id.into(), index, count }),
        ..base.clone()
    };
    for bad in [with("s", 0, 2), with("s", 3, 2), with("s", 1, 1), with("", 1, 2), with(&"x".repeat(65), 1, 2), with("a b", 1, 2)] {
        let e = ingest(t.dyn_store(), &agent.sign(&bad)).await.expect_err("refused");
        assert!(matches!(e, IngestError::Malformed(_)), "{e}");
    }
    assert_eq!(t.store.counts().await.unwrap().batches, 0);
    assert_eq!(ingest(t.dyn_store(), &agent.sign(&with("s", 1, 2))).await.unwrap().status, "stored");
}

crate::both_backends!(
    gzip_bodies_are_inflated_within_a_bound,
    a_split_scan_decides_disappearance_only_when_whole,
    a_nonsensical_part_header_is_refused,
);
