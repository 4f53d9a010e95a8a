//! Paging of `register`, `findings` and `changes` over HTTP: every row once
//! and in order, while ingest goes on between pages, and every bad `limit`
//! or `cursor` a 400 that says what to do.

use crate::api::{call, router, Answer};
use crate::support::{connector, finding, ok, Backend, TestAgent, TestStore};
use axum::http::{Method, StatusCode};
use axum::Router;
use plumbline_collector::admin;
use plumbline_collector::ingest::ingest;
use plumbline_collector::register::view::sort_findings;
use plumbline_collector::store::FindingFilter;
use plumbline_protocol::read_api::{ChangesView, FindingsView, RegisterView};
use plumbline_protocol::register::{ConnectorEntry, FindingEntry, Severity};
use std::collections::{BTreeSet, HashSet};

const TENANT: &str = "contoso";

/// Connector `i` of `n`, and a finding on it whose severity cycles.
fn rows(t: &str, keys: &[String]) -> (Vec<ConnectorEntry>, Vec<FindingEntry>) {
    let connectors: Vec<ConnectorEntry> =
        keys.iter().map(|k| connector(&format!("exchange:outbound:{k}"), "exchange-connector", "exo")).collect();
    let findings = connectors
        .iter()
        .enumerate()
        .map(|(i, c)| FindingEntry { severity: Severity::ALL[i % 5], ..finding(t, "exo.tls", &c.key, "exo") })
        .collect();
    (connectors, findings)
}

async fn deliver(t: &TestStore, agent: &TestAgent, sequence: u64, keys: &[String], extra: Vec<FindingEntry>) {
    let (connectors, mut findings) = rows(&agent.tenant, keys);
    findings.extend(extra);
    ingest(t.dyn_store(), &agent.sign(&agent.batch(sequence, vec![ok("exo")], connectors, findings))).await.unwrap();
}

fn numbered(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{i:05}")).collect()
}

async fn get(r: &Router, token: &str, uri: &str) -> Answer {
    let a = call(r, Method::GET, uri, Some(token), "").await;
    assert_eq!(a.status, StatusCode::OK, "{uri}: {}", String::from_utf8_lossy(&a.body));
    a
}

/// `path?query` with `cursor=` the cursor, if any.
fn page_uri(path: &str, query: &str, cursor: Option<&str>) -> String {
    match cursor {
        Some(c) => format!("/v1/tenants/{TENANT}/{path}?{query}&cursor={c}"),
        None => format!("/v1/tenants/{TENANT}/{path}?{query}"),
    }
}

/// Follows `next_cursor` from the first page; calls `between` after each page.
async fn walk<T: serde::de::DeserializeOwned>(
    r: &Router,
    token: &str,
    path: &str,
    query: &str,
    next: impl Fn(&T) -> Option<String>,
    mut between: impl AsyncFnMut(usize),
) -> Vec<T> {
    let (mut pages, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let page: T = get(r, token, &page_uri(path, query, cursor.as_deref())).await.json();
        cursor = next(&page);
        pages.push(page);
        between(pages.len()).await;
        if cursor.is_none() {
            return pages;
        }
        assert!(pages.len() < 1000, "the walk ends");
    }
}

