//! Outbound HTTP through the host, with JSON and `@odata.nextLink` paging.
//!
//! The host decides whether a request may go out, routes it, retries
//! throttled answers and attaches the OAuth token of the named credential
//! profile. Plugins never see a token.

use crate::bindings::plumbline::plugin::http as wit;
use crate::{Attribute, ScanError};
use serde_json::Value;

pub use wit::{HttpError, Request, Response};

/// Pages followed before a listing is called runaway: a service that keeps
/// handing out `nextLink`s must not keep a scan busy forever.
pub const MAX_PAGES: usize = 10_000;

/// Send a request as it is.
pub fn send(req: &Request) -> Result<Response, ScanError> {
    wit::send(req).map_err(scan_error)
}

/// Send many requests at once: the host runs them concurrently (bounded per
/// plugin and per destination host), checks and retries each on its own,
/// and answers in the order of `reqs`. Lists longer than the host's
/// `max_batch` are split here, so any length works.
pub fn send_all(reqs: &[Request]) -> Vec<Result<Response, ScanError>> {
    let chunk = (crate::host::limits().max_batch as usize).max(1);
    let mut out = Vec::with_capacity(reqs.len());
    for part in reqs.chunks(chunk) {
        out.extend(wit::send_all(part).into_iter().map(|r| r.map_err(scan_error)));
    }
    out
}

fn scan_error(e: HttpError) -> ScanError {
    match e {
        HttpError::Denied(m) => ScanError::Denied(m),
        HttpError::InvalidRequest(m) => ScanError::Config(format!("invalid request: {m}")),
        HttpError::Timeout(m) => ScanError::Upstream(format!("timed out: {m}")),
        HttpError::Transport(m) => ScanError::Upstream(format!("transport: {m}")),
        HttpError::TooLarge(m) => ScanError::Malformed(format!("answer too large: {m}")),
        HttpError::Credential(m) => ScanError::Config(format!("credential: {m}")),
    }
}

/// Where a plugin's requests go: the host ([`Host`]) in a scan, a fake in
/// native tests. Any `FnMut(&Request) -> Result<Response, ScanError>` is a
/// transport that sends a list one request after another.
pub trait Transport {
    /// One request.
    fn send(&mut self, req: &Request) -> Result<Response, ScanError>;

    /// Many requests, answered in their order; concurrently where the
    /// transport can.
    fn send_all(&mut self, reqs: &[Request]) -> Vec<Result<Response, ScanError>> {
        reqs.iter().map(|r| self.send(r)).collect()
    }
}

impl<F: FnMut(&Request) -> Result<Response, ScanError>> Transport for F {
    fn send(&mut self, req: &Request) -> Result<Response, ScanError> {
        self(req)
    }
}

/// The host's `http` capability, with `send_all` run concurrently by the host.
#[derive(Debug, Clone, Copy, Default)]
pub struct Host;

impl Transport for Host {
    fn send(&mut self, req: &Request) -> Result<Response, ScanError> {
        send(req)
    }

    fn send_all(&mut self, reqs: &[Request]) -> Vec<Result<Response, ScanError>> {
        send_all(reqs)
    }
}

/// A JSON request: `method` to `url`, with an optional JSON body and the
/// credential profile to authenticate with.
pub fn json_request(
    method: &str,
    url: &str,
    body: Option<&Value>,
    credential: Option<&str>,
    extra_headers: &[(&str, &str)],
) -> Request {
    let mut headers = vec![Attribute {
        name: "accept".into(),
        value: "application/json".into(),
    }];
    if body.is_some() {
        headers.push(Attribute {
            name: "content-type".into(),
            value: "application/json".into(),
        });
    }
    for (n, v) in extra_headers {
        headers.push(Attribute {
            name: n.to_string(),
            value: v.to_string(),
        });
    }
    Request {
        method: method.to_string(),
        url: url.to_string(),
        headers,
        body: body.map(|b| b.to_string().into_bytes()),
        credential: credential.map(str::to_string),
    }
}

/// Send `req` and parse a 2xx answer as JSON. Anything else becomes a
/// clear [`ScanError`] naming the URL and what came back.
pub fn send_json(req: &Request) -> Result<Value, ScanError> {
    let resp = send(req)?;
    parse_json_response(&req.url, &resp)
}

/// Turn a response into JSON or a clear error. Separate from [`send_json`]
/// so it can be tested natively.
pub fn parse_json_response(url: &str, resp: &Response) -> Result<Value, ScanError> {
    let where_ = strip_query(url);
    if !(200..300).contains(&resp.status) {
        let hint = match resp.status {
            401 => " (the credential was refused: check the credential profile's client, secret or certificate)",
            403 => " (the app lacks a permission or role this call needs)",
            404 => " (wrong tenant id or endpoint?)",
            429 => " (still throttled after the host's retries)",
            _ => "",
        };
        return Err(ScanError::Upstream(format!(
            "{where_} answered HTTP {}{hint}: {}",
            resp.status,
            snippet(&resp.body)
        )));
    }
    let content_type = header(resp, "content-type").unwrap_or_default();
    if content_type.contains("html") || resp.body.trim_ascii_start().starts_with(b"<") {
        return Err(ScanError::Malformed(format!(
            "{where_} answered with an HTML page instead of JSON: {}",
            snippet(&resp.body)
        )));
    }
    serde_json::from_slice(&resp.body).map_err(|e| {
        ScanError::Malformed(format!(
            "{where_} answered with invalid JSON ({} bytes): {e}",
            resp.body.len()
        ))
    })
}

