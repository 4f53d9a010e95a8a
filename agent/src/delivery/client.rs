//! The HTTP(S) client for the collector, trusting what [`super::trust`]
//! says (a pin, a private CA alone, or the public roots). No redirects: a redirected push is not an
//! acknowledgement, and the operator should fix the URL instead.

use super::trust::Trust;
use super::{limits, DeliveryError};
use plumbline_protocol::identity::AgentKey;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use futures::StreamExt as _;
use std::time::Duration;

/// One collector, by base URL.
pub struct Collector {
    base: url::Url,
    http: reqwest::Client,
    /// `[delivery] collector_ca_file`, to name in the fix for an untrusted certificate.
    ca_file: Option<PathBuf>,
    /// Set once this collector refused a gzip body: the rest go as they are.
    refused_gzip: AtomicBool,
}

/// A request that got no full answer.
#[derive(Debug)]
pub struct PostFailure {
    /// What went wrong, and what to do.
    pub message: String,
    /// `false` when no connection was made (refused, unresolvable, a TLS
    /// handshake that failed): the collector cannot have seen the request.
    pub sent: bool,
}

/// What the collector answered.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// `Retry-After`, when given in seconds.
    pub retry_after: Option<Duration>,
    /// `Location`, for a redirect.
    pub location: Option<String>,
    /// The body, cut at [`limits::MAX_ANSWER_BYTES`] (or the request's own bound).
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as text, for messages (one line, at most 300 characters).
    pub fn text(&self) -> String {
        let t: String = String::from_utf8_lossy(&self.body)
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(300)
            .collect();
        t.trim().to_string()
    }
}

impl Collector {
    /// A client for the collector at `base`, trusting what `trust` says.
    pub fn new(base: url::Url, trust: &Trust) -> Result<Self, DeliveryError> {
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(trust.client_config()?)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(limits::REQUEST_TIMEOUT)
            .connect_timeout(limits::CONNECT_TIMEOUT)
            .user_agent(concat!("plumbline/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| DeliveryError::Collector { url: base.to_string(), message: chain(&e) })?;
        Ok(Collector { base, http, ca_file: trust.ca_file.clone(), refused_gzip: AtomicBool::new(false) })
    }

    /// Whether to gzip what goes to this collector: yes, until it refused it once.
    pub fn takes_gzip(&self) -> bool {
        !self.refused_gzip.load(Ordering::Relaxed)
    }

    /// This collector predates gzip: send the rest as they are.
    pub fn refuses_gzip(&self) {
        self.refused_gzip.store(true, Ordering::Relaxed);
    }

    /// The collector's base URL.
    pub fn base(&self) -> &url::Url {
        &self.base
    }

    /// `BASE/path`, keeping any path prefix of the base URL.
    pub fn endpoint(&self, path: &str) -> url::Url {
        let mut u = self.base.clone();
        let prefix = self.base.path().trim_end_matches('/');
        u.set_path(&format!("{prefix}/{}", path.trim_start_matches('/')));
        u
    }

    /// POST a JSON body. `Err` is a transport failure (nothing or no full
    /// answer came back), with whether the request may have reached the
    /// collector.
    pub async fn post_json(&self, path: &str, body: Vec<u8>) -> Result<Answer, PostFailure> {
        let url = self.endpoint(path);
        let resp = self.http.post(url).header(reqwest::header::CONTENT_TYPE, "application/json").body(body).send().await;
        let resp = resp.map_err(|e| PostFailure { message: self.transport_failure(&e), sent: !e.is_connect() })?;
        self.answer(resp, limits::MAX_ANSWER_BYTES).await.map_err(|message| PostFailure { message, sent: true })
    }

    /// POST a batch to `BASE/path` (`v1/ingest`), signed as the agent `key`
    /// when given, so that the collector knows who sends it before the body
    /// arrives. Timed by its progress ([`UploadClock`]), not as a whole: a
    /// large batch on a slow link is fine while it moves.
    pub async fn upload(&self, path: &str, body: Body, key: Option<&AgentKey>, clock: UploadClock) -> Result<Answer, String> {
        let (bytes, gzipped) = match body {
            Body::Plain(b) => (b, false),
            Body::Gzip(b) => (b, true),
        };
        let progress = std::sync::Arc::new(Progress::new(bytes.len()));
        let mut request = self
            .http
            .post(self.endpoint(path))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::CONTENT_LENGTH, bytes.len())
            .timeout(limits::UPLOAD_MAX_TIME)
            .body(reqwest::Body::wrap_stream(progress.clone().chunks(bytes)));
        if gzipped {
            request = request.header(reqwest::header::CONTENT_ENCODING, "gzip");
        }
        if let Some(key) = key {
            let now = crate::platform::clock::now_ms() as i64 / 1000;
            let signed = format!("/{}", path.trim_start_matches('/'));
            request = request.header(reqwest::header::AUTHORIZATION, plumbline_protocol::agent_auth::authorization(key, "POST", &signed, now));
        }
        let exchange = async {
            let resp = request.send().await.map_err(|e| self.transport_failure(&e))?;
            self.answer(resp, limits::MAX_ANSWER_BYTES).await
        };
        tokio::select! {
            answer = exchange => answer,
            why = progress.watch(clock) => Err(why),
        }
    }

    /// GET `BASE/path?query`, signed as the agent `key`
    /// ([`plumbline_protocol::agent_auth`]: from `/v1` on, as the
    /// collector sees it behind a proxy that strips the base's prefix). The
    /// body is cut at `max_bytes`; `timeout` is the whole request's.
    pub async fn get_signed(
        &self,
        path: &str,
        query: Option<&str>,
        key: &AgentKey,
        max_bytes: usize,
        timeout: Duration,
    ) -> Result<Answer, String> {
        let mut url = self.endpoint(path);
        url.set_query(query);
        let signed = match query {
            Some(q) => format!("/{}?{q}", path.trim_start_matches('/')),
            None => format!("/{}", path.trim_start_matches('/')),
        };
        let now = crate::platform::clock::now_ms() as i64 / 1000;
        let auth = plumbline_protocol::agent_auth::authorization(key, "GET", &signed, now);
        let resp = self
            .http
            .get(url)
            .header(reqwest::header::AUTHORIZATION, auth)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| self.transport_failure(&e))?;
        self.answer(resp, max_bytes).await
    }

