//! Uploads judged before their body: a request signed as an agent is
//! admitted by that agent's own limits, a stranger is refused before a byte
//! of body is read, and a stalled body, slow headers or an idle connection
//! give their slot back.

use crate::api::{call, Answer};
use crate::support::Backend;
use axum::body::{Body, Bytes};
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use plumbline_collector::api::admission::{Uploader, ADDRESS_BURST, MAX_INGESTS_PER_AGENT, MAX_UNSIGNED_IN_FLIGHT};
use plumbline_collector::api::body::BodyClock;
use plumbline_collector::api::{app, AppState};
use plumbline_collector::serve::Server;
use plumbline_protocol::agent_auth::authorization;
use plumbline_protocol::identity::AgentKey;
use plumbline_protocol::messages::ErrorBody;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// `POST /v1/ingest` with `body`, signed as `key` at `at` when given.
async fn upload(r: &Router, key: Option<(&AgentKey, i64)>, body: impl Into<Body>) -> Answer {
    let mut req = Request::builder().method(Method::POST).uri("/v1/ingest");
    if let Some((key, at)) = key {
        req = req.header(header::AUTHORIZATION, authorization(key, "POST", "/v1/ingest", at));
    }
    let res = r.clone().oneshot(req.body(body.into()).unwrap()).await.unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    Answer { status, headers, body: res.into_body().collect().await.unwrap().to_bytes() }
}

/// A body that sends `first` and then nothing, for ever.
fn stalling(first: &'static [u8]) -> Body {
    let once = futures::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from_static(first)) });
    Body::from_stream(futures::StreamExt::chain(once, futures::stream::pending()))
}

/// The refusal of an upload with this `Authorization` and a body that never
/// ends: it would wait for ever if the body were read first.
async fn refused_early(r: &Router, authorization: String) -> (StatusCode, String) {
    let req = Request::builder().method(Method::POST).uri("/v1/ingest").header(header::AUTHORIZATION, authorization);
    let res = tokio::time::timeout(Duration::from_secs(20), r.clone().oneshot(req.body(stalling(b"{")).unwrap()))
        .await
        .expect("refused without reading the body")
        .unwrap();
    let status = res.status();
    let body: ErrorBody = serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    (status, body.error)
}

async fn signed_uploads_are_admitted_by_their_own_agent(backend: Backend) {
    let t = backend.store().await;
    let (a, b) = (t.agent("contoso", "hq").await, t.agent("contoso", "branch").await);
    let state = AppState::new(t.store.clone());
    let r = app(state.clone());
    let unsigned: Vec<_> = (0..MAX_UNSIGNED_IN_FLIGHT).map(|_| state.admission.admit(Uploader::Unsigned(None)).unwrap()).collect();
    let busy = upload(&r, None, a.sign(&a.typical(1, 1))).await;
    assert_eq!(busy.error(), (StatusCode::TOO_MANY_REQUESTS, "busy".into()), "the unsigned pool is full");
    let signed = upload(&r, Some((&a.key, now())), a.sign(&a.typical(1, 1))).await;
    assert_eq!(signed.status, StatusCode::OK, "a signed upload has its own slots: {:?}", String::from_utf8_lossy(&signed.body));
    drop(unsigned);

    let held: Vec<_> = (0..MAX_INGESTS_PER_AGENT).map(|_| state.admission.admit(Uploader::Agent(a.id())).unwrap()).collect();
    let busy = upload(&r, Some((&a.key, now())), a.sign(&a.typical(2, 1))).await;
    assert_eq!(busy.error(), (StatusCode::TOO_MANY_REQUESTS, "busy".into()), "one agent holds at most its slots");
    assert!(busy.headers.contains_key(header::RETRY_AFTER));
    let other = upload(&r, Some((&b.key, now())), b.sign(&b.typical(1, 1))).await;
    assert_eq!(other.status, StatusCode::OK, "another agent is not held up");
    drop(held);
    assert_eq!(state.admission.in_flight(), 0, "every slot came back");
    assert_eq!(t.store.counts().await.unwrap().batches, 2);
}

