//! A stand-in for the endpoints alerts go to: a Teams Workflows "When a
//! webhook request is received" trigger (`/workflows/{id}/triggers/manual/
//! paths/invoke`, answering 202 as the real one does) and a PSA's webhook
//! intake (`/intake`). It records every request, and answers as a test
//! scripts it: a 429 with Retry-After, a 500, or a 404 for a deleted flow.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    /// The path, without the query (the `sig` stays out of test output).
    pub path: String,
    /// Lower-case header names and their values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// When it arrived.
    pub at: Instant,
    /// The status it was answered with.
    pub status: u16,
}

impl Received {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// What the stand-in has seen, and how it will answer next.
#[derive(Default)]
pub struct Inbox {
    received: Mutex<Vec<Received>>,
    script: Mutex<VecDeque<(u16, Option<u64>)>>,
}

impl Inbox {
    /// Every request so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Requests answered with a 2xx.
    pub fn accepted(&self) -> Vec<Received> {
        self.received().into_iter().filter(|r| (200..300).contains(&r.status)).collect()
    }

    /// Answer the next request with `status` (and Retry-After seconds).
    pub fn answer_next(&self, status: u16, retry_after: Option<u64>) {
        self.script.lock().unwrap_or_else(|p| p.into_inner()).push_back((status, retry_after));
    }
}

async fn take(State(inbox): State<Arc<Inbox>>, uri: axum::http::Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (status, retry_after) = inbox.script.lock().unwrap_or_else(|p| p.into_inner()).pop_front().unwrap_or((202, None));
    inbox.received.lock().unwrap_or_else(|p| p.into_inner()).push(Received {
        path: uri.path().to_string(),
        headers: headers.iter().map(|(n, v)| (n.as_str().to_string(), v.to_str().unwrap_or("").to_string())).collect(),
        body: body.to_vec(),
        at: Instant::now(),
        status,
    });
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match retry_after {
        Some(s) => (code, [("retry-after", s.to_string())], "throttled").into_response(),
        None if code == StatusCode::NOT_FOUND => (code, "The workflow was not found").into_response(),
        None => code.into_response(),
    }
}

/// The stand-in's routes over `inbox`.
pub fn router(inbox: Arc<Inbox>) -> Router {
    Router::new()
        .route("/workflows/{id}/triggers/manual/paths/invoke", post(take))
        .route("/intake", post(take))
        .with_state(inbox)
}