    /// The status, the headers that matter and the body (cut at `max_bytes`).
    async fn answer(&self, mut resp: reqwest::Response, max_bytes: usize) -> Result<Answer, String> {
        let header = |name: reqwest::header::HeaderName| {
            resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
        };
        let retry_after = header(reqwest::header::RETRY_AFTER).and_then(|v| parse_retry_after(&v));
        let location = header(reqwest::header::LOCATION);
        let status = resp.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.transport_failure(&e))? {
            let room = max_bytes - body.len();
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if body.len() >= max_bytes {
                break;
            }
        }
        Ok(Answer { status, retry_after, location, body })
    }

    /// A failed request as one line: the causes, and for a certificate this
    /// agent does not trust, where the trust is configured. rustls says only
    /// `invalid peer certificate: UnknownIssuer`.
    fn transport_failure(&self, e: &reqwest::Error) -> String {
        let mut message = chain(e);
        if certificate_error(e) == Some(&rustls::CertificateError::UnknownIssuer) {
            message.push_str(&match &self.ca_file {
                None => "; the collector's certificate is not from a CA this agent trusts: if the collector serves \
                         its self-signed certificate (tls-cert.pem in its data directory) or one from a private CA, \
                         set [delivery] collector_pin to the key's sha256 the collector prints at start, or copy \
                         that certificate (or the CA's) to this machine and name the file in [delivery] \
                         collector_ca_file"
                    .to_string(),
                Some(file) => format!(
                    "; the collector's certificate is not from a CA in [delivery] collector_ca_file ({}), the only \
                     CAs trusted for the collector: put the certificate the collector serves (or its CA's) in that file",
                    file.display()
                ),
            });
        }
        message
    }
}

/// How an upload is timed.
#[derive(Debug, Clone, Copy)]
pub struct UploadClock {
    /// Longest with no byte taken.
    pub stall: Duration,
    /// Longest for the answer once the whole body is sent.
    pub answer: Duration,
}

impl Default for UploadClock {
    fn default() -> Self {
        UploadClock { stall: limits::UPLOAD_STALL_TIMEOUT, answer: limits::UPLOAD_ANSWER_TIMEOUT }
    }
}

/// How far an upload has got: the connection asks for the next chunk only
/// once it has room, so the time of the last ask is the time of the last
/// progress (give or take the socket's buffers).
struct Progress {
    start: std::time::Instant,
    total: usize,
    sent: std::sync::atomic::AtomicUsize,
    /// Milliseconds from `start` to the last chunk taken.
    last_ms: std::sync::atomic::AtomicU64,
}

