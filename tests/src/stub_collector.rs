//! A stand-in collector for the agent's delivery tests: speaks exactly the
//! wire contract of `plumbline-protocol` (enroll, ingest, error bodies),
//! inflates gzip bodies, verifies each envelope against the enrolled key
//! before parsing it, dedupes on the payload digest, enforces increasing
//! sequence numbers per agent, and counts everything. It can be taken down
//! (connections refused), made to answer 503, or made to hold requests
//! open, and brought back.
//!
//! It runs on its own tokio runtime, so use it from plain `#[test]`s.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use plumbline_protocol::batch::ScanBatch;
use plumbline_protocol::envelope::{payload_digest, Envelope, EnvelopeError, SCAN_PAYLOAD_TYPE};
use plumbline_protocol::identity::{agent_id, parse_public_key};
use plumbline_protocol::messages::{EnrollRequest, EnrollResponse, ErrorBody, IngestResponse};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Largest ingest body accepted; larger is `413 too_large`.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Where an ingest request is held open (never answered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Hold {
    /// Answer normally.
    #[default]
    Never,
    /// After verifying, before storing: the batch is not stored.
    BeforeStore,
    /// After storing, before answering: the agent never sees the ack.
    AfterStore,
}

/// A batch the stub stored.
#[derive(Debug, Clone)]
pub struct StoredBatch {
    /// The signer.
    pub agent_id: String,
    /// Its sequence.
    pub sequence: u64,
    /// sha256 of the payload.
    pub digest: String,
    /// The envelope exactly as received.
    pub envelope: Vec<u8>,
    /// The verified payload.
    pub batch: ScanBatch,
}

/// An enrolled agent.
#[derive(Debug, Clone)]
pub struct EnrolledAgent {
    /// Its id.
    pub agent_id: String,
    /// Raw public key, base64, as enrolled.
    pub public_key: String,
    /// Tenant and site of the token it used.
    pub tenant_id: String,
    /// Site.
    pub site_id: String,
    /// The host name it gave.
    pub hostname: String,
    /// Revoked agents are refused.
    pub revoked: bool,
    /// Highest sequence stored.
    pub last_sequence: u64,
}

#[derive(Default)]
struct Inner {
    tokens: HashMap<String, (String, String)>,
    agents: HashMap<String, EnrolledAgent>,
    digests: HashMap<String, u64>,
    stored: Vec<StoredBatch>,
    ingest_requests: usize,
    gzip_requests: usize,
    predates_gzip: bool,
    largest_envelope: usize,
    duplicates: usize,
    refusals: Vec<(u16, String)>,
    unavailable: Option<u64>,
    foreign_refusal: Option<u16>,
    hold: Hold,
}

type Shared = Arc<Mutex<Inner>>;

/// The stand-in collector.
pub struct StubCollector {
    rt: Option<tokio::runtime::Runtime>,
    addr: SocketAddr,
    tls: Option<Arc<rustls::ServerConfig>>,
    state: Shared,
    server: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl StubCollector {
    /// Plain HTTP on a loopback port.
    pub fn start() -> Self {
        Self::launch(None)
    }

    /// HTTPS with the test certificate in `tests/data` (for `localhost` and
    /// `127.0.0.1`, signed by `collector-test-ca.crt`).
    pub fn start_tls() -> Self {
        Self::launch(Some(Arc::new(server_tls_config())))
    }

    fn launch(tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("stub collector runtime");
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind a loopback port");
        let addr = listener.local_addr().unwrap();
        let stub = StubCollector {
            rt: Some(rt),
            addr,
            tls,
            state: Arc::default(),
            server: Mutex::new(None),
        };
        stub.serve(listener);
        stub
    }

    fn rt(&self) -> &tokio::runtime::Runtime {
        self.rt.as_ref().expect("runtime lives until drop")
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let app = Router::new()
            .route("/v1/enroll", post(enroll))
            .route("/v1/ingest", post(ingest))
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES * 2))
            .with_state(self.state.clone());
        let task = match &self.tls {
            None => self.rt().spawn(async move {
                let _ = axum::serve(listener, app).await;
            }),
            Some(cfg) => {
                let tls = TlsListener {
                    tcp: listener,
                    acceptor: tokio_rustls::TlsAcceptor::from(cfg.clone()),
                };
                self.rt().spawn(async move {
                    let _ = axum::serve(tls, app).await;
                })
            }
        };
        *self.server.lock().unwrap() = Some(task);
    }

    /// The base URL to give the agent.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Accept `token` once, for `tenant` and `site`.
    pub fn add_token(&self, token: &str, tenant: &str, site: &str) {
        self.state
            .lock()
            .unwrap()
            .tokens
            .insert(token.to_string(), (tenant.to_string(), site.to_string()));
    }

    /// Stop listening: connections are refused until [`StubCollector::come_up`].
    pub fn go_down(&self) {
        if let Some(task) = self.server.lock().unwrap().take() {
            task.abort();
            let _ = self.rt().block_on(task);
        }
    }

    /// Listen again on the same port.
    pub fn come_up(&self) {
        if self.server.lock().unwrap().is_some() {
            return;
        }
        let listener = self
            .rt()
            .block_on(tokio::net::TcpListener::bind(self.addr))
            .expect("rebind the stub's port");
        self.serve(listener);
    }

    /// Answer every ingest with `503` and `Retry-After: secs` (`None`: stop).
    pub fn set_unavailable(&self, retry_after_secs: Option<u64>) {
        self.state.lock().unwrap().unavailable = retry_after_secs;
    }

    /// Answer every ingest with this 4xx and an HTML page, as a proxy or WAF
    /// in front of the collector would (`None`: stop).
    pub fn set_foreign_refusal(&self, status: Option<u16>) {
        self.state.lock().unwrap().foreign_refusal = status;
    }

    /// Hold ingest requests open at `hold`.
    pub fn set_hold(&self, hold: Hold) {
        self.state.lock().unwrap().hold = hold;
    }

    /// Revoke an agent.
    pub fn revoke(&self, agent_id: &str) {
        if let Some(a) = self.state.lock().unwrap().agents.get_mut(agent_id) {
            a.revoked = true;
        }
    }

    /// Undo [`StubCollector::revoke`], as an admin who revoked by mistake.
    pub fn reinstate(&self, agent_id: &str) {
        if let Some(a) = self.state.lock().unwrap().agents.get_mut(agent_id) {
            a.revoked = false;
        }
    }

    /// Batches stored, in arrival order.
    pub fn stored(&self) -> Vec<StoredBatch> {
        self.state.lock().unwrap().stored.clone()
    }

    /// Sequences stored, in arrival order.
    pub fn stored_sequences(&self) -> Vec<u64> {
        self.stored().iter().map(|b| b.sequence).collect()
    }

    /// Ingest requests received (answered or not).
    pub fn ingest_requests(&self) -> usize {
        self.state.lock().unwrap().ingest_requests
    }

    /// Act as a collector from before gzip: read a gzip body as it is (and
    /// so refuse it as a malformed envelope).
    pub fn set_predates_gzip(&self, old: bool) {
        self.state.lock().unwrap().predates_gzip = old;
    }

    /// Ingest requests whose body was sent gzipped.
    pub fn gzip_requests(&self) -> usize {
        self.state.lock().unwrap().gzip_requests
    }

    /// The largest envelope received, in bytes, once inflated.
    pub fn largest_envelope(&self) -> usize {
        self.state.lock().unwrap().largest_envelope
    }

    /// Ingests answered `duplicate`.
    pub fn duplicates(&self) -> usize {
        self.state.lock().unwrap().duplicates
    }

    /// Refusals sent: HTTP status and error code.
    pub fn refusals(&self) -> Vec<(u16, String)> {
        self.state.lock().unwrap().refusals.clone()
    }

    /// An enrolled agent.
    pub fn agent(&self, agent_id: &str) -> Option<EnrolledAgent> {
        self.state.lock().unwrap().agents.get(agent_id).cloned()
    }

    /// Every enrolled agent.
    pub fn agents(&self) -> Vec<EnrolledAgent> {
        self.state.lock().unwrap().agents.values().cloned().collect()
    }

    /// Wait (polling) until `ready` holds, at most `timeout`.
    pub fn wait_until(&self, timeout: Duration, ready: impl Fn(&StubCollector) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if ready(self) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        ready(self)
    }
}