/// How to ask for the page behind an `@odata.nextLink`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextPage {
    /// GET the link, as OData services such as Graph expect.
    Get,
    /// Repeat the first request's method and body against the link, as
    /// Exchange Online's `InvokeCommand` expects.
    Repeat,
}

/// Follow `@odata.nextLink` from a first request and collect every item of
/// every page's `value` array, keeping the first request's headers and
/// credential.
pub fn collect_pages(first: Request, next: NextPage) -> Result<Vec<Value>, ScanError> {
    collect_pages_with(first, next, send_json)
}

/// [`collect_pages`] with the transport passed in, for native tests.
pub fn collect_pages_with(
    first: Request,
    next: NextPage,
    mut fetch: impl FnMut(&Request) -> Result<Value, ScanError>,
) -> Result<Vec<Value>, ScanError> {
    let mut items = Vec::new();
    let mut req = first;
    for _ in 0..MAX_PAGES {
        let page = fetch(&req)?;
        match page.get("value") {
            Some(Value::Array(values)) => items.extend(values.iter().cloned()),
            Some(other) => {
                return Err(ScanError::Malformed(format!(
                    "{}: `value` should be an array, got {}",
                    strip_query(&req.url),
                    kind(other)
                )))
            }
            None => {
                return Err(ScanError::Malformed(format!(
                    "{}: the answer has no `value` array",
                    strip_query(&req.url)
                )))
            }
        }
        match page.get("@odata.nextLink").and_then(Value::as_str) {
            Some(link) if !link.is_empty() => {
                req = match next {
                    NextPage::Get => Request {
                        method: "GET".into(),
                        url: link.to_string(),
                        body: None,
                        ..req
                    },
                    NextPage::Repeat => Request {
                        url: link.to_string(),
                        ..req
                    },
                };
            }
            _ => return Ok(items),
        }
    }
    Err(ScanError::Malformed(format!(
        "{}: more than {MAX_PAGES} pages; refusing to follow more nextLinks",
        strip_query(&req.url)
    )))
}

/// A response header, case-insensitively.
pub fn header<'a>(resp: &'a Response, name: &str) -> Option<&'a str> {
    resp.headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

fn strip_query(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Longest body excerpt put in an error message.
const SNIPPET_CHARS: usize = 160;

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > SNIPPET_CHARS {
        format!("{}…", flat.chars().take(SNIPPET_CHARS).collect::<String>())
    } else {
        flat
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resp(status: u16, ctype: &str, body: &str) -> Response {
        Response {
            status,
            headers: vec![Attribute { name: "Content-Type".into(), value: ctype.into() }],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn errors_say_what_came_back() {
        let u = "https://x.example/a?secret=1";
        let e = parse_json_response(u, &resp(401, "application/json", "{}")).unwrap_err().to_string();
        assert!(e.contains("HTTP 401") && e.contains("credential") && !e.contains("secret=1"), "{e}");
        let e = parse_json_response(u, &resp(200, "text/html", "<html><title>Oops</title>")).unwrap_err();
        assert!(matches!(e, ScanError::Malformed(ref m) if m.contains("HTML")), "{e}");
        let e = parse_json_response(u, &resp(200, "application/json", "{\"value\":[{\"a\":")).unwrap_err();
        assert!(matches!(e, ScanError::Malformed(ref m) if m.contains("invalid JSON")), "{e}");
        let ok = parse_json_response(u, &resp(200, "application/json", "{\"value\":[]}")).unwrap();
        assert_eq!(ok, json!({"value": []}));
    }

    #[test]
    fn paging_follows_next_links_with_get() {
        let first = json_request("POST", "https://x.example/list", Some(&json!({"q": 1})), Some("p"), &[]);
        let mut seen = Vec::new();
        let items = collect_pages_with(first.clone(), NextPage::Get, |r| {
            seen.push((r.method.clone(), r.url.clone(), r.credential.clone()));
            Ok(match seen.len() {
                1 => json!({"value": [1, 2], "@odata.nextLink": "https://x.example/list?page=2"}),
                _ => json!({"value": [3]}),
            })
        })
        .unwrap();
        assert_eq!(items, vec![json!(1), json!(2), json!(3)]);
        assert_eq!(seen[1].0, "GET");
        assert_eq!(seen[1].2.as_deref(), Some("p"));
        let mut bodies = Vec::new();
        collect_pages_with(first, NextPage::Repeat, |r| {
            bodies.push((r.method.clone(), r.body.clone()));
            Ok(match bodies.len() {
                1 => json!({"value": [1], "@odata.nextLink": "https://x.example/list?skip=1"}),
                _ => json!({"value": []}),
            })
        })
        .unwrap();
        assert_eq!(bodies[1].0, "POST");
        assert_eq!(bodies[1].1, bodies[0].1);
    }

    #[test]
    fn paging_rejects_pages_without_value() {
        let first = json_request("GET", "https://x.example/list", None, None, &[]);
        let e = collect_pages_with(first, NextPage::Get, |_| Ok(json!({"error": "x"}))).unwrap_err();
        assert!(e.to_string().contains("no `value` array"), "{e}");
    }

    #[test]
    fn paging_stops_a_runaway_service() {
        let first = json_request("GET", "https://x.example/list", None, None, &[]);
        let e = collect_pages_with(first, NextPage::Get, |_| {
            Ok(json!({"value": [], "@odata.nextLink": "https://x.example/list?again"}))
        })
        .unwrap_err();
        assert!(e.to_string().contains("more than"), "{e}");
    }
}
