//! The release endpoints through the router: only an enrolled, not revoked
//! agent whose signature on the request verifies gets a manifest or a
//! binary; the manifest is served byte for byte as added.

use crate::api::call;
use crate::support::Backend;
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use plumbline_collector::api::{app, AppState};
use plumbline_collector::releases::Releases;
use plumbline_protocol::agent_auth::authorization;
use plumbline_protocol::identity::AgentKey;
use plumbline_protocol::plugin_signature::PublisherSecret;
use plumbline_protocol::release::{self, Manifest};
use sha2::{Digest, Sha256};
use tower::ServiceExt;

async fn signed_get(router: &axum::Router, key: &AgentKey, uri: &str, signed_for: &str, at: i64) -> (StatusCode, Vec<u8>) {
    let req = Request::builder()
        .method(Method::GET)
        .uri(uri)
        .header(header::AUTHORIZATION, authorization(key, "GET", signed_for, at))
        .body(Body::empty())
        .unwrap();
    let res = router.clone().oneshot(req).await.unwrap();
    (res.status(), res.into_body().collect().await.unwrap().to_bytes().to_vec())
}

fn code(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body).unwrap()["error"].as_str().unwrap_or_default().to_string()
}

async fn releases_are_for_enrolled_agents(backend: Backend) {
    let t = backend.store().await;
    let dir = tempfile::tempdir().unwrap();
    let releases = Releases::in_data_dir(dir.path());
    let router = app(AppState::new(t.store.clone()).with_releases(releases.clone()));
    let binary = dir.path().join("plumbline");
    std::fs::write(&binary, b"release binary").unwrap();
    let sha256 = hex::encode(Sha256::digest(b"release binary"));
    let now = time::OffsetDateTime::now_utc();
    let manifest = Manifest {
        version: "0.2.0".into(),
        platform: "x86_64-linux".into(),
        channel: "stable".into(),
        sha256: sha256.clone(),
        size: 14,
        issued_at: now.format(&time::format_description::well_known::Rfc3339).unwrap(),
        expires_at: (now + time::Duration::days(3)).format(&time::format_description::well_known::Rfc3339).unwrap(),
    };
    let signed = release::sign(&manifest, &PublisherSecret::generate()).unwrap();
    releases.add(&signed, &binary).unwrap();
    let agent = t.agent("contoso", "hq").await;
    let latest = "/v1/releases/latest?platform=x86_64-linux";
    let secs = now.unix_timestamp();

    let (status, body) = signed_get(&router, &agent.key, latest, latest, secs).await;
    assert_eq!((status, body.clone()), (StatusCode::OK, signed.clone()), "{}", String::from_utf8_lossy(&body));
    let bin = format!("/v1/releases/{sha256}");
    assert_eq!(signed_get(&router, &agent.key, &bin, &bin, secs).await, (StatusCode::OK, b"release binary".to_vec()));

    // No header, a stranger, a signature for another path, an old one.
    let none = call(&router, Method::GET, latest, None, Body::empty()).await;
    assert_eq!(none.error(), (StatusCode::UNAUTHORIZED, "unauthorized".into()));
    let (status, body) = signed_get(&router, &AgentKey::generate(), latest, latest, secs).await;
    assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, "unknown_agent".into()));
    let (status, body) = signed_get(&router, &agent.key, &bin, latest, secs).await;
    assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, "bad_signature".into()));
    let (status, body) = signed_get(&router, &agent.key, latest, latest, secs - 3600).await;
    assert!(status == StatusCode::UNAUTHORIZED && String::from_utf8_lossy(&body).contains("clock"), "{status}");

    // Nothing for another channel; a sha256 that is not one; a revoked agent.
    let beta = "/v1/releases/latest?platform=x86_64-linux&channel=beta";
    let (status, body) = signed_get(&router, &agent.key, beta, beta, secs).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "no_release".into()));
    let (status, _) = signed_get(&router, &agent.key, "/v1/releases/..%2Fcollector.db", "/v1/releases/..%2Fcollector.db", secs).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    plumbline_collector::admin::revoke_agent(t.dyn_store(), &agent.id()).await.unwrap();
    let (status, body) = signed_get(&router, &agent.key, latest, latest, secs).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "revoked".into()));
}

crate::both_backends!(releases_are_for_enrolled_agents);