impl Progress {
    fn new(total: usize) -> Self {
        Progress { start: std::time::Instant::now(), total, sent: Default::default(), last_ms: Default::default() }
    }

    fn chunks(self: std::sync::Arc<Self>, bytes: Vec<u8>) -> impl futures::Stream<Item = Result<Vec<u8>, std::io::Error>> {
        let pieces: Vec<Vec<u8>> = bytes.chunks(limits::UPLOAD_CHUNK_BYTES).map(<[u8]>::to_vec).collect();
        futures::stream::iter(pieces).map(move |piece| {
            self.sent.fetch_add(piece.len(), Ordering::Relaxed);
            self.last_ms.store(self.start.elapsed().as_millis() as u64, Ordering::Relaxed);
            Ok(piece)
        })
    }

    /// Resolves, with why, once the upload stalls or its answer is late.
    async fn watch(&self, clock: UploadClock) -> String {
        loop {
            tokio::time::sleep(WATCH_TICK).await;
            let sent = self.sent.load(Ordering::Relaxed);
            let idle = self.start.elapsed().saturating_sub(Duration::from_millis(self.last_ms.load(Ordering::Relaxed)));
            if sent < self.total && idle > clock.stall {
                return format!(
                    "the upload made no progress for {} s ({sent} of {} bytes sent); the link to the collector is down \
                     or too slow",
                    clock.stall.as_secs(),
                    self.total
                );
            }
            if sent >= self.total && idle > clock.answer {
                return format!(
                    "the collector did not answer within {} s of receiving the whole batch; it may be overloaded",
                    clock.answer.as_secs()
                );
            }
        }
    }
}

/// How often an upload's progress is looked at.
const WATCH_TICK: Duration = Duration::from_millis(100);

/// A request body: JSON as it is, or JSON gzipped (`Content-Encoding: gzip`).
#[derive(Debug, Clone)]
pub enum Body {
    /// As it is.
    Plain(Vec<u8>),
    /// Gzipped.
    Gzip(Vec<u8>),
}

/// `body` gzipped. A batch is JSON with a base64 payload, which gzip still
/// shrinks to about a third; on a slow link that is what decides whether a
/// large scan arrives within its timeout.
pub fn gzip(body: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut out = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 3), flate2::Compression::default());
    out.write_all(body).expect("writing to memory");
    out.finish().expect("writing to memory")
}

/// The certificate rustls refused, wherever it is in the error's causes.
/// An `io::Error` hides the error it wraps from `source()` (and may wrap
/// another `io::Error`), so each is opened by hand.
fn certificate_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::CertificateError> {
    if let Some(rustls::Error::InvalidCertificate(c)) = e.downcast_ref::<rustls::Error>() {
        return Some(c);
    }
    if let Some(inner) = e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
        if let Some(c) = certificate_error(inner) {
            return Some(c);
        }
    }
    e.source().and_then(certificate_error)
}