/// 1,203 connectors, 100 a page: 13 pages, each connector once, by key, each
/// with its annotations and its findings on its own page; the whole
/// register, the findings and the history likewise.
async fn pages_hold_every_row_once_in_order(backend: Backend) {
    let t = backend.store().await;
    let r = router(&t);
    let agent = t.agent(TENANT, "hq").await;
    let keys = numbered(1203);
    // A finding about a key that is no connector shows on the first page only.
    let ghost = finding(TENANT, "exo.ghost", "exchange:outbound:ghost", "exo");
    deliver(&t, &agent, 1, &keys, vec![ghost.clone()]).await;
    let token = admin::create_api_token(t.dyn_store(), Some(TENANT), Some("psa")).await.unwrap();
    let annotated = [&keys[5], &keys[640], &keys[1202]].map(|k| format!("exo/exchange:outbound:{k}"));
    for key in &annotated {
        let uri = format!("/v1/tenants/{TENANT}/connectors/{}/annotations", key.replace('/', "%2F"));
        let put = call(&r, Method::PUT, &uri, Some(&token), format!(r#"{{"purpose":"for {key}"}}"#)).await;
        assert_eq!(put.status, StatusCode::OK);
    }

    let pages: Vec<RegisterView> =
        walk(&r, &token, "register", "limit=100", |p: &RegisterView| p.next_cursor.clone(), async |_| {}).await;
    assert_eq!(pages.len(), 13);
    assert!(pages[..12].iter().all(|p| p.connectors.len() == 100) && pages[12].connectors.len() == 3);
    let walked: Vec<String> = pages.iter().flat_map(|p| p.connectors.iter().map(|c| c.entry.key.clone())).collect();
    let mut expected: Vec<String> = keys.iter().map(|k| format!("exo/exchange:outbound:{k}")).collect();
    expected.sort();
    assert_eq!(walked, expected, "every connector once, by key");
    for (i, page) in pages.iter().enumerate() {
        let here: HashSet<&str> = page.connectors.iter().map(|c| c.entry.key.as_str()).collect();
        let about: Vec<&str> = page.open_findings.iter().map(|f| f.entry.connector_key.as_str()).collect();
        let ghosts = about.iter().filter(|k| !here.contains(*k)).count();
        assert_eq!(ghosts, usize::from(i == 0), "page {i}: the ghost's finding on the first page only");
        assert_eq!(about.len(), page.connectors.len() + ghosts, "page {i}: each connector's finding is on its page");
        assert!(page.connectors.iter().all(|c| c.open_findings == 1), "page {i}");
        let mut sorted = page.open_findings.clone();
        sort_findings(&mut sorted);
        assert_eq!(sorted, page.open_findings, "page {i}: most severe first");
        for c in &page.connectors {
            let purpose = annotated.contains(&c.entry.key).then(|| format!("for {}", c.entry.key));
            assert_eq!(c.annotations.purpose, purpose, "{}", c.entry.key);
        }
    }
    // The pages together are the whole register (as the console reads it).
    let whole = plumbline_collector::reads::register(t.dyn_store(), TENANT).await.unwrap();
    assert_eq!(pages.iter().flat_map(|p| p.connectors.clone()).collect::<Vec<_>>(), whole.connectors);
    let mut paged: Vec<_> = pages.iter().flat_map(|p| p.open_findings.clone()).collect();
    sort_findings(&mut paged);
    assert_eq!(paged, whole.open_findings);
    assert_eq!(whole.open_findings.len(), 1204);

    // Left out, a page is 500; far over the cap, 5000 (here: all of them).
    let first: RegisterView = get(&r, &token, "/v1/tenants/contoso/register").await.json();
    assert_eq!(first.connectors.len(), 500);
    assert!(first.next_cursor.is_some());
    let all: RegisterView = get(&r, &token, "/v1/tenants/contoso/register?limit=4000000000").await.json();
    assert_eq!((all.connectors.len(), all.next_cursor), (1203, None));

    // Findings: most severe first across pages, each once.
    let pages: Vec<FindingsView> =
        walk(&r, &token, "findings", "status=all&limit=100", |p: &FindingsView| p.next_cursor.clone(), async |_| {})
            .await;
    assert_eq!(pages.len(), 13);
    let walked: Vec<_> = pages.into_iter().flat_map(|p| p.findings).collect();
    let mut expected = t.store.findings(TENANT, FindingFilter::All).await.unwrap();
    sort_findings(&mut expected);
    assert_eq!(walked.len(), 1204);
    assert_eq!(walked, expected, "every finding once, most severe first");
    assert_eq!(walked[0].entry.severity, Severity::Critical);

    // History: newest first across pages, each once.
    let pages: Vec<ChangesView> =
        walk(&r, &token, "changes", "limit=100", |p: &ChangesView| p.next_cursor.clone(), async |_| {}).await;
    let ids: Vec<i64> = pages.into_iter().flat_map(|p| p.changes).map(|c| c.id).collect();
    let expected: Vec<i64> =
        t.store.changes(TENANT, false, u32::MAX).await.unwrap().into_iter().map(|c| c.id).collect();
    assert_eq!(ids.len(), 1203);
    assert_eq!(ids, expected, "every change once, newest first");
}

/// Batches that add connectors (before and after the cursor), findings
/// (most and least severe) and history between pages: a walk started
/// before them still gives every row that was there throughout exactly
/// once, in order.
async fn pages_hold_while_ingest_goes_on(backend: Backend) {
    let t = backend.store().await;
    let r = router(&t);
    let agent = t.agent(TENANT, "hq").await;
    let mut keys = numbered(300);
    deliver(&t, &agent, 1, &keys, vec![]).await;
    let token = admin::create_api_token(t.dyn_store(), Some(TENANT), None).await.unwrap();
    let original: Vec<String> = {
        let mut k: Vec<String> = keys.iter().map(|k| format!("exo/exchange:outbound:{k}")).collect();
        k.sort();
        k
    };
    let original_findings: BTreeSet<String> =
        t.store.findings(TENANT, FindingFilter::All).await.unwrap().into_iter().map(|f| f.entry.id).collect();
    let original_changes: Vec<i64> =
        t.store.changes(TENANT, false, u32::MAX).await.unwrap().into_iter().map(|c| c.id).collect();
    let sequence = std::cell::Cell::new(1);
    // Each batch adds a key between every fiftieth pair, one before all, one after all.
    let grow = async |keys: &mut Vec<String>| {
        let n = sequence.get() + 1;
        sequence.set(n);
        keys.extend((0..300).step_by(50).map(|i| format!("{i:05}+{n}")));
        keys.extend([format!("!{n}"), format!("~{n}")]);
        deliver(&t, &agent, n, keys, vec![]).await;
    };

    let pages = walk(&r, &token, "register", "limit=50", |p: &RegisterView| p.next_cursor.clone(), async |_| {
        grow(&mut keys).await
    })
    .await;
    let walked: Vec<String> = pages.iter().flat_map(|p| p.connectors.iter().map(|c| c.entry.key.clone())).collect();
    assert!(walked.windows(2).all(|w| w[0] < w[1]), "by key, none twice");
    let seen: HashSet<&String> = walked.iter().collect();
    assert!(original.iter().all(|k| seen.contains(k)), "every original connector");
    assert!(walked.len() > original.len(), "and some added during the walk");

    let next = |p: &FindingsView| p.next_cursor.clone();
    let pages = walk(&r, &token, "findings", "status=all&limit=50", next, async |_| grow(&mut keys).await).await;
    let walked: Vec<_> = pages.into_iter().flat_map(|p| p.findings).collect();
    let ids: Vec<&str> = walked.iter().map(|f| f.entry.id.as_str()).collect();
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len(), "no finding twice");
    assert!(original_findings.iter().all(|id| ids.contains(&id.as_str())), "every original finding");
    let mut sorted = walked.clone();
    sort_findings(&mut sorted);
    assert_eq!(sorted, walked, "most severe first across pages");

    let pages = walk(&r, &token, "changes", "limit=50", |p: &ChangesView| p.next_cursor.clone(), async |_| {
        grow(&mut keys).await
    })
    .await;
    let ids: Vec<i64> = pages.into_iter().flat_map(|p| p.changes).map(|c| c.id).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first, none twice");
    let tail: Vec<i64> = ids.iter().copied().filter(|id| original_changes.contains(id)).collect();
    assert_eq!(tail, original_changes, "every original change");
}

/// Every bad `limit` and `cursor` is a 400 `malformed` that says what to do;
/// a cursor never opens another tenant.
async fn bad_limits_and_cursors_are_refused(backend: Backend) {
    let t = backend.store().await;
    let r = router(&t);
    let agent = t.agent(TENANT, "hq").await;
    deliver(&t, &agent, 1, &numbered(5), vec![]).await;
    let other = t.agent("fabrikam", "hq").await;
    ingest(t.dyn_store(), &other.sign(&other.typical(1, 5))).await.unwrap();
    let token = admin::create_api_token(t.dyn_store(), Some(TENANT), None).await.unwrap();
    let fleet = admin::create_api_token(t.dyn_store(), None, None).await.unwrap();
    let next = async |uri: &str, token: &str| -> String {
        let a = get(&r, token, uri).await;
        let v: serde_json::Value = a.json();
        v["next_cursor"].as_str().unwrap_or_else(|| panic!("{uri}: {v}")).to_string()
    };
    let register = next("/v1/tenants/contoso/register?limit=2", &token).await;
    let findings = next("/v1/tenants/contoso/findings?limit=2", &token).await;
    let changes = next("/v1/tenants/contoso/changes?limit=2", &token).await;
    let theirs = next("/v1/tenants/fabrikam/register?limit=2", &fleet).await;
    assert_eq!(get(&r, &token, &format!("/v1/tenants/contoso/register?limit=2&cursor={register}")).await.status, 200);

    let mut tampered = register.clone().into_bytes();
    tampered[10] = if tampered[10] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let refused = [
        ("register?limit=0", "limit=0"),
        ("findings?limit=0", "limit=0"),
        ("changes?limit=0", "limit=0"),
        ("register?limit=-1", "limit"),
        ("register?limit=ten", "limit"),
        ("register?page=2", "page"),
        ("register?cursor=", "start again without `cursor`"),
        ("register?cursor=not-a-cursor", "start again without `cursor`"),
        (&format!("register?cursor={}", &register[..register.len() - 4]), "start again without `cursor`"),
        (&format!("register?cursor={tampered}"), "start again without `cursor`"),
        (&format!("changes?cursor={findings}"), "pages `findings`, not `changes`"),
        (&format!("findings?cursor={changes}"), "pages `changes`, not `findings`"),
        (&format!("register?cursor={changes}"), "pages `changes`, not `register`"),
        (&format!("findings?status=all&cursor={findings}"), "repeat the query it came from"),
        (&format!("changes?needs_review=true&cursor={changes}"), "repeat the query it came from"),
        (&format!("register?cursor={theirs}"), "another tenant"),
    ];
    for (query, says) in refused {
        let a = call(&r, Method::GET, &format!("/v1/tenants/contoso/{query}"), Some(&token), "").await;
        let body = String::from_utf8_lossy(&a.body).to_string();
        assert_eq!(a.error().0, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(a.error().1, "malformed", "{query}");
        assert!(body.contains(says), "{query}: {body}");
    }
    // A one-tenant token with a cursor of the tenant it may not see: the
    // path decides, and it is the 404 of any tenant it may not see.
    let a = call(&r, Method::GET, &format!("/v1/tenants/fabrikam/register?cursor={theirs}"), Some(&token), "").await;
    assert_eq!(a.error(), (StatusCode::NOT_FOUND, "not_found".into()));
}

/// The register is read in one transaction, whole or a page: each batch
/// rewrites every connector and finding with its generation, and every read
/// taken while batches commit sees one generation throughout. The reads go
/// through a second store on the same database (another connection, as
/// another process or replica would), so on SQLite too only the read
/// transaction keeps a batch from landing between two queries. A read made
/// of separate queries shows connectors of one batch and findings of the
/// next; this catches that when a batch lands between two of its queries,
/// and cannot prove it never happens.
async fn register_reads_see_one_snapshot(backend: Backend) {
    let t = std::sync::Arc::new(backend.store().await);
    let reader = TestStore::at(t.url.clone()).await;
    let agent = t.agent(TENANT, "hq").await;
    let batch = |generation: u64| {
        let (mut connectors, mut findings) = rows(TENANT, &numbered(40));
        for c in &mut connectors {
            c.attributes.insert("generation".into(), generation.to_string());
        }
        for f in &mut findings {
            f.detail = format!("generation {generation}");
        }
        agent.sign(&agent.batch(generation, vec![ok("exo")], connectors, findings))
    };
    ingest(t.dyn_store(), &batch(1)).await.unwrap();
    let batches: Vec<Vec<u8>> = (2..=30).map(batch).collect();
    let writer = {
        let t = t.clone();
        tokio::spawn(async move {
            for b in batches {
                ingest(t.dyn_store(), &b).await.unwrap();
            }
        })
    };
    let one_generation = |view: &RegisterView, what: &str| {
        let mut seen: BTreeSet<String> =
            view.connectors.iter().map(|c| c.entry.attributes["generation"].clone()).collect();
        seen.extend(view.open_findings.iter().map(|f| f.entry.detail.trim_start_matches("generation ").to_string()));
        assert_eq!(seen.len(), 1, "{what} mixes batches: {seen:?}");
        seen.into_iter().next().unwrap().parse::<u64>().unwrap()
    };
    loop {
        let done = writer.is_finished();
        let whole = plumbline_collector::reads::register(reader.dyn_store(), TENANT).await.unwrap();
        assert_eq!((whole.connectors.len(), whole.open_findings.len()), (40, 40));
        one_generation(&whole, "the whole register");
        let after = Some("exo/exchange:outbound:00010");
        let page = plumbline_collector::reads::register_page(reader.dyn_store(), TENANT, after, 15).await;
        let (page, more) = page.unwrap();
        assert_eq!((page.connectors.len(), page.open_findings.len(), more), (15, 15, true));
        one_generation(&page, "a page");
        if done {
            break;
        }
    }
    writer.await.unwrap();
    let last = plumbline_collector::reads::register(t.dyn_store(), TENANT).await.unwrap();
    assert_eq!(one_generation(&last, "the last read"), 30);
}

/// A `limit` over the cap is served as the cap (5000), with a cursor for
/// the rest, rather than refused: a client of the old `changes?limit=10000`
/// keeps working, and one that asks for everything gets it in pages.
async fn a_limit_over_the_cap_is_served_as_the_cap(backend: Backend) {
    let t = backend.store().await;
    let r = router(&t);
    let agent = t.agent(TENANT, "hq").await;
    deliver(&t, &agent, 1, &numbered(5001), vec![]).await;
    let token = admin::create_api_token(t.dyn_store(), Some(TENANT), None).await.unwrap();
    let first: RegisterView = get(&r, &token, "/v1/tenants/contoso/register?limit=6000").await.json();
    assert_eq!(first.connectors.len(), 5000);
    let cursor = first.next_cursor.expect("one more");
    let rest = get(&r, &token, &format!("/v1/tenants/contoso/register?limit=6000&cursor={cursor}")).await;
    let rest: RegisterView = rest.json();
    assert_eq!((rest.connectors.len(), rest.next_cursor), (1, None));
    let changes: ChangesView = get(&r, &token, "/v1/tenants/contoso/changes?limit=10000").await.json();
    assert_eq!((changes.changes.len(), changes.next_cursor.is_some()), (5000, true));
}

crate::both_backends!(
    a_limit_over_the_cap_is_served_as_the_cap,
    pages_hold_every_row_once_in_order,
    pages_hold_while_ingest_goes_on,
    bad_limits_and_cursors_are_refused,
    register_reads_see_one_snapshot,
);

/// The OpenAPI document tells clients how to page: `limit` and `cursor` on
/// each paged endpoint, its 400, and `next_cursor` as an optional field.
#[tokio::test]
async fn the_document_describes_paging() {
    let t = Backend::Sqlite.store().await;
    let doc: serde_json::Value = call(&router(&t), Method::GET, "/v1/openapi.json", None, "").await.json();
    for (path, schema) in [("register", "RegisterView"), ("findings", "FindingsView"), ("changes", "ChangesView")] {
        let op = &doc["paths"][format!("/v1/tenants/{{tenant}}/{path}")]["get"];
        let params: Vec<&str> =
            op["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert!(params.contains(&"limit") && params.contains(&"cursor"), "{path}: {params:?}");
        let bad = op["responses"]["400"]["description"].as_str().unwrap_or_else(|| panic!("{path}: no 400"));
        assert!(bad.contains("cursor"), "{path}: {bad}");
        let s = &doc["components"]["schemas"][schema];
        assert!(s["properties"]["next_cursor"].is_object(), "{schema}: {s}");
        let required: Vec<&str> = s["required"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
        assert!(!required.contains(&"next_cursor"), "{schema}: older clients and last pages go without it");
    }
}