impl Drop for StubCollector {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

fn refuse(state: &Shared, status: StatusCode, error: &str, message: impl Into<String>) -> Response {
    state.lock().unwrap().refusals.push((status.as_u16(), error.to_string()));
    (status, Json(ErrorBody::new(error, message))).into_response()
}

async fn enroll(State(state): State<Shared>, body: Bytes) -> Response {
    let req: EnrollRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return refuse(&state, StatusCode::BAD_REQUEST, "malformed", e.to_string()),
    };
    let key = match parse_public_key(&req.public_key) {
        Ok(k) => k,
        Err(e) => return refuse(&state, StatusCode::BAD_REQUEST, "malformed", e.to_string()),
    };
    let mut s = state.lock().unwrap();
    let Some((tenant_id, site_id)) = s.tokens.remove(&req.token) else {
        drop(s);
        return refuse(&state, StatusCode::UNAUTHORIZED, "bad_token", "unknown or used enrollment token");
    };
    let id = agent_id(&key);
    s.agents.insert(
        id.clone(),
        EnrolledAgent {
            agent_id: id.clone(),
            public_key: req.public_key,
            tenant_id: tenant_id.clone(),
            site_id: site_id.clone(),
            hostname: req.hostname,
            revoked: false,
            last_sequence: 0,
        },
    );
    Json(EnrollResponse { agent_id: id, tenant_id, site_id, replaced: None, policy_key: None }).into_response()
}

