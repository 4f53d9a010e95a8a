//! `http`: outbound HTTP(S) for plugins.
//!
//! Order of checks: URL shape (https, no user name or password), the host
//! normalised once (lower case, no trailing dot) so that every later
//! decision sees the same name, host and port allowlist (declared AND
//! granted, on the host the plugin asked for), credential grant and
//! audience, then routing through endpoint overrides. Throttled answers (429, 503) are retried here
//! with Retry-After, because a plugin has no clock to sleep on.
//!
//! `send-all` ([`send_all`]) runs each request of a list through the same
//! [`send`], concurrently: the checks are the same code, not a copy.

use super::log::LogBudget;
use super::{trace_decision, HostState, Network, Permissions};
use crate::runtime::limits;
use crate::runtime::wit::latest::plumbline::plugin::http::{Host, HttpError, Request, Response};
use crate::runtime::wit::latest::Attribute;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Request headers a plugin may not set: the host owns authentication and
/// framing.
const FORBIDDEN_REQUEST_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
];

impl Host for HostState {
    async fn send(&mut self, req: Request) -> wasmtime::Result<Result<Response, HttpError>> {
        Ok(send(&self.outbound(), req, None).await)
    }

    async fn send_all(&mut self, reqs: Vec<Request>) -> wasmtime::Result<Vec<Result<Response, HttpError>>> {
        Ok(send_all(self.outbound(), reqs).await)
    }
}

impl HostState {
    fn outbound(&self) -> Outbound {
        Outbound {
            plugin: self.plugin.clone(),
            perms: self.perms.clone(),
            net: self.net.clone(),
            budget: self.log_budget.clone(),
            in_flight: self.http_slots.clone(),
            deadline: self.deadline,
            hints: self.hints.clone(),
        }
    }
}

/// What a request needs from the host state, owned so the future is `Send`.
#[derive(Clone)]
struct Outbound {
    plugin: Arc<str>,
    perms: Arc<Permissions>,
    net: Arc<Network>,
    budget: Arc<LogBudget>,
    /// This plugin's requests in flight ([`limits::MAX_HTTP_IN_FLIGHT_PER_PLUGIN`]).
    in_flight: Arc<Semaphore>,
    /// When the scan's time runs out.
    deadline: Instant,
    /// To name what a 403 lacks.
    hints: Arc<crate::capabilities::forbidden::PermissionHints>,
}

/// Bytes the answers of one `send-all` list may still take.
struct ByteBudget(AtomicUsize);

impl ByteBudget {
    /// Take `n` bytes; `false` (and nothing taken) when fewer are left.
    fn take(&self, n: usize) -> bool {
        self.0.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| left.checked_sub(n)).is_ok()
    }
}

/// Run `reqs` concurrently through [`send`], each checked and retried on
/// its own; answers in request order. See the WIT for the contract.
async fn send_all(state: Outbound, reqs: Vec<Request>) -> Vec<Result<Response, HttpError>> {
    if reqs.len() > limits::MAX_BATCH {
        let why = format!(
            "send-all takes at most {} requests, got {}; split the list",
            limits::MAX_BATCH,
            reqs.len()
        );
        return reqs.iter().map(|_| Err(HttpError::InvalidRequest(why.clone()))).collect();
    }
    let deadline = state.deadline;
    let budget = ByteBudget(AtomicUsize::new(limits::MAX_BATCH_RESPONSE_BYTES));
    let jobs = reqs.into_iter().map(|req| {
        let (state, budget) = (&state, &budget);
        async move {
            match tokio::time::timeout_at(deadline.into(), send(state, req, Some(budget))).await {
                Ok(answer) => answer,
                Err(_) => Err(HttpError::Timeout(
                    "the scan's time ran out before this request of the list was answered".into(),
                )),
            }
        }
    });
    futures::future::join_all(jobs).await
}