async fn strangers_are_refused_before_the_body(backend: Backend) {
    let t = backend.store().await;
    let (a, b) = (t.agent("contoso", "hq").await, t.agent("contoso", "branch").await);
    let state = AppState::new(t.store.clone());
    let r = app(state.clone());
    let ingest_as = |key: &AgentKey| authorization(key, "POST", "/v1/ingest", now());
    let stranger = AgentKey::generate();
    assert_eq!(refused_early(&r, ingest_as(&stranger)).await, (StatusCode::UNAUTHORIZED, "unknown_agent".into()));
    let forged = ingest_as(&stranger).replace(&stranger.agent_id(), &a.id());
    assert_eq!(refused_early(&r, forged).await, (StatusCode::UNAUTHORIZED, "bad_signature".into()));
    let for_policy = authorization(&a.key, "GET", "/v1/policy", now());
    assert_eq!(refused_early(&r, for_policy).await, (StatusCode::UNAUTHORIZED, "bad_signature".into()), "signed for another request");
    assert_eq!(refused_early(&r, "Plumbline-Agent nonsense".into()).await, (StatusCode::UNAUTHORIZED, "unauthorized".into()));
    plumbline_collector::admin::revoke_agent(t.dyn_store(), &b.id()).await.unwrap();
    assert_eq!(refused_early(&r, ingest_as(&b.key)).await, (StatusCode::FORBIDDEN, "revoked_agent".into()));
    assert_eq!(state.admission.in_flight(), 0);

    // Signed as one agent, the envelope by another: refused, nothing stored.
    let c = t.agent("contoso", "depot").await;
    let mixed = upload(&r, Some((&a.key, now())), c.sign(&c.typical(1, 1))).await;
    assert_eq!(mixed.error(), (StatusCode::FORBIDDEN, "wrong_agent".into()));
    // A clock an hour off never stopped a batch: it waits in the unsigned pool.
    let skewed = upload(&r, Some((&a.key, now() - 3600)), a.sign(&a.typical(1, 1))).await;
    assert_eq!(skewed.status, StatusCode::OK, "{}", String::from_utf8_lossy(&skewed.body));
    assert_eq!(t.store.counts().await.unwrap().batches, 1);
}

crate::both_backends!(signed_uploads_are_admitted_by_their_own_agent, strangers_are_refused_before_the_body);

/// A body that stops arriving is answered 408 and its slot given back; a
/// trickle past the deadline too.
#[tokio::test]
async fn a_stalled_body_gives_its_slot_back() {
    let t = Backend::Sqlite.store().await;
    let a = t.agent("contoso", "hq").await;
    let mut state = AppState::new(t.store.clone());
    state.body_clock = BodyClock { stall: Duration::from_millis(500), deadline: Duration::from_secs(5) };
    let r = app(state.clone());
    let stalled = upload(&r, Some((&a.key, now())), stalling(b"{\"payload\":")).await;
    assert_eq!(stalled.error(), (StatusCode::REQUEST_TIMEOUT, "body_timeout".into()));
    assert_eq!(state.admission.in_flight(), 0, "the slot came back");
    let ok = call(&r, Method::POST, "/v1/ingest", None, a.sign(&a.typical(1, 1))).await;
    assert_eq!(ok.status, StatusCode::OK, "the next upload gets in");
}

/// Over real HTTP: headers that never finish and a keep-alive connection
/// left idle are closed after the header timeout, while requests go on
/// being served; and unsigned uploads are counted by the peer's address.
#[tokio::test]
async fn slow_headers_and_idle_connections_are_closed() {
    let t = Backend::Sqlite.store().await;
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), None).await.unwrap().with_header_timeout(Duration::from_secs(1));
    let addr = server.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run(app(AppState::new(t.store.clone())), async move {
        let _ = stopped.await;
    }));
    let closed_within = |mut tcp: tokio::net::TcpStream| async move {
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(15), tcp.read_to_end(&mut rest)).await.is_ok()
    };

    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"POST /v1/ingest HTTP/1.1\r\nHost: collector\r\nContent-Le").await.unwrap();
    assert!(closed_within(slow).await, "half-sent headers are cut off");

    let mut idle = tokio::net::TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /v1/health HTTP/1.1\r\nHost: collector\r\n\r\n").await.unwrap();
    let mut first = [0u8; 12];
    idle.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 200", "served before it went idle");
    assert!(closed_within(idle).await, "an idle keep-alive connection is closed");

    // The peer's address reaches the admission: past the burst, one
    // address is told to slow down (the bodies need not even be batches).
    // Plain HTTP, but reqwest wants a TLS provider all the same.
    let tls = rustls::ClientConfig::builder_with_provider(plumbline_collector::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    let client = reqwest::Client::builder().use_preconfigured_tls(tls).build().unwrap();
    let url = format!("http://{addr}/v1/ingest");
    let mut judged = 0;
    let limited = loop {
        let res = client.post(&url).body("{}").send().await.unwrap();
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            break res;
        }
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "within the burst, judged on the body");
        judged += 1;
        assert!(judged < 2 * ADDRESS_BURST as usize, "never slowed down");
    };
    assert!(judged >= ADDRESS_BURST as usize, "the whole burst first: {judged}");
    assert!(limited.headers().contains_key(header::RETRY_AFTER));
    assert_eq!(limited.json::<ErrorBody>().await.unwrap().error, "rate_limited");
    let _ = stop.send(());
    serving.await.unwrap().unwrap();
}