async fn ingest(State(state): State<Shared>, headers: axum::http::HeaderMap, body: Bytes) -> Response {
    let gzipped = headers.get(header::CONTENT_ENCODING).is_some_and(|v| v.as_bytes() == b"gzip");
    let (unavailable, hold, foreign, inflates) = {
        let mut s = state.lock().unwrap();
        s.ingest_requests += 1;
        s.gzip_requests += usize::from(gzipped);
        (s.unavailable, s.hold, s.foreign_refusal, !s.predates_gzip)
    };
    if let Some(status) = foreign {
        let status = StatusCode::from_u16(status).expect("a valid status");
        return (status, [(header::CONTENT_TYPE, "text/html")], "<html><body>Request refused by proxy</body></html>")
            .into_response();
    }
    if let Some(secs) = unavailable {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, secs.to_string())],
            Json(ErrorBody::new("unavailable", "try later")),
        )
            .into_response();
    }
    if body.len() > MAX_BODY_BYTES {
        return refuse(&state, StatusCode::PAYLOAD_TOO_LARGE, "too_large", "body over the limit");
    }
    let body = if gzipped && inflates {
        use std::io::Read as _;
        let mut out = Vec::new();
        let read = flate2::read::GzDecoder::new(&body[..]).take(MAX_BODY_BYTES as u64 + 1).read_to_end(&mut out);
        match read {
            Err(e) => return refuse(&state, StatusCode::BAD_REQUEST, "malformed", format!("gzip: {e}")),
            Ok(_) if out.len() > MAX_BODY_BYTES => {
                return refuse(&state, StatusCode::PAYLOAD_TOO_LARGE, "too_large", "inflates over the limit")
            }
            Ok(_) => Bytes::from(out),
        }
    } else {
        body
    };
    {
        let mut s = state.lock().unwrap();
        s.largest_envelope = s.largest_envelope.max(body.len());
    }
    // Verify before parsing the payload.
    let env = match Envelope::from_json(&body) {
        Ok(e) => e,
        Err(e) => return refuse(&state, StatusCode::BAD_REQUEST, "malformed", e.to_string()),
    };
    let Some(keyid) = env.claimed_keyid().map(str::to_string) else {
        return refuse(&state, StatusCode::BAD_REQUEST, "malformed", "no signature");
    };
    let agent = state.lock().unwrap().agents.get(&keyid).cloned();
    let Some(agent) = agent else {
        return refuse(&state, StatusCode::UNAUTHORIZED, "unknown_agent", format!("no agent {keyid}"));
    };
    if agent.revoked {
        return refuse(&state, StatusCode::FORBIDDEN, "revoked_agent", format!("{keyid} is revoked"));
    }
    let key = parse_public_key(&agent.public_key).expect("enrolled keys parse");
    let payload = match env.verify(SCAN_PAYLOAD_TYPE, &keyid, &key) {
        Ok(p) => p,
        Err(EnvelopeError::PayloadType(t)) => {
            return refuse(&state, StatusCode::BAD_REQUEST, "malformed", format!("payload type {t}"))
        }
        Err(e) => return refuse(&state, StatusCode::UNAUTHORIZED, "bad_signature", e.to_string()),
    };
    let batch: ScanBatch = match serde_json::from_slice(&payload) {
        Ok(b) => b,
        Err(e) => return refuse(&state, StatusCode::BAD_REQUEST, "malformed", e.to_string()),
    };
    if batch.agent_id != keyid {
        return refuse(&state, StatusCode::BAD_REQUEST, "wrong_agent", "the batch names another agent");
    }
    if batch.tenant_id != agent.tenant_id || batch.site_id != agent.site_id {
        return refuse(
            &state,
            StatusCode::FORBIDDEN,
            "wrong_tenant",
            format!("{keyid} reports for tenant {} site {}", agent.tenant_id, agent.site_id),
        );
    }
    if hold == Hold::BeforeStore {
        std::future::pending::<()>().await;
    }
    let digest = payload_digest(&payload);
    let sequence = batch.sequence;
    {
        let mut s = state.lock().unwrap();
        if s.digests.contains_key(&digest) {
            s.duplicates += 1;
            return Json(IngestResponse { digest, status: "duplicate".into(), sequence }).into_response();
        }
        let last = s.agents[&keyid].last_sequence;
        if sequence <= last {
            drop(s);
            return refuse(
                &state,
                StatusCode::CONFLICT,
                "replayed_sequence",
                format!("sequence {sequence} is not above {last}"),
            );
        }
        s.digests.insert(digest.clone(), sequence);
        s.agents.get_mut(&keyid).unwrap().last_sequence = sequence;
        s.stored.push(StoredBatch { agent_id: keyid, sequence, digest: digest.clone(), envelope: body.to_vec(), batch });
    }
    if hold == Hold::AfterStore {
        std::future::pending::<()>().await;
    }
    Json(IngestResponse { digest, status: "stored".into(), sequence }).into_response()
}

fn server_tls_config() -> rustls::ServerConfig {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let data = crate::plugins::root().join("tests/data");
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(data.join("collector-test.crt"))
        .expect("test certificate")
        .collect::<Result<_, _>>()
        .expect("test certificate parses");
    let key = PrivateKeyDer::from_pem_file(data.join("collector-test.key")).expect("test key");
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("test certificate and key match")
}

/// TCP + TLS handshake as an axum listener. A failed handshake is dropped
/// and the next connection accepted.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            let handshake = tokio::time::timeout(Duration::from_secs(10), self.acceptor.accept(stream)).await;
            if let Ok(Ok(tls)) = handshake {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}