/// `Retry-After` in delta-seconds (the form collectors send). An HTTP date
/// is ignored and the normal backoff applies.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// An error with its causes, for one log line: reqwest's own message alone
/// ("error sending request") hides whether DNS, TCP or TLS failed.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let s_text = s.to_string();
        if !out.contains(&s_text) {
            out.push_str(": ");
            out.push_str(&s_text);
        }
        cur = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_keep_the_base_path() {
        let c = Collector::new(url::Url::parse("https://c.example/plumbline/").unwrap(), &Trust::default()).unwrap();
        assert_eq!(c.endpoint("v1/ingest").as_str(), "https://c.example/plumbline/v1/ingest");
        let c = Collector::new(url::Url::parse("https://c.example").unwrap(), &Trust::default()).unwrap();
        assert_eq!(c.endpoint("/v1/enroll").as_str(), "https://c.example/v1/enroll");
    }

    #[test]
    fn retry_after_seconds_only() {
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    /// What a collector stand-in on loopback does after the request head.
    #[derive(Clone, Copy)]
    enum Then {
        /// Read the body a megabyte at a time, pausing between, then answer.
        ReadSlowly,
        /// Read nothing more, holding the connection.
        Stop,
        /// Read the body, never answer.
        Silent,
    }

    /// A plain-HTTP stand-in: its base URL, and the request heads it saw.
    async fn stand_in(then: Then) -> (url::Url, tokio::sync::mpsc::UnboundedReceiver<String>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        // A small receive buffer, so that the client feels the pace.
        socket.set_recv_buffer_size(64 * 1024).unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener = socket.listen(8).unwrap();
        let base = url::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        let (heads, seen) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            let mut piece = vec![0u8; 64 * 1024];
            let end = loop {
                let n = tcp.read(&mut piece).await.unwrap();
                buf.extend_from_slice(&piece[..n]);
                if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break at + 4;
                }
            };
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let length: usize = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
                .unwrap();
            heads.send(head).unwrap();
            let mut read = buf.len() - end;
            match then {
                Then::Stop => std::future::pending::<()>().await,
                Then::ReadSlowly | Then::Silent => {
                    while read < length {
                        let n = tcp.read(&mut piece).await.unwrap();
                        read += n;
                        if matches!(then, Then::ReadSlowly) && read % (1024 * 1024) < n {
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                }
            }
            if matches!(then, Then::Silent) {
                std::future::pending::<()>().await;
            }
            let answer = "{}";
            let reply = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{answer}", answer.len());
            tcp.write_all(reply.as_bytes()).await.unwrap();
            tcp.flush().await.unwrap();
            std::future::pending::<()>().await;
        });
        (base, seen)
    }

    /// Bigger than every socket buffer between the two ends.
    const BIG: usize = 24 * 1024 * 1024;
    const CLOCK: UploadClock = UploadClock { stall: Duration::from_secs(1), answer: Duration::from_secs(1) };

    #[tokio::test]
    async fn an_upload_is_signed_and_timed_by_its_progress() {
        let (base, mut heads) = stand_in(Then::ReadSlowly).await;
        let c = Collector::new(base, &Trust::default()).unwrap();
        let key = AgentKey::generate();
        let started = std::time::Instant::now();
        let answer = c.upload("v1/ingest", Body::Plain(vec![b' '; BIG]), Some(&key), CLOCK).await.unwrap();
        assert_eq!(answer.status, 200);
        assert!(started.elapsed() > CLOCK.stall, "slower in all than the stall timeout, and still fine");
        let head = heads.recv().await.unwrap();
        let value = head.lines().find_map(|l| l.strip_prefix("authorization: ")).expect("signed");
        let claim = plumbline_protocol::agent_auth::Claim::parse(value).unwrap();
        assert_eq!(claim.agent_id, key.agent_id());
        let now = crate::platform::clock::now_ms() as i64 / 1000;
        claim.verify(&key.verifying(), "POST", "/v1/ingest", now).unwrap();
    }

    #[tokio::test]
    async fn a_stalled_upload_and_a_silent_collector_fail_in_time() {
        let (base, _heads) = stand_in(Then::Stop).await;
        let c = Collector::new(base, &Trust::default()).unwrap();
        let e = c.upload("v1/ingest", Body::Gzip(vec![0; BIG]), None, CLOCK).await.unwrap_err();
        assert!(e.contains("made no progress for 1 s") && e.contains(&format!("of {BIG} bytes sent")), "{e}");
        let (base, mut heads) = stand_in(Then::Silent).await;
        let c = Collector::new(base, &Trust::default()).unwrap();
        let e = c.upload("v1/ingest", Body::Plain(vec![b' '; 1000]), None, CLOCK).await.unwrap_err();
        assert!(e.contains("did not answer within 1 s"), "{e}");
        let head = heads.recv().await.unwrap();
        assert!(!head.contains("authorization"), "unsigned without a key: {head}");
        assert!(!head.contains("content-encoding"), "plain as asked: {head}");
    }

    #[test]
    fn ca_files_must_hold_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let base = url::Url::parse("https://c.example").unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "nothing here").unwrap();
        let ca_file = |p: &std::path::Path| Trust { ca_file: Some(p.to_path_buf()), pin: None };
        let e = Collector::new(base.clone(), &ca_file(&empty)).err().unwrap().to_string();
        assert!(e.contains("no certificate"), "{e}");
        let e = Collector::new(base.clone(), &ca_file(&dir.path().join("missing.pem"))).err().unwrap().to_string();
        assert!(e.contains("cannot read"), "{e}");
        let ca = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/data/collector-test-ca.crt");
        assert!(Collector::new(base, &ca_file(&ca)).is_ok());
    }
}