async fn send(state: &Outbound, req: Request, batch: Option<&ByteBudget>) -> Result<Response, HttpError> {
    let plugin: &str = &state.plugin;
    let mut url = url::Url::parse(&req.url)
        .map_err(|e| HttpError::InvalidRequest(format!("`{}` is not a URL: {e}", redact_query(&req.url))))?;
    if url.scheme() != "https" {
        return Err(HttpError::InvalidRequest(format!(
            "only https:// URLs are allowed, got {}://",
            url.scheme()
        )));
    }
    // reqwest turns userinfo into an Authorization header, past the
    // forbidden-header list and beside a credential's token.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(HttpError::InvalidRequest(
            "URLs with a user name or password are refused; name a credential profile instead".into(),
        ));
    }
    let host = normalized_host(&url)?;
    url.set_host(Some(&host))
        .map_err(|e| HttpError::InvalidRequest(format!("URL host {host:?} is not usable: {e}")))?;
    let port = url.port_or_known_default().unwrap_or(crate::config::HttpTarget::DEFAULT_PORT);
    if let Err(d) = state.perms.check_http(&host, port) {
        trace_decision(&state.budget, plugin, "http", &host, false, &d.0);
        return Err(HttpError::Denied(d.0));
    }
    let method = reqwest::Method::from_bytes(req.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| HttpError::InvalidRequest(format!("bad method {:?}", req.method)))?;
    if req.body.as_ref().is_some_and(|b| b.len() > limits::MAX_HTTP_REQUEST_BYTES) {
        return Err(HttpError::TooLarge(format!(
            "request body over {} bytes",
            limits::MAX_HTTP_REQUEST_BYTES
        )));
    }
    let mut headers = reqwest::header::HeaderMap::new();
    for h in &req.headers {
        let name = h.name.to_ascii_lowercase();
        if FORBIDDEN_REQUEST_HEADERS.contains(&name.as_str()) {
            return Err(HttpError::InvalidRequest(format!(
                "header `{}` is set by the host; name a credential profile instead of sending a token",
                h.name
            )));
        }
        let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| HttpError::InvalidRequest(format!("bad header name {:?}", h.name)))?;
        let value = reqwest::header::HeaderValue::from_str(&h.value)
            .map_err(|_| HttpError::InvalidRequest(format!("bad value for header {name}")))?;
        headers.append(name, value);
    }
    if let Some(profile) = &req.credential {
        if let Err(d) = state.perms.check_credential(profile) {
            trace_decision(&state.budget, plugin, "credential", profile, false, &d.0);
            return Err(HttpError::Denied(d.0));
        }
        if !state.net.credentials.audience_allows(profile, &host) {
            let why = format!(
                "credential profile `{profile}` is not meant for `{host}`, so its token was not sent; add \"{host}\" to [credentials.{profile}] audience if it should be"
            );
            trace_decision(&state.budget, plugin, "credential", profile, false, &why);
            return Err(HttpError::Credential(why));
        }
    }
    let routed = state.net.endpoints.route(&url);
    trace_decision(&state.budget, plugin, "http", &host, true, &format!("{} {}", method, url.path()));
    // A replay answers here, past every check and before any token or socket.
    if let Some(answer) = state.net.tape.as_ref().and_then(|t| t.replay_http(&req)) {
        return answer;
    }
    // Slots are taken after the checks, so a denied request never waits.
    let _mine = state.in_flight.acquire().await.map_err(|_| HttpError::Transport("the host is shutting down".into()))?;
    let host_slots = state.net.host_slots.of(&host);
    let _host = host_slots.acquire().await.map_err(|_| HttpError::Transport("the host is shutting down".into()))?;

    let answer = async {
        let mut attempt = 0;
        loop {
            let mut builder = state
                .net
                .client
                .request(method.clone(), routed.clone())
                .headers(headers.clone());
            if let Some(body) = &req.body {
                builder = builder.body(body.clone());
            }
            if let Some(profile) = &req.credential {
                let token = state
                    .net
                    .credentials
                    .token(profile)
                    .await
                    .map_err(|e| HttpError::Credential(e.to_string()))?;
                builder = builder.bearer_auth(token);
            }
            let resp = builder.send().await.map_err(|e| {
                if e.is_timeout() {
                    HttpError::Timeout(format!("{host}: {}", without_url(e)))
                } else {
                    HttpError::Transport(format!("{host}: {}", without_url(e)))
                }
            })?;
            let status = resp.status().as_u16();
            if (status == 429 || status == 503) && attempt < limits::HTTP_MAX_RETRIES {
                if let Some(wait) = retry_after(resp.headers(), attempt) {
                    attempt += 1;
                    tracing::info!(plugin, capability = "http", target = %host, status, wait_ms = wait.as_millis() as u64, attempt, "throttled; retrying");
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            return read_response(resp, &host, batch).await;
        }
    }
    .await;
    if let (Ok(r), Some(profile)) = (&answer, &req.credential) {
        if crate::capabilities::forbidden::holds_403(&host, url.path(), r.status, &r.body) {
            state.hints.forbidden(profile, &host, &state.net.credentials).await;
        }
    }
    if let Some(tape) = &state.net.tape {
        tape.record_http(&req, &answer);
    }
    answer
}

/// The URL's host as every decision sees it: lower case, without the
/// trailing dot that once passed the allowlist yet escaped the override.
fn normalized_host(url: &url::Url) -> Result<String, HttpError> {
    let host = url.host_str().ok_or_else(|| HttpError::InvalidRequest("URL has no host".into()))?;
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    if host.is_empty() || host.ends_with('.') {
        return Err(HttpError::InvalidRequest(format!("URL host {host:?} is not a host name")));
    }
    Ok(host)
}

async fn read_response(mut resp: reqwest::Response, host: &str, batch: Option<&ByteBudget>) -> Result<Response, HttpError> {
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .filter(|(n, _)| *n != reqwest::header::SET_COOKIE)
        .map(|(n, v)| Attribute {
            name: n.as_str().to_string(),
            value: String::from_utf8_lossy(v.as_bytes()).into_owned(),
        })
        .collect();
    if resp.content_length().is_some_and(|n| n as usize > limits::MAX_HTTP_RESPONSE_BYTES) {
        return Err(too_large(host));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| HttpError::Transport(format!("{host}: reading the answer: {}", without_url(e))))?
    {
        if body.len() + chunk.len() > limits::MAX_HTTP_RESPONSE_BYTES {
            return Err(too_large(host));
        }
        if batch.is_some_and(|b| !b.take(chunk.len())) {
            return Err(HttpError::TooLarge(format!(
                "{host}: the answers of this send-all list together passed {} bytes; send this request again in a shorter list",
                limits::MAX_BATCH_RESPONSE_BYTES
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Response { status, headers, body })
}

fn too_large(host: &str) -> HttpError {
    HttpError::TooLarge(format!(
        "{host} answered with more than {} bytes",
        limits::MAX_HTTP_RESPONSE_BYTES
    ))
}

/// How long to wait before retrying a throttled answer: Retry-After in
/// seconds or as an HTTP date, else exponential from one second. `None`
/// when the server asks for longer than we are willing to wait.
pub fn retry_after(headers: &reqwest::header::HeaderMap, attempt: u32) -> Option<Duration> {
    let asked = headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.trim().parse::<u64>().ok().map(Duration::from_secs).or_else(|| {
                httpdate_secs_from_now(v.trim())
            })
        });
    let wait = asked.unwrap_or_else(|| Duration::from_secs(1 << attempt.min(5)));
    (wait <= limits::HTTP_MAX_RETRY_AFTER).then_some(wait)
}

fn httpdate_secs_from_now(v: &str) -> Option<Duration> {
    let when = time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc2822).ok()?;
    let secs = (when - time::OffsetDateTime::now_utc()).whole_seconds().max(0) as u64;
    Some(Duration::from_secs(secs))
}

/// reqwest errors print the URL, which may carry a secret in its query
/// (Workflows `sig=`); print the error chain without it.
fn without_url(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

/// A URL with its query replaced by `?…`.
pub fn redact_query(url: &str) -> String {
    match url.split_once('?') {
        Some((head, _)) => format!("{head}?…"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_bounded() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&h, 0), Some(Duration::from_secs(3)));
        h.insert(reqwest::header::RETRY_AFTER, "100000".parse().unwrap());
        assert_eq!(retry_after(&h, 0), None);
        let empty = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&empty, 2), Some(Duration::from_secs(4)));
    }

    #[test]
    fn queries_are_redacted() {
        assert_eq!(redact_query("https://x/wf?sig=SECRET"), "https://x/wf?…");
        assert_eq!(redact_query("https://x/a"), "https://x/a");
    }
}
